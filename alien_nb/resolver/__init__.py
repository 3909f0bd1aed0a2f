"""From a binding (environment or object) to a live connection; cloud secrets are read lazily."""

from ._connection import PostgresConnection, resolve_inline

__all__ = ["PostgresConnection", "resolve_inline"]
