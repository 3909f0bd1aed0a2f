"""The local backend: embedded PostgreSQL with pgvector on this machine.

`LocalPostgresController` is all the notebook and the CLI know of the local
layer: they never reach into its manager, its folders or its metadata.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core import InvalidResourceUpdate, LocalPostgresBinding, Postgres, validate_update
from ..core._backends import LOCAL
from ..local import LocalPostgresManager, LocalStatus
from ._base import PostgresController

Notify = Callable[[str], None]


@dataclass(frozen=True)
class LocalEndpoint:
    """Where to reach a local database now: its binding, and the private socket folder to dial
    (None: its loopback port)."""

    binding: LocalPostgresBinding
    socket_dir: Path | None


@dataclass(frozen=True)
class LocalStart:
    """A started (or attached) local database: its runtime binding and the PostgreSQL major it runs."""

    binding: LocalPostgresBinding
    version: str


class LocalPostgresController(PostgresController):
    """`PostgresController` over a `LocalPostgresManager`.

    cpu, memory, storage and highAvailability have no meaning for a server
    on this machine and are accepted as they are; the version is the
    bundled major unless the resource names one.
    """

    backend = LOCAL

    def __init__(self, manager: LocalPostgresManager | None = None) -> None:
        self.manager = manager or LocalPostgresManager()

    @classmethod
    def at(
        cls,
        home: str | Path | None,
        *,
        notify: Notify | None = None,
        monitor: bool = True,
        create: bool = False,
    ) -> LocalPostgresController:
        """The controller of the databases under ``home`` (None: ``$ALIEN_NB_HOME`` or the user data folder).

        Raise `HomeInvalid` at once for a home that cannot be used (``/dev/null``, a file), not
        "no databases" later; with ``create``, also for one where no database could be made.
        """
        controller = cls(LocalPostgresManager(home, notify=notify, monitor=monitor))
        controller.check_home(create=create)
        return controller

    # -- where the databases live -------------------------------------------

    @property
    def home(self) -> Path:
        """The state folder; each database lives in ``home/postgres/<name>``."""
        return self.manager.home

    def check_home(self, *, create: bool = False) -> None:
        """Raise `HomeInvalid` if the home is unusable (with ``create``: if it cannot take a new database)."""
        from ..local._home import check_home

        check_home(self.home, create=create)

    def folder(self, id: str) -> Path:
        """The folder of database ``id`` (data, metadata, log); a malformed name raises its own error."""
        return self.manager.paths(id).root

    def names(self) -> list[str]:
        """The local databases under the home, by name (what `list` shows the status of)."""
        return self.manager.names()

    def exists(self, id: str) -> bool:
        """Has local database ``id`` been created here (its metadata written)? Raise for a malformed name."""
        return self.manager.paths(id).metadata.exists()

    def list(self) -> list[LocalStatus]:
        """The status of every local database under the home, by name."""
        return self.manager.list()

    def log_path(self, id: str) -> Path:
        """The server log of database ``id``."""
        return self.manager.log_path(id)

    def close(self) -> None:
        """Stop watching the servers (the monitor thread); they keep running."""
        self.manager.close()

    # -- lifecycle ----------------------------------------------------------

    def create(self, resource: Postgres) -> LocalPostgresBinding:
        version = resource.version if "version" in resource.model_fields_set else None
        return self.manager.start(resource.id, version)

    def start(
        self, id: str, version: str | None = None, *, progress: Notify | None = None
    ) -> LocalPostgresBinding:
        """Start (or attach to) local database ``id``: `create` for a bare name.

        ``progress`` is told each step as it begins: "init", "start", "bootstrap".
        """
        return self.manager.start(id, version, progress=progress)

    def launch(self, id: str, version: str | None = None, *, progress: Notify | None = None) -> LocalStart:
        """`start`, also saying which PostgreSQL major the server runs (as recorded: a full
        `status`, with its disk usage and test logins, would triple the time of an attach)."""
        from ..local._metadata import read_metadata

        binding = self.start(id, version, progress=progress)
        return LocalStart(binding, read_metadata(self.manager.paths(id).metadata).version)

    def ready(self, id: str) -> bool:
        status = self.manager.status(id)
        return status.lifecycle == "running" and status.health == "healthy"

    def update(self, old: Postgres, new: Postgres) -> None:
        validate_update(old, new)
        if new.version != old.version:
            raise InvalidResourceUpdate(
                "version",
                f"a local database cannot change version in place (from {old.version!r} to {new.version!r})",
                hint="Start a new local database with the new version and move the data with pg_dump.",
            )

    def delete(self, id: str) -> None:
        self.manager.delete(id)

    def stop(self, id: str) -> None:
        self.manager.stop(id)

    def status(self, id: str) -> LocalStatus:
        return self.manager.status(id)

    def runtime_binding(self, id: str) -> LocalPostgresBinding:
        return self.manager.binding(id)

    # -- connecting ---------------------------------------------------------

    def endpoint(self, id: str, *, wait: float = 0.0, report: Notify | None = None) -> LocalEndpoint:
        """Where to reach database ``id`` as its metadata says now: through its socket if it has one.

        Read at each new connection, so a handle follows its server to a new port
        (the monitor restarted it where the old one was taken; `alien-nb stop` and
        `start` elsewhere). The Unix socket, in the database's private folder,
        cannot be squatted the way a loopback port can. The port (SCRAM only) is
        used only while a server of the database runs without a socket (one
        started before alien_nb used sockets); while none runs, the endpoint
        still names the socket, so a connection fails there ("not running")
        instead of meeting whatever listens on the port. A socket file left by
        a killed server refuses connections the same way.

        A server that crashed and is to be restarted (by the monitor of this or
        another kernel) is waited for, up to ``wait`` seconds, so the statement
        that needs it runs once it is back; ``report`` hears about the wait.
        """
        import stat

        from ..local._postmaster import is_postgres_process, read_postmaster_pid

        manager = self.manager
        paths = manager.paths(id)
        manager.binding(id)  # metadata that cannot be used is an error now, not after a wait
        down = wait > 0 and not _server_ready(paths.data)
        if down and manager.status(id).lifecycle in ("failed", "creating"):  # it is to run: being restarted
            if report is not None:
                report(f"{id}: the server is down; waiting up to {wait:.0f} s for it to be restarted")
            deadline = time.monotonic() + wait
            while not _server_ready(paths.data) and time.monotonic() < deadline:
                time.sleep(0.02)
        binding = manager.binding(id)  # after the wait: the restart may have moved it
        folder = manager.socket_dir(id)
        if folder is None:  # its path is too long for a socket: the server listens on TCP only
            return LocalEndpoint(binding, None)
        try:
            has_socket = stat.S_ISSOCK(paths.socket_file(binding.port).lstat().st_mode)
        except OSError:
            has_socket = False
        if not has_socket:
            info = read_postmaster_pid(paths.data)
            if info is not None and is_postgres_process(info.pid, paths.data):
                return LocalEndpoint(binding, None)
        return LocalEndpoint(binding, folder)


def _server_ready(data: Path) -> bool:
    from ..local._postmaster import is_postgres_process, read_postmaster_pid

    info = read_postmaster_pid(data)
    return info is not None and info.status == "ready" and is_postgres_process(info.pid, data)
