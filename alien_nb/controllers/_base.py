"""The interface every backend controller implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

from ..core import Postgres, PostgresBinding


class Heartbeat(Protocol):
    """A status in the contract's shape: health, lifecycle and a message."""

    @property
    def health(self) -> str: ...

    @property
    def lifecycle(self) -> str: ...

    @property
    def message(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class PostgresController(ABC):
    """Create, watch, change and remove one kind of Postgres.

    Every method takes the resource id; `binding` is the synced channel
    (no password) and `runtime_binding` the full one, built when needed.
    """

    #: One of `core._backends.BACKENDS`.
    backend: str

    @abstractmethod
    def create(self, resource: Postgres) -> PostgresBinding:
        """Create (or start, or attach to) the resource; return its runtime binding."""

    @abstractmethod
    def ready(self, id: str) -> bool:
        """True once the database accepts connections."""

    @abstractmethod
    def update(self, old: Postgres, new: Postgres) -> None:
        """Apply a change, after `validate_update` and the backend's own rules."""

    @abstractmethod
    def delete(self, id: str) -> None:
        """Remove the resource and its data."""

    @abstractmethod
    def status(self, id: str) -> Heartbeat:
        """The current heartbeat."""

    @abstractmethod
    def runtime_binding(self, id: str) -> PostgresBinding:
        """The full binding, password included (runtime channel only)."""

    def binding(self, id: str) -> dict[str, Any]:
        """The synced binding: safe to store, show and share."""
        return self.runtime_binding(id).synced()
