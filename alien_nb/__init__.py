"""alien_nb: Postgres with pgvector from a Jupyter notebook.

``%load_ext alien_nb`` registers the ``%alien_postgres`` magics. The names below are what a
user holds: the `Database` handle a notebook works with, the contract's models and helpers,
and every error alien_nb raises on purpose (``except alien_nb.StartFailed:``), whose tree is
drawn in ``alien_nb/core/_errors.py``. The pgvector helpers and their errors are in
`alien_nb.vector`, the loopback cloud emulators in `alien_nb.testing`.

Each name loads on first use, from the module that defines it, so ``import alien_nb`` stays
fast and imports no pandas, psycopg or cloud SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core._lazy import lazy_exports as _lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .core import (
        AlienError,
        BindingConfigInvalid,
        BindingError,
        BindingNotConfigured,
        CloudCallFailed,
        CloudSettings,
        CloudSettingsInvalid,
        ConnectionFailed,
        InvalidResource,
        InvalidResourceUpdate,
        MissingExtra,
        NoTierFits,
        Postgres,
        PostgresBinding,
        ResourceError,
        SecretError,
        SecretResolutionFailed,
        SecretValueInvalid,
        SqlTextInvalid,
        binding_env_var,
        binding_from_env,
        connection_string,
        encode_userinfo,
        parse_binding,
        pick_tier,
        synced_params,
        validate_update,
    )
    from .local._errors import (
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
    from .notebook._database import Database
    from .notebook._results import StatementResult
    from .notebook._sqlerrors import (
        CopyNeedsData,
        ParameterMissing,
        SqlArgumentInvalid,
        SqlError,
        StatementInterrupted,
        TransactionLost,
    )
    from .resolver import ConnectionDetails, get_postgres_connection

__all__ = [
    "AlienError",
    "BindingConfigInvalid",
    "BindingError",
    "BindingNotConfigured",
    "CloudCallFailed",
    "CloudSettings",
    "CloudSettingsInvalid",
    "ConnectionDetails",
    "ConnectionFailed",
    "CopyNeedsData",
    "CredentialsRejected",
    "DataDirInvalid",
    "Database",
    "DatabaseNotFound",
    "HomeInvalid",
    "InitFailed",
    "InvalidResource",
    "InvalidResourceUpdate",
    "LocalServerError",
    "LockTimeout",
    "MetadataInvalid",
    "MissingExtra",
    "NoTierFits",
    "ParameterMissing",
    "Postgres",
    "PostgresBinding",
    "ResourceError",
    "SecretError",
    "SecretResolutionFailed",
    "SecretValueInvalid",
    "ServerAccountError",
    "SqlArgumentInvalid",
    "SqlError",
    "SqlTextInvalid",
    "StartFailed",
    "StatementInterrupted",
    "StatementResult",
    "StopFailed",
    "TransactionLost",
    "VersionUnavailable",
    "binding_env_var",
    "binding_from_env",
    "connection_string",
    "encode_userinfo",
    "get_postgres_connection",
    "parse_binding",
    "pick_tier",
    "synced_params",
    "validate_update",
]

# Where each name is defined. The local and SQL errors come from their modules, not their
# packages: `except alien_nb.StartFailed` must not import the whole local manager.
_LOCAL_ERRORS = ["CredentialsRejected", "DataDirInvalid", "DatabaseNotFound", "HomeInvalid", "InitFailed",
                 "LocalServerError", "LockTimeout", "MetadataInvalid", "ServerAccountError", "StartFailed",
                 "StopFailed", "VersionUnavailable"]  # fmt: skip
_SQL_ERRORS = ["CopyNeedsData", "ParameterMissing", "SqlArgumentInvalid", "SqlError", "StatementInterrupted",
               "TransactionLost"]  # fmt: skip
_LAZY: dict[str, str] = {
    **dict.fromkeys(__all__, "alien_nb.core"),
    **dict.fromkeys(["ConnectionDetails", "get_postgres_connection"], "alien_nb.resolver"),
    **dict.fromkeys(_LOCAL_ERRORS, "alien_nb.local._errors"),
    **dict.fromkeys(_SQL_ERRORS, "alien_nb.notebook._sqlerrors"),
    "Database": "alien_nb.notebook._database",
    "StatementResult": "alien_nb.notebook._results",
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext alien_nb``: register ``%alien_postgres``; nothing heavy is imported yet."""
    from .notebook import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload

    unload(ipython)


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, renamed={"PostgresConnection": "ConnectionDetails"})
