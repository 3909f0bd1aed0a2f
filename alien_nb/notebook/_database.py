"""The `Database` handle a notebook works with.

A cell's statements run through `_runner.CellRunner`, each through `_fetch.run_statement`;
COPY's data and targets are checked by `_copy` first.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core import AlienError, PostgresBinding, Redactor, WorkerEnv, redacted_connection_string
from ..core._sql import Statement, parse_sql
from ..resolver._connection import ConnectionDetails
from ..resolver._liveness import Liveness, probe
from ._copy import check_copies
from ._results import Options, StatementFailed, StatementResult
from ._runner import CellRunner, describe_statements, in_transaction, wrappable
from ._sqlerrors import (
    ParameterMissing,
    SqlError,
    StatementInterrupted,
    TransactionLost,
    check_arguments,
)

__all__ = ["Database", "VectorHelpers"]

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    import sqlalchemy


class Database:
    """A Postgres database, attached from a binding; the password stays hidden.

    >>> db.sql("SELECT id, title FROM docs WHERE id < :n", {"n": 10})  # a DataFrame
    >>> with db.connect() as conn: ...      # psycopg, pgvector types registered
    >>> db.engine                           # SQLAlchemy, for pandas.to_sql & co
    >>> db.worker_env()                     # ALIEN_<NAME>_BINDING for a child process
    """

    def __init__(
        self,
        name: str,
        connection: ConnectionDetails,
        *,
        backend: str,
        redactor: Redactor | None = None,
        refresh: Callable[[], ConnectionDetails] | None = None,
        peek: Callable[[], ConnectionDetails] | None = None,
    ) -> None:
        self.name = name
        self.backend = backend
        self._connection_info = connection
        self._redactor = redactor if redactor is not None else Redactor()
        self._redactor.add(connection.password)
        # Cloud bindings: the password is read from its secret store again at each new connection.
        self._refresh = refresh
        self._fresh = True  # the details just resolved serve the first connection
        # Local databases: the details re-read (cheaply, never waiting) for what is shown or handed on.
        self._peek = peek
        self._conn: psycopg.Connection[Any] | None = None
        self._lost_in_transaction: psycopg.Connection[Any] | None = None
        self._user_sql = False  # is the handle running the user's own SQL (whose notices are shown)?
        self._lock = threading.RLock()
        # Apart from _lock, which a long statement holds: the engine's pool connects meanwhile.
        self._info_lock = threading.Lock()
        self._engine: sqlalchemy.Engine | None = None
        self.report: Callable[[str], None] = lambda _line: None

    # -- what it is ---------------------------------------------------------

    @property
    def binding(self) -> dict[str, Any]:
        """The synced binding: no password, safe to store and share."""
        return self._latest().binding.synced()

    @property
    def url(self) -> str:
        """The connection URL with the password masked."""
        return redacted_connection_string(self._latest().binding)

    def worker_env(self) -> WorkerEnv:
        """``{"ALIEN_<NAME>_BINDING": ...}`` for a child process (values hidden in its repr)."""
        return WorkerEnv.for_binding(self.name, self._runtime_binding)

    @property
    def _runtime_binding(self) -> PostgresBinding:
        return self._latest().binding

    # -- connections --------------------------------------------------------

    def _current_connection_info(self) -> ConnectionDetails:
        """The details for a new connection: re-read (metadata, secret store) unless just resolved."""
        with self._info_lock:
            if self._refresh is not None and not self._fresh:
                self._follow(self._refresh())
            self._fresh = False
            return self._connection_info

    def _latest(self) -> ConnectionDetails:
        """The details to show or hand on; a local database's are re-read (one small file)."""
        if self._peek is not None:
            with self._info_lock:
                self._follow(self._peek())
        return self._connection_info

    def _follow(self, info: ConnectionDetails) -> None:
        self._redactor.add(info.password)
        old = self._connection_info
        if (info.host, info.port) != (old.host, old.port):
            self.report(
                f"{self.name}: the server now listens on {info.host}:{info.port} (it was on "
                f"{old.host}:{old.port}: restarted on another port?); connecting there."
            )
        self._connection_info = info

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new psycopg connection with pgvector's types registered (when installed)."""
        conn = self._current_connection_info().connect(**kwargs)
        _register_vector(conn)
        return conn

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The handle's own long-lived connection, reopened first if the server closed it.

        Checked at each use without a round trip (`probe`): a connection the
        server closed while idle is replaced before anything is sent, so the
        first statement after a restart runs. One closed inside an open
        transaction raises `TransactionLost` instead (its changes are gone).
        """
        with self._lock:
            conn = self._conn
            if conn is not None and conn is self._lost_in_transaction:
                self._lost_in_transaction = None
                self._discard(conn)
                raise TransactionLost(self.name, "an interrupted statement could not be cancelled cleanly")
            if conn is not None:
                state = probe(conn)
                if state is Liveness.ALIVE:
                    return conn
                self._discard(conn)
                if state is Liveness.CLOSED_IN_TRANSACTION:
                    raise TransactionLost(self.name)
            self._conn = self.connect(autocommit=True)
            self._conn.add_notice_handler(self._notice)
            return self._conn

    def _notice(self, diag: Any) -> None:
        """A notice the user's SQL drew (RAISE NOTICE, a NOTICE from DDL), shown as psql shows it,
        scrubbed; those of alien_nb's own statements (the vector helpers' DDL) are not the user's news."""
        message = getattr(diag, "message_primary", None) or ""
        if not self._user_sql or message.endswith(", skipping"):
            return  # (DROP ... IF EXISTS on nothing: "does not exist, skipping" is no news)
        severity = getattr(diag, "severity", None) or "NOTICE"
        self.report(self._redactor.redact(f"{severity}: {message}"))

    def _discard(self, conn: psycopg.Connection[Any]) -> None:
        if self._conn is conn:
            self._conn = None
        try:
            conn.close()
        except Exception:  # already broken: nothing to close cleanly
            pass

    def _interrupted(self, conn: psycopg.Connection[Any], what: str) -> StatementInterrupted | None:
        """After a failure: if the connection broke, the error to raise (and the connection dropped)."""
        if not conn.closed:
            return None
        self._discard(conn)
        return StatementInterrupted(self.name, what)

    @property
    def vector(self) -> VectorHelpers:
        """The pgvector helpers on this handle's connection: ``db.vector.search("docs", q)``."""
        return VectorHelpers(self)

    @property
    def engine(self) -> sqlalchemy.Engine:
        """A SQLAlchemy engine whose URL holds no password (connections come from `connect`)."""
        if self._engine is None:
            import sqlalchemy

            info = self._connection_info
            url = sqlalchemy.URL.create(
                "postgresql+psycopg",
                username=info.username,
                host=info.host,
                port=info.port,
                database=info.database,
            )
            self._engine = sqlalchemy.create_engine(url, creator=lambda: self.connect(), pool_pre_ping=True)
        return self._engine

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # -- SQL ----------------------------------------------------------------

    def sql(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        copy_from: Any = None,
        copy_to: Any = None,
    ) -> pd.DataFrame | StatementResult:
        """Run SQL (one or more statements, in one transaction); ``:name`` binds ``params[name]``.

        Returns the last statement's rows as a DataFrame, or its status when it returns none.
        ``COPY ... FROM STDIN`` reads ``copy_from`` (a path, bytes, or a file object);
        ``COPY ... TO STDOUT`` writes to ``copy_to`` (a path or a binary file object), or
        without one returns the rows as a DataFrame of strings.
        """
        check_arguments(query, {} if params is None else params)
        return self.run(query, {} if params is None else params, copy_from=copy_from, copy_to=copy_to)

    def run(
        self,
        query: str,
        namespace: Mapping[str, Any],
        *,
        autocommit: bool = False,
        limit: int | None = None,
        copy_from: Any = None,
        copy_to: Any = None,
    ) -> pd.DataFrame | StatementResult:
        check_arguments(query, namespace)
        statements = parse_sql(query)
        if not statements:
            raise AlienError("There is no SQL to run.", hint="Write a statement in the cell.")
        missing = [n for s in statements for n in s.names if n not in namespace]
        if missing:
            raise ParameterMissing(list(dict.fromkeys(missing)))
        check_copies(statements, copy_from, copy_to)
        with self._lock:
            conn = self.connection
            options = Options(limit=limit, copy_from=copy_from)
            runner = CellRunner(conn, query, namespace, options, redactor=self._redactor, report=self.report)
            was_in_transaction = in_transaction(conn)
            failure: BaseException | None = None
            self._user_sql = True
            try:
                if autocommit or len(statements) == 1 or not wrappable(statements, conn):
                    return runner.all(statements, copy_to)
                with conn.transaction():
                    return runner.all(statements, copy_to)
            except StatementFailed as failed:
                failure = self._failure(conn, statements, runner, failed.error)
            except _psycopg_error() as exc:
                failure = self._failure(conn, statements, runner, exc)
            except BaseException:
                # Ctrl-C mid-statement: had the connection to be closed inside the user's
                # transaction, the next statement must hear that, not run in autocommit.
                if conn.closed and was_in_transaction:
                    self._lost_in_transaction = conn
                raise
            finally:
                self._user_sql = False
        # Raised here, outside the except blocks: the driver's exception (whose text may hold what
        # the cell held) is then no one's __context__.
        raise failure

    def _failure(
        self,
        conn: psycopg.Connection[Any],
        statements: tuple[Statement, ...],
        runner: CellRunner,
        exc: Exception,
    ) -> SqlError:
        interrupted = self._interrupted(conn, describe_statements(statements))
        return interrupted if interrupted is not None else runner.error(exc)

    # -- display: never the password ----------------------------------------

    def _fields(self) -> list[tuple[str, Any]]:
        info = self._connection_info
        fields = [
            ("name", self.name),
            ("backend", self.backend),
            ("host", info.host),
            ("port", info.port),
            ("database", info.database),
            ("user", info.username),
            ("sslmode", info.sslmode),
            ("password", "hidden"),
        ]
        if info.socket_dir is not None:
            # Not the folder's path: it differs per machine, and a saved notebook need not say it.
            fields.insert(4, ("via", "Unix socket (private)"))
        return fields

    def __repr__(self) -> str:
        inner = " ".join(f"{k}={v!r}" for k, v in self._fields() if k not in {"password", "name"})
        return f"<alien_nb.Database {self.name!r} {inner} password=<redacted>>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self._fields()
        )
        return f"<table><caption>alien_nb.Database</caption>{rows}</table>"

    def __getstate__(self) -> None:
        raise TypeError(
            "a Database holds a live connection and is not picklable; pass db.worker_env() instead"
        )


class VectorHelpers:
    """`alien_nb.vector`'s functions with the connection filled in."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        from .. import vector

        func = getattr(vector, name)
        if name in {"recall", "brute_force", "default_lists", "hnsw_graph_bytes"} or not callable(func):
            return func

        def bound(*args: Any, **kwargs: Any) -> Any:
            db = self._db
            with db._lock:
                conn = db.connection
                try:
                    return func(conn, *args, **kwargs)
                except Exception:
                    # The helpers wrap some driver errors in their own; the connection tells.
                    interrupted = db._interrupted(conn, f"vector.{name}")
                    if interrupted is not None:
                        raise interrupted from None
                    raise

        bound.__doc__ = func.__doc__
        bound.__name__ = name
        return bound

    def __dir__(self) -> list[str]:
        from .. import vector

        return list(vector.__all__)

    def __repr__(self) -> str:
        names = "load, create_index, search, exact_neighbors, sweep"
        return f"<alien_nb vector helpers on {self._db.name!r}: {names}>"


def _psycopg_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


def _register_vector(conn: psycopg.Connection[Any]) -> None:
    from ..vector import register_types

    register_types(conn)  # a database without the extension just gets no vector types
