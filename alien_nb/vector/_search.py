"""``search``: k nearest neighbours for one or many queries, into a DataFrame."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from psycopg import sql

from . import _args as args
from ._errors import DimensionMismatch, InvalidEmbeddings
from ._metrics import metric as get_metric
from ._tables import forgetting_on_error, require_columns, scoped_settings, split_name, vector_column
from ._types import register_types

if TYPE_CHECKING:
    import pandas as pd


def _query_table(kind: str, dim: int) -> str:
    # One per type and dimension: a session may search tables of several shapes.
    return f"_alien_nb_queries_{kind}_{dim}"


def as_queries(queries: Any, dim: int, metric: str = "") -> np.ndarray:
    """``queries`` as an (n, dim) float32 array; ``dim`` <= 0 (a column without one) is not checked."""
    try:
        q = np.asarray(queries, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidEmbeddings(
            "Queries must be numbers: one vector or an (n, D) array.", hint="Pass a float array."
        ) from None
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2:
        raise InvalidEmbeddings("Queries must be one vector or an (n, D) array.")
    if dim > 0 and q.shape[1] != dim:
        raise DimensionMismatch(
            "The query", dim, q.shape[1], hint="Embed the queries with the model used for the table."
        )
    if not np.isfinite(q).all():
        raise InvalidEmbeddings(
            "Queries hold NaN or infinite values.", hint="Repair them; pgvector rejects them."
        )
    if metric == "cosine" and len(q):
        zero = np.flatnonzero(~np.any(q != 0, axis=1))
        if len(zero):
            raise InvalidEmbeddings(
                f"Query {int(zero[0])} is all zeros: its cosine distance to every row is undefined (NaN).",
                hint="Drop zero queries, or use metric='l2' or 'ip', which are defined for them.",
            )
    return q


# Per connection: does its server's pgvector (>= 0.8) have iterative scans? A cloud server may
# run an older one, where setting hnsw.iterative_scan is an error ("hnsw" is a reserved prefix).
_ITERATIVE: weakref.WeakKeyDictionary[psycopg.Connection[Any], bool] = weakref.WeakKeyDictionary()


def _has_iterative_scans(conn: psycopg.Connection[Any]) -> bool:
    known = _ITERATIVE.get(conn)
    if known is None:
        query = "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            with conn.transaction():  # a connection without autocommit stays idle
                row = conn.execute(query).fetchone()
        else:
            row = conn.execute(query).fetchone()
        parts = [int(p) if p.isdigit() else 0 for p in str(row[0] if row else "0").split(".")[:2]]
        known = _ITERATIVE[conn] = tuple(parts + [0] * (2 - len(parts))) >= (0, 8)
    return known


def _settings(
    conn: psycopg.Connection[Any], ef_search: int | None, probes: int | None, filtered: bool, k: int
) -> dict[str, str]:
    settings = {}
    if ef_search is not None:
        settings["hnsw.ef_search"] = str(int(ef_search))
    if probes is not None:
        settings["ivfflat.probes"] = str(int(probes))
    if (filtered or k > (ef_search or 40)) and _has_iterative_scans(conn):
        # An HNSW scan stops after ef_search rows and an IVFFlat scan after its probes'
        # lists: with a WHERE clause, or k above ef_search, fewer than k rows would come back.
        # Iterative scans (pgvector >= 0.8, which the local server has and sets itself)
        # keep going. relaxed_order, because strict_order skips every row found after a
        # farther one; the rows are sorted by distance here instead.
        settings["hnsw.iterative_scan"] = "relaxed_order"
        settings["ivfflat.iterative_scan"] = "relaxed_order"
    return settings


def search(
    conn: psycopg.Connection[Any],
    table: str,
    queries: Any,
    k: int = 10,
    *,
    metric: str = "cosine",
    ef_search: int | None = None,
    probes: int | None = None,
    where: str | None = None,
    params: Mapping[str, Any] | None = None,
    columns: Sequence[str] = (),
    column: str = "embedding",
    id_column: str = "id",
) -> pd.DataFrame:
    """The ``k`` nearest rows for each query: a DataFrame of query_no, rank, id, distance (+ ``columns``).

    ``queries`` is one vector or an (n, D) array; many queries go to the
    server in one binary COPY and come back from one ``CROSS JOIN LATERAL``
    query. ``where`` is an SQL condition on the table with ``:name``
    placeholders, bound from ``params`` (``where="lang = :lang",
    params={"lang": "en"}``); a literal ``%`` needs no escaping. ``ef_search``
    / ``probes`` tune HNSW / IVFFlat for this call only.

    Raise `InvalidArgument` (also for a ``:name`` missing from ``params``),
    `SqlTextInvalid` (``%(name)s`` or ``$1`` in ``where``), `DimensionMismatch`,
    `InvalidEmbeddings`, `VectorError`, `TableNotFound` / `ColumnNotFound`, or
    `ServerRefused` with the server's message.
    """

    k = args.integer("k", k, hint="k is how many neighbours per query, e.g. k=10.")
    ef_search = args.optional_integer("ef_search", ef_search, 1, 1000, "pgvector allows 1 to 1000.")
    probes = args.optional_integer("probes", probes, 1, 32768, "pgvector allows 1 to 32768 lists.")
    columns = args.names("columns", columns)
    column, id_column = args.name("column", column), args.name("id_column", id_column)
    condition, bind = args.condition(where, params)  # parsed once, before anything is sent
    chosen = get_metric(metric)
    register_types(conn)
    with args.server_errors(f"the search of {table!r}"), forgetting_on_error(conn, table):
        kind, dim = vector_column(conn, table, column)
        require_columns(conn, table, (id_column,), "id_column")
        require_columns(conn, table, columns, "columns")
    q = as_queries(queries, dim, chosen.name)
    return _search(conn, table, q, k, kind, chosen.operator, ef_search, probes, condition, bind, columns,
                   column, id_column)  # fmt: skip


def _search(
    conn: psycopg.Connection[Any],
    table: str,
    q: np.ndarray,
    k: int,
    kind: str,
    operator: str,
    ef_search: int | None,
    probes: int | None,
    where: str,
    bind: dict[str, Any],
    columns: tuple[str, ...],
    column: str,
    id_column: str,
) -> pd.DataFrame:
    """``where`` is psycopg text from `args.condition` (``%(name)s``, literal ``%`` doubled)."""
    import pandas as pd

    extra = [sql.Identifier(c) for c in columns]
    condition = sql.SQL("WHERE ") + sql.SQL(where) if where else sql.SQL("")
    names = ["query_no", "rank", id_column, "distance", *columns]
    if len(q) == 1:
        statement = _single_statement(table, column, operator, k, columns, where, id_column)
        vec = q[0] if kind == "vector" else q[0].astype(np.float16)
        settings = _settings(conn, ef_search, probes, bool(where), k)
        with args.server_errors(f"the search of {table!r}"), forgetting_on_error(conn, table):
            rows = _run_single(conn, statement, {**bind, "_alien_q": vec}, settings)
        # A relaxed-order scan may return a row or two out of order past its first batch.
        rows.sort(key=lambda row: row[1])
        if not columns:
            # Column arrays build a frame faster than records: this path is timed per query.
            return pd.DataFrame({
                "query_no": np.zeros(len(rows), dtype=np.int64),
                "rank": np.arange(1, len(rows) + 1),
                id_column: [row[0] for row in rows],
                "distance": np.fromiter((row[1] for row in rows), dtype=np.float64, count=len(rows)),
            })  # fmt: skip
        records = [(0, rank, *row) for rank, row in enumerate(rows, start=1)]
        return pd.DataFrame.from_records(records, columns=names)
    owns = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    settings = _settings(conn, ef_search, probes, bool(where), k)
    with (
        args.server_errors(f"the search of {table!r}"),
        forgetting_on_error(conn, table),
        conn.transaction(),
        scoped_settings(conn, settings),
    ):
        rows = _many(conn, table, q, k, kind, operator, column, id_column, extra, condition, bind, owns)
    frame = pd.DataFrame.from_records(rows, columns=["query_no", id_column, "distance", *columns])
    frame.insert(1, "rank", frame.groupby("query_no").cumcount() + 1)
    return frame


def _run_single(
    conn: psycopg.Connection[Any], statement: bytes, params: dict[str, Any], settings: dict[str, str]
) -> list[tuple[Any, ...]]:
    if not settings:
        return conn.execute(statement, params, prepare=True).fetchall()
    # Settings for this query only, sent with it in one round trip where the connection allows.
    with conn.pipeline(), scoped_settings(conn, settings):
        cur = conn.execute(statement, params, prepare=True)
    return cur.fetchall()


@lru_cache(maxsize=256)
def _single_statement(
    table: str, column: str, operator: str, k: int, columns: tuple[str, ...], where: str, id_column: str
) -> bytes:
    """The single-query SQL, composed once per shape (composition costs more than the query's overhead)."""
    extra = [sql.SQL(", t.{}").format(sql.Identifier(c)) for c in columns]
    condition = sql.SQL("WHERE ") + sql.SQL(where) if where else sql.SQL("")
    statement = sql.SQL("SELECT t.{id}, t.{col} {op} %(_alien_q)s{extra} FROM {table} AS t {cond} "
                        "ORDER BY t.{col} {op} %(_alien_q)s LIMIT {k}").format(
        id=sql.Identifier(id_column), col=sql.Identifier(column), op=sql.SQL(operator),
        extra=sql.SQL("").join(extra), table=split_name(table), cond=condition, k=sql.Literal(k),
    )  # fmt: skip
    return statement.as_bytes(None)


def _many(
    conn: psycopg.Connection[Any],
    table: str,
    q: np.ndarray,
    k: int,
    kind: str,
    operator: str,
    column: str,
    id_column: str,
    extra: list[sql.Identifier],
    condition: sql.Composable,
    bind: dict[str, Any],
    owns_transaction: bool,
) -> list[tuple[Any, ...]]:
    from ._binary import encode_rows, iter_copy_chunks

    table_name = sql.Identifier(_query_table(kind, q.shape[1]))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (query_no bigint, q {}({})) ON COMMIT DELETE ROWS"
        ).format(table_name, sql.SQL(kind), sql.Literal(q.shape[1]))
    )
    if not owns_transaction:
        # Inside the caller's open transaction ON COMMIT has not emptied it yet.
        conn.execute(sql.SQL("DELETE FROM {}").format(table_name))
    rows = encode_rows(np.arange(len(q)), q if kind == "vector" else q.astype(np.float16), kind)
    with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN WITH (FORMAT BINARY)").format(table_name)) as copy:
        for chunk in iter_copy_chunks(rows):
            copy.write(chunk)
    extra_cols = sql.SQL("").join(sql.SQL(", r.{}").format(c) for c in extra)
    inner_extra = sql.SQL("").join(sql.SQL(", t.{}").format(c) for c in extra)
    statement = sql.SQL(
        "SELECT qs.query_no, r.{id}, r.distance{extra} FROM {qt} AS qs CROSS JOIN LATERAL ("
        "SELECT t.{id}, t.{col} {op} qs.q AS distance{inner} FROM {table} AS t {cond} "
        "ORDER BY t.{col} {op} qs.q LIMIT {k}) AS r ORDER BY qs.query_no, r.distance"
    ).format(
        id=sql.Identifier(id_column), extra=extra_cols, qt=table_name,
        col=sql.Identifier(column), op=sql.SQL(operator), inner=inner_extra, table=split_name(table),
        cond=condition, k=sql.Literal(k),
    )  # fmt: skip
    return conn.execute(statement, bind).fetchall()  # always with params: `where` reads % alike
