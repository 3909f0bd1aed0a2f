"""Small catalogue look-ups shared by the helpers."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from ._errors import ColumnNotFound, TableNotFound


@contextmanager
def scoped_settings(conn: psycopg.Connection[Any], settings: dict[str, str]) -> Iterator[None]:
    """Server settings for the duration of the block only, in one round trip.

    On an idle connection the block runs in a transaction of its own with
    transaction-local settings. Inside the caller's open transaction the
    settings are set transaction-locally and the old values restored after,
    so nothing leaks into the caller's later statements.
    """
    if not settings:
        yield
        return
    names = list(settings)

    def assign(values: Any) -> sql.Composed:
        pairs = zip(names, values, strict=True)
        calls = [sql.SQL("set_config({}, {}, true)").format(sql.Literal(n), sql.Literal(v)) for n, v in pairs]
        return sql.SQL("SELECT ") + sql.SQL(", ").join(calls)

    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        with conn.transaction():
            conn.execute(assign(settings.values()))
            yield
        return
    current = [sql.SQL("current_setting({})").format(sql.Literal(n)) for n in names]
    old = conn.execute(sql.SQL("SELECT ") + sql.SQL(", ").join(current)).fetchone()
    conn.execute(assign(settings.values()))
    try:
        yield
    finally:
        conn.execute(assign(old or ()))


def split_name(table: str) -> sql.Identifier:
    """``"schema.table"`` or ``"table"`` as a composed identifier."""
    parts = table.split(".", 1)
    return sql.Identifier(*parts)


def regclass(conn: psycopg.Connection[Any], table: str) -> int | None:
    """The table's oid, or None; ``table`` is taken literally (as `split_name` quotes it)."""
    row = conn.execute("SELECT to_regclass(%s)::oid", (split_name(table).as_string(conn),)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


# Per connection: what the catalogue said about each table's columns (name -> type name, typmod);
# asked once, since a search must cost one round trip, not three.
_COLUMNS: weakref.WeakKeyDictionary[Any, dict[str, dict[str, tuple[str, int]]]] = weakref.WeakKeyDictionary()

VECTOR_TYPES = ("vector", "halfvec")


def forget_columns(conn: psycopg.Connection[Any], table: str) -> None:
    _COLUMNS.get(conn, {}).pop(table, None)


@contextmanager
def forgetting_on_error(conn: psycopg.Connection[Any], table: str) -> Iterator[None]:
    """Drop what was cached about ``table`` if the server says it changed (dropped, re-created)."""
    try:
        yield
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.DataException,
            psycopg.errors.DatatypeMismatch, psycopg.errors.UndefinedFunction):  # fmt: skip
        forget_columns(conn, table)
        raise


def table_columns(
    conn: psycopg.Connection[Any], table: str, *, fresh: bool = False
) -> dict[str, tuple[str, int]]:
    """Every column of ``table``: name -> (type name, typmod). Raise `TableNotFound` if it is missing."""
    cached = None if fresh else _COLUMNS.get(conn, {}).get(table)
    if cached is not None:
        return cached
    oid = regclass(conn, table)
    if oid is None:
        raise TableNotFound(
            table, hint="Load embeddings first with alien_nb.vector.load(conn, table, embeddings)."
        )
    rows = conn.execute(
        "SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (oid,),
    ).fetchall()
    found = {str(n): (str(t), int(m)) for n, t, m in rows}
    _COLUMNS.setdefault(conn, {})[table] = found
    return found


def require_columns(conn: psycopg.Connection[Any], table: str, wanted: tuple[str, ...], param: str) -> None:
    """Every name in ``wanted`` is a column of ``table`` (the catalogue is re-read once on a miss:
    a column added since the last look)."""
    columns = table_columns(conn, table)
    if all(c in columns for c in wanted):
        return
    columns = table_columns(conn, table, fresh=True)
    missing = [c for c in wanted if c not in columns]
    if missing:
        listed = ", ".join(repr(c) for c in list(columns)[:12])
        raise ColumnNotFound(
            table, missing[0], f"{table!r} has no column {missing[0]!r} (given as {param}=).",
            hint=f"Name an existing column with {param}=; {table!r} has {listed}.",
        )  # fmt: skip


def vector_column(
    conn: psycopg.Connection[Any], table: str, column: str, param: str = "column"
) -> tuple[str, int]:
    """The vector type name (vector / halfvec) and dimension of ``table.column``.

    Raise `TableNotFound` if the table is missing, `ColumnNotFound` if the column is missing or
    holds no vectors.
    """
    require_columns(conn, table, (column,), param)
    kind, typmod = table_columns(conn, table)[column]
    if kind not in VECTOR_TYPES:
        vectors = [c for c, (k, _m) in table_columns(conn, table).items() if k in VECTOR_TYPES]
        raise ColumnNotFound(
            table, column, f"Column {column!r} of {table!r} is {kind}, not a vector column.",
            hint=f"Name the embedding column with {param}= (vector columns: {vectors or 'none'}).",
        )  # fmt: skip
    return kind, typmod
