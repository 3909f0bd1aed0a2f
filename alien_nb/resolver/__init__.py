"""From a binding (environment or object) to a live connection; cloud secrets are read lazily."""

from ._connection import ConnectionDetails, resolve_inline
from ._resolve import Resolver, default_settings, get_postgres_connection, resolver_for, set_default_settings

__all__ = [
    "ConnectionDetails",
    "Resolver",
    "default_settings",
    "get_postgres_connection",
    "resolve_inline",
    "resolver_for",
    "set_default_settings",
]
