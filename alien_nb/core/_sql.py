"""SQL text as alien_nb reads it: statements, ``:name`` placeholders, and what each one is.

One scan of the text yields `Statement` objects; every driver's form
(``$1`` for the wire, ``%(name)s`` for psycopg's composed SQL) is rendered
from them, so no path rescans the text and all agree on what is a
parameter. The scanner knows Postgres' lexical corners: ``'...'`` and
``E'...'`` strings, ``"quoted identifiers"``, ``$tag$`` dollar quotes,
``--`` and nested ``/* */`` comments, ``::`` casts and ``[lo:hi]`` slices.
``\\:name`` is a literal ``:name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ._errors import AlienError, show_as_public
from ._sql_spans import after_identifier, span_end

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_ARRAY_BEFORE = re.compile(r"\barray\s*$", re.IGNORECASE)
# Statements whose own syntax has $n parameters: PREPARE p(int) AS ... $1, a SQL function's RETURN $1.
_DOLLAR_PARAMS_OK = frozenset({"prepare", "create"})
_POSITIONAL = re.compile(r"\$([0-9]+)")
_PYFORMAT = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s")
# What can start something the scanner must look at; everything else is plain code.
_INTERESTING = re.compile(r"[-/'\"$;:\\\[\]()%]")

# Statements that never return rows; anything else may (SELECT, VALUES, SHOW, ... RETURNING).
_NO_ROWS = frozenset({
    "alter", "analyze", "begin", "checkpoint", "close", "cluster", "comment", "commit", "create",
    "deallocate", "discard", "do", "drop", "end", "grant", "listen", "load", "lock", "notify", "prepare",
    "reassign", "refresh", "reindex", "release", "reset", "revoke", "rollback", "savepoint", "security",
    "set", "start", "truncate", "unlisten", "vacuum", "abort",
})  # fmt: skip
_DML = frozenset({"insert", "update", "delete", "merge"})


class SqlTextInvalid(AlienError):
    """The SQL text uses a placeholder style alien_nb does not bind, or is not one condition."""


@dataclass(frozen=True, slots=True)
class Placeholder:
    """``:name`` at ``start`` (an offset into the text the statement was parsed from)."""

    name: str
    start: int


@dataclass(frozen=True, slots=True)
class EscapedColon:
    """``\\:`` in the source: a literal ``:`` that is not a placeholder."""


ESCAPED_COLON = EscapedColon()
Part = str | Placeholder | EscapedColon


@dataclass(frozen=True, slots=True)
class Rendered:
    """A statement as sent: its text, the parameter names in ``$n`` order, and a map back."""

    sql: str
    names: tuple[str, ...]
    # (offset in sql, offset in the source) at each boundary, for positions in server errors.
    _marks: tuple[tuple[int, int], ...]

    def source_offset(self, position: int) -> int:
        """The source offset of a 0-based offset into `sql`."""
        best = (0, 0)
        for mark in self._marks:
            if mark[0] > position:
                break
            best = mark
        return best[1] + (position - best[0])


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a cell: its text, where it starts, its pieces and placeholders.

    ``parts`` alternates code/quoted text (``\\:`` already unescaped) with
    `Placeholder` objects, in order. ``words`` are the statement's keywords
    and identifiers outside quotes, comments and parentheses, lower-cased.
    """

    text: str
    start: int
    parts: tuple[Part, ...]
    words: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Each parameter name once, in order of first use."""
        return tuple(dict.fromkeys(p.name for p in self.parts if isinstance(p, Placeholder)))

    @property
    def keyword(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def may_return_rows(self) -> bool:
        """False only for statements that never return rows (DDL, SET, DML without RETURNING)."""
        if self.keyword in _NO_ROWS:
            return False
        if self.keyword in _DML or (self.keyword == "with" and _DML & set(self.words)):
            return "returning" in self.words or self.keyword == "with"
        return self.keyword != "copy"

    @property
    def copy_direction(self) -> str | None:
        """``"out"`` for ``COPY ... TO STDOUT``, ``"in"`` for ``COPY ... FROM STDIN``, else None."""
        if self.keyword != "copy":
            return None
        words = self.words
        for i, word in enumerate(words[:-1]):
            if word == "to" and words[i + 1] == "stdout":
                return "out"
            if word == "from" and words[i + 1] == "stdin":
                return "in"
        return None

    def render(self) -> Rendered:
        """The wire form: ``:name`` → ``$1``, ``$2`` … (one number per distinct name)."""
        return _render(self)

    def for_psycopg(self) -> str:
        """psycopg's form: ``:name`` → ``%(name)s``, literal ``%`` doubled."""
        out = []
        for part in self.parts:
            if isinstance(part, Placeholder):
                out.append(f"%({part.name})s")
            else:
                out.append(":" if isinstance(part, EscapedColon) else part.replace("%", "%%"))
        return "".join(out)


@lru_cache(maxsize=1024)
def _render(statement: Statement) -> Rendered:
    out: list[str] = []
    numbers: dict[str, int] = {}
    marks: list[tuple[int, int]] = []
    length, source = 0, statement.start
    for part in statement.parts:
        if isinstance(part, Placeholder):
            marks.append((length, source))
            number = numbers.setdefault(part.name, len(numbers) + 1)
            piece = f"${number}"
            source = part.start + 1 + len(part.name)
        elif isinstance(part, EscapedColon):
            # The sent ":" is the source's ":", one past the backslash.
            marks.append((length, source + 1))
            piece, source = ":", source + 2
        else:
            marks.append((length, source))
            piece, source = part, source + len(part)
        out.append(piece)
        length += len(piece)
    return Rendered("".join(out), tuple(numbers), tuple(marks))


class _Builder:
    """Collects one statement's pieces while the scanner walks the cell."""

    def __init__(self, sql: str, start: int) -> None:
        self.sql, self.start = sql, start
        self.parts: list[Part] = []
        self.pending: list[str] = []
        self.words: list[str] = []
        self.code = False  # anything but white space and comments so far?
        # Inside CREATE FUNCTION ... BEGIN ATOMIC ... END, whose ";" do not end the statement.
        self.atomic = False
        self._cases = 0

    def word(self, word: str) -> None:
        words = self.words
        words.append(word)
        if self.atomic:
            if word == "case":
                self._cases += 1
            elif word == "end":
                if self._cases:
                    self._cases -= 1
                else:
                    self.atomic = False
        elif word == "atomic" and len(words) > 2 and words[-2] == "begin" and words[0] == "create":
            self.atomic = True

    def text(self, piece: str) -> None:
        self.pending.append(piece)

    def plain(self, chunk: str, *, top_level: bool) -> None:
        """Code with nothing to look at closely; its words count at the top level (not in brackets)."""
        if chunk.strip():
            self.code = True
            if top_level:
                for word in _WORD.findall(chunk):
                    self.word(word.lower())
        self.text(chunk)

    def quoted(self, span: str) -> None:
        """A string, quoted identifier, dollar quote or comment; only a comment is no code."""
        if span[0] not in "-/":
            self.code = True
        self.text(span)

    def placeholder(self, name: str, start: int) -> None:
        self.flush()
        self.parts.append(Placeholder(name, start))
        self.code = True

    def keyword(self) -> str:
        return self.words[0] if self.words else ""

    def escaped_colon(self) -> None:
        self.flush()
        self.parts.append(ESCAPED_COLON)
        self.code = True

    def flush(self) -> None:
        if self.pending:
            self.parts.append("".join(self.pending))
            self.pending = []

    def finish(self, end: int) -> Statement | None:
        self.flush()
        if not self.code:
            return None
        raw = self.sql[self.start : end]
        lead = len(raw) - len(raw.lstrip())
        text = raw.strip()
        parts = _strip_parts(self.parts)
        return Statement(text, self.start + lead, tuple(parts), tuple(self.words))


def _strip_parts(parts: list[Part]) -> list[Part]:
    out = list(parts)
    if out and isinstance(out[0], str):
        out[0] = out[0].lstrip()
        if not out[0]:
            out.pop(0)
    if out and isinstance(out[-1], str):
        out[-1] = out[-1].rstrip()
        if not out[-1]:
            out.pop()
    return out


@lru_cache(maxsize=512)
def parse_sql(sql: str) -> tuple[Statement, ...]:
    """The cell's statements, split on top-level ``;``; blank ones dropped.

    Raise `SqlTextInvalid` for ``%(name)s`` or ``$1`` placeholders, with the
    ``:name`` form to write instead.
    """
    statements: list[Statement] = []
    current = _Builder(sql, 0)
    stack: list[str] = []  # open ( and [ at code level
    i, n = 0, len(sql)
    while i < n:
        match = _INTERESTING.search(sql, i)
        stop = match.start() if match else n
        if stop > i:
            current.plain(sql[i:stop], top_level=not stack)
        if match is None:
            break
        i = stop
        after = span_end(sql, i)
        if after is not None:
            current.quoted(sql[i:after])
            i = after
        elif sql[i] == ";" and not stack and not current.atomic:
            statements += _finished(current, i)
            current = _Builder(sql, i + 1)
            i += 1
        else:
            i = _code_character(sql, i, current, stack)
    statements += _finished(current, n)
    return tuple(statements)


def _finished(current: _Builder, end: int) -> list[Statement]:
    statement = current.finish(end)
    return [] if statement is None else [statement]


def _code_character(sql: str, i: int, current: _Builder, stack: list[str]) -> int:
    """Handle the character at ``i`` that may matter in code. Returns where to go on."""
    ch = sql[i]
    current.code = current.code or ch not in "-/"
    if ch in "([)]":
        _bracket(sql, i, stack)
    elif ch == "\\" and sql.startswith("\\:", i) and _NAME.match(sql, i + 2):
        current.escaped_colon()
        return i + 2
    elif ch == ":":
        return _colon(sql, i, current, stack)
    else:
        _refuse_other_placeholders(sql, i, current)
    current.text(ch)
    return i + 1


def _bracket(sql: str, i: int, stack: list[str]) -> None:
    ch = sql[i]
    if ch == "(":
        stack.append(ch)
    elif ch == "[":
        # ARRAY[:a, :b] builds an array (its colons bind); a[1:n] is a slice.
        constructor = (stack and stack[-1] == "A" and sql[i - 1] in "[, \t\n") or _ARRAY_BEFORE.search(
            sql, max(0, i - 64), i
        )
        stack.append("A" if constructor else "[")
    elif stack:
        stack.pop()


def _refuse_other_placeholders(sql: str, i: int, current: _Builder) -> None:
    """Raise `SqlTextInvalid` for a ``$1`` or ``%(name)s`` placeholder at ``i``."""
    if sql[i] == "$":
        positional = _POSITIONAL.match(sql, i)
        if positional and not after_identifier(sql, i) and current.keyword() not in _DOLLAR_PARAMS_OK:
            raise _style_error(f"${positional.group(1)}", "a positional $n parameter")
    elif sql[i] == "%":
        pyformat = _PYFORMAT.match(sql, i)
        if pyformat:
            raise _style_error(pyformat.group(), f":{pyformat.group(1)}")


def _colon(sql: str, i: int, current: _Builder, stack: list[str]) -> int:
    """Handle the ``:`` at ``i``: a cast, a slice, or a placeholder. Returns where to go on."""
    if sql.startswith("::", i):
        current.text("::")
        return i + 2
    name = _NAME.match(sql, i + 1)
    if (stack and stack[-1] == "[") or name is None or after_identifier(sql, i):
        # A slice (a[1:n], a[1 :n]; write a[(:lo):(:hi)] to bind one), an identifier's colon,
        # or a colon that names nothing (:=).
        current.text(":")
        return i + 1
    current.placeholder(name.group(), i)
    return name.end()


def _style_error(written: str, instead: str) -> SqlTextInvalid:
    if instead.startswith(":"):
        return SqlTextInvalid(
            f"{written} is psycopg's placeholder style; alien_nb binds :name placeholders.",
            hint=f"Write {instead} instead of {written}: the value comes from the Python variable or "
            f"params key {instead[1:]!r}.",
        )
    return SqlTextInvalid(
        f"{written} is {instead}; alien_nb binds named :name placeholders.",
        hint="Name the value: write :n instead of $1 and pass {'n': value} (or define the notebook "
        "variable n).",
    )


def parse_condition(condition: str, what: str = "where") -> Statement:
    """A ``where=`` condition: one SQL expression with ``:name`` placeholders, no ``;``."""
    statements = parse_sql(condition)
    if len(statements) != 1:
        raise SqlTextInvalid(
            f"{what}= must be one SQL condition" + (", not several statements." if statements else "."),
            hint='For example where="lang = :lang", with params={"lang": "en"}.',
        )
    return statements[0]


show_as_public(globals())  # alien_nb.SqlTextInvalid
