"""The start sequence of one database, run while its lock is held.

::

    start_locked
      ├─ remove_leftovers         what a killed start left (temp files, initdb staging)
      ├─ load_or_create_metadata  metadata.json: written once, 0600
      ├─ running_server           already up (this or another process)? attach
      ├─ init_cluster             initdb, only when the data dir is new or empty
      ├─ launch                   the kept port (or a new one if taken), postgres -D data, wait
      ├─ bootstrap                CREATE DATABASE id; CREATE EXTENSION vector
      └─ verify_credentials       the recorded user and password work (SCRAM, Unix socket)

If anything after the launch fails, the server this call launched is
stopped again and the desired state says "stopped": nothing is left running
half-ready for the monitor to restart in a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..core import AlienError, LocalPostgresBinding
from ._account import make_traversable
from ._cluster import init_cluster
from ._context import LocalContext
from ._errors import CredentialsRejected, LocalServerError, StartFailed
from ._files import log_size
from ._installations import Installation, find_installation
from ._layout import DatabasePaths
from ._metadata import Metadata, write_metadata
from ._postmaster import process_start_ticks
from ._private import load_or_create_metadata, remove_leftovers, set_desired, write_conf
from ._server import PORT_IN_USE, remove_stale_pid_file, running_server, spawn_server, stop_server, wait_ready
from ._session import connect_scram, login
from ._state import DesiredState, read_state, write_state

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalStart:
    """A started (or attached) local database: its runtime binding and the PostgreSQL major it runs."""

    binding: LocalPostgresBinding
    version: str


def start_locked(
    ctx: LocalContext, paths: DatabasePaths, version: str | None, progress: Progress
) -> LocalStart:
    """Init, start or attach (the caller holds the database lock); the full binding and the major."""
    remove_leftovers(ctx, paths)
    metadata = load_or_create_metadata(ctx, paths, version)
    install = find_installation(metadata.version)
    # A Python environment in a private folder (a root venv under /root or /tmp/...) holds the binaries.
    make_traversable(install.bindir, ctx.account(), ctx.notify, purpose="the PostgreSQL programs")
    state = read_state(paths.state)
    launched = False
    if not running_server(ctx, paths, metadata):
        progress("init")
        if init_cluster(ctx, paths, metadata, install):
            state = read_state(paths.state)
        progress("start")
        metadata, state = launch(ctx, paths, metadata, install)
        launched = True
    try:
        if not state.bootstrapped:
            progress("bootstrap")
            bootstrap(ctx, paths, metadata, install)
        else:
            verify_credentials(paths, metadata)
    except BaseException as exc:
        if not launched:
            raise  # someone else's server: leave it as it is
        stop_server(ctx, paths)
        set_desired(paths, "stopped")
        if not isinstance(exc, LocalServerError):
            raise  # Ctrl-C, or a bug: still nothing left running behind a "stopped"
        if isinstance(exc, CredentialsRejected):
            raise CredentialsRejected(paths.name, paths.data, paths.metadata, stopped=True) from None
        raise StartFailed(
            paths.data, None, exc.message,
            hint=f"{exc.hint or ''} The server alien_nb had started for it was stopped again.".strip(),
        ) from None  # fmt: skip
    if state.desired != "running" or not state.bootstrapped or not state.initialized:
        write_state(paths.state, replace(state, desired="running", bootstrapped=True, initialized=True))
    return LocalStart(metadata.binding(), metadata.version)


def launch(
    ctx: LocalContext, paths: DatabasePaths, metadata: Metadata, install: Installation
) -> tuple[Metadata, DesiredState]:
    """Start the postmaster on the kept port, moving to a new one if it is taken.

    The new server's pid and start time go to state.json, so that stop
    still finds it if its data directory disappears.
    """
    for attempt in range(3):
        if not ctx.ports.is_free(metadata.port):
            old = metadata.port
            metadata = metadata.with_port(ctx.ports.free_port())
            write_metadata(paths.metadata, metadata)
            ctx.notify(
                f"alien_nb: port {old} of local database {paths.name!r} is taken by another program; "
                f"it now uses port {metadata.port} (metadata and binding updated)."
            )
        write_conf(ctx, paths, metadata)
        remove_stale_pid_file(paths)
        log_start = log_size(paths.log)
        process = spawn_server(ctx, paths, install)
        state = replace(
            read_state(paths.state),
            server_pid=process.pid,
            server_start_ticks=process_start_ticks(process.pid),
        )
        write_state(paths.state, state)
        try:
            wait_ready(ctx, paths, process, log_start)
            return metadata, state
        except StartFailed as exc:
            if process.poll() is None:
                # Still starting (a long crash recovery): the state says so, and the
                # monitor or the next start adopts it, rather than a server running
                # behind a "stopped".
                write_state(paths.state, replace(state, desired="running"))
                raise
            if attempt < 2 and any(marker in exc.log_tail for marker in PORT_IN_USE):
                continue  # lost a race for the port; pick again
            raise
    raise AssertionError("unreachable")


def bootstrap(ctx: LocalContext, paths: DatabasePaths, metadata: Metadata, install: Installation) -> None:
    """Create the database and the vector extension, if missing."""
    _translated(
        paths, metadata, "could not be prepared",
        lambda: _create_database_and_extension(ctx, paths, metadata, install),
    )  # fmt: skip


def verify_credentials(paths: DatabasePaths, metadata: Metadata) -> None:
    """One SCRAM login with the recorded credentials: start never returns a server nothing can use."""
    result = login(paths, metadata, metadata.database)
    if result.rejected:
        raise CredentialsRejected(paths.name, paths.data, paths.metadata, stopped=False)
    if not result.ok:
        reason = f"a test login failed ({result.sqlstate or result.problem})"
        raise StartFailed(
            paths.data, None, reason,
            hint=f"The server runs but does not accept connections; see `alien-nb logs {paths.name}`.",
        )  # fmt: skip


def _translated(paths: DatabasePaths, metadata: Metadata, what: str, step: Callable[[], None]) -> None:
    """Run ``step``; a driver error becomes `StartFailed` (or `CredentialsRejected`) that carries
    only its message. Raised after the ``except`` block, so the driver's error (which holds the
    connection parameters, password included, in its frames) is not kept even as ``__context__``."""
    import psycopg

    failure: AlienError | None = None
    try:
        step()
    except psycopg.Error as exc:
        # libpq gives a failed login no SQLSTATE: ask the server once more, by hand.
        if exc.sqlstate is None and login(paths, metadata, "postgres").rejected:
            failure = CredentialsRejected(paths.name, paths.data, paths.metadata, stopped=False)
        else:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            failure = StartFailed(
                paths.data, None, reason,
                hint=f"The server runs but {what}; see `alien-nb logs {paths.name}`.",
            )  # fmt: skip
    if failure is not None:
        raise failure


def _create_database_and_extension(
    ctx: LocalContext, paths: DatabasePaths, metadata: Metadata, install: Installation
) -> None:
    import psycopg
    from psycopg import sql

    with connect_scram(paths, metadata, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (metadata.database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(metadata.database)))
    if not install.has_pgvector:
        ctx.notify(
            f"alien_nb: PostgreSQL {install.major} at {install.bindir} has no pgvector; "
            "the database works, but CREATE EXTENSION vector will fail there."
        )
        return
    try:
        with connect_scram(paths, metadata, metadata.database) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.errors.UniqueViolation:
        pass  # another session created it at the same moment
