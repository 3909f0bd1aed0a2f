"""One statement, run once on the handle's own connection, its rows streamed into pandas.

Each statement that may return rows is first *described* (Parse + Describe
in one round trip: the server plans nothing and runs nothing), which gives
its column types. If every column has a binary decoder here, the statement
runs with binary results, streamed in chunks (the server produces the next
chunk while numpy decodes this one); otherwise it runs with text results
and psycopg's loaders, as psycopg itself would. Either way it runs exactly
once, on the same connection and transaction as everything else the user
sent, whatever the size of its result; the column rules of `_frames` make
both give the same DataFrame. ``COPY ... TO STDOUT`` / ``FROM STDIN`` are
streamed to or from a file and never leave the connection mid-COPY.

This module sends the statement; `_results.Results` reads what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core._sql import Rendered, Statement
from ._results import Options, Results, StatementFailed, StatementResult, binary_kind
from ._wire import flush, next_result, result_error

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    from psycopg.pq.abc import PGresult

#: Rows per chunk the server streams (libpq's chunked-rows mode).
CHUNK_ROWS = 1000

__all__ = ["CHUNK_ROWS", "run_statement"]


def run_statement(
    conn: psycopg.Connection[Any],
    statement: Statement,
    params: Mapping[str, Any],
    options: Options,
    report: Callable[[str], None] = lambda _line: None,
) -> pd.DataFrame | StatementResult:
    """Run ``statement`` once with ``params``; its rows as a DataFrame, or what it did."""
    rendered = statement.render()
    started = time.perf_counter()
    with conn.lock:
        values = [params[name] for name in rendered.names]
        sql, dumped, types, formats, tx = _dump(conn, rendered.sql, values)
        binary = False
        if statement.may_return_rows and not options.text_only:
            described = _describe(conn, sql, types, rendered)
            binary = described is not None and _all_binary(tx, described)
        conn.pgconn.send_query_params(sql, dumped, types, formats, 1 if binary else 0)
        if statement.may_return_rows:
            conn.pgconn.set_chunked_rows_mode(CHUNK_ROWS)
        return Results(conn, tx, rendered, options, binary, started, report).collect()


def _dump(conn: psycopg.Connection[Any], sql: str, values: list[Any]) -> tuple[Any, ...]:
    """The parameters as psycopg dumps them, with two fixes for values people pass.

    A tuple binds as a list (an array), and a list of strings as ``text[]``:
    psycopg sends it untyped, which the server cannot place (``pg_typeof(:tags)``).
    """
    from psycopg.adapt import PyFormat, Transformer

    tx = Transformer(conn)
    encoding = conn.info.encoding
    problem = None
    try:
        encoded = sql.encode(encoding)
    except UnicodeEncodeError as exc:
        problem = _unencodable(sql, exc, encoding)
    if problem is not None:
        raise problem  # out here: the encoder's error holds the whole SQL text
    if not values:
        return encoded, None, None, None, tx
    values = [list(v) if isinstance(v, tuple) else v for v in values]
    dumped, types, formats = [], [], []
    for value in values:
        dumper = _text_list_tx(conn) if _strings_only(value) else tx
        d = dumper.get_dumper(value, PyFormat.AUTO)
        dumped.append(None if value is None else d.dump(value))
        types.append(d.oid)
        formats.append(d.format)
    return encoded, dumped, types, formats, tx


def _unencodable(sql: str, exc: UnicodeEncodeError, encoding: str) -> Exception:
    from ..core import AlienError

    line = sql.count("\n", 0, exc.start) + 1
    column = exc.start - (sql.rfind("\n", 0, exc.start) + 1) + 1
    # Where, not what: the character might be part of a secret the cell holds.
    return AlienError(
        f"The SQL has a character at line {line}, column {column} that this connection's client "
        f"encoding ({encoding}) cannot send.",
        hint="Run SET client_encoding = 'UTF8' (the server's own encoding) and run the cell again.",
    )


def _strings_only(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) or v is None for v in value) \
        and any(isinstance(v, str) for v in value)  # fmt: skip


def _text_list_tx(conn: psycopg.Connection[Any]) -> Any:
    from psycopg.adapt import AdaptersMap, Transformer
    from psycopg.types.string import StrDumper

    adapters = AdaptersMap(conn.adapters)
    adapters.register_dumper(str, StrDumper)
    return Transformer(adapters)


def _describe(conn: psycopg.Connection[Any], sql: bytes, types: Any, rendered: Rendered) -> list[int] | None:
    """The statement's column types, from Parse + Describe in one round trip; None if it has no rows."""
    from psycopg.pq import ExecStatus

    pg = conn.pgconn
    pg.enter_pipeline_mode()
    failed: PGresult | None = None
    described: PGresult | None = None
    try:
        pg.send_prepare(b"", sql, param_types=types)
        pg.send_describe_prepared(b"")
        pg.pipeline_sync()
        flush(conn)
        while True:
            res = next_result(conn)
            if res is None:
                continue
            if res.status == ExecStatus.PIPELINE_SYNC:
                break
            if res.status == ExecStatus.FATAL_ERROR and failed is None:
                failed = res
            elif res.status == ExecStatus.COMMAND_OK and res.nfields:
                described = res
    except BaseException:
        _end_pipeline(conn)
        raise
    pg.exit_pipeline_mode()
    if failed is not None:
        raise StatementFailed(result_error(conn, failed), rendered)
    if described is None:
        return None
    return [described.ftype(i) for i in range(described.nfields)]


def _end_pipeline(conn: psycopg.Connection[Any]) -> None:
    """After an interruption: read up to the pipeline's Sync, so the connection is ready again."""
    import psycopg
    from psycopg import generators
    from psycopg.pq import ExecStatus

    pg = conn.pgconn
    try:
        while not conn.closed and pg.pipeline_status:
            try:
                res = conn.wait(generators.fetch(pg), timeout=10.0)
            except psycopg.Error:
                continue  # the cancelled command's own error: read on
            if res is not None and res.status == ExecStatus.PIPELINE_SYNC:
                pg.exit_pipeline_mode()
    except BaseException:
        pg.finish()  # it cannot be brought back: closed, and the handle says so next time


def _all_binary(tx: Any, oids: list[int]) -> bool:
    return all(binary_kind(tx, oid) is not None for oid in oids)
