"""Errors and warnings of the pgvector helpers."""

from __future__ import annotations

from ..core import AlienError
from ..core._errors import show_as_public


class VectorError(AlienError):
    """A pgvector helper was given something it cannot use."""


class InvalidEmbeddings(VectorError):
    """Embeddings that must not be sent: wrong shape, dtype, NaN or infinity."""


class DimensionMismatch(VectorError):
    def __init__(self, what: str, expected: int, got: int, hint: str | None = None) -> None:
        self.expected, self.got = expected, got
        super().__init__(f"{what} has {got} dimensions, but {expected} are expected.", hint=hint)


class TableNotFound(VectorError):
    def __init__(self, table: str, hint: str) -> None:
        self.table = table
        super().__init__(f"There is no table {table!r}.", hint=hint)


class InvalidArgument(VectorError):
    """An argument of the wrong type or outside its range (``k="5"``, ``ef_search=0``, NaN)."""


class ColumnNotFound(TableNotFound):
    """The table exists but has no such column, or it is not a vector column where one is needed."""

    def __init__(self, table: str, column: str, message: str, hint: str) -> None:
        self.column = column
        VectorError.__init__(self, message, hint=hint)
        self.table = table


class IndexExists(VectorError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"The index {name!r} exists already.",
            hint="Pass replace=True to rebuild it (the old one stays until the new one is built), "
            f"or drop it first: DROP INDEX {name}.",
        )


class ServerRefused(VectorError):
    """The server refused a helper's statement; the message is the server's own."""


class IndexMemoryWarning(UserWarning):
    """The index build cannot keep its graph in memory and will be several times slower."""


show_as_public(globals(), "alien_nb.vector")
IndexMemoryWarning.__module__ = "alien_nb.vector"
