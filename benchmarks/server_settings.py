"""alien_nb's tuned server settings against stock Postgres settings, on an HNSW workload.

    python benchmarks/server_settings.py [--rows 50000] [--dim 384] [--queries 300]

Two local databases, one started with PostgreSQL's stock settings and one with
alien_nb's; the same clustered vectors are bulk-loaded into each, an HNSW index
(m=16, ef_construction=64, cosine) is built, and single queries are timed at
ef_search=40. Prints each measure and the stock/tuned ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from _data import clustered

from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager

STOCK = {
    "shared_buffers": "128MB",
    "effective_cache_size": "4GB",
    "maintenance_work_mem": "64MB",
    "work_mem": "4MB",
    "max_parallel_maintenance_workers": "2",
    "max_parallel_workers_per_gather": "2",
    "max_worker_processes": "8",
    "max_parallel_workers": "8",
    "max_wal_size": "1GB",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "random_page_cost": "4",
    "jit": "on",
    # pgvector's own defaults (alien_nb turns iterative scans on so no query loses rows).
    "hnsw.iterative_scan": "off",
    "hnsw.max_scan_tuples": "20000",
    "hnsw.scan_mem_multiplier": "1",
    "ivfflat.iterative_scan": "off",
    "shared_preload_libraries": "",
}


def copy_stream(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    n, dim = vectors.shape
    row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vec_len", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("values", ">f4", (dim,))])  # fmt: skip
    rows = np.empty(n, dtype=row)
    rows["fields"], rows["id_len"], rows["id"] = 2, 8, ids
    rows["vec_len"], rows["dim"], rows["unused"], rows["values"] = 4 + 4 * dim, dim, 0, vectors
    return b"PGCOPY\n\xff\r\n\0" + b"\0" * 8 + rows.tobytes() + b"\xff\xff"


def run(url: str, data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute(f"CREATE TABLE items (id bigint, embedding vector({data.shape[1]}))")
        stream = memoryview(copy_stream(np.arange(len(data)), data))
        t = time.perf_counter()
        with conn.cursor().copy("COPY items FROM STDIN WITH (FORMAT BINARY)") as copy:
            for start in range(0, len(stream), 1 << 20):
                copy.write(stream[start : start + (1 << 20)])
        load = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
        build = time.perf_counter() - t
        conn.execute("SET hnsw.ef_search = 40")
        latencies = []
        for q in queries:
            literal = "[" + ",".join(f"{v:.7g}" for v in q) + "]"
            t = time.perf_counter()
            conn.execute(
                "SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT 10", (literal,)
            ).fetchall()
            latencies.append(time.perf_counter() - t)
    latencies.sort()
    return {
        "load s": load,
        "HNSW build s": build,
        "query p50 ms": 1000 * statistics.median(latencies),
        "query p95 ms": 1000 * latencies[int(0.95 * len(latencies))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    everything = clustered(args.rows + args.queries, args.dim)
    data, queries = everything[: args.rows], everything[args.rows :]
    work = Path(tempfile.mkdtemp(prefix="alien-nb-settings-"))
    results = {}
    try:
        for label, overrides in (("stock", STOCK), ("alien_nb", {})):
            manager = LocalPostgresManager(
                work / label, notify=lambda _m: None, monitor=False, settings=overrides
            )
            binding = manager.start("bench")
            try:
                results[label] = run(connection_string(binding).get_secret_value(), data, queries)
            finally:
                manager.stop("bench")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.rows} x {args.dim} clustered vectors, HNSW m=16 ef_construction=64, ef_search=40")
    print(f"{'measure':14} {'stock':>9} {'alien_nb':>9} {'stock/alien_nb':>15}")
    for key in results["stock"]:
        stock, tuned = results["stock"][key], results["alien_nb"][key]
        print(f"{key:14} {stock:9.2f} {tuned:9.2f} {stock / tuned:15.2f}")


if __name__ == "__main__":
    main()
