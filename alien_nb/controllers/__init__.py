"""One controller per backend (local, aurora, cloud-sql, flexible-server) behind one interface."""

from ._base import Heartbeat, PostgresController
from .local import LocalPostgresController

__all__ = ["Heartbeat", "LocalPostgresController", "PostgresController"]
