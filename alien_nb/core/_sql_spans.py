"""Where a quoted or commented span of SQL text ends: the lexical corners `parse_sql` skips over.

``'...'`` and ``E'...'`` strings, ``"quoted identifiers"``, ``$tag$`` dollar quotes,
``--`` line comments and nested ``/* */`` comments.
"""

from __future__ import annotations

import re

# A tag is spelled like an unquoted identifier without "$": non-ASCII letters too ($ä$).
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")


def span_end(sql: str, i: int) -> int | None:
    """If a quoted or commented span starts at ``i``, the index just after it."""
    ch = sql[i]
    nxt = sql[i + 1] if i + 1 < len(sql) else ""
    if ch == "-" and nxt == "-":
        return _line_comment_end(sql, i)
    if ch == "/" and nxt == "*":
        return _block_comment_end(sql, i)
    if ch == "'":
        return _string_end(sql, i)
    if ch == '"':
        return _quoted_identifier_end(sql, i)
    if ch == "$" and not after_identifier(sql, i):
        return _dollar_quote_end(sql, i)
    return None


def after_identifier(sql: str, i: int) -> bool:
    """Is ``sql[i]`` glued to a word before it (``a$1``, ``x:y``)?"""
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")


def _line_comment_end(sql: str, i: int) -> int:
    end = sql.find("\n", i)
    return len(sql) if end < 0 else end


def _block_comment_end(sql: str, i: int) -> int:
    """After the ``*/`` closing the ``/*`` at ``i``; block comments nest in Postgres."""
    depth, j = 1, i + 2
    while j < len(sql) and depth:
        if sql.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif sql.startswith("*/", j):
            depth, j = depth - 1, j + 2
        else:
            j += 1
    return j


def _string_end(sql: str, i: int) -> int:
    """After the ``'`` closing the string at ``i``: ``''`` is a quote, and ``\\`` escapes in ``E'...'``."""
    escapes = i > 0 and sql[i - 1] in "eE" and not after_identifier(sql, i - 1)
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


def _quoted_identifier_end(sql: str, i: int) -> int:
    end = sql.find('"', i + 1)
    while end >= 0 and sql.startswith('""', end):
        end = sql.find('"', end + 2)
    return len(sql) if end < 0 else end + 1


def _dollar_quote_end(sql: str, i: int) -> int | None:
    """After the ``$tag$`` closing the one at ``i``; None if no tag starts there (``$1``)."""
    match = _DOLLAR_TAG.match(sql, i)
    if not match:
        return None
    end = sql.find(match.group(), match.end())
    return len(sql) if end < 0 else end + len(match.group())
