"""Result columns into pandas, by the column's Postgres type, never by the values in it.

Two sources feed the same rules: raw binary values gathered from the wire
(`BinaryColumn`, decoded with numpy a column at a time) and Python values
psycopg's loaders produced (`column_from_values`, for types without a
binary decoder here). So a column's dtype and values do not depend on the
size of the result, on NULLs turning up in it, or on which source served it:

========================  ==========================================================
int2, int4, int8, oid     int64; ``Int64`` (nullable) when a NULL is present
float4, float8            float64 (a float4 exactly as stored, not its decimal text), NULL as NaN
bool                      bool; ``boolean`` (nullable) when a NULL is present
text, varchar, char, name pandas ``str``, NULL as NaN
timestamp                 datetime64[us], NULL as NaT
timestamptz               datetime64[us, <the session's TimeZone>], NULL as NaT
date, numeric, uuid, ...  object: datetime.date, Decimal, UUID, ... (psycopg's values)
========================  ==========================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BOOL, BYTEA, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 19, 20, 21, 23, 25, 26
FLOAT4, FLOAT8, BPCHAR, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ = 700, 701, 1042, 1043, 1082, 1114, 1184
NUMERIC, UUID, JSON, JSONB = 1700, 2950, 114, 3802

_FIXED = {BOOL: ">u1", INT2: ">i2", INT4: ">i4", INT8: ">i8", OID: ">u4", FLOAT4: ">f4", FLOAT8: ">f8",
          DATE: ">i4", TIMESTAMP: ">i8", TIMESTAMPTZ: ">i8"}  # fmt: skip
_INTEGERS = {INT2, INT4, INT8, OID}
_STRINGS = {TEXT, VARCHAR, BPCHAR, NAME}
#: Types decoded with numpy from their binary form.
VECTORIZED = frozenset(_FIXED) | _STRINGS
#: Types whose values psycopg's binary loader gives exactly as its text loader does.
BINARY_AS_TEXT = frozenset({
    BYTEA, NUMERIC, UUID, JSON, JSONB,
    # arrays of bool, ints, float8, text, varchar, date, uuid (not float4[]: psycopg's text loader
    # reads its decimal text, the binary one the float4 itself)
    1000, 1005, 1007, 1016, 1022, 1009, 1015, 1182, 2951,
})  # fmt: skip

_EPOCH_DAYS = 10957  # 2000-01-01, Postgres' epoch, in days since 1970-01-01
_EPOCH_US = _EPOCH_DAYS * 86_400_000_000
_MIN_DATE, _MAX_DATE = dt.date.min.toordinal(), dt.date.max.toordinal()
_UNIX_ORDINAL = dt.date(1970, 1, 1).toordinal()


class ValueOutOfRange(ValueError):
    """A date or timestamp Python cannot hold (infinity, before year 1, after 9999)."""


class BinaryColumn:
    """One column's binary values, chunk by chunk, as the wire delivers them."""

    __slots__ = ("_chunks", "_lengths", "_nulls", "name", "oid")

    def __init__(self, name: str, oid: int) -> None:
        self.name, self.oid = name, oid
        self._chunks: list[bytes] = []
        self._lengths: list[np.ndarray] = []
        self._nulls: list[np.ndarray] = []

    def take(self, get: Callable[[int, int], bytes | None], rows: range, index: int) -> None:
        """Add column ``index`` of a chunk of rows, read with ``get(row, column)``."""
        if _width(self.oid):
            try:  # a fixed-width column without NULLs: no list of values at all
                data = b"".join(map(get, rows, repeat(index)))  # type: ignore[arg-type]
            except TypeError:
                pass
            else:
                self._chunks.append(data)
                self._nulls.append(np.zeros(len(rows), dtype=bool))
                return
        self.add(list(map(get, rows, repeat(index))))

    def add(self, values: list[bytes | None]) -> None:
        """Add one chunk of values (None for NULL)."""
        width = _width(self.oid)
        try:
            data = b"".join(values)  # type: ignore[arg-type]
            nulls = np.zeros(len(values), dtype=bool)
        except TypeError:  # a NULL in this chunk
            nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
            filler = b"\x00" * width if width else b""
            values = [filler if v is None else v for v in values]
            data = b"".join(values)  # type: ignore[arg-type]
        self._chunks.append(data)
        self._nulls.append(nulls)
        if not width:
            self._lengths.append(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))  # type: ignore[arg-type]

    def raw_values(self) -> list[bytes | None]:
        """The values as they came (for a few rows, where numpy's setup costs more than it saves)."""
        width = _width(self.oid)
        out: list[bytes | None] = []
        for index, (data, nulls) in enumerate(zip(self._chunks, self._nulls, strict=True)):
            if width:
                bounds = [(i * width, (i + 1) * width) for i in range(len(nulls))]
            else:
                ends = np.cumsum(self._lengths[index]).tolist()
                bounds = list(zip([0, *ends[:-1]], ends, strict=True))
            flags = nulls.tolist()
            out.extend(None if null else data[a:b] for (a, b), null in zip(bounds, flags, strict=True))
        return out

    def column(self, timezone: dt.tzinfo | None) -> Any:
        data = b"".join(self._chunks)
        nulls = np.concatenate(self._nulls) if self._nulls else np.zeros(0, dtype=bool)
        if self.oid in _STRINGS:
            lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
            return _strings(data, lengths, nulls)
        raw = np.frombuffer(data, dtype=_FIXED[self.oid])
        return _fixed(self.oid, raw, nulls, timezone, self.name)


def _width(oid: int) -> int:
    code = _FIXED.get(oid)
    return int(code[-1]) if code else 0


def _fixed(oid: int, raw: np.ndarray, nulls: np.ndarray, timezone: dt.tzinfo | None, name: str) -> Any:
    import pandas as pd

    has_nulls = bool(nulls.any())
    if oid in _INTEGERS:
        values = raw.astype(np.int64)
        return pd.arrays.IntegerArray(values, nulls) if has_nulls else values
    if oid in (FLOAT4, FLOAT8):
        values = raw.astype(np.float64)
        if has_nulls:
            values[nulls] = np.nan
        return values
    if oid == BOOL:
        values = raw.astype(bool)
        return pd.arrays.BooleanArray(values, nulls) if has_nulls else values
    if oid == DATE:
        return _dates(raw.astype(np.int64), nulls, name)
    micros = raw.astype(np.int64)
    _check_timestamps(micros[~nulls], name)
    stamps = (micros + _EPOCH_US).view("datetime64[us]")
    if has_nulls:
        stamps = stamps.copy()
        stamps[nulls] = np.datetime64("NaT")
    if oid == TIMESTAMP:
        return stamps
    index = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(timezone or dt.timezone.utc)
    local = index.year[~nulls] if has_nulls else index.year
    if len(local) and (local.min() < 1 or local.max() > 9999):  # year 1 or 9999 in UTC, not here
        raise ValueOutOfRange(range_message(name, "timestamp"))
    return index.array


def _dates(days: np.ndarray, nulls: np.ndarray, name: str) -> np.ndarray:
    ordinals = days + _EPOCH_DAYS + _UNIX_ORDINAL
    present = ordinals[~nulls]
    if len(present) and (present.min() < _MIN_DATE or present.max() > _MAX_DATE):
        raise ValueOutOfRange(range_message(name, "date"))
    out = (days + _EPOCH_DAYS).astype("datetime64[D]").astype(object)
    if nulls.any():
        out[nulls] = None
    return out


_US = dt.timedelta(microseconds=1)
_MIN_US = (dt.datetime(1, 1, 1) - dt.datetime(2000, 1, 1)) // _US
_MAX_US = (dt.datetime(9999, 12, 31, 23, 59, 59, 999999) - dt.datetime(2000, 1, 1)) // _US


def _check_timestamps(micros: np.ndarray, name: str) -> None:
    if len(micros) and (micros.min() < _MIN_US or micros.max() > _MAX_US):
        raise ValueOutOfRange(range_message(name, "timestamp"))


def range_message(name: str, kind: str) -> str:
    return (
        f"column {name!r} holds a {kind} Python cannot represent (infinity, or a year before 1 or "
        f"after 9999); cast it to text in the query ({name}::text) to see it as Postgres writes it"
    )


def _strings(data: bytes, lengths: np.ndarray, nulls: np.ndarray) -> Any:
    import pandas as pd
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    validity = None
    if nulls.any():
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
    array = pa.LargeStringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), pa.py_buffer(data), validity, int(nulls.sum())
    )
    array.validate(full=True)  # the server sends valid UTF-8; a decode error must not pass silently
    return pd.array(array.cast(pa.string()) if len(data) < 2**31 else array, dtype=_str_dtype())


def _str_dtype() -> Any:
    import pandas as pd

    return pd.StringDtype(storage="pyarrow", na_value=np.nan)


def column_from_values(oid: int, values: Sequence[Any] | np.ndarray, timezone: dt.tzinfo | None) -> Any:
    """A column from Python values (psycopg's), by the same rules as `BinaryColumn`."""
    import pandas as pd

    has_nulls = any(v is None for v in values)
    if oid in _INTEGERS:
        return pd.array(values, dtype="Int64") if has_nulls else np.array(values, dtype=np.int64)
    if oid in (FLOAT4, FLOAT8):
        floats = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        # psycopg read a float4 from its shortest decimal text; the binary value is the float4 itself.
        return floats.astype(np.float32).astype(np.float64) if oid == FLOAT4 else floats
    if oid == BOOL:
        return pd.array(values, dtype="boolean") if has_nulls else np.array(values, dtype=bool)
    if oid in _STRINGS:
        return pd.array(values, dtype=_str_dtype())
    if oid == TIMESTAMP:
        return np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values],
                        dtype="datetime64[us]")  # fmt: skip
    if oid == TIMESTAMPTZ:
        return pd.array(values, dtype=pd.DatetimeTZDtype("us", timezone or dt.timezone.utc))
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def loaded_column(values: list[bytes | None], load: Callable[[bytes], Any]) -> np.ndarray:
    """Values decoded one by one with psycopg's binary loader, in an object array."""
    out = np.empty(len(values), dtype=object)
    out[:] = [None if v is None else load(v) for v in values]
    return out


def frame(names: Sequence[str], columns: Sequence[Any]) -> pd.DataFrame:
    """A DataFrame of these columns; duplicate names (``SELECT 1 AS a, 2 AS a``) are kept."""
    import pandas as pd

    if not len(columns):
        return pd.DataFrame()
    if len(set(names)) == len(names):
        return pd.DataFrame(dict(zip(names, columns, strict=True)), copy=False)
    df = pd.DataFrame(dict(enumerate(columns)), copy=False)
    df.columns = list(names)
    return df
