"""Review of issue 11, section 5: a cursor over an unlimited ORDER BY drops rows.

A cursor (DECLARE, or psycopg's named cursor, which is what "page through a big result"
client code uses) is planned for its first ``cursor_tuple_fraction`` (0.1) of rows, so the
planner picks the HNSW index even on stock random_page_cost. The index's iterative scan then
ends where the graph ends: with inner product, rows the graph never reaches are gone, and the
rows that do come back are out of distance order (relaxed_order).
"""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from tests.vector.conftest import vector_db

__all__ = ["vector_db"]

ROWS, DIM = 6000, 8


def _literal(values: np.ndarray) -> str:
    return "[" + ",".join(f"{v:.4f}" for v in values) + "]"


@pytest.mark.parametrize(("ops", "op"), [("vector_ip_ops", "<#>"), ("vector_cosine_ops", "<=>")])
def test_a_cursor_over_an_unlimited_order_by_returns_every_row_in_order(
    vector_db: str, ops: str, op: str
) -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    q = _literal(rng.standard_normal(DIM))
    table = f"review_cursor_{ops}"
    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector({DIM}))")
        with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for i, row in enumerate(x):
                copy.write_row([i, _literal(row)])
        conn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding {ops})")
        conn.execute(f"ANALYZE {table}")
        query = f"SELECT id, embedding {op} '{q}' FROM {table} ORDER BY embedding {op} '{q}'"
        plain = conn.execute(query).fetchall()
        assert len(plain) == ROWS  # the plain query is planned as an exact scan
        conn.autocommit = False
        with conn.cursor(name="pages") as cur:
            cur.execute(query)
            paged = []
            while batch := cur.fetchmany(1000):
                paged.extend(batch)
        conn.rollback()
        distances = [d for _id, d in paged]
        assert len(paged) == ROWS, f"{ROWS - len(paged)} rows silently missing from the cursor"
        assert distances == sorted(distances), "rows out of ORDER BY order"
