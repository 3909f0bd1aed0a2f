"""Review of issue 11, section 5: plans the planner makes for "first rows" still drop rows.

alien_nb's guard is that stock random_page_cost plans an unlimited ORDER BY as an exact scan.
Plans made for the first rows do not follow it, and pick the HNSW index, whose iterative scan
ends where the graph ends (with inner product, rows the graph never reaches are gone) and
returns relaxed-order rows (out of ORDER BY order past the first batch):

* a cursor (DECLARE, psycopg's named cursor: "page through a big result"), planned for its
  first ``cursor_tuple_fraction`` (0.1) of rows;
* a statement run repeatedly with psycopg's defaults: prepared after 5 executions, then a
  generic plan (LIMIT $n unknown) from the 11th, so the same query silently changes answer;
* ``LIMIT (SELECT count(*) ...)``, a limit the planner cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest

from tests.vector.conftest import vector_db

__all__ = ["vector_db"]

ROWS, DIM = 6000, 8
METRICS = [("vector_ip_ops", "<#>"), ("vector_cosine_ops", "<=>")]


def _literal(values: np.ndarray) -> str:
    return "[" + ",".join(f"{v:.4f}" for v in values) + "]"


@pytest.fixture(scope="module", params=METRICS, ids=[m[0] for m in METRICS])
def table(vector_db: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    ops, op = request.param
    rng = np.random.default_rng(11)
    x = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    q = _literal(rng.standard_normal(DIM))
    name = f"review_first_rows_{ops}"
    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, embedding vector({DIM}))")
        with conn.cursor().copy(f"COPY {name} FROM STDIN") as copy:
            for i, row in enumerate(x):
                copy.write_row([i, _literal(row)])
        conn.execute(f"CREATE INDEX ON {name} USING hnsw (embedding {ops})")
        conn.execute(f"ANALYZE {name}")
    yield name, op, q


def _check(rows: list[tuple[Any, ...]], how: str) -> None:
    distances = [d for _id, d in rows]
    assert len(rows) == ROWS, f"{how}: {ROWS - len(rows)} of {ROWS} rows silently missing"
    assert distances == sorted(distances), f"{how}: rows out of ORDER BY order"


def test_a_cursor_over_an_unlimited_order_by(vector_db: str, table: tuple[str, str, str]) -> None:
    name, op, q = table
    query = f"SELECT id, embedding {op} '{q}' FROM {name} ORDER BY embedding {op} '{q}'"
    with psycopg.connect(vector_db) as conn:
        assert len(conn.execute(query).fetchall()) == ROWS  # planned as an exact scan
        conn.rollback()
        with conn.cursor(name="pages") as cur:
            cur.execute(query)
            paged = []
            while batch := cur.fetchmany(1000):
                paged.extend(batch)
        _check(paged, "named cursor")


def test_the_same_query_gives_the_same_rows_after_plan_caching(
    vector_db: str, table: tuple[str, str, str]
) -> None:
    name, op, q = table
    query = f"SELECT id, embedding {op} %s::vector FROM {name} ORDER BY embedding {op} %s::vector LIMIT %s"
    with psycopg.connect(vector_db, autocommit=True) as conn:  # psycopg's default prepare_threshold
        for run in range(1, 15):
            _check(conn.execute(query, (q, q, ROWS)).fetchall(), f"execution {run}")


def test_a_limit_the_planner_cannot_see(vector_db: str, table: tuple[str, str, str]) -> None:
    name, op, q = table
    query = (f"SELECT id, embedding {op} '{q}' FROM {name} ORDER BY embedding {op} '{q}' "
             f"LIMIT (SELECT count(*) FROM {name})")  # fmt: skip
    with psycopg.connect(vector_db, autocommit=True) as conn:
        _check(conn.execute(query).fetchall(), "LIMIT (subquery)")
