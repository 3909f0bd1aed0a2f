"""The local backend: embedded PostgreSQL with pgvector on this machine.

`LocalPostgresController` is all the notebook and the CLI know of the local
layer: they never reach into its manager, its folders or its metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..core import InvalidResourceUpdate, LocalPostgresBinding, Postgres, validate_update
from ..core._backends import LOCAL
from ..local import LocalEndpoint, LocalPostgresManager, LocalStart, LocalStatus
from ._base import PostgresController

Notify = Callable[[str], None]


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
        """Is ``id`` one of `names` (its folder is there)? Raise for a malformed name."""
        return self.folder(id).is_dir()

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
        return self.manager.launch(id, version, progress=progress)

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
        """Where to reach database ``id`` now: its binding, and its private socket folder when it
        has one (see `LocalPostgresManager.endpoint`). Read at each new connection, so a handle
        follows its server; a server being restarted is waited for up to ``wait`` seconds."""
        return self.manager.endpoint(id, wait=wait, report=report)
