"""A cell's statements run one by one, in one transaction of alien_nb's own where that is right,
and which one failed, for its error."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Any

from ..core import Redactor
from ..core._sql import Statement
from ._fetch import run_statement
from ._results import Options, StatementResult
from ._sqlerrors import SqlError, sql_error, visible_tables

if TYPE_CHECKING:
    import pandas as pd
    import psycopg


def describe_statements(statements: tuple[Statement, ...]) -> str:
    """How an error names what was interrupted."""
    return "this statement" if len(statements) == 1 else f"these {len(statements)} statements"


_TRANSACTION_CONTROL = frozenset(
    {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"}
)


def in_transaction(conn: psycopg.Connection[Any]) -> bool:
    import psycopg

    return conn.info.transaction_status in (
        psycopg.pq.TransactionStatus.INTRANS,
        psycopg.pq.TransactionStatus.INERROR,
    )


def wrappable(statements: tuple[Statement, ...], conn: psycopg.Connection[Any]) -> bool:
    """May a multi-statement cell run inside one transaction of alien_nb's own?

    Not when the cell manages transactions itself (BEGIN ...; COMMIT), nor in a transaction
    that is already aborted: the statements then run as written, one after another.
    """
    import psycopg

    if any(
        s.keyword in _TRANSACTION_CONTROL or s.words[:2] == ("prepare", "transaction") for s in statements
    ):
        return False
    return conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR


class CellRunner:
    """Runs a cell's statements one by one and knows which one failed, for its error."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        cell: str,
        namespace: Mapping[str, Any],
        options: Options,
        *,
        redactor: Redactor,
        report: Callable[[str], None],
    ) -> None:
        self.conn, self.cell, self.namespace, self.options = conn, cell, namespace, options
        self.redactor, self.report = redactor, report
        self.current: Statement | None = None

    def all(self, statements: tuple[Statement, ...], copy_to: Any) -> pd.DataFrame | StatementResult:
        result: pd.DataFrame | StatementResult = StatementResult("", -1, 0.0)
        for statement in statements:
            self.current = statement
            result = self.one(statement, copy_to)
        return result

    def one(self, statement: Statement, copy_to: Any) -> pd.DataFrame | StatementResult:
        import io

        params = {n: self.namespace[n] for n in statement.names}
        if statement.copy_direction != "out":
            return run_statement(self.conn, statement, params, self.options, self.report)
        if copy_to is None:
            from ._copytext import frame_from_copy

            buffer = io.BytesIO()
            self.options.copy_to = buffer
            run_statement(self.conn, statement, params, self.options, self.report)
            rows = frame_from_copy(buffer.getvalue(), statement, self.conn.info.encoding)
            limit = self.options.limit
            return rows if limit is None else rows.head(limit)
        if isinstance(copy_to, (str, PathLike)):
            return self._copy_to_path(statement, params, os.path.expanduser(os.fspath(copy_to)))
        self.options.copy_to = copy_to
        return run_statement(self.conn, statement, params, self.options, self.report)

    def _copy_to_path(self, statement: Statement, params: dict[str, Any], path: str) -> StatementResult:
        """COPY TO a file written whole or not at all: a failed COPY leaves an existing file as it was.

        The file is private to the kernel's user (0600, as `tempfile` makes it): query results
        are nobody else's to read.
        """
        import tempfile

        folder = os.path.dirname(os.path.abspath(path))
        fd, partial = tempfile.mkstemp(prefix=".alien-nb-copy-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as target:
                self.options.copy_to = target
                result = run_statement(self.conn, statement, params, self.options, self.report)
            os.replace(partial, path)
        except BaseException:
            os.unlink(partial)
            raise
        assert isinstance(result, StatementResult)
        return result

    def error(self, exc: Exception) -> SqlError:
        statement = self.current
        sqlstate = getattr(exc, "sqlstate", None)
        tables = visible_tables(self.conn) if sqlstate == "42P01" else []
        return sql_error(
            exc,
            self.redactor,
            cell=self.cell,
            statement=statement,
            rendered=statement.render() if statement is not None else None,
            params={n: self.namespace[n] for n in statement.names} if statement is not None else {},
            tables=tables,
        )
