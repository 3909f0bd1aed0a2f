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
# Wrong types on purpose, as a notebook may pass them; hence the arg-type ignores.
CASES: dict[str, Callable[[Any], Any]] = {
    "k as a string": lambda c: vector.search(c, "review_odd", Q, k="5"),  # type: ignore[arg-type]
    "k None": lambda c: vector.search(c, "review_odd", Q, k=None),  # type: ignore[arg-type]
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
    # More of each class, found while fixing the above.
    "k a float": lambda c: vector.search(c, "review_odd", Q, k=2.5),  # type: ignore[arg-type]
    "k True": lambda c: vector.search(c, "review_odd", Q, k=True),
    "ef_search beyond pgvector": lambda c: vector.search(c, "review_odd", Q, ef_search=10**6),
    "columns a bare str": lambda c: vector.search(c, "review_odd", Q, columns="id"),
    "ivfflat lists 0": lambda c: vector.create_index(
        c, "review_odd", method="ivfflat", lists=0, progress=False
    ),
    "memory_fraction 0": lambda c: vector.create_index(c, "review_odd", memory_fraction=0, progress=False),
    "memory_fraction a str": lambda c: vector.create_index(
        c,
        "review_odd",
        memory_fraction="1",  # type: ignore[arg-type]
        progress=False,
    ),
    "ef_construction below 2m": lambda c: vector.create_index(c, "review_odd", m=32, ef_construction=40),
    "maintenance_work_mem 0": lambda c: vector.create_index(c, "review_odd", maintenance_work_mem=0),
    "exact_neighbors k 0": lambda c: vector.exact_neighbors(c, "review_odd", Q, k=0),
    "sweep ef_search 0": lambda c: vector.sweep(c, "review_odd", Q, ef_search=[0]),
    "sweep ef_search a bare int": lambda c: vector.sweep(c, "review_odd", Q, ef_search=40),  # type: ignore[arg-type]
    "read_embeddings id_column missing": lambda c: vector.read_embeddings(c, "review_odd", id_column="nope"),
    "duplicate ids": lambda c: vector.load(c, "review_odd3", np.zeros((3, 4)), ids=[1, 1, 2], replace=True),
    "where not SQL text": lambda c: vector.search(c, "review_odd", Q, where=5),  # type: ignore[arg-type]
    "server refuses the where": lambda c: vector.search(
        c, "review_odd", Q, where="nope > :x", params={"x": 1}
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
    with pytest.raises(vector.IndexExists) as caught:
        vector.create_index(conn, "review_odd", method="ivfflat", progress=False)
    assert "replace=True" in str(caught.value)
    rebuilt = vector.create_index(conn, "review_odd", method="ivfflat", lists=2, replace=True, progress=False)
    assert rebuilt.options == {"lists": 2}
    # A rebuild that fails in the server keeps the old index (drop and build are one
    # transaction): IVFFlat refuses 32768 lists' k-means in 1 MB of maintenance_work_mem.
    with pytest.raises(vector.ServerRefused) as refused:
        vector.create_index(conn, "review_odd", method="ivfflat", lists=32768, replace=True,
                            maintenance_work_mem=1024**2, progress=False)  # fmt: skip
    assert "maintenance_work_mem" in str(refused.value), str(refused.value)
    found = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", (rebuilt.name,)).fetchone()
    assert found == (1,)


def test_server_errors_carry_the_server_message_not_the_params(conn: Any) -> None:
    secret = "s3cr3t-param-value"
    with pytest.raises(vector.ServerRefused) as caught:
        vector.search(conn, "review_odd", Q, where="nope = :x", params={"x": secret})
    assert "nope" in str(caught.value) and secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_appending_an_id_that_exists_is_refused(conn: Any) -> None:
    vector.load(conn, "review_ids", np.zeros((3, 4)), replace=True, progress=False)  # ids 0, 1, 2
    with pytest.raises(vector.InvalidEmbeddings):
        vector.load(conn, "review_ids", np.ones((2, 4)), ids=[2, 3], progress=False)
    assert conn.execute("SELECT count(*) FROM review_ids").fetchone() == (3,)  # nothing was appended
    vector.load(conn, "review_ids", np.ones((2, 4)), ids=[3, 4], progress=False)
    assert conn.execute("SELECT count(DISTINCT id) FROM review_ids").fetchone() == (5,)


def test_a_column_added_after_a_search_is_found(conn: Any) -> None:
    vector.search(conn, "review_odd", Q, k=1)  # caches the table's columns
    conn.execute("ALTER TABLE review_odd ADD COLUMN IF NOT EXISTS late text DEFAULT 'x'")
    assert vector.search(conn, "review_odd", Q, k=1, columns=["late"])["late"].tolist() == ["x"]


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
