"""Server settings for embedding experiments on a workstation.

Sized from the machine: shared_buffers large enough to keep an HNSW index
in memory (stock 128MB doubles kNN latency once the index outgrows it),
maintenance_work_mem so a graph of a few hundred thousand vectors builds
in memory (a spilling build is ~4x slower), and parallel maintenance
workers for every core.

Planner costs stay PostgreSQL's own, and pgvector's index scans are told to
keep going: see `vector_scan_settings` for why an approximate index must never
answer a query that asks for every row.
"""

from __future__ import annotations

import os

MiB = 1024**2
GiB = 1024**3


def machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * GiB


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _mb(n_bytes: int) -> str:
    return f"{max(n_bytes // MiB, 1)}MB"


def tuned_settings(memory: int, cores: int) -> dict[str, str]:
    """Settings for a machine with ``memory`` bytes of RAM and ``cores`` CPUs."""
    shared_buffers = min(max(memory // 8, 128 * MiB), 4 * GiB)
    maintenance = min(max(memory // 8, 64 * MiB), 4 * GiB)
    work_mem = min(max(memory // 256, 4 * MiB), 64 * MiB)
    return {
        "shared_buffers": _mb(shared_buffers),
        "effective_cache_size": _mb(memory // 2),
        "maintenance_work_mem": _mb(maintenance),
        "work_mem": _mb(work_mem),
        "max_parallel_maintenance_workers": str(max(cores, 1)),
        "max_parallel_workers_per_gather": str(max(cores // 2, 1)),
        "max_worker_processes": str(max(8, cores + 4)),
        "max_parallel_workers": str(max(8, cores)),
        # Bulk loads: fewer forced checkpoints; WAL-skipping COPY into new tables.
        "max_wal_size": "4GB",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        # JIT compiles for seconds on analytic-looking kNN queries that run in ms.
        "jit": "off",
        **vector_scan_settings(memory, work_mem),
    }


# hnsw.max_scan_tuples' own ceiling (an int GUC): the tuple count is never what ends a scan.
_ALL_TUPLES = str(2**31 - 1)


def vector_scan_settings(memory: int, work_mem: int) -> dict[str, str]:
    """pgvector settings so that no query silently loses rows to an approximate index.

    An HNSW scan returns at most ``hnsw.ef_search`` (40) rows unless told to
    iterate, an IVFFlat scan only the rows of ``ivfflat.probes`` lists, and
    the planner will use either for ANY query ordered by distance: an
    unlimited ``ORDER BY``, a subquery, ``array_agg(... ORDER BY <->)``. Once
    alien_nb set ``random_page_cost = 1.1``, the planner chose the HNSW index
    for ``SELECT id FROM items ORDER BY embedding <-> q`` on tables from a
    couple of thousand rows up and returned 40 of them; PostgreSQL's own 4.0
    plans those as an exact scan + sort at every size measured (2k to 200k
    rows, HNSW and IVFFlat, every metric, vector / halfvec / bit), while a
    ``LIMIT k`` query still uses the index (pgvector discounts only the start
    of an index scan). So the first guard is to leave random_page_cost alone:
    it is a planner estimate only, no I/O gets faster by lowering it, and the
    kNN workload the tuning was for plans identically either way
    (benchmarks/server_settings.py).

    The planner's choice rests on cost estimates, not a guarantee, so the
    second guard makes an index scan that IS chosen return as much as it can:
    iterative scans (pgvector >= 0.8) continue past ef_search / probes.
    ``relaxed_order``, not ``strict_order``: strict drops every row found
    after a farther one (hnswgettuple skips it), which silently loses rows
    again; relaxed returns them, at worst slightly out of order at a batch
    seam, and only past the first ``ef_search`` rows. This also fixes
    ``LIMIT k`` with k > ef_search and filtered queries (``WHERE`` + ``LIMIT``),
    which stock pgvector cuts short. ``hnsw.max_scan_tuples`` (default 20,000,
    i.e. a table-size limit) is lifted to its maximum; what still ends an HNSW
    scan is memory, ``hnsw.scan_mem_multiplier`` x work_mem, given here up to
    1/16 of RAM per scan (about a million 384-d vectors on a 16 GB machine)
    instead of 1 x work_mem. IVFFlat's ``max_probes`` default is every list,
    so an iterative IVFFlat scan reaches every row.
    """
    multiplier = min(max(memory // 16 // max(work_mem, 1), 1), 1000)  # pgvector's allowed range
    return {
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.max_scan_tuples": _ALL_TUPLES,
        "hnsw.scan_mem_multiplier": str(multiplier),
        "ivfflat.iterative_scan": "relaxed_order",
        # Plans made for "the first rows" ignore the guard above: see `first_rows_settings`.
        **first_rows_settings(),
    }


def first_rows_settings() -> dict[str, str]:
    """Plan every query for all of its rows, so an unlimited ORDER BY never reaches an ANN index.

    Two kinds of plan are made for a fraction of the rows, and pgvector's cost model makes the
    HNSW / IVFFlat index the cheapest way to the first rows of ``ORDER BY embedding <op> q``: a
    cursor (``DECLARE``, psycopg's named cursor, pandas ``chunksize``), planned for
    ``cursor_tuple_fraction`` (0.1) of its rows, and a *generic* plan of a prepared statement
    (psycopg prepares a query after 5 runs; from the 11th the server may switch to a generic
    plan, in which ``LIMIT $1`` is an unknown 10% of the rows). Either turned a query that
    returned all 6000 rows into one returning 5215, out of order (an inner-product HNSW graph
    does not reach every row, even scanned iteratively). The cost (benchmarks/plan_cost.py, 20k
    x 128-d, HNSW, a busy 2-core machine): planning a single kNN query takes 0.045 ms (p50 of a
    prepared one 0.83 -> 0.97 ms), `vector.search`'s batch LATERAL query 0.056 ms once per call
    (noise beside its 100 queries); PL/pgSQL re-plans its statements per call likewise. With
    cursor_tuple_fraction = 1 a cursor gets the plan the same query gets without one: it loses
    only fast-start plans, which matter to a client that stops reading early. Narrower fixes
    reach fewer clients: psycopg's ``prepare_threshold=None`` only alien_nb's own connections
    (not SQLAlchemy, raw psycopg or other tools), and no per-query setting exists for cursors.
    No client-side setting reaches every client (SQLAlchemy, raw psycopg, other tools), so both
    are server settings of the local server. A LIMIT the planner cannot see at all
    (``LIMIT (SELECT count(*) ...)``) is still planned for a guess: see docs/guides/embeddings.md.
    """
    return {"cursor_tuple_fraction": "1.0", "plan_cache_mode": "force_custom_plan"}


def server_settings(
    port: int, memory: int | None = None, cores: int | None = None, *, socket_dir: str = ""
) -> dict[str, str]:
    """Everything alien_nb sets on a local server: network, auth and tuning.

    ``socket_dir`` is the private folder for the Unix socket ("" for none).
    """
    settings = {
        "port": str(port),
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": socket_dir,
        "unix_socket_permissions": "0700",
        "password_encryption": "scram-sha-256",
        "logging_collector": "off",
        "log_line_prefix": "%m [%p] ",
        "log_statement": "none",
        # A failing statement is not copied into server.log: ALTER ROLE ... PASSWORD '...' with a
        # typo would otherwise put the password there, next to the error.
        "log_min_error_statement": "panic",
        # Keep index pages warm across restarts.
        "shared_preload_libraries": "pg_prewarm",
    }
    settings.update(tuned_settings(memory or machine_memory(), cores or machine_cores()))
    return settings


def render_conf(settings: dict[str, str]) -> str:
    lines = ["# Written by alien_nb at every start; edit postgresql.auto.conf (ALTER SYSTEM) instead."]
    for key, value in settings.items():
        escaped = value.replace("'", "''")
        lines.append(f"{key} = '{escaped}'")
    return "\n".join(lines) + "\n"
