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


class IndexMemoryWarning(UserWarning):
    """The index build cannot keep its graph in memory and will be several times slower."""


show_as_public(globals(), "alien_nb.vector")
IndexMemoryWarning.__module__ = "alien_nb.vector"
