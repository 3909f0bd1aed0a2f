"""``load``'s metadata columns: the Postgres type of each from its values, or from ``types=``.

A column's type comes from what it holds (``date`` for `datetime.date`, ``timestamptz`` for aware
datetimes, ``bigint[]`` for lists of ints, ...), never silently ``text``: values of incompatible
types, or of a type with no Postgres counterpart, are refused with the column's name, unless
``types=`` names the type, and then the server parses each value as that type.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg

from ._binary import FIXED_TYPES
from ._errors import InvalidArgument

# format_type(oid, NULL) spellings of the types inferred here, where they differ.
FORMAT_TYPE = {"timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone"}
# A plain type name: words, an optional (n) or (p, s) modifier, optional [] suffixes.
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*(?:\(\s*\d+\s*(?:,\s*\d+\s*)?\))?[A-Za-z0-9_ ]*(?:\[\d*\])*")
# Types that may share a column, and the type they share it as.
_WIDER = {
    frozenset({"bigint", "double precision"}): "double precision",
    frozenset({"bigint", "numeric"}): "numeric",
}


@dataclass(frozen=True)
class Column:
    """A metadata column as it is sent.

    ``values`` is a numpy array when ``fixed`` (encoded straight from its buffer), else a list
    with None for NULL. ``binary`` is the type its values dump as in binary COPY, None when they
    go as text for the server to parse (a ``types=`` type they are not already). ``base`` is the
    type's ``format_type(oid, NULL)`` spelling, to compare with an existing column.
    """

    name: str
    values: Any
    pg_type: str
    fixed: bool
    binary: str | None
    base: str
    declared: bool = False


def column(name: str, values: Any, declared: str | None = None) -> Column:
    """The column ``name`` with its type inferred (or ``declared``, checked later by `resolve`)."""
    name = str(name)
    try:
        pg_type, prepared = _infer(name, values)
    except InvalidArgument:
        if declared is None:
            raise
        return Column(name, _as_text(_as_list(values)), declared, False, None, "", True)
    fixed = isinstance(prepared, np.ndarray) and str(prepared.dtype) in FIXED_TYPES
    base = FORMAT_TYPE.get(pg_type, pg_type)
    return Column(name, prepared, declared or pg_type, fixed, pg_type, base, declared is not None)


def check_types(types: Any, names: Iterable[str]) -> dict[str, str]:
    """``types=`` as {column: type name}, each a plain type name of a metadata column."""
    if types is None:
        return {}
    if not isinstance(types, Mapping):
        raise InvalidArgument("types must be a mapping of column name to Postgres type.",
                              hint='For example types={"published": "date"}.')  # fmt: skip
    known = set(names)
    checked = {}
    for key, value in types.items():
        if key not in known:
            listed = ", ".join(repr(n) for n in sorted(known)) or "none"
            raise InvalidArgument(
                f"types= names {key!r}, which is not a metadata column (they are: {listed}).",
                hint="Set the type of a column given in columns= (or the DataFrame).",
            )
        if not isinstance(value, str) or not _TYPE_NAME.fullmatch(value.strip()):
            shown = repr(value) if isinstance(value, str) and len(value) <= 60 else type(value).__name__
            raise InvalidArgument(
                f"types[{key!r}] = {shown} is not a plain Postgres type name.",
                hint="Use letters, digits, spaces and underscores, with an optional (n) or (p, s) "
                "and [] for an array: 'date', 'numeric(10,2)', 'varchar(80)', 'text[]'.",
            )
        checked[str(key)] = " ".join(value.split())
    return checked


def resolve(conn: psycopg.Connection[Any], meta: list[Column]) -> list[Column]:
    """The ``types=`` columns with the server's spelling of their type; values that are not
    already of that type switch to text, for the server to parse."""
    declared = [c for c in meta if c.declared]
    if not declared:
        return meta
    rows = conn.execute(
        "SELECT format_type(to_regtype(t), NULL) "
        "FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n",
        ([c.pg_type for c in declared],),
    ).fetchall()
    bases = {c.name: row[0] for c, row in zip(declared, rows, strict=True)}
    out = []
    for col in meta:
        if not col.declared:
            out.append(col)
            continue
        base = bases[col.name]
        if base is None:
            raise InvalidArgument(
                f"types= gives {col.name!r} the type {col.pg_type!r}, which this server does not have.",
                hint="Use a Postgres type such as 'date', 'numeric(10,2)' or 'text[]' "
                "(or create your own type or extension first).",
            )
        if col.binary is not None and col.base == base:
            out.append(replace(col, base=base))
        else:
            out.append(
                replace(col, values=_as_text(_as_list(col.values)), fixed=False, binary=None, base=base)
            )
    return out


def missing(value: Any) -> bool:
    """None, NaN, pandas' NA / NaT, numpy's NaT: a NULL."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(value != value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return type(value).__name__ in {"NAType", "NaTType"}


def _as_list(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):
        return list(values.tolist())
    return list(values)


def _as_text(values: list[Any]) -> list[Any]:
    """Values for a text COPY: what psycopg dumps as text as it is, anything else as its str."""
    return [None if missing(v) else _text_value(v) for v in values]


def _text_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "to_pytimedelta"):
        return value.to_pytimedelta()
    if isinstance(value, (np.ndarray, tuple)):
        value = list(value.tolist() if isinstance(value, np.ndarray) else value)
    if isinstance(value, list):
        return [None if missing(v) else _text_value(v) for v in value]
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, (str, int, float, Decimal, dt.date, dt.time, dt.timedelta, uuid.UUID, bytes)):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value)


def _infer(name: str, values: Any) -> tuple[str, Any]:
    """(Postgres type, values as sent): a numpy array for fixed-width types, else a list."""
    if type(values).__module__.startswith("pandas"):
        return _from_pandas(name, values)
    if isinstance(values, np.ndarray):
        return _from_array(name, values)
    return _from_python(name, list(values))


def _from_array(name: str, array: np.ndarray) -> tuple[str, Any]:
    kind = array.dtype.kind
    if array.ndim == 2 and kind in "iubfU":
        element = {"i": "bigint", "u": "bigint", "b": "boolean", "f": "double precision", "U": "text"}[kind]
        return f"{element}[]", array.tolist()
    if array.ndim != 1:
        raise InvalidArgument(f"Column {name!r} is a {array.ndim}-dimensional array.",
                              hint="Give one value (or one list) per embedding.")  # fmt: skip
    if str(array.dtype) in FIXED_TYPES:
        return _fixed(FIXED_TYPES[str(array.dtype)][1], array)
    if kind in "iu":
        if kind == "u" and len(array) and int(array.max()) > np.iinfo(np.int64).max:
            raise _beyond_bigint(name)
        return "bigint", array.astype(np.int64)
    if kind == "f":
        return _fixed("double precision", array.astype(np.float64))
    if kind == "M":
        unit = np.datetime_data(array.dtype)[0]
        if unit in {"Y", "M", "W", "D"}:
            return "date", array.astype("datetime64[D]").tolist()  # date objects, NaT as None
        return "timestamp", array.astype("datetime64[us]").tolist()
    if kind == "m":
        return "interval", array.astype("timedelta64[us]").tolist()
    if kind == "U":
        return "text", array.tolist()
    if kind == "S":
        return "bytea", array.tolist()
    return _from_python(name, array.tolist())


def _beyond_bigint(name: str) -> InvalidArgument:
    return InvalidArgument(
        f"Column {name!r} holds integers beyond bigint's range (2**63 - 1).",
        hint=f"Pass types={{{name!r}: 'numeric'}} to store them exactly.",
    )


def _fixed(pg_type: str, array: np.ndarray) -> tuple[str, Any]:
    """A fixed-width column from its buffer; with NaN (pandas' missing value) a list, NaN as NULL."""
    if array.dtype.kind == "f" and np.isnan(array).any():
        return pg_type, [None if v != v else v for v in array.tolist()]
    return pg_type, array


def _from_pandas(name: str, series: Any) -> tuple[str, Any]:
    kind = str(series.dtype)
    if kind in FIXED_TYPES:
        return _fixed(FIXED_TYPES[kind][1], series.to_numpy())
    if kind.startswith("datetime64"):
        pg_type = "timestamptz" if getattr(series.dtype, "tz", None) is not None else "timestamp"
        return pg_type, [None if missing(v) else v.to_pydatetime() for v in series.tolist()]
    if kind.startswith("timedelta64"):
        return "interval", [None if missing(v) else v.to_pytimedelta() for v in series.tolist()]
    nullable = {"Int64": "bigint", "Int32": "bigint", "Int16": "bigint", "Int8": "bigint", "UInt8": "bigint",
                "UInt16": "bigint", "UInt32": "bigint", "Float64": "double precision",
                "Float32": "double precision", "boolean": "boolean"}  # fmt: skip
    if kind in nullable:
        return nullable[kind], [None if missing(v) else v for v in series.tolist()]
    return _from_python(name, series.tolist())


def _scalar_type(value: Any) -> str | None:
    """The Postgres type of one non-NULL Python or numpy scalar, None if there is none."""
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "bigint"
    if isinstance(value, (float, np.floating)):
        return "double precision"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytea"
    if isinstance(value, dt.datetime):
        return "timestamptz" if value.utcoffset() is not None else "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.timedelta):
        return "interval"
    if isinstance(value, uuid.UUID):
        return "uuid"
    return None


_SHOWN = {"timestamp": "naive datetime", "timestamptz": "timezone-aware datetime"}


def _shared(name: str, found: dict[str, str], what: str = "values") -> str:
    """The one type of ``found`` ({pg type: a Python type name}), or the refusal naming them."""
    if len(found) == 1:
        return next(iter(found))
    wider = _WIDER.get(frozenset(found))
    if wider is not None:
        return wider
    listed = " and ".join(sorted({_SHOWN.get(t, found[t]) for t in found}))
    raise InvalidArgument(
        f"Column {name!r} mixes {listed} {what}; a column holds one type.",
        hint=f"Convert them to one type, or pass types={{{name!r}: '...'}} (e.g. 'text') to set the "
        "column's type; the server then parses each value as that type.",
    )


def _from_python(name: str, values: list[Any]) -> tuple[str, Any]:
    present = [v for v in values if not missing(v)]
    if not present:
        return "text", [None] * len(values)  # only NULLs: any type holds them
    kinds = set(map(type, present))
    if kinds <= {int} and all(-(2**63) <= v < 2**63 for v in present) and len(present) == len(values):
        return "bigint", np.asarray(values, dtype=np.int64)
    if kinds <= {float, int} and len(present) == len(values) and float in kinds:
        return "double precision", np.asarray(values, dtype=np.float64)
    if kinds <= {int} and any(not -(2**63) <= v < 2**63 for v in present):
        raise _beyond_bigint(name)
    if kinds == {bool} and len(present) == len(values):
        return "boolean", np.asarray(values, dtype=bool)
    if kinds == {str}:  # the common case, without a type check per value
        return "text", [None if missing(v) else v for v in values]
    found: dict[str, str] = {}
    arrays = False
    for value in present:
        if isinstance(value, (list, tuple, np.ndarray)):
            arrays = True
            found.setdefault("array", type(value).__name__)
            continue
        pg_type = _scalar_type(value)
        if pg_type is None:
            raise InvalidArgument(
                f"Column {name!r} holds {type(value).__name__} values, which have no Postgres type here.",
                hint=f"Convert them (e.g. to str), or pass types={{{name!r}: '...'}} with the type the "
                "server should parse their text as.",
            )
        found.setdefault(pg_type, type(value).__name__)
    pg_type = _shared(name, found)
    if arrays:
        return _arrays(name, values)
    return pg_type, [None if missing(v) else _scalar_value(v, pg_type) for v in values]


def _arrays(name: str, values: list[Any]) -> tuple[str, list[Any]]:
    lists = [None if missing(v) else list(v.tolist() if isinstance(v, np.ndarray) else v) for v in values]
    found: dict[str, str] = {}
    for items in lists:
        for item in items or ():
            if missing(item):
                continue
            pg_type = _scalar_type(item)
            if pg_type is None or isinstance(item, (list, tuple, np.ndarray)):
                raise InvalidArgument(
                    f"Column {name!r} holds lists of {type(item).__name__}; load() stores lists of "
                    "numbers, strings, booleans, dates or other scalars.",
                    hint=f"Convert them, or pass types={{{name!r}: '...'}} with the array type to parse.",
                )
            found.setdefault(pg_type, type(item).__name__)
    if not found:
        raise InvalidArgument(
            f"Column {name!r} holds only empty lists (or NULLs); their type is unknown.",
            hint=f"Pass types={{{name!r}: 'text[]'}} (or the array type they are).",
        )
    element = _shared(name, found, "list elements")
    rows = [
        None if items is None else [None if missing(i) else _scalar_value(i, element) for i in items]
        for items in lists
    ]
    return f"{element}[]", rows


def _scalar_value(value: Any, pg_type: str) -> Any:
    """``value`` as the Python object psycopg's binary dumper of ``pg_type`` takes."""
    if isinstance(value, np.generic):
        value = value.item()
    if pg_type == "numeric" and isinstance(value, int):
        return Decimal(value)
    if pg_type == "double precision":
        return float(value)
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "to_pytimedelta"):
        return value.to_pytimedelta()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value
