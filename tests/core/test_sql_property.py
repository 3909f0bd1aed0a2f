"""parse_sql against generated SQL whose real placeholders are known by construction.

Each cell is built from atoms: plain text (code, strings, quoted identifiers,
dollar quotes, comments, casts, slices, decoy ``:x`` everywhere), real
``:name`` placeholders, and escaped ``\\:name``. The generator knows which
colons bind, so the expected statements, ``$n`` rendering and psycopg form
are rebuilt from the atoms rather than from another parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from alien_nb.core._sql import Placeholder, Statement, parse_sql

NAMES = ["a", "b", "x", "lo", "name_2"]


@dataclass(frozen=True)
class Atom:
    kind: str  # "text", "param" or "escaped"
    value: str  # the text, or the name

    @property
    def source(self) -> str:
        return {"text": self.value, "param": ":" + self.value, "escaped": "\\:" + self.value}[self.kind]


def text(value: str) -> Atom:
    return Atom("text", value)


Piece = tuple[Atom, ...]  # atoms written without anything between them

# Decoys: what looks like a placeholder, a statement end or a quote, inside something that hides it.
_CONTENT = [":x", ":a", ";", "'", '"', "$$", "$1", "%(x)s", "%", "::int", "\\:x", "--", "a", " ", "[1:x]"]


def _content(alphabet: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(alphabet), max_size=6).map("".join)


def _string_literal() -> st.SearchStrategy[Piece]:
    return _content([*_CONTENT, "/*", "\\"]).map(lambda s: (text("'" + s.replace("'", "''") + "'"),))


def _e_string() -> st.SearchStrategy[Piece]:
    escapes = [":x", ";", "a", " ", "\\\\", "\\'", "''", "\\n", "$$", '"', "%", "\\:x"]
    return _content(escapes).map(lambda s: (text("E'" + s + "'"),))


def _quoted_identifier() -> st.SearchStrategy[Piece]:
    return _content(_CONTENT).map(lambda s: (text('"' + s.replace('"', '""') + '"'),))


def _dollar_quoted() -> st.SearchStrategy[Piece]:
    def build(tag: str, body: str) -> Piece | None:
        close = f"${tag}$"
        if (body + close).find(close) != len(body):
            return None
        return (text(close + body + close),)

    pieces = st.builds(build, st.sampled_from(["", "t", "body"]), _content([*_CONTENT, "$", "$t", "\n"]))
    return pieces.filter(lambda p: p is not None)  # type: ignore[return-value]


def _line_comment() -> st.SearchStrategy[Piece]:
    return _content([*_CONTENT, "/*", "*/"]).map(lambda s: (text("--" + s + "\n"),))


def _block_comment() -> st.SearchStrategy[Piece]:
    # No "/" or "*" in the content: only the generated delimiters open or close a comment.
    inner = [c for c in _CONTENT if "/" not in c and "*" not in c] + ["\n", "-"]

    def nest(depth: int, before: str, after: str) -> str:
        return "/*" + before + (nest(depth - 1, after, before) if depth else "") + after + "*/"

    return st.builds(nest, st.integers(0, 2), _content(inner), _content(inner)).map(lambda s: (text(s),))


_CODE = st.sampled_from(["t", "col", "e", "E", "x", "a", "lo", "1", "2.5", "0", "+", "-", "*", "/", "=", "<>",
                         "||", ",", "%", "x::int", "a::text[]", "a[1:x]", "a[:x]", "a[1 :x]", "a[x:]", "(1;2)",
                         "( 'x;' )", "f(a)", ":=", "1:", "b:x"]).map(lambda s: (text(s),))  # fmt: skip

_PARAM = st.sampled_from(NAMES).map(lambda n: (Atom("param", n),))
_CAST_PARAM = st.builds(lambda n, t: (Atom("param", n), text(t)), st.sampled_from(NAMES),
                        st.sampled_from(["::int", "::text", "::int[]"]))  # fmt: skip
_PAREN_PARAM = st.sampled_from(NAMES).map(lambda n: (text("("), Atom("param", n), text(")")))
_SLICE_PARAMS = st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)).map(
    lambda ns: (text("a[("), Atom("param", ns[0]), text("):("), Atom("param", ns[1]), text(")]"))
)
_ESCAPED = st.sampled_from(NAMES).map(lambda n: (Atom("escaped", n),))


def _tight(inner: st.SearchStrategy[Piece]) -> st.SearchStrategy[Piece]:
    """``inner`` with punctuation written against it, as in ``(E'x')`` or ``,:a,`` (parentheses balanced)."""
    around = st.sampled_from([("", ""), ("(", ")"), (",", ","), ("(", ",1)"), ("=", "+")])
    return st.tuples(around, inner).map(lambda t: (text(t[0][0]), *t[1], text(t[0][1])))


_QUOTED = st.one_of(_string_literal(), _e_string(), _quoted_identifier(), _dollar_quoted())
PIECE = st.one_of(_CODE, _PARAM, _CAST_PARAM, _PAREN_PARAM, _SLICE_PARAMS, _ESCAPED, _tight(_PARAM),
                  _tight(_CAST_PARAM), _tight(_QUOTED), _tight(_ESCAPED), _line_comment(), _block_comment())  # fmt: skip
# Each statement starts with code, so none is all comments (those are dropped, by design).
STATEMENT = st.builds(lambda k, ps: [(text(k),), *ps], st.sampled_from(["SELECT", "select", "VALUES", "UPDATE"]),
                      st.lists(PIECE, max_size=12))  # fmt: skip
# A comment before a statement is part of it, so these put comments only where a statement ends.
SEPARATOR = st.sampled_from([";", " ; ", ";\n", "\n;\t", "; ;", "; -- c\n;", "; /* c; */ ;"])


@dataclass
class Cell:
    sql: str
    # Each statement's expected text, start, atoms (a one-space text atom between pieces) and
    # the cell offset of each real placeholder.
    statements: list[tuple[str, int, list[Atom], list[int]]]


def build_cell(statements: list[list[Piece]], separators: list[str], lead: str, trail: str) -> Cell:
    sql, built = lead, []
    for index, pieces in enumerate(statements):
        if index:
            sql += separators[(index - 1) % len(separators)]
        start, atoms, offsets = len(sql), [], []
        for number, piece in enumerate(pieces):
            for atom in ((text(" "),) if number else ()) + piece:
                if atom.kind == "param":
                    offsets.append(len(sql))
                sql += atom.source
                atoms.append(atom)
        written = sql[start:]
        built.append((written.strip(), start + len(written) - len(written.lstrip()), atoms, offsets))
    return Cell(sql + trail, built)


CELLS = st.builds(build_cell, st.lists(STATEMENT, min_size=1, max_size=4), st.lists(SEPARATOR, min_size=1, max_size=3),
                  st.sampled_from(["", "  ", "\n", "-- head\n;", "/* head */ ;"]),
                  st.sampled_from(["", ";", " ;\n", ";\n-- tail"]))  # fmt: skip


def expected_forms(atoms: list[Atom]) -> tuple[str, str, tuple[str, ...]]:
    """The ``$n`` form, the psycopg form and the names, rebuilt from the atoms."""
    numbers: dict[str, int] = {}
    wire, psycopg_ = [], []
    for atom in atoms:
        if atom.kind == "param":
            wire.append(f"${numbers.setdefault(atom.value, len(numbers) + 1)}")
            psycopg_.append(f"%({atom.value})s")
        elif atom.kind == "escaped":
            wire.append(":" + atom.value)
            psycopg_.append(":" + atom.value)
        else:
            wire.append(atom.value)
            psycopg_.append(atom.value.replace("%", "%%"))
    # The parser strips a statement's ends as its text is stripped (a line comment's newline).
    return "".join(wire).strip(), "".join(psycopg_).strip(), tuple(numbers)


def _as_psycopg_reads_it(composed: str, names: tuple[str, ...]) -> str:
    def one(match: re.Match[str]) -> str:
        return "%" if match.group(1) is None else f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%%|%\(([A-Za-z_][A-Za-z0-9_]*)\)s", one, composed)


def _check(cell: Cell) -> list[Statement]:
    statements = list(parse_sql(cell.sql))
    assert [(s.text, s.start) for s in statements] == [(t, start) for t, start, _, _ in cell.statements]
    return statements


@settings(max_examples=200, deadline=None)
@given(CELLS)
def test_splitting_finds_the_generated_statements(cell: Cell) -> None:
    _check(cell)


@settings(max_examples=200, deadline=None)
@given(CELLS)
def test_exactly_the_generated_placeholders_are_found_in_order(cell: Cell) -> None:
    for statement, (_, _, atoms, offsets) in zip(_check(cell), cell.statements, strict=True):
        found = [p for p in statement.parts if isinstance(p, Placeholder)]
        assert [p.name for p in found] == [a.value for a in atoms if a.kind == "param"]
        assert [p.start for p in found] == offsets


@settings(max_examples=200, deadline=None)
@given(CELLS)
def test_render_changes_only_the_placeholders(cell: Cell) -> None:
    for statement, (_, _, atoms, _) in zip(_check(cell), cell.statements, strict=True):
        wire, _, names = expected_forms(atoms)
        rendered = statement.render()
        assert rendered.sql == wire
        assert rendered.names == names == statement.names


@settings(max_examples=200, deadline=None)
@given(CELLS)
def test_for_psycopg_agrees_with_render(cell: Cell) -> None:
    for statement, (_, _, atoms, _) in zip(_check(cell), cell.statements, strict=True):
        _, expected, names = expected_forms(atoms)
        composed = statement.for_psycopg()
        assert composed == expected
        # The same statement either way: undo each form and compare.
        rendered = statement.render()
        # Read as psycopg does, left to right: %% is %, %(name)s a parameter.
        assert _as_psycopg_reads_it(composed, names) == rendered.sql


@settings(max_examples=200, deadline=None)
@given(CELLS)
def test_source_offset_points_at_the_same_character(cell: Cell) -> None:
    for statement, (_, _, _, offsets) in zip(_check(cell), cell.statements, strict=True):
        rendered = statement.render()
        marks = list(re.finditer(r"\$[0-9]+", rendered.sql))
        # Only the generated placeholders became $n; real dollar text in the sql is not matched here.
        holders = [m for m in marks if cell.sql[rendered.source_offset(m.start())] == ":"]
        inside = {i for m in holders for i in range(m.start(), m.end())}
        for position, char in enumerate(rendered.sql):
            if position not in inside:
                assert cell.sql[rendered.source_offset(position)] == char
        assert [rendered.source_offset(m.start()) for m in holders] == offsets
