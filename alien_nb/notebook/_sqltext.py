"""Reading SQL cell text: statements, and ``:name`` placeholders bound as parameters.

The scanner knows Postgres' lexical corners so that a ``;`` or ``:x`` inside
them is left alone: '...' and E'...' strings, "quoted identifiers",
$tag$ dollar quotes $tag$, -- line and /* nested */ block comments, and
``::`` casts. ``\\:name`` is a literal ``:name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Only these characters can start a string, comment, dollar quote, statement end or parameter.
_INTERESTING = re.compile(r"[-/'\"$;:]")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Statement:
    """One statement, in psycopg's ``%(name)s`` form, and the names it uses."""

    text: str
    names: tuple[str, ...] = ()

    @property
    def has_params(self) -> bool:
        return bool(self.names)


def _skip(sql: str, i: int) -> int | None:
    """If a quoted or commented span starts at ``i``, the index just after it."""
    ch = sql[i]
    nxt = sql[i + 1] if i + 1 < len(sql) else ""
    if ch == "-" and nxt == "-":
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    if ch == "/" and nxt == "*":
        depth, j = 1, i + 2
        while j < len(sql) and depth:
            if sql.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif sql.startswith("*/", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j
    if ch == "'":
        escapes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
        j = i + 1
        while j < len(sql):
            if escapes and sql[j] == "\\":
                j += 2
                continue
            if sql[j] == "'":
                if sql.startswith("''", j):
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(sql)
    if ch == '"':
        end = sql.find('"', i + 1)
        while end >= 0 and sql.startswith('""', end):
            end = sql.find('"', end + 2)
        return len(sql) if end < 0 else end + 1
    if ch == "$" and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
        match = _DOLLAR_TAG.match(sql, i)
        if match:
            end = sql.find(match.group(), match.end())
            return len(sql) if end < 0 else end + len(match.group())
    return None


def _interesting(sql: str) -> Iterator[tuple[int, int | None]]:
    """Each index worth a look, with where a quoted or commented span starting there ends."""
    i = 0
    while True:
        match = _INTERESTING.search(sql, i)
        if match is None:
            return
        i = match.start()
        after = _skip(sql, i)
        yield i, after
        i = after if after is not None else i + 1


@lru_cache(maxsize=512)
def split_statements(sql: str) -> list[str]:
    """The cell's statements, split on top-level ``;``; blank ones dropped."""
    parts, start = [], 0
    for i, after in _interesting(sql):
        if after is None and sql[i] == ";":
            parts.append(sql[start:i])
            start = i + 1
    parts.append(sql[start:])
    return [p.strip() for p in parts if _has_code(p)]


def _has_code(text: str) -> bool:
    """Anything but white space and comments?"""
    last = 0
    for i, after in _interesting(text):
        if after is not None and text[i] in "-/":
            if text[last:i].strip():
                return True
            last = after
    return bool(text[last:].strip())


def code_only(sql: str) -> str:
    """The text with strings, quoted names and comments blanked out (for keyword checks)."""
    out, last = [], 0
    for i, after in _interesting(sql):
        if after is not None:
            out.append(sql[last:i])
            out.append(" ")
            last = after
    out.append(sql[last:])
    return "".join(out)


def placeholders(sql: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, name)`` of each ``:name`` outside quotes, comments and casts."""
    previous_end = -1
    for i, after in _interesting(sql):
        if after is not None or sql[i] != ":" or i <= previous_end:
            continue
        if sql.startswith("::", i) or (i > 0 and sql[i - 1] in ":\\"):
            previous_end = i + 1  # a cast's second colon is not a parameter
            continue
        if i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_[]"):
            continue  # an array slice (a[1:n], a[:n]), as SQLAlchemy reads it too
        match = _NAME.match(sql, i + 1)
        if match:
            previous_end = match.end()
            yield i, match.end(), match.group()


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> Statement:
    """Rewrite ``:name`` as ``%(name)s`` (doubling literal ``%``), ``\\:name`` as ``:name``."""
    found = list(placeholders(sql))
    if not found:
        return Statement(_unescape(sql))
    out, names, last = [], [], 0
    for start, end, name in found:
        out.append(_unescape(sql[last:start]).replace("%", "%%"))
        out.append(f"%({name})s")
        names.append(name)
        last = end
    out.append(_unescape(sql[last:]).replace("%", "%%"))
    return Statement("".join(out), tuple(dict.fromkeys(names)))


def _unescape(text: str) -> str:
    """``\\:name`` → ``:name`` in code; strings and comments are left exactly as written."""
    if "\\:" not in text:
        return text
    out, last = [], 0
    for i, after in _interesting(text):
        if after is not None:
            out.append(re.sub(r"\\(:[A-Za-z_])", r"\1", text[last:i]))
            out.append(text[i:after])
            last = after
    out.append(re.sub(r"\\(:[A-Za-z_])", r"\1", text[last:]))
    return "".join(out)
