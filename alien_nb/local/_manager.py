"""LocalPostgresManager: init, start, attach, stop and delete embedded servers.

This is the facade: it checks names, takes the database lock and hands
the work to the modules that do it: `_start` (the start sequence),
`_cluster` (initdb), `_server` (the server process), `_private` (the
database's files and folders) and `_monitor` (restarts).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from ..core import LocalPostgresBinding
from ..core._environ import WorkerEnv
from ._context import Clock, LocalContext, Notify, PortPicker, Spawner, SystemClock
from ._endpoint import LocalEndpoint, find_endpoint
from ._errors import DatabaseNotFound, StopFailed
from ._layout import DatabasePaths, default_home, dir_size
from ._lock import database_lock, release, try_lock
from ._metadata import Metadata, MetadataProblem, read_metadata
from ._monitor import ServerMonitor
from ._names import check_name, database_names
from ._ports import LoopbackPorts
from ._private import ensure_lock_dir, loose_mode_notice, prepare_home, read_checked_metadata, set_desired
from ._server import live_postmaster, reap_children, recorded_server, server_pid, spawn_detached, stop_server
from ._session import probe
from ._start import LocalStart, start_locked
from ._state import read_state
from ._status import LocalStatus


def _print_notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LocalPostgresManager:
    """Embedded PostgreSQL servers with pgvector, kept under ``home``.

    >>> manager = LocalPostgresManager()
    >>> binding = manager.start("vec-db")       # init, start, or attach
    >>> manager.status("vec-db").lifecycle
    'running'

    Servers outlive the process that started them; `stop` ends them. As
    root, servers run under an unprivileged account (``server_user``,
    ``$ALIEN_NB_SERVER_USER``, or ``alien-nb``). A missing ``alien-nb`` or
    ``alien-nb-<anything>`` account is created (once, across processes);
    any other name must exist already.

    The manager's own connections (bootstrap, the credential check at every
    start, the status probe) accept only SCRAM and go through the server's
    private Unix socket when there is one, so no impostor on the loopback
    port can learn the password.
    ``notify`` receives one-line notices (account created, port changed,
    server restarted); by default they go to stderr. ``clock``, ``spawn``
    and ``ports`` stand in for the real time, process launcher and port
    picker (tests step them instead of waiting).
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        server_user: str | None = None,
        notify: Notify | None = None,
        monitor: bool = True,
        monitor_interval: float = 1.0,
        start_timeout: float = 60.0,
        settings: dict[str, str] | None = None,
        clock: Clock | None = None,
        spawn: Spawner | None = None,
        ports: PortPicker | None = None,
    ) -> None:
        self.home = Path(home).expanduser().absolute() if home is not None else default_home()
        self._notify = notify if notify is not None else _print_notice
        self._ctx = LocalContext(
            self.home,
            notify=self._notify,
            server_user=server_user,
            clock=clock or SystemClock(),
            spawn=spawn or spawn_detached,
            ports=ports or LoopbackPorts(),
            start_timeout=start_timeout,
            settings=dict(settings or {}),
        )
        self._monitor_enabled = monitor
        self._monitor_interval = monitor_interval
        self._monitor: ServerMonitor | None = None

    def __repr__(self) -> str:
        return f"<LocalPostgresManager home={str(self.home)!r}>"

    def close(self) -> None:
        """Stop this manager's monitor thread; the servers keep running."""
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.stop()

    # -- public API -----------------------------------------------------------

    def start(
        self, id: str, version: str | int | None = None, *, progress: Callable[[str], None] | None = None
    ) -> LocalPostgresBinding:
        """Start database ``id`` (init, start, or attach) and return its full binding (`launch`
        also says which PostgreSQL major it runs).

        Idempotent and safe to call from many processes at once. ``version``
        is a major version; unset means the bundled one for a new database
        and the recorded one for an existing database.

        Raise `InvalidResource` for a bad id, `InvalidResourceUpdate` for a
        version change, `MetadataInvalid` / `DataDirInvalid` when existing
        files cannot be used (nothing is changed), `StartFailed` when the
        server does not come up. ``progress`` is told each step as it begins:
        "init", "start", "bootstrap".
        """
        return self.launch(id, version, progress=progress).binding

    def launch(
        self, id: str, version: str | int | None = None, *, progress: Callable[[str], None] | None = None
    ) -> LocalStart:
        """`start`, returning the binding with the PostgreSQL major the server runs."""
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)  # start("x", version=18) means "18"
        check_name(id, version)
        major = version if isinstance(version, str) else None  # anything else was refused above
        paths = self._paths(id)
        prepare_home(self._ctx, paths)
        with database_lock(paths.lock, id):
            started = start_locked(self._ctx, paths, major, progress or (lambda _step: None))
        self._ensure_monitor()
        return started

    def stop(self, id: str) -> bool:
        """Stop the server (fast shutdown); the data stays. True if a server was stopped.

        A server whose data directory was deleted or moved is still found
        (by the pid and start time recorded when it was launched), stopped,
        and reported through ``notify``.
        """
        paths = self._existing(id)
        with self._locked_existing(paths):
            set_desired(paths, "stopped")
            return stop_server(self._ctx, paths)

    def delete(self, id: str) -> None:
        """Stop the server, then remove the database's folder. Refuses if the stop fails."""
        paths = self._existing(id)
        with self._locked_existing(paths):
            set_desired(paths, "stopped")
            stop_server(self._ctx, paths)
            pid = server_pid(paths)
            if pid is not None:
                raise StopFailed(id, pid, "the server is still running; nothing was deleted")
            shutil.rmtree(paths.root)

    def status(self, id: str) -> LocalStatus:
        """The heartbeat: health, lifecycle, port, version, processRunning, pid, data size."""
        paths = self._existing(id)
        try:
            metadata: Metadata | None = read_metadata(
                paths.metadata, on_loose_mode=loose_mode_notice(self._ctx, paths)
            )
        except (OSError, MetadataProblem):
            metadata = None
        info = live_postmaster(paths)
        state = read_state(paths.state)
        orphan = None if info is not None else recorded_server(paths, state)
        size = dir_size(paths.data) if paths.data.exists() else 0
        credentials = None
        if info is not None and info.status == "ready" and metadata is not None:
            credentials = probe(paths, metadata)
        if not paths.root.is_dir():
            raise DatabaseNotFound(id, self.home)  # deleted while we looked: report that, not "broken"
        return LocalStatus.observe(
            name=id,
            metadata=metadata,
            running=info is not None or orphan is not None,
            server_status=info.status if info else ("orphaned" if orphan else None),
            pid=info.pid if info else orphan,
            desired=state.desired,
            data_size=size,
            credentials=credentials,
        )

    def names(self) -> list[str]:
        """The local databases under ``home``, by name (what `list` reports on)."""
        return database_names(self.home)

    def list(self) -> list[LocalStatus]:
        """Status of every local database under ``home``, by name."""
        statuses = []
        for name in self.names():
            try:
                statuses.append(self.status(name))
            except DatabaseNotFound:
                continue  # deleted since the folder listing
        return statuses

    def binding(self, id: str) -> LocalPostgresBinding:
        """The full binding from metadata, without starting anything."""
        paths = self._existing(id)
        return read_checked_metadata(self._ctx, paths).binding()

    def worker_env(self, id: str) -> WorkerEnv:
        """``{"ALIEN_<ID>_BINDING": <full binding JSON>}`` for a child process."""
        return WorkerEnv.for_binding(id, self.binding(id))

    def log_path(self, id: str) -> Path:
        return self._existing(id).log

    def paths(self, id: str) -> DatabasePaths:
        return self._paths(id)

    def endpoint(self, id: str, *, wait: float = 0.0, report: Notify | None = None) -> LocalEndpoint:
        """Where to reach ``id`` now (see `find_endpoint`), waiting up to ``wait`` seconds for a
        server that is being restarted."""
        paths = self._existing(id)
        return find_endpoint(
            self._ctx, paths, lifecycle=lambda: self.status(id).lifecycle, wait=wait, report=report
        )

    def socket_dir(self, id: str) -> Path | None:
        """Where the server's Unix socket lives (None when its path is too long for one).

        Only the server account (and root) can reach it, so connections made
        through it cannot meet an impostor the way a loopback port can.
        """
        paths = self._existing(id)
        metadata = read_checked_metadata(self._ctx, paths)
        return paths.socket_dir if paths.socket_fits(metadata.port) else None

    # -- helpers ----------------------------------------------------------------

    def _paths(self, id: str) -> DatabasePaths:
        check_name(id, None)
        return DatabasePaths(self.home, id)

    def _existing(self, id: str) -> DatabasePaths:
        paths = self._paths(id)
        if not paths.root.is_dir():
            raise DatabaseNotFound(id, self.home)
        return paths

    @contextlib.contextmanager
    def _locked_existing(self, paths: DatabasePaths) -> Iterator[None]:
        """The database lock, then the folder checked again: a delete may have won the lock first."""
        ensure_lock_dir(paths)
        with database_lock(paths.lock, paths.name):
            if not paths.root.is_dir():
                raise DatabaseNotFound(paths.name, self.home)
            yield

    def _ensure_monitor(self) -> None:
        if not self._monitor_enabled or self._monitor is not None:
            return
        monitor = ServerMonitor(
            self.names, self._restart_if_down, interval=self._monitor_interval, clock=self._ctx.clock
        )
        monitor.start()
        self._monitor = monitor

    def _restart_if_down(self, id: str) -> bool:
        """Monitor hook: restart ``id`` if it should run and does not. True if restarted."""
        paths = self._paths(id)
        reap_children()
        if read_state(paths.state).desired != "running" or not paths.metadata.exists():
            return False
        if live_postmaster(paths) is not None:
            return False
        ensure_lock_dir(paths)
        fd = try_lock(paths.lock)
        if fd is None:
            return False  # someone else is starting or stopping it
        try:
            if read_state(paths.state).desired != "running":
                return False
            binding = start_locked(self._ctx, paths, None, lambda _step: None).binding
        finally:
            release(fd)
        self._notify(
            f"alien_nb: local database {id!r} had stopped unexpectedly; restarted it on port {binding.port}."
        )
        return True
