"""One controller per backend (local, aurora, cloud-sql, flexible-server) behind one interface."""

from ._base import Heartbeat, PostgresController
from ._cloud import CloudPostgresController, CloudStatus, Plan
from ._factory import CLOUD_BACKENDS, cloud_controller
from .aws import AuroraController
from .azure import FlexibleServerController
from .gcp import CloudSqlController
from .local import LocalPostgresController

__all__ = [
    "CLOUD_BACKENDS",
    "AuroraController",
    "CloudPostgresController",
    "CloudSqlController",
    "CloudStatus",
    "FlexibleServerController",
    "Heartbeat",
    "LocalPostgresController",
    "Plan",
    "PostgresController",
    "cloud_controller",
]
