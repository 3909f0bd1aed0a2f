"""From a binding (environment or object) to a live connection; cloud secrets are read lazily."""

from ..core._lazy import lazy_exports as _lazy_exports
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

# The old name of ConnectionDetails (it holds connection details, not a connection).
__getattr__, __dir__ = _lazy_exports(__name__, {}, renamed={"PostgresConnection": "ConnectionDetails"})
