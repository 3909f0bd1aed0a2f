"""The local backend: embedded PostgreSQL with pgvector on this machine."""

from __future__ import annotations

from ..core import InvalidResourceUpdate, LocalPostgresBinding, Postgres, validate_update
from ..core._backends import LOCAL
from ..local import LocalPostgresManager, LocalStatus
from ._base import PostgresController


class LocalPostgresController(PostgresController):
    """`PostgresController` over a `LocalPostgresManager`.

    cpu, memory, storage and highAvailability have no meaning for a server
    on this machine and are accepted as they are; the version is the
    bundled major unless the resource names one.
    """

    backend = LOCAL

    def __init__(self, manager: LocalPostgresManager | None = None) -> None:
        self.manager = manager or LocalPostgresManager()

    def create(self, resource: Postgres) -> LocalPostgresBinding:
        version = resource.version if "version" in resource.model_fields_set else None
        return self.manager.start(resource.id, version)

    def start(self, id: str, version: str | None = None) -> LocalPostgresBinding:
        """Start (or attach to) local database ``id``: `create` for a bare name."""
        return self.manager.start(id, version)

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
