"""``alien-nb demo``: a real data set through a local Postgres with pgvector, in well under a minute.

What it does, on the embedded default::

    start (or reuse) the local database `alien-demo`
    load 1,697 of scikit-learn's 1,797 handwritten digits (bundled, 8x8 pixels -> 64-d vectors,
        L2-normalised) into the table `alien_demo_digits` (id, embedding vector(64), label)
    build an HNSW index (cosine; m=4, sparse on purpose so that recall moves with ef_search)
    find the exact neighbours of the 100 held-out digits by numpy brute force
    search k=10 for several ef_search values: recall@10, p50 / p95 latency, and how often the
        neighbours of a digit carry its label
    clean up: drop the table, stop the database if it was not running before (unless keep=True)

The demo owns the table `alien_demo_digits`: a run replaces it. It touches no other table and no
other database. Everything goes through `alien_nb.vector`, the helpers a notebook would use.

One concern per module: ``_digits`` the data set, ``_plan`` what is run (database, table, index,
searches), ``_run`` the run and its cleanup, ``_report`` the measurements and their summary.
``alien-nb demo`` (alien_nb.cli) calls `run_demo`.
"""

from ._digits import QUERIES_PER_DIGIT, SEED, Digits, load_digits
from ._plan import DATABASE, EF_SEARCH, HNSW_EF_CONSTRUCTION, HNSW_M, METRIC, TABLE, K
from ._report import DemoResult, SearchRow
from ._run import run_demo

__all__ = [
    "DATABASE",
    "EF_SEARCH",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_M",
    "K",
    "METRIC",
    "QUERIES_PER_DIGIT",
    "SEED",
    "TABLE",
    "DemoResult",
    "Digits",
    "SearchRow",
    "load_digits",
    "run_demo",
]
