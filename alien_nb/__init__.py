"""alien_nb: Postgres with pgvector from a Jupyter notebook.

``%load_ext alien_nb`` registers the ``%alien_postgres`` magics. The names
below load on first use, so ``import alien_nb`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core._lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .core import (
        AlienError,
        BindingConfigInvalid,
        BindingError,
        BindingNotConfigured,
        CloudSettings,
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
        binding_env_var,
        binding_from_env,
        connection_string,
        encode_userinfo,
        parse_binding,
        pick_tier,
        synced_params,
        validate_update,
    )
    from .resolver import ConnectionDetails, get_postgres_connection

__all__ = [
    "AlienError",
    "BindingConfigInvalid",
    "BindingError",
    "BindingNotConfigured",
    "CloudSettings",
    "ConnectionDetails",
    "ConnectionFailed",
    "InvalidResource",
    "InvalidResourceUpdate",
    "MissingExtra",
    "NoTierFits",
    "Postgres",
    "PostgresBinding",
    "ResourceError",
    "SecretError",
    "SecretResolutionFailed",
    "SecretValueInvalid",
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

# Every public name loads on first use, from the module that defines it.
_LAZY: dict[str, str] = {
    **dict.fromkeys(__all__, "alien_nb.core"),
    "ConnectionDetails": "alien_nb.resolver",
    "get_postgres_connection": "alien_nb.resolver",
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext alien_nb``: register ``%alien_postgres``; nothing heavy is imported yet."""
    from .notebook import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload

    unload(ipython)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
