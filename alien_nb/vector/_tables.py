"""Small catalogue look-ups shared by the helpers."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from ._errors import TableNotFound


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


# Per connection: what the catalogue said about each (table, column); asked
# once, since a search must cost one round trip, not three.
_COLUMNS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], tuple[str, int]]] = weakref.WeakKeyDictionary()


def forget_columns(conn: psycopg.Connection[Any], table: str) -> None:
    for key in [k for k in _COLUMNS.get(conn, {}) if k[0] == table]:
        del _COLUMNS[conn][key]


@contextmanager
def forgetting_on_error(conn: psycopg.Connection[Any], table: str) -> Iterator[None]:
    """Drop what was cached about ``table`` if the server says it changed (dropped, re-created)."""
    try:
        yield
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.DataException,
            psycopg.errors.DatatypeMismatch, psycopg.errors.UndefinedFunction):  # fmt: skip
        forget_columns(conn, table)
        raise


def vector_column(conn: psycopg.Connection[Any], table: str, column: str) -> tuple[str, int]:
    """The vector type name (vector / halfvec) and dimension of ``table.column``.

    Raise `TableNotFound` if the table or column is missing.
    """
    cached = _COLUMNS.get(conn, {}).get((table, column))
    if cached is not None:
        return cached
    found = _vector_column(conn, table, column)
    _COLUMNS.setdefault(conn, {})[(table, column)] = found
    return found


def _vector_column(conn: psycopg.Connection[Any], table: str, column: str) -> tuple[str, int]:
    oid = regclass(conn, table)
    if oid is None:
        raise TableNotFound(
            table, hint="Load embeddings first with alien_nb.vector.load(conn, table, embeddings)."
        )
    row = conn.execute(
        "SELECT t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attname = %s AND NOT a.attisdropped",
        (oid, column),
    ).fetchone()
    if row is None:
        raise TableNotFound(
            f"{table}.{column}", hint=f"Name the embedding column with column= (table {table!r})."
        )
    return str(row[0]), int(row[1])
