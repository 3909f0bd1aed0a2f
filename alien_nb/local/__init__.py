"""The embedded-Postgres manager: server processes, data directories, metadata and locks."""

from ._endpoint import LocalEndpoint
from ._errors import (
    CredentialsRejected,
    DatabaseNotFound,
    DataDirInvalid,
    HomeInvalid,
    InitFailed,
    LocalServerError,
    LockTimeout,
    MetadataInvalid,
    ServerAccountError,
    StartFailed,
    StopFailed,
    VersionUnavailable,
)
from ._installations import Installation, find_installation, system_installations
from ._layout import DatabasePaths, default_home
from ._manager import LocalPostgresManager
from ._settings import server_settings, tuned_settings
from ._start import LocalStart
from ._status import LocalStatus

__all__ = [
    "CredentialsRejected",
    "DataDirInvalid",
    "DatabaseNotFound",
    "DatabasePaths",
    "HomeInvalid",
    "InitFailed",
    "Installation",
    "LocalEndpoint",
    "LocalPostgresManager",
    "LocalServerError",
    "LocalStart",
    "LocalStatus",
    "LockTimeout",
    "MetadataInvalid",
    "ServerAccountError",
    "StartFailed",
    "StopFailed",
    "VersionUnavailable",
    "default_home",
    "find_installation",
    "server_settings",
    "system_installations",
    "tuned_settings",
]
