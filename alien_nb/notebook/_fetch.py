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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core._sql import Rendered, Statement
from . import _frames

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    from psycopg.pq.abc import PGresult

#: Rows per chunk the server streams (libpq's chunked-rows mode).
CHUNK_ROWS = 1000
#: Up to this many rows, binary values are read by psycopg's loaders: numpy's per-column setup
#: costs more than it saves (benchmarks/sql_fetch.py). The column rules are the same.
FEW_ROWS = 64
_COPY_BLOCK = 1 << 20


class StatementResult:
    """What a statement without rows did: its command tag and row count."""

    def __init__(self, status: str, rowcount: int, elapsed: float) -> None:
        self.status, self.rowcount, self.elapsed = status, rowcount, elapsed

    def __repr__(self) -> str:
        rows = f", {self.rowcount} row{'s' if self.rowcount != 1 else ''}" if self.rowcount >= 0 else ""
        return f"{self.status}{rows} ({self.elapsed * 1000:.0f} ms)"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


@dataclass
class StatementFailed(Exception):
    """Internal: the server refused the statement; ``error`` is psycopg's exception for it."""

    error: Exception
    rendered: Rendered


@dataclass
class Options:
    limit: int | None = None
    copy_from: Any = None  # a path, bytes, or a binary/text file object
    copy_to: Any = None  # a binary or text file object
    text_only: bool = False  # tests: force the text path


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
        return _Results(conn, tx, rendered, options, binary, started, report).collect()


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
        _flush(conn)
        while True:
            res = _next_result(conn)
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
        raise StatementFailed(_error(conn, failed), rendered)
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
    return all(_binary_kind(tx, oid) is not None for oid in oids)


def _binary_kind(tx: Any, oid: int) -> str | None:
    """How a binary value of ``oid`` is decoded: "numpy", "loader", or None (text is needed)."""
    from psycopg.pq import Format

    if oid in _frames.VECTORIZED:
        return "numpy"
    if oid in _frames.BINARY_AS_TEXT:
        return "loader"
    loader = tx.adapters.get_loader(oid, Format.BINARY)
    if loader is not None and type(loader).__module__.startswith("pgvector."):
        return "loader"  # pgvector's vector, halfvec, sparsevec: the same arrays either way
    return None


def _flush(conn: psycopg.Connection[Any]) -> None:
    """Send what libpq has queued; wait only if the socket cannot take it all now."""
    from psycopg import generators

    if conn.pgconn.flush():
        conn.wait(generators.send(conn.pgconn))


def _next_result(conn: psycopg.Connection[Any]) -> PGresult | None:
    """The next result; waiting (interruptibly, psycopg's way) only if it has not arrived yet.

    A small result's messages arrive together: reading them without a wait each is most of
    what a one-row cell costs beyond psycopg's own ``execute``.
    """
    from psycopg import generators

    pg = conn.pgconn
    if not pg.is_busy():
        return pg.get_result()
    return conn.wait(generators.fetch(pg))


def _error(conn: psycopg.Connection[Any], res: PGresult) -> Exception:
    from psycopg import errors

    return errors.error_from_result(res, encoding=conn.info.encoding)


class _Results:
    """Reads every result of one sent statement, so the connection is idle again afterwards."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        tx: Any,
        rendered: Rendered,
        options: Options,
        binary: bool,
        started: float,
        report: Callable[[str], None],
    ) -> None:
        self.conn, self.tx, self.rendered, self.options = conn, tx, rendered, options
        self.binary, self.started, self.report = binary, started, report
        self.names: list[str] = []
        self.oids: list[int] = []
        self.columns: list[Any] = []  # BinaryColumn, or a list of loaded values, per column
        self.loaders: list[Any] = []
        self.rows = 0
        self.status: str | None = None
        self.rowcount = -1
        self.failed: Exception | None = None
        self.copied = 0
        self._binary_target = True

    def collect(self) -> pd.DataFrame | StatementResult:
        from psycopg.pq import ExecStatus

        conn = self.conn
        try:
            _flush(conn)
            while True:
                res = _next_result(conn)
                if res is None:
                    break
                status = res.status
                if status in (ExecStatus.TUPLES_CHUNK, ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE):
                    if self.failed is None:
                        self._read_rows(res)
                    if status == ExecStatus.TUPLES_OK:
                        self._done(res)
                elif status == ExecStatus.COPY_OUT:
                    self._copy_out()
                elif status == ExecStatus.COPY_IN:
                    self._copy_in()
                elif status in (ExecStatus.FATAL_ERROR, ExecStatus.BAD_RESPONSE):
                    self.failed = self.failed or _error(conn, res)
                else:
                    self._done(res)
        except BaseException:
            self._drain()
            raise
        if self.failed is not None:
            raise StatementFailed(self.failed, self.rendered)
        elapsed = time.perf_counter() - self.started
        if not self.names:
            return StatementResult(self.status or "OK", self.rowcount, elapsed)
        frame = self._frame()
        if len(frame) > 5000:
            how = "binary, streamed" if self.binary else "text"
            self.report(f"{len(frame):,} rows × {frame.shape[1]} columns in {elapsed:.2f} s ({how})")
        return frame

    def _done(self, res: PGresult) -> None:
        tag = res.command_status
        self.status = tag.decode() if tag else self.status
        tuples = res.command_tuples
        self.rowcount = tuples if tuples is not None else -1
        if self.copied and self.rowcount < 0:
            self.rowcount = self.copied

    def _read_rows(self, res: PGresult) -> None:
        """`_rows`, with a value psycopg cannot read (a DateStyle it does not parse, a year 0) made
        the statement's error: the statement still runs to its end and the connection stays ready."""
        import psycopg

        try:
            self._rows(res)
        except psycopg.DataError as exc:
            self.failed = psycopg.DataError(
                f"{exc}; {_frames.range_message('the value', 'date or timestamp')}"
            )
        except (NotImplementedError, ValueError) as exc:
            self.failed = psycopg.DataError(
                f"a value could not be read: {exc}. Cast the column to text (col::text), or run "
                "SET DateStyle = ISO / SET IntervalStyle = postgres, the styles psycopg reads"
            )

    def _rows(self, res: PGresult) -> None:
        if not self.names:
            self._start(res)
        n = res.ntuples
        limit = self.options.limit
        if limit is not None:
            n = max(0, min(n, limit - self.rows))  # the rest is read and dropped: the statement ran whole
        if not n:
            return
        from itertools import repeat

        rows = range(n)
        get = res.get_value
        if self.binary:
            for i, column in enumerate(self.columns):
                if isinstance(column, _frames.BinaryColumn):
                    column.take(get, rows, i)
                else:
                    column.extend(map(get, rows, repeat(i)))
        else:
            self.tx.set_pgresult(res)
            loaded = self.tx.load_rows(0, n, tuple)
            for i, column in enumerate(self.columns):
                column.extend(row[i] for row in loaded)
        self.rows += n

    def _start(self, res: PGresult) -> None:
        from psycopg.pq import Format

        encoding = self.conn.info.encoding
        for i in range(res.nfields):
            name = res.fname(i)
            self.names.append(name.decode(encoding) if name else "?column?")
            oid = res.ftype(i)
            self.oids.append(oid)
            kind = _binary_kind(self.tx, oid) if self.binary else None
            if kind == "numpy" and encoding == "utf-8":
                self.columns.append(_frames.BinaryColumn(self.names[-1], oid))
                self.loaders.append(None)
            else:
                self.columns.append([])
                # Text rows come loaded; a binary column psycopg decodes (also one whose type
                # changed since it was described, DDL in between) keeps its loader here.
                self.loaders.append(self.tx.get_loader(oid, Format.BINARY).load if self.binary else None)

    def _frame(self) -> pd.DataFrame:
        timezone = self.conn.info.timezone
        columns = []
        try:
            for column, oid, load in zip(self.columns, self.oids, self.loaders, strict=True):
                if isinstance(column, _frames.BinaryColumn) and self.rows <= FEW_ROWS:
                    values = self._loaded(column, oid)
                    columns.append(_frames.column_from_values(oid, values, timezone))
                elif isinstance(column, _frames.BinaryColumn):
                    columns.append(column.column(timezone))
                elif load is not None:
                    loaded = _frames.loaded_column(column, load)
                    columns.append(_frames.column_from_values(oid, loaded, timezone))
                else:
                    columns.append(_frames.column_from_values(oid, column, timezone))
        except _frames.ValueOutOfRange as exc:
            from psycopg import errors

            raise StatementFailed(errors.DataError(str(exc)), self.rendered) from None
        return _frames.frame(self.names, columns)

    def _loaded(self, column: _frames.BinaryColumn, oid: int) -> list[Any]:
        import psycopg
        from psycopg.pq import Format

        load = self.tx.get_loader(oid, Format.BINARY).load
        try:
            return [None if v is None else load(v) for v in column.raw_values()]
        except psycopg.DataError:  # infinity, or a year Python cannot hold: said as the numpy path says it
            raise _frames.ValueOutOfRange(_frames.range_message(column.name, "date or timestamp")) from None

    # -- COPY -----------------------------------------------------------------

    def _copy_out(self) -> None:
        import io

        from psycopg import generators

        target = self.options.copy_to
        if target is None:
            raise RuntimeError("COPY TO STDOUT needs somewhere to write")  # the caller checks first
        self._binary_target = not isinstance(target, io.TextIOBase)
        while True:
            data = self.conn.wait(generators.copy_from(self.conn.pgconn))
            if not isinstance(data, memoryview):
                self._after_copy(data)
                return
            if self._binary_target:
                target.write(data)
            else:  # a file opened in text mode
                target.write(bytes(data).decode(self.conn.info.encoding))
            self.copied += 1

    def _copy_in(self) -> None:
        import psycopg
        from psycopg import generators

        pg = self.conn.pgconn
        source = self.options.copy_from
        if source is None:  # the caller checks first; never leave the server waiting for data
            self._end_copy(b"alien_nb: no data was given for COPY FROM STDIN")
            return
        try:
            for block in _blocks(source, self.conn.info.encoding):
                self.conn.wait(generators.copy_to(pg, block))
        except psycopg.Error:
            raise  # the connection itself failed: the caller tells
        except BaseException as exc:
            # The server aborts the COPY (nothing of it is kept); the reader's error is the news.
            self._end_copy(f"alien_nb: reading the data failed ({type(exc).__name__})".encode())
            self.failed = None
            if isinstance(exc, Exception):
                raise _read_failed(exc) from None
            raise
        self._end_copy(None)

    def _end_copy(self, error: bytes | None) -> None:
        import psycopg
        from psycopg import generators

        try:
            res = self.conn.wait(generators.copy_end(self.conn.pgconn, error))
        except psycopg.Error as exc:  # the server refused the data (or the abort above)
            self.failed = self.failed or exc
            return
        self._after_copy(res)

    def _after_copy(self, res: PGresult) -> None:
        from psycopg.pq import ExecStatus

        if res.status == ExecStatus.FATAL_ERROR:
            self.failed = self.failed or _error(self.conn, res)
        else:
            self._done(res)

    def _drain(self) -> None:
        """After an interruption: cancel what still runs, read what is left, so the connection is idle.

        An interrupt that came between two chunks (not inside psycopg's wait, which cancels
        by itself) would otherwise leave the server streaming the rest of a large result.
        """
        import psycopg

        conn, pg = self.conn, self.conn.pgconn
        if not conn.closed and pg.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
            try:
                conn.cancel_safe(timeout=5.0)
            except Exception:  # could not reach the server to cancel: reading on will tell
                pass
        try:
            for _ in range(1000):
                if conn.closed:
                    return
                try:
                    active = pg.transaction_status == psycopg.pq.TransactionStatus.ACTIVE
                    if pg.status == psycopg.pq.ConnStatus.OK and active:
                        self._drain_one(conn)
                        continue
                    return
                except psycopg.Error:  # the cancelled statement's error, as expected: read on
                    continue
        except BaseException:
            pass
        # It cannot be brought back to idle: close it, and the handle opens a fresh one.
        pg.finish()

    @staticmethod
    def _drain_one(conn: psycopg.Connection[Any]) -> None:
        from psycopg import generators
        from psycopg.pq import ExecStatus

        pg = conn.pgconn
        res = conn.wait(generators.fetch(pg), timeout=10.0)
        if res is None:
            return
        if res.status == ExecStatus.COPY_IN:
            conn.wait(generators.copy_end(pg, b"alien_nb: interrupted"))
        elif res.status == ExecStatus.COPY_OUT:
            while isinstance(conn.wait(generators.copy_from(pg), timeout=10.0), memoryview):
                pass


def _read_failed(exc: Exception) -> Exception:
    from ..core import AlienError

    return AlienError(
        f"Reading the data for COPY ... FROM STDIN failed ({type(exc).__name__}: {exc}); the server "
        "aborted that COPY and kept none of it.",
        hint="Check the file (or the object's read()) and run the cell again; the connection is ready.",
    )


def _blocks(source: Any, encoding: str) -> Any:
    """``source`` (a path, bytes, or a file object, binary or text) in blocks of bytes."""
    import os

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for i in range(0, len(data), _COPY_BLOCK):
            yield data[i : i + _COPY_BLOCK]
        return
    if isinstance(source, (str, os.PathLike)):
        with open(os.path.expanduser(source), "rb") as f:
            yield from _blocks(f, encoding)
        return
    while True:
        block = source.read(_COPY_BLOCK)
        if not block:
            return
        yield block.encode(encoding) if isinstance(block, str) else block
