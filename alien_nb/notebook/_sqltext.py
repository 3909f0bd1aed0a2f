"""Reading SQL cell text: statements, and ``:name`` placeholders bound as parameters.

The scanner knows Postgres' lexical corners so that a ``;`` or ``:x`` inside
them is left alone: '...' and E'...' strings, "quoted identifiers",
$tag$ dollar quotes $tag$, -- line and /* nested */ block comments, and
``::`` casts. ``\\:name`` is a literal ``:name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass
class Statement:
    """One statement, in psycopg's ``%(name)s`` form, and the names it uses."""

    text: str
    names: list[str] = field(default_factory=list)

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


def split_statements(sql: str) -> list[str]:
    """The cell's statements, split on top-level ``;``; blank ones dropped."""
    parts, start, i = [], 0, 0
    while i < len(sql):
        after = _skip(sql, i)
        if after is not None:
            i = after
            continue
        if sql[i] == ";":
            parts.append(sql[start:i])
            start = i + 1
        i += 1
    parts.append(sql[start:])
    return [p.strip() for p in parts if _has_code(p)]


def _has_code(text: str) -> bool:
    i = 0
    while i < len(text):
        after = _skip(text, i)
        if after is not None and text[i] in "-/":
            i = after
            continue
        if not text[i].isspace():
            return True
        i += 1
    return False


def placeholders(sql: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, name)`` of each ``:name`` outside quotes, comments and casts."""
    i = 0
    while i < len(sql):
        after = _skip(sql, i)
        if after is not None:
            i = after
            continue
        if sql[i] == ":":
            if sql.startswith("::", i):
                i += 2
                continue
            if i > 0 and sql[i - 1] == "\\":
                i += 1
                continue
            match = _NAME.match(sql, i + 1)
            if match:
                yield i, match.end(), match.group()
                i = match.end()
                continue
        i += 1


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
    return Statement("".join(out), list(dict.fromkeys(names)))


def _unescape(text: str) -> str:
    return re.sub(r"\\(:[A-Za-z_])", r"\1", text)
