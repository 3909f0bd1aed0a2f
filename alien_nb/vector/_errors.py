"""Errors and warnings of the pgvector helpers."""

from __future__ import annotations

from ..core import AlienError


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


for _cls in (VectorError, InvalidEmbeddings, DimensionMismatch, TableNotFound, IndexMemoryWarning):
    _cls.__module__ = "alien_nb.vector"
