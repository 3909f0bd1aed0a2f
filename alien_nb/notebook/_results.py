"""Everything one sent statement gives back, read to the end: rows into DataFrame columns,
COPY data to or from its file, a command tag, or the server's error."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core._sql import Rendered
from . import _frames
from ._copy import blocks, read_failed
from ._wire import flush, next_result, result_error

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    from psycopg.pq.abc import PGresult

#: Up to this many rows, binary values are read by psycopg's loaders: numpy's per-column setup
#: costs more than it saves (benchmarks/sql_fetch.py). The column rules are the same.
FEW_ROWS = 64


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


def binary_kind(tx: Any, oid: int) -> str | None:
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


class Results:
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
            flush(conn)
            while True:
                res = next_result(conn)
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
                    self.failed = self.failed or result_error(conn, res)
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
            kind = binary_kind(self.tx, oid) if self.binary else None
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
            for block in blocks(source, self.conn.info.encoding):
                self.conn.wait(generators.copy_to(pg, block))
        except psycopg.Error:
            raise  # the connection itself failed: the caller tells
        except BaseException as exc:
            # The server aborts the COPY (nothing of it is kept); the reader's error is the news.
            self._end_copy(f"alien_nb: reading the data failed ({type(exc).__name__})".encode())
            self.failed = None
            if isinstance(exc, Exception):
                raise read_failed(exc) from None
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
            self.failed = self.failed or result_error(self.conn, res)
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
