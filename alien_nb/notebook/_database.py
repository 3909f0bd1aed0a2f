"""The `Database` handle a notebook works with."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core import AlienError, PostgresBinding, Redactor, WorkerEnv, redacted_connection_string
from ..resolver._connection import PostgresConnection, connection_for
from ..resolver._liveness import Liveness, probe
from ._fetch import ArrowConnectionLost, ArrowFetcher, fetch_single
from ._sqltext import Statement, split_statements, to_psycopg

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd
    import psycopg
    import sqlalchemy

    from ..local import LocalPostgresManager


class SqlError(AlienError):
    """A SQL cell failed; the message is the server's, scrubbed of secrets."""


class StatementInterrupted(SqlError):
    """The connection broke after a statement was sent: it may or may not have taken effect."""

    def __init__(self, name: str, what: str) -> None:
        self.name, self.what = name, what
        super().__init__(
            f"The connection to {name!r} broke while {what} ran (the server stopped or restarted?), so it "
            "may or may not have taken effect on the server. alien_nb did not run it again.",
            hint="Check whether it took effect (look at the rows it changes) before running it again; "
            "the next statement opens a new connection.",
        )


class TransactionLost(SqlError):
    """The server closed the connection while a transaction of the user's was open."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"The connection to {name!r} was closed (the server stopped or restarted?) while a transaction "
            "was open: the server rolled back everything since its BEGIN. Nothing more was sent.",
            hint="Run the transaction again from BEGIN; the next statement opens a new connection.",
        )


class SqlArgumentInvalid(AlienError):
    """`Database.sql` / `run` was called with a query or params of the wrong kind."""


def _check_sql_arguments(query: object, namespace: object) -> None:
    # Checked before anything parses them: a list or str "params" would otherwise fail deep inside
    # with "list indices must be integers", a bytes query with "expected string".
    if not isinstance(query, str):
        hint = (
            "Decode it first: db.sql(query.decode())."
            if isinstance(query, (bytes, bytearray, memoryview))
            else "Pass the SQL text, e.g. db.sql('SELECT * FROM items WHERE id = :n', {'n': 10})."
        )
        raise SqlArgumentInvalid(f"The SQL must be a str, not {type(query).__name__}.", hint=hint)
    if not isinstance(namespace, Mapping):
        raise SqlArgumentInvalid(
            f"params must be a mapping of names to values, not {type(namespace).__name__}.",
            hint="Pass a mapping like {'n': 10} and write :n in the SQL.",
        )


class ParameterMissing(AlienError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(f":{n}" for n in names)
        super().__init__(
            f"No Python variable for the SQL parameter(s) {listed}.",
            hint="Define them in the notebook first, or write a literal colon as \\:name.",
        )


class StatementResult:
    """What a statement without rows did: its command tag and row count."""

    def __init__(self, status: str, rowcount: int, elapsed: float) -> None:
        self.status, self.rowcount, self.elapsed = status, rowcount, elapsed

    def __repr__(self) -> str:
        rows = f", {self.rowcount} row{'s' if self.rowcount != 1 else ''}" if self.rowcount >= 0 else ""
        return f"{self.status}{rows} ({self.elapsed * 1000:.0f} ms)"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


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
        connection: PostgresConnection,
        *,
        backend: str,
        redactor: Redactor | None = None,
        refresh: Callable[[], PostgresConnection] | None = None,
        peek: Callable[[], PostgresConnection] | None = None,
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
        self._lock = threading.RLock()
        # Apart from _lock, which a long statement holds: the engine's pool connects meanwhile.
        self._info_lock = threading.Lock()
        self._engine: sqlalchemy.Engine | None = None
        self._arrow: ArrowFetcher | None = _arrow_fetcher(lambda: self._current_connection_info())
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

    def _current_connection_info(self) -> PostgresConnection:
        """The details for a new connection: re-read (metadata, secret store) unless just resolved."""
        with self._info_lock:
            if self._refresh is not None and not self._fresh:
                self._follow(self._refresh())
            self._fresh = False
            return self._connection_info

    def _latest(self) -> PostgresConnection:
        """The details to show or hand on; a local database's are re-read (one small file)."""
        if self._peek is not None:
            with self._info_lock:
                self._follow(self._peek())
        return self._connection_info

    def _follow(self, info: PostgresConnection) -> None:
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
            if conn is not None:
                state = probe(conn)
                if state is Liveness.ALIVE:
                    return conn
                self._discard(conn)
                if state is Liveness.CLOSED_IN_TRANSACTION:
                    raise TransactionLost(self.name)
            self._conn = self.connect(autocommit=True)
            return self._conn

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
            if self._arrow is not None:
                self._arrow.close()

    # -- SQL ----------------------------------------------------------------

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame | StatementResult:
        """Run SQL (one or more statements, in one transaction); ``:name`` binds ``params[name]``.

        Returns the last statement's rows as a DataFrame, or its status when it returns none.
        """
        _check_sql_arguments(query, {} if params is None else params)
        return self.run(query, {} if params is None else params)

    def run(
        self,
        query: str,
        namespace: Mapping[str, Any],
        *,
        autocommit: bool = False,
        limit: int | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> pd.DataFrame | StatementResult:
        _check_sql_arguments(query, namespace)
        statements = [to_psycopg(text) for text in split_statements(query)]
        if not statements:
            raise AlienError("There is no SQL to run.", hint="Write a statement in the cell.")
        missing = [n for s in statements for n in s.names if n not in namespace]
        if missing:
            raise ParameterMissing(list(dict.fromkeys(missing)))
        with self._lock:
            conn = self.connection
            try:
                if len(statements) == 1:
                    params = {n: namespace[n] for n in statements[0].names}
                    frame = fetch_single(
                        conn, split_statements(query)[0], statements[0], params,
                        arrow=self._arrow, limit=limit, report=self.report,
                    )  # fmt: skip
                    if frame is not None:
                        return frame
                if autocommit or len(statements) == 1:
                    return self._run_all(conn, statements, namespace, limit, on_rows)
                with conn.transaction():
                    return self._run_all(conn, statements, namespace, limit, on_rows)
            except ArrowConnectionLost:
                raise StatementInterrupted(self.name, _what(statements)) from None
            except _psycopg_error() as exc:
                interrupted = self._interrupted(conn, _what(statements))
                if interrupted is not None:
                    raise interrupted from None
                raise self._sql_error(exc) from None

    def _run_all(
        self,
        conn: psycopg.Connection[Any],
        statements: list[Statement],
        namespace: Mapping[str, Any],
        limit: int | None,
        on_rows: Callable[[int], None] | None,
    ) -> pd.DataFrame | StatementResult:
        import time

        from ._fetch import SMALL_RESULT_ROWS, fetch_dataframe

        result: pd.DataFrame | StatementResult = StatementResult("", -1, 0.0)
        with conn.cursor() as cur:
            for statement in statements:
                started = time.perf_counter()
                if statement.has_params:
                    cur.execute(statement.text, {n: namespace[n] for n in statement.names})
                else:
                    cur.execute(statement.text)
                if cur.description is not None:
                    result = fetch_dataframe(cur, limit=limit, on_rows=on_rows)
                    if len(result) > SMALL_RESULT_ROWS:
                        elapsed = time.perf_counter() - started
                        self.report(f"{len(result):,} rows × {result.shape[1]} columns in {elapsed:.2f} s")
                else:
                    status = cur.statusmessage or "OK"
                    result = StatementResult(status, cur.rowcount, time.perf_counter() - started)
        return result

    def _sql_error(self, exc: Exception) -> SqlError:
        diag = getattr(exc, "diag", None)
        text = self._redactor.redact(str(exc).strip())
        hint = getattr(diag, "message_hint", None)
        if "cannot run inside a transaction block" in text:
            hint = "Run it in its own cell, or with --autocommit."
        error = SqlError(f"{type(exc).__name__}: {text}", hint=self._redactor.redact(hint) if hint else None)
        error.sqlstate = getattr(exc, "sqlstate", None)  # type: ignore[attr-defined]
        return error

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


def local_connection(
    manager: LocalPostgresManager,
    name: str,
    *,
    wait: float = 0.0,
    report: Callable[[str], None] | None = None,
) -> PostgresConnection:
    """Local database ``name``'s details as its metadata says now, through its socket if it has one.

    Read at each new connection, so a handle follows its server to a new port
    (the monitor restarted it where the old one was taken; `alien-nb stop` and
    `start` elsewhere). The Unix socket, in the database's private folder,
    cannot be squatted the way a loopback port can. The port (SCRAM only) is
    used only while a server of the database runs without a socket (one
    started before alien_nb used sockets); while none runs, the details
    still name the socket, so a connection fails there ("not running")
    instead of meeting whatever listens on the port. A socket file left by
    a killed server refuses connections the same way.

    A server that crashed and is to be restarted (by the monitor of this or
    another kernel) is waited for, up to ``wait`` seconds, so the statement
    that needs it runs once it is back; ``report`` hears about the wait.
    """
    import stat

    from ..local._postmaster import is_postgres_process, read_postmaster_pid

    paths = manager.paths(name)
    manager.binding(name)  # metadata that cannot be used is an error now, not after a wait
    down = wait > 0 and not _server_ready(paths.data)
    if down and manager.status(name).lifecycle in ("failed", "creating"):  # it is to run: being restarted
        if report is not None:
            report(f"{name}: the server is down; waiting up to {wait:.0f} s for it to be restarted")
        deadline = time.monotonic() + wait
        while not _server_ready(paths.data) and time.monotonic() < deadline:
            time.sleep(0.02)
    binding = manager.binding(name)  # after the wait: the restart may have moved it
    password = binding.inline_password
    assert password is not None, "local bindings carry their password"
    folder = manager.socket_dir(name)
    if folder is None:  # its path is too long for a socket: the server listens on TCP only
        return connection_for(binding, password)
    try:
        has_socket = stat.S_ISSOCK(paths.socket_file(binding.port).lstat().st_mode)
    except OSError:
        has_socket = False
    if not has_socket:
        info = read_postmaster_pid(paths.data)
        if info is not None and is_postgres_process(info.pid, paths.data):
            return connection_for(binding, password)
    return connection_for(binding, password, socket_dir=str(folder))


def _server_ready(data: Path) -> bool:
    from ..local._postmaster import is_postgres_process, read_postmaster_pid

    info = read_postmaster_pid(data)
    return info is not None and info.status == "ready" and is_postgres_process(info.pid, data)


def _what(statements: list[Statement]) -> str:
    return "this statement" if len(statements) == 1 else f"these {len(statements)} statements"


def _arrow_fetcher(current: Callable[[], PostgresConnection]) -> ArrowFetcher | None:
    """ADBC for large results, when the driver is installed."""
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        return None

    def connect() -> Any:
        import adbc_driver_postgresql.dbapi as adbc

        uri = current().libpq_uri()
        try:
            return adbc.connect(uri.get_secret_value(), autocommit=True)
        except Exception as exc:  # the driver's frames hold the URI: raise a fresh error, unchained
            reason = f"{type(exc).__name__} from the ADBC driver"
        raise ConnectionError(reason)

    return ArrowFetcher(connect)


def _psycopg_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


def _register_vector(conn: psycopg.Connection[Any]) -> None:
    from ..vector import register_types

    register_types(conn)  # a database without the extension just gets no vector types
