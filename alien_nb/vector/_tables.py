"""Small catalogue look-ups shared by the helpers."""

from __future__ import annotations

import weakref
from typing import Any

import psycopg
from psycopg import sql

from ._errors import TableNotFound


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
        "SELECT format_type(atttypid, NULL), atttypmod FROM pg_attribute "
        "WHERE attrelid = %s AND attname = %s AND NOT attisdropped",
        (oid, column),
    ).fetchone()
    if row is None:
        raise TableNotFound(
            f"{table}.{column}", hint=f"Name the embedding column with column= (table {table!r})."
        )
    return str(row[0]), int(row[1])
