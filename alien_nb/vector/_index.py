"""``create_index``: HNSW or IVFFlat, sized so the build runs in memory and in parallel."""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from ..core import format_size
from ..core._progress import Position, Progress
from . import _args as args
from ._errors import IndexExists, IndexMemoryWarning, InvalidArgument
from ._metrics import metric as get_metric
from ._tables import scoped_settings, split_name, vector_column

MiB = 1024**2


@dataclass(frozen=True)
class IndexResult:
    name: str
    method: str
    metric: str
    rows: int
    seconds: float
    size_bytes: int
    maintenance_work_mem: int
    workers: int
    options: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return (
            f"<IndexResult {self.name} ({self.method}, {self.metric}, {opts}): {self.rows:,} rows in "
            f"{self.seconds:.1f} s, {format_size(self.size_bytes)}; maintenance_work_mem "
            f"{format_size(self.maintenance_work_mem)}, {self.workers} parallel workers>"
        )


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def hnsw_graph_bytes(rows: int, dim: int, element_bytes: int = 4) -> int:
    """Memory an HNSW build needs to keep its graph in memory (m=16).

    ≈ 1.5 x N x (8 + element_bytes x D): 2.37 KB per 384-d vector measured here,
    from the point where pgvector reported that the graph no longer fit.
    """
    return int(1.5 * rows * (8 + element_bytes * dim))


def default_lists(rows: int) -> int:
    """IVFFlat lists: rows/1000 up to a million rows, sqrt(rows) above (pgvector's advice)."""
    return max(1, rows // 1000 if rows <= 1_000_000 else int(math.sqrt(rows)))


def create_index(
    conn: psycopg.Connection[Any],
    table: str,
    *,
    method: str = "hnsw",
    metric: str = "cosine",
    m: int = 16,
    ef_construction: int = 64,
    lists: int | None = None,
    column: str = "embedding",
    workers: int | None = None,
    memory_fraction: float = 0.5,
    maintenance_work_mem: int | None = None,
    progress: bool = True,
    replace: bool = False,
) -> IndexResult:
    """Build an HNSW or IVFFlat index on ``table.column`` and report how it went.

    ``maintenance_work_mem`` is sized to hold the HNSW graph (≈ 1.5 x N x (8 + 4·D)
    bytes), capped at ``memory_fraction`` of the memory available now;
    when that cap forbids an in-memory build, an `IndexMemoryWarning` gives
    the numbers instead of letting the build spill silently. That sizing uses
    this machine's memory only when the server runs here (a loopback host);
    for a remote server the server's own setting is the cap, unless
    ``maintenance_work_mem`` (bytes) is given. Parallel workers default to
    the number of cores (of this machine, for a local server). IVFFlat ``lists`` default to
    rows/1000. The index is named ``<table>_<column>_<method>_<metric>_idx``; if it exists,
    `IndexExists` is raised, unless ``replace=True`` (re-running a cell), which drops and rebuilds
    it in one transaction, so a failed rebuild keeps the old index. A progress bar follows
    ``pg_stat_progress_create_index`` where someone watches (a terminal or a Jupyter frontend;
    never in an unattended run such as nbval).

    Raise `InvalidArgument` for an option out of range, `VectorError` for an unknown method or
    metric, `TableNotFound` / `ColumnNotFound`, `IndexExists`, or `ServerRefused`.
    """
    args.choice("index method", "method", method, ("hnsw", "ivfflat"))
    chosen = get_metric(metric)
    # pgvector's own ranges, checked here so that nothing half-starts (a progress bar, a build).
    m = args.integer("m", m, 2, 100, "pgvector allows m from 2 to 100 (16 is its default).")
    ef_construction = args.integer("ef_construction", ef_construction, 4, 1000,
                                   "pgvector allows 4 to 1000 (64 is its default).")  # fmt: skip
    if method == "hnsw" and ef_construction < 2 * m:
        raise InvalidArgument(f"ef_construction must be at least 2 x m ({2 * m}); got {ef_construction}.",
                              hint="Raise ef_construction or lower m.")  # fmt: skip
    lists = args.optional_integer(
        "lists", lists, 1, 32768, "IVFFlat allows 1 to 32768 lists; leave it out for rows/1000."
    )
    workers = args.optional_integer("workers", workers, 0, 1024, "0 builds without parallel workers.")
    memory_fraction = args.fraction("memory_fraction", memory_fraction)
    maintenance_work_mem = args.optional_integer(
        "maintenance_work_mem", maintenance_work_mem, MiB, (2**31 - 1) * 1024,
        "It is in bytes, from 1 MiB up (e.g. 2 * 1024**3 for 2 GiB); leave it out to size it automatically.",
    )  # fmt: skip
    column = args.name("column", column)
    with args.server_errors(f"the index build on {table!r}"):
        return _create_index(
            conn, table, method, chosen.name, chosen.opclass, m, ef_construction, lists,
            column, workers, memory_fraction, maintenance_work_mem, progress, replace,
        )  # fmt: skip


def _create_index(
    conn: psycopg.Connection[Any],
    table: str,
    method: str,
    metric: str,
    opclass: Callable[[str], str],
    m: int,
    ef_construction: int,
    lists: int | None,
    column: str,
    workers: int | None,
    memory_fraction: float,
    maintenance_work_mem: int | None,
    progress: bool,
    replace: bool,
) -> IndexResult:
    kind, dim = vector_column(conn, table, column)
    rows = int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(split_name(table))).fetchone()[0])  # type: ignore[index]
    element = 2 if kind == "halfvec" else 4
    if method == "hnsw":
        needed = hnsw_graph_bytes(rows, max(dim, 1), element) + 64 * MiB
        options = {"m": m, "ef_construction": ef_construction}
    else:
        lists = default_lists(rows) if lists is None else lists
        needed = max(64 * MiB, int(lists * dim * element * 4) + 64 * MiB)
        options = {"lists": lists}
    if maintenance_work_mem is not None:
        cap = maintenance_work_mem
    elif _server_is_here(conn):
        cap = int(available_memory() * memory_fraction)
    else:
        # This machine's memory says nothing about a remote server's: keep what it is configured with.
        cap = _current_mwm(conn)
    mwm = max(64 * MiB, min(needed, cap)) if maintenance_work_mem is None else maintenance_work_mem
    notes: list[str] = []
    if needed > cap and method == "hnsw":
        note = (
            f"the HNSW graph of {rows:,} x {dim}-d vectors needs about {format_size(needed)} of memory, "
            f"but only {format_size(cap)} can be given; the build will spill to disk and run several "
            "times slower. Free memory, raise memory_fraction, or index halfvec / fewer rows."
        )
        notes.append(note)
        warnings.warn(note, IndexMemoryWarning, stacklevel=2)
    if workers is None:
        here = _server_is_here(conn) and hasattr(os, "sched_getaffinity")
        workers = len(os.sched_getaffinity(0)) if here else 2
    name = f"{table.split('.')[-1]}_{column}_{method}_{metric}_idx"
    with_opts = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.SQL(k), sql.Literal(v)) for k, v in options.items()
    )
    statement = sql.SQL("CREATE INDEX {} ON {} USING {} ({} {}) WITH ({})").format(
        sql.Identifier(name), split_name(table), sql.SQL(method), sql.Identifier(column),
        sql.SQL(opclass(kind)), with_opts,
    )  # fmt: skip
    schema = sql.Identifier(*table.split(".")[:-1], name) if "." in table else sql.Identifier(name)
    started = time.perf_counter()
    # The poller sees the build's last state at best half a second late, so the bar is closed by
    # the build's outcome (complete when CREATE INDEX returned), never by the last poll.
    with Progress(max(rows, 1), "building index", enabled=progress, delay=2.0, unit=" rows") as bar:
        if bar.drawn:  # a second connection only for a bar someone sees
            bar.follow(_build_positions(conn, rows), phased=True)
        build_settings = {
            "maintenance_work_mem": f"{mwm // 1024}kB",
            "max_parallel_maintenance_workers": str(workers),
        }
        with scoped_settings(conn, build_settings):
            if replace:
                conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(schema))
            try:
                conn.execute(statement)
            except psycopg.errors.DuplicateTable:
                raise IndexExists(name) from None
    seconds = time.perf_counter() - started
    found = conn.execute("SELECT pg_relation_size(to_regclass(%s))", (schema.as_string(conn),)).fetchone()
    size = int(found[0]) if found else 0
    return IndexResult(name, method, metric, rows, seconds, size, mwm, workers, options, tuple(notes))


def _server_is_here(conn: psycopg.Connection[Any]) -> bool:
    host = conn.info.host or ""
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("/")


def _current_mwm(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'"
    ).fetchone()
    return int(row[0]) if row else 64 * MiB


def _build_positions(conn: psycopg.Connection[Any], rows: int) -> Generator[Position, None, None]:
    """The build's progress, from pg_stat_progress_create_index on a second connection.

    The connection details are taken at once, in the caller's thread; the poller connects on its
    first poll, so a build over within half a second opens nothing.
    """
    pid = conn.info.backend_pid
    params: dict[str, Any] = {**conn.info.get_parameters(), "password": conn.info.password or ""}
    return _poll_build(params, pid, rows)


def _poll_build(params: dict[str, Any], pid: int, rows: int) -> Generator[Position, None, None]:
    with psycopg.connect(**params, autocommit=True) as watcher:
        while True:
            row = watcher.execute(
                "SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total "
                "FROM pg_stat_progress_create_index WHERE pid = %s",
                (pid,),
            ).fetchone()
            yield None if row is None else build_position(rows, *row)


def build_position(
    rows: int, phase: str, tuples_done: int, tuples_total: int, blocks_done: int, blocks_total: int
) -> tuple[float, str]:
    """One poll of pg_stat_progress_create_index as (rows done, phase), always counted in rows.

    pgvector counts an HNSW build's tuples with no total (measured: tuples_done 149,990 of 150,000
    rows, tuples_total 0, while the heap scan's blocks run 5,554 of 5,580), an IVFFlat build
    assigns tuples by heap blocks and then loads tuples of a total, and k-means counts nothing.
    Rows are what the user loaded, so tuples count as rows, and blocks as their share of the rows.
    """
    label = str(phase).removeprefix("building index: ")
    if tuples_done and tuples_total:
        done = rows * tuples_done / tuples_total
    elif tuples_done:
        done = tuples_done
    elif blocks_total:
        done = rows * blocks_done / blocks_total
    else:
        done = 0
    return min(done, rows), label
