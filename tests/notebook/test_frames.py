"""`_frames` and `_copytext` on their own: the column rules, without a server."""

from __future__ import annotations

import datetime as dt
import struct
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alien_nb.core._sql import parse_sql
from alien_nb.notebook import _frames as F
from alien_nb.notebook._copytext import copy_format, frame_from_copy

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
EPOCH = dt.datetime(2000, 1, 1)


def binary(oid: int, values: list[Any]) -> list[bytes | None]:
    """Values in Postgres' binary wire format."""
    out: list[bytes | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif oid in (F.INT2, F.INT4, F.INT8):
            out.append(struct.pack({F.INT2: ">h", F.INT4: ">i", F.INT8: ">q"}[oid], v))
        elif oid == F.FLOAT8:
            out.append(struct.pack(">d", v))
        elif oid == F.BOOL:
            out.append(b"\x01" if v else b"\x00")
        elif oid == F.TEXT:
            out.append(v.encode())
        elif oid == F.DATE:
            out.append(struct.pack(">i", (v - EPOCH.date()).days))
        elif oid == F.TIMESTAMP:
            out.append(struct.pack(">q", (v - EPOCH) // dt.timedelta(microseconds=1)))
        elif oid == F.TIMESTAMPTZ:
            naive = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
            out.append(struct.pack(">q", (naive - EPOCH) // dt.timedelta(microseconds=1)))
    return out


CASES = [
    (F.INT8, [1, -(2**62), None, 7]),
    (F.INT4, [1, 2, 3]),
    (F.INT2, [None, None]),
    (F.FLOAT8, [0.1, None, -1e300]),
    (F.BOOL, [True, False, None]),
    (F.TEXT, ["a", "", None, "ünïcode", "x" * 1000]),
    (F.DATE, [dt.date(2024, 2, 29), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
    (F.TIMESTAMP, [dt.datetime(2024, 3, 31, 1, 30), None, dt.datetime(1999, 12, 31, 23, 59, 59, 999999)]),
    (
        F.TIMESTAMPTZ,
        [dt.datetime(2024, 3, 31, 1, 30, tzinfo=PARIS), None, dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS)],
    ),
]


@pytest.mark.parametrize("oid, values", CASES, ids=[str(oid) for oid, _ in CASES])
@pytest.mark.parametrize("chunks", [1, 2])
def test_numpy_decoding_equals_the_rules_for_python_values(oid: int, values: list[Any], chunks: int) -> None:
    column = F.BinaryColumn("c", oid)
    raw = binary(oid, values)
    half = len(raw) // 2 if chunks == 2 else len(raw)
    column.add(raw[:half])
    if chunks == 2:
        rows = range(len(raw) - half)
        column.take(lambda r, _c: raw[half + r], rows, 0)
    assert column.raw_values() == raw
    decoded = pd.Series(column.column(PARIS))
    expected = pd.Series(F.column_from_values(oid, values, PARIS))
    pd.testing.assert_series_equal(decoded, expected, check_exact=True)


def test_integers_with_nulls_stay_exact() -> None:
    column = pd.Series(F.column_from_values(F.INT8, [2**62 + 1, None], None))
    assert str(column.dtype) == "Int64" and column.iloc[0] == 2**62 + 1  # float64 would round it


@pytest.mark.parametrize(
    "oid, micros", [(F.TIMESTAMP, 2**63 - 1), (F.TIMESTAMPTZ, -(2**63)), (F.DATE, 2**31 - 1)]
)
def test_infinity_and_years_python_cannot_hold_are_refused(oid: int, micros: int) -> None:
    column = F.BinaryColumn("when", oid)
    column.add([struct.pack(">i" if oid == F.DATE else ">q", micros)])
    with pytest.raises(F.ValueOutOfRange, match=r"when::text"):
        column.column(None)


def test_duplicate_names_survive_and_empty_frames_have_no_columns() -> None:
    frame = F.frame(["a", "a"], [np.array([1]), np.array([2])])
    assert list(frame.columns) == ["a", "a"] and frame.iloc[0].tolist() == [1, 2]
    assert F.frame([], []).shape == (0, 0)


def one(sql: str) -> Any:
    (statement,) = parse_sql(sql)
    return statement


@pytest.mark.parametrize(
    "sql, fmt",
    [
        ("COPY t TO STDOUT", "text"),
        ("COPY t TO STDOUT (FORMAT csv, HEADER)", "csv"),
        ("COPY t TO STDOUT WITH CSV", "csv"),
        ("COPY (SELECT 'csv') TO STDOUT", "text"),
        ("COPY t TO STDOUT (FORMAT binary)", "binary"),
    ],
)
def test_copy_format_reads_the_options_after_stdout(sql: str, fmt: str) -> None:
    assert copy_format(one(sql)) == fmt


def test_text_format_unescapes_and_knows_null() -> None:
    data = b"1\ta\\tb\\\\c\t\\N\n2\t\\x41\\101\t\n"
    frame = frame_from_copy(data, one("COPY t TO STDOUT"), "utf-8")
    assert frame.iloc[0, :2].tolist() == ["1", "a\tb\\c"] and pd.isna(frame.iloc[0, 2])
    assert frame.iloc[1].tolist() == ["2", "AA", ""]


def test_csv_tells_an_empty_string_from_null_and_keeps_quoted_newlines() -> None:
    data = b'id,s,n\n1,"",\n2,"a,""b""\nc",x\n'
    frame = frame_from_copy(data, one("COPY t TO STDOUT (FORMAT csv, HEADER)"), "utf-8")
    assert list(frame.columns) == ["id", "s", "n"]
    assert (
        frame["s"].tolist() == ["", 'a,"b"\nc'] and pd.isna(frame["n"].iloc[0]) and frame["n"].iloc[1] == "x"
    )


def test_csv_options_delimiter_and_null_are_honoured() -> None:
    data = b"1;NULL;x\n"
    frame = frame_from_copy(data, one("COPY t TO STDOUT (FORMAT csv, DELIMITER ';', NULL 'NULL')"), "utf-8")
    assert frame.iloc[0, 0] == "1" and pd.isna(frame.iloc[0, 1]) and frame.iloc[0, 2] == "x"
