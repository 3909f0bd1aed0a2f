"""``read_embeddings``: a table's ids and vectors back into numpy, by binary COPY."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from . import _args as args
from ._binary import HEADER, TRAILER, decode_id_vector_rows
from ._errors import InvalidEmbeddings
from ._tables import forgetting_on_error, require_columns, split_name, vector_column
from ._types import register_types


def read_embeddings(
    conn: psycopg.Connection[Any],
    table: str,
    *,
    column: str = "embedding",
    id_column: str = "id",
    where: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ids and embeddings of ``table`` as numpy arrays, by binary COPY parsed in one numpy view.

    With ``where`` (``:name`` placeholders bound from ``params``, as in `search`)
    only the matching rows.
    """
    column, id_column = args.name("column", column), args.name("id_column", id_column)
    condition, bind = args.condition(where, params)
    register_types(conn)
    with args.server_errors(f"reading {table!r}"), forgetting_on_error(conn, table):
        kind, _dim = vector_column(conn, table, column)
        require_columns(conn, table, (id_column,), "id_column")
        if condition:
            return _read_where(conn, table, kind, column, id_column, condition, bind)
        return _read(conn, table, kind, column, id_column)


def _read(
    conn: psycopg.Connection[Any], table: str, kind: str, column: str, id_column: str
) -> tuple[np.ndarray, np.ndarray]:
    statement = sql.SQL(
        "COPY (SELECT {}::bigint, {} FROM {} WHERE {} IS NOT NULL) TO STDOUT (FORMAT BINARY)"
    ).format(sql.Identifier(id_column), sql.Identifier(column), split_name(table), sql.Identifier(column))
    buffer = bytearray()
    with conn.cursor().copy(statement) as copy:
        for data in copy:
            buffer += data
    if not buffer:
        buffer = bytearray(HEADER + TRAILER)
    return decode_id_vector_rows(buffer, kind)


def _read_where(
    conn: psycopg.Connection[Any],
    table: str,
    kind: str,
    column: str,
    id_column: str,
    condition: str,
    bind: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    # COPY cannot take bind parameters, and quoting them into its text would bypass the server's
    # typing of each value: a binary SELECT keeps them bound, one numpy array per row.
    statement = sql.SQL("SELECT {}::bigint, {} FROM {} WHERE {} IS NOT NULL AND ({})").format(
        sql.Identifier(id_column), sql.Identifier(column), split_name(table), sql.Identifier(column),
        sql.SQL(condition),
    )  # fmt: skip
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(statement, bind).fetchall()
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    try:
        data = np.stack([row[1] for row in rows]).astype(np.float32, copy=False)
    except ValueError:
        raise InvalidEmbeddings(
            f"The embeddings of {table!r} have different dimensions.",
            hint="Filter to one dimension with where=, or give the column a fixed dimension.",
        ) from None
    return ids, data
