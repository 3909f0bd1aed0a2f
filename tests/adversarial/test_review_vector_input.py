"""Review of issue 11, section 6: the vector helpers given odd arguments.

Each case below, against a real server, gives a raw psycopg/TypeError traceback or a
misleading result instead of an AlienError naming the argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import psycopg
import pytest

from alien_nb import AlienError, vector
from tests.vector.conftest import vector_db

__all__ = ["vector_db"]


@pytest.fixture(scope="module")
def conn(vector_db: str) -> Any:
    with psycopg.connect(vector_db, autocommit=True) as connection:
        rows = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
        vector.load(connection, "review_odd", rows, replace=True, progress=False)
        yield connection


Q = np.ones(4, dtype=np.float32)
CASES: dict[str, Callable[[Any], Any]] = {
    "k as a string": lambda c: vector.search(c, "review_odd", Q, k="5"),
    "k None": lambda c: vector.search(c, "review_odd", Q, k=None),
    "k beyond bigint": lambda c: vector.search(c, "review_odd", Q, k=10**20),
    "ef_search 0": lambda c: vector.search(c, "review_odd", Q, ef_search=0),
    "probes 0": lambda c: vector.search(c, "review_odd", Q, probes=0),
    "id_column missing": lambda c: vector.search(c, "review_odd", Q, id_column="nope"),
    "columns missing": lambda c: vector.search(c, "review_odd", Q, columns=["nope"]),
    "hnsw m 0": lambda c: vector.create_index(c, "review_odd", m=0, progress=False),
    "workers -1": lambda c: vector.create_index(c, "review_odd", workers=-1, progress=False),
    "memory_fraction nan": lambda c: vector.create_index(
        c, "review_odd", memory_fraction=float("nan"), progress=False
    ),
    "embedding_column named id": lambda c: vector.load(
        c, "review_odd2", np.zeros((2, 4)), embedding_column="id", replace=True, progress=False
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_odd_arguments_get_an_alien_error(conn: Any, case: str) -> None:
    with pytest.raises(AlienError):
        CASES[case](conn)


def test_create_index_twice_is_not_a_raw_duplicate_table(conn: Any) -> None:
    # Re-running a notebook cell: the first build succeeded, the second must not be a raw
    # psycopg.errors.DuplicateTable (either report the existing index or an AlienError).
    vector.create_index(conn, "review_odd", method="ivfflat", progress=False)
    try:
        vector.create_index(conn, "review_odd", method="ivfflat", progress=False)
    except AlienError:
        pass


def test_search_on_a_non_vector_column_names_the_column(conn: Any) -> None:
    with pytest.raises(AlienError) as caught:
        vector.search(conn, "review_odd", Q, column="id")
    assert "-1" not in str(caught.value), str(caught.value)  # today: "but -1 are expected"


def test_cosine_search_with_a_zero_query_is_not_silent_nan(conn: Any) -> None:
    try:
        found = vector.search(conn, "review_odd", np.zeros(4, dtype=np.float32), k=3, metric="cosine")
    except AlienError:
        return
    assert not found["distance"].isna().any(), found
