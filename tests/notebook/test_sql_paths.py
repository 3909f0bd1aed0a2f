"""Both SQL paths bind the same placeholders: ``db.sql`` (``$n``, server-side) and psycopg (``%(name)s``).

Generated SELECTs mix real ``:name`` placeholders with decoys that only look
like them (``':x'``, ``E'\\:x'``, ``$$:x;$$``, comments, quoted aliases); on a
real server both paths must return the decoys unchanged and the parameters
as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alien_nb.core._sql import parse_sql
from tests.adversarial._connection_crash import Lines, notebook
from tests.local.conftest import short_home

NAME = "sql-paths"
# Each name has one type, so both paths describe the same result columns.
TEXT_NAMES = ["a", "b"]
INT_NAMES = ["n", "m"]


@pytest.fixture(scope="module")
def db() -> Iterator[Any]:
    with short_home() as home:
        state = notebook(home, Lines())
        try:
            yield state.start(NAME, show_progress=False)
        finally:
            state.close()


_DECOY = st.lists(st.sampled_from([":x", ":a", ";", "%", "%(a)s", "$1", "::int", "\\:n", "'", " ", "z", "é"]),
                  max_size=5).map("".join)  # fmt: skip
_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)


def _standard(value: str) -> tuple[str, str]:
    return "'" + value.replace("'", "''") + "'", value


def _escaped(value: str) -> tuple[str, str]:
    return "E'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'", value


def _dollar(value: str) -> tuple[str, str]:
    return "$q$" + value + "$q$", value  # the decoys never hold "$q$"


# (SQL, the value it selects, or None for a placeholder whose value comes from params)
_ITEM = st.one_of(
    st.builds(_standard, _DECOY),
    st.builds(_escaped, _DECOY),
    st.builds(_dollar, _DECOY),
    st.sampled_from([":" + n for n in TEXT_NAMES] + [f"(:{n})::text" for n in TEXT_NAMES]).map(
        lambda s: (s, None)
    ),
    st.sampled_from([f":{n}::int8" for n in INT_NAMES] + [f"(:{n})::int8" for n in INT_NAMES]).map(
        lambda s: (s, None)
    ),
)
_GAP = st.sampled_from([", ", ",", " /* :x; */ , ", " -- :x ;\n, "])


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[Any]]:
    """A SELECT, the params it binds and the row it must return."""
    items = draw(st.lists(_ITEM, min_size=1, max_size=6))
    values: dict[str, Any] = {n: draw(_TEXT) for n in TEXT_NAMES} | {
        n: draw(st.integers(-(2**63), 2**63 - 1)) for n in INT_NAMES
    }
    listed, expected, used = [], [], []
    for number, (sql, value) in enumerate(items):
        if value is None:
            name = sql.lstrip("(:").split(")")[0].split(":")[0]
            used.append(name)
            value = values[name]
        listed.append(f'{sql} AS "c{number}:x"')
        expected.append(value)
    gaps = [draw(_GAP) for _ in listed[1:]]
    body = listed[0] + "".join(gap + item for gap, item in zip(gaps, listed[1:], strict=True))
    return f"SELECT {body}", {n: values[n] for n in dict.fromkeys(used)}, expected


@settings(max_examples=30, deadline=None)
@given(queries())
def test_sql_and_psycopg_paths_return_the_same_row(
    db: Any, query: tuple[str, dict[str, Any], list[Any]]
) -> None:
    text, params, expected = query
    (statement,) = parse_sql(text)
    assert set(statement.names) == set(params)
    frame = db.sql(text, params)
    assert list(frame.columns) == [f"c{i}:x" for i in range(len(expected))]
    assert frame.iloc[0].tolist() == expected
    with db.connect() as conn:
        row = conn.execute(statement.for_psycopg(), params).fetchone()
    assert list(row) == expected
