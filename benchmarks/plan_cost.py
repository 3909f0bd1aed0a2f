"""What ``plan_cache_mode = force_custom_plan`` costs alien_nb's kNN queries.

    python benchmarks/plan_cost.py [--rows 20000] [--dim 128] [--runs 300]

The local server plans every execution of a prepared statement afresh (so a generic plan with
an unknown ``LIMIT $1`` never reaches an ANN index). This measures, on a loaded HNSW table, the
planning time the server reports for a single kNN query and for `vector.search`'s batch
(``CROSS JOIN LATERAL``) query, and the p50 latency of a prepared single query and of a batch
search with the cache mode at ``auto`` (generic plans allowed) and ``force_custom_plan``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from alien_nb import vector
from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager

KNN = "SELECT id, embedding <=> %s AS d FROM bench ORDER BY embedding <=> %s LIMIT 10"


def planning_ms(conn: psycopg.Connection[Any], statement: str, params: tuple[Any, ...] = ()) -> float:
    row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).fetchone()
    assert row is not None
    plan = row[0][0]
    return float(plan["Planning Time"])


def p50_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((args.rows, args.dim)).astype(np.float32)
    queries = rng.standard_normal((100, args.dim)).astype(np.float32)
    with tempfile.TemporaryDirectory() as home:
        manager = LocalPostgresManager(Path(home), notify=lambda _m: None, monitor=False)
        binding = manager.start("plan-cost")
        try:
            with psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True) as conn:
                vector.load(conn, "bench", data, replace=True, progress=False)
                vector.create_index(conn, "bench", metric="cosine", progress=False)
                conn.execute("ANALYZE bench")
                q = vector._search.as_queries(queries[0], args.dim)[0]
                vector.register_types(conn)
                for mode in ("auto", "force_custom_plan"):
                    conn.execute(f"SET plan_cache_mode = {mode}")
                    single = p50_ms(lambda: conn.execute(KNN, (q, q), prepare=True).fetchall(), args.runs)
                    batch = p50_ms(
                        lambda: vector.search(conn, "bench", queries, k=10), max(args.runs // 10, 10)
                    )
                    print(
                        f"{mode:18} prepared single kNN p50 {single:.3f} ms, 100-query search p50 {batch:.2f} ms"
                    )
                conn.execute("SET plan_cache_mode = force_custom_plan")
                single_plan = statistics.median(planning_ms(conn, KNN, (q, q)) for _ in range(50))
                lateral = (
                    "SELECT qs.query_no, r.id, r.d FROM (SELECT 0 AS query_no, %s::vector AS q) AS qs "
                    "CROSS JOIN LATERAL (SELECT t.id, t.embedding <=> qs.q AS d FROM bench AS t "
                    "ORDER BY t.embedding <=> qs.q LIMIT 10) AS r ORDER BY qs.query_no, r.d"
                )
                batch_plan = statistics.median(planning_ms(conn, lateral, (q,)) for _ in range(50))
                print(
                    f"planning time: single kNN {single_plan:.3f} ms, batch LATERAL query {batch_plan:.3f} ms"
                )
        finally:
            manager.stop("plan-cost")


if __name__ == "__main__":
    main()
