"""``load``'s metadata column types, from the values or from ``types=``, against a real server."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from alien_nb import vector
from alien_nb.vector import InvalidArgument, VectorError

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2))


@pytest.fixture
def fresh(conn: psycopg.Connection[Any], request: pytest.FixtureRequest) -> str:
    import re

    name = re.sub(r"\W+", "_", f"lt_{request.node.name}")[:60].lower()
    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    return name


def _types(conn: psycopg.Connection[Any], table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 2 AND NOT attisdropped",
        (f'"{table}"',),
    ).fetchall()
    return dict(rows)


def _column(conn: psycopg.Connection[Any], table: str, name: str) -> list[Any]:
    return [row[0] for row in conn.execute(f'SELECT "{name}" FROM "{table}" ORDER BY id').fetchall()]


# Three values each (the middle one NULL where the type allows one), their type, and what comes back.
CASES: dict[str, tuple[Any, str, list[Any]]] = {
    "dates": ([dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)], "date",
              [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)]),
    "naive": ([dt.datetime(2024, 1, 2, 3, 4, 5, 6), None, dt.datetime(2000, 1, 1)], "timestamp without time zone",
              [dt.datetime(2024, 1, 2, 3, 4, 5, 6), None, dt.datetime(2000, 1, 1)]),
    "aware": ([dt.datetime(2024, 1, 2, 3, tzinfo=UTC), None, dt.datetime(2024, 1, 2, 5, tzinfo=PLUS2)],
              "timestamp with time zone",
              [dt.datetime(2024, 1, 2, 3, tzinfo=UTC), None, dt.datetime(2024, 1, 2, 3, tzinfo=UTC)]),
    "decimals": ([Decimal("1.10"), None, 3], "numeric", [Decimal("1.10"), None, Decimal(3)]),
    "uuids": ([uuid.UUID(int=1), None, uuid.UUID(int=2**100)], "uuid", [uuid.UUID(int=1), None, uuid.UUID(int=2**100)]),
    "flags": ([True, None, False], "boolean", [True, None, False]),
    "flags_np": (np.array([True, False, True]), "boolean", [True, False, True]),
    "blobs": ([b"\x00\x01", None, bytearray(b"\xff")], "bytea", [b"\x00\x01", None, b"\xff"]),
    "ints": ([1, None, -(2**62)], "bigint", [1, None, -(2**62)]),
    "ints_np": (np.array([1, 2, 3], dtype=np.uint8), "bigint", [1, 2, 3]),
    "floats": ([1.5, None, float("nan")], "double precision", [1.5, None, None]),
    "floats_np": (np.array([0.25, np.nan, 2.0]), "double precision", [0.25, None, 2.0]),
    "mixed_numbers": ([1, 2.5, np.int64(3)], "double precision", [1.0, 2.5, 3.0]),
    "texts": (["a", None, "c\td"], "text", ["a", None, "c\td"]),
    "int_lists": ([[1, 2], None, []], "bigint[]", [[1, 2], None, []]),
    "float_lists": ([(1.0, 2), [None, 0.5], [3.0]], "double precision[]", [[1.0, 2.0], [None, 0.5], [3.0]]),
    "str_lists": ([["a", "b,c"], ["\"q\""], None], "text[]", [["a", "b,c"], ["\"q\""], None]),
    "array_rows": (np.arange(6).reshape(3, 2), "bigint[]", [[0, 1], [2, 3], [4, 5]]),
    "np_scalars": ([np.float32(1.5), np.float64(2.0), None], "double precision", [1.5, 2.0, None]),
    "dt64_seconds": (np.array(["2024-01-02T03:04:05", "NaT", "2000-01-01"], dtype="datetime64[s]"),
                     "timestamp without time zone", [dt.datetime(2024, 1, 2, 3, 4, 5), None, dt.datetime(2000, 1, 1)]),
    "dt64_days": (np.array(["2024-01-02", "NaT", "2000-01-01"], dtype="datetime64[D]"), "date",
                  [dt.date(2024, 1, 2), None, dt.date(2000, 1, 1)]),
    "pd_naive": (pd.Series(pd.to_datetime(["2024-01-02 03:04", None, "2000-01-01 00:00"])), "timestamp without time zone",
                 [dt.datetime(2024, 1, 2, 3, 4), None, dt.datetime(2000, 1, 1)]),
    "pd_aware": (pd.Series(pd.to_datetime(["2024-01-02 03:04", None, "2000-01-01 00:00"]).tz_localize("Europe/Berlin")),
                 "timestamp with time zone",
                 [dt.datetime(2024, 1, 2, 2, 4, tzinfo=UTC), None, dt.datetime(1999, 12, 31, 23, tzinfo=UTC)]),
    "pd_ints": (pd.array([1, None, 3], dtype="Int64"), "bigint", [1, None, 3]),
    "pd_floats": (pd.Series([0.5, np.nan, 1.0]), "double precision", [0.5, None, 1.0]),
    "pd_bools": (pd.array([True, None, False], dtype="boolean"), "boolean", [True, None, False]),
    "pd_strings": (pd.Series(["x", None, "z"]), "text", ["x", None, "z"]),
    "nulls": ([None, None, None], "text", [None, None, None]),
}  # fmt: skip


def test_every_type_round_trips(conn: psycopg.Connection[Any], fresh: str) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    x = np.eye(3, 4, dtype=np.float32)
    vector.load(
        conn, fresh, x, columns={name: values for name, (values, _t, _b) in CASES.items()}, progress=False
    )
    types = _types(conn, fresh)
    for name, (_values, pg_type, back) in CASES.items():
        assert types[name] == pg_type, name
        assert _column(conn, fresh, name) == back, name
    # appending the same columns checks them against the table's types and accepts them
    more = vector.load(conn, fresh, x, columns={name: values for name, (values, _t, _b) in CASES.items()},
                       progress=False)  # fmt: skip
    assert not more.created and conn.execute(f'SELECT count(*) FROM "{fresh}"').fetchone() == (6,)
    assert _column(conn, fresh, "dates")[3:] == CASES["dates"][2]


def test_a_dataframe_keeps_its_column_types(conn: psycopg.Connection[Any], fresh: str) -> None:
    frame = pd.DataFrame({
        "embedding": list(np.eye(3, dtype=np.float32)),
        "published": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), None],
        "seen": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).tz_localize("UTC"),
        "title": ["a", "b", "c"],
    })  # fmt: skip
    vector.load(conn, fresh, frame, progress=False)
    assert _types(conn, fresh) == {"published": "date", "seen": "timestamp with time zone", "title": "text"}
    assert _column(conn, fresh, "published") == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), None]


def test_types_override(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = np.eye(3, 4, dtype=np.float32)
    columns = {"published": ["2024-01-02", None, "1999-12-31"], "price": [1.5, 2.25, None],
               "code": ["ab", "cd", "ef"], "n": np.array([1, 2, 3]), "tags": [["a"], [], None],
               "same": [dt.date(2024, 1, 1)] * 3, "mixed": [1, "two", 3.0]}  # fmt: skip
    types = {"published": "date", "price": "numeric(10, 2)", "code": "varchar(8)", "n": "integer",
             "tags": "text[]", "same": "DATE", "mixed": "text"}  # fmt: skip
    vector.load(conn, fresh, x, columns=columns, types=types, progress=False)
    assert _types(conn, fresh) == {"published": "date", "price": "numeric(10,2)", "code": "character varying(8)",
                                   "n": "integer", "tags": "text[]", "same": "date", "mixed": "text"}  # fmt: skip
    assert _column(conn, fresh, "published") == [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)]
    assert _column(conn, fresh, "price") == [Decimal("1.50"), Decimal("2.25"), None]
    assert _column(conn, fresh, "n") == [1, 2, 3]
    assert _column(conn, fresh, "tags") == [["a"], [], None]
    assert _column(conn, fresh, "mixed") == ["1", "two", "3.0"]
    ids, back = vector.read_embeddings(conn, fresh)
    assert np.array_equal(back, x) and ids.tolist() == [0, 1, 2]  # the vectors went as text too
    # the same types= appends (each value parsed by the server); dates as dates go in binary
    vector.load(conn, fresh, x, columns={**columns, "published": [dt.date(2025, 1, 1)] * 3}, types=types,
                progress=False)  # fmt: skip
    assert _column(conn, fresh, "published")[3:] == [dt.date(2025, 1, 1)] * 3
    half = vector.load(conn, fresh + "_h", x, columns={"published": columns["published"]}, types={"published": "date"},
                       dtype="halfvec", replace=True, progress=False)  # fmt: skip
    assert half.rows == 3 and np.array_equal(vector.read_embeddings(conn, fresh + "_h")[1], x)
    conn.execute(f'DROP TABLE "{fresh}_h"')


def test_a_column_of_mixed_types_is_refused(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = np.eye(2, dtype=np.float32)
    cases = [
        ({"when": [dt.date(2024, 1, 1), "2024-01-02"]}, r"'when' mixes date and str values"),
        (
            {"when": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=UTC)]},
            "naive datetime and timezone-aware",
        ),
        ({"n": [1, "2"]}, r"'n' mixes int and str"),
        ({"flag": [True, 1]}, r"'flag' mixes bool and int"),
        ({"price": [Decimal(1), 2.5]}, r"'price' mixes Decimal and float"),
        ({"tags": [[1], ["a"]]}, r"'tags' mixes int and str list elements"),
        ({"obj": [object(), None]}, r"'obj' holds object values"),
        ({"tags": [[], None]}, r"'tags' holds only empty lists"),
    ]
    for columns, message in cases:
        with pytest.raises(InvalidArgument, match=message) as caught:
            vector.load(conn, fresh, x, columns=columns, progress=False)
        assert "types=" in (caught.value.hint or "")
    assert conn.execute("SELECT to_regclass(%s)", (fresh,)).fetchone() == (None,)  # nothing was created


@pytest.mark.parametrize(
    "types, message",
    [
        ({"published": "date; DROP TABLE x"}, "not a plain Postgres type name"),
        ({"published": "text'"}, "not a plain Postgres type name"),
        ({"published": 'text"'}, "not a plain Postgres type name"),
        ({"published": ""}, "not a plain Postgres type name"),
        ({"published": 5}, "not a plain Postgres type name"),
        ({"other": "date"}, "'other', which is not a metadata column"),
        ({"id": "integer"}, "not a metadata column"),
        ({"published": "no_such_type"}, "which this server does not have"),
        (["published"], "must be a mapping"),
    ],
)
def test_bad_types_are_refused(conn: psycopg.Connection[Any], fresh: str, types: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        vector.load(conn, fresh, np.eye(2, dtype=np.float32), columns={"published": ["2024-01-01", None]},
                    types=types, progress=False)  # fmt: skip
    assert conn.execute("SELECT to_regclass(%s)", (fresh,)).fetchone() == (None,)


def test_append_checks_the_new_types(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = np.eye(2, 3, dtype=np.float32)
    first = {"published": [dt.date(2024, 1, 1), None], "seen": [dt.datetime(2024, 1, 1, tzinfo=UTC)] * 2,
             "tags": [[1, 2], [3]], "key": [uuid.uuid4(), uuid.uuid4()]}  # fmt: skip
    vector.load(conn, fresh, x, columns=first, progress=False)
    vector.load(conn, fresh, x, columns=first, progress=False)  # matching types append
    mismatches = [
        (
            {"published": [dt.datetime(2024, 1, 1)] * 2},
            "'published' .* is date, but the data is timestamp without",
        ),
        (
            {"seen": [dt.datetime(2024, 1, 1)] * 2},
            "with time zone, but the data is timestamp without time zone",
        ),
        ({"tags": [[1.5], [2.0]]}, r"is bigint\[\], but the data is double precision\[\]"),
        ({"key": ["not-a-uuid", "x"]}, "is uuid, but the data is text"),
    ]
    for columns, message in mismatches:
        with pytest.raises(VectorError, match=message) as caught:
            vector.load(conn, fresh, x, columns=columns, progress=False)
        assert "types=" in (caught.value.hint or "")
    assert conn.execute(f'SELECT count(*) FROM "{fresh}"').fetchone() == (4,)
    # types= naming the column's own type: the server parses the values
    vector.load(conn, fresh, x, columns={"published": ["2030-05-06", None]}, types={"published": "date"},
                progress=False)  # fmt: skip
    assert _column(conn, fresh, "published")[4:] == [dt.date(2030, 5, 6), None]
    with pytest.raises(VectorError, match="is date, but the data is integer"):
        vector.load(
            conn, fresh, x, columns={"published": [1, 2]}, types={"published": "integer"}, progress=False
        )
