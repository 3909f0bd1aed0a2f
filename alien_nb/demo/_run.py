"""The demo's run: start the database, load, index, search, measure, clean up."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import AlienError
from ..core._progress import Progress
from ._digits import Digits, load_digits
from ._plan import DATABASE, EF_SEARCH, HNSW_EF_CONSTRUCTION, HNSW_M, METRIC, TABLE, K
from ._report import DemoResult, SearchRow

if TYPE_CHECKING:
    import psycopg

    from ..controllers import LocalPostgresController


@contextlib.contextmanager
def _step_errors(what: str) -> Iterator[None]:
    """A database error in a step becomes an `AlienError` naming the step (psycopg's message is kept)."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise AlienError(
            f"The demo failed while {what}: {reason}",
            hint=f"See `alien-nb logs {DATABASE}` and `alien-nb status {DATABASE}`; then run the demo again.",
        ) from None


def run_demo(
    controller: LocalPostgresController,
    *,
    keep: bool = False,
    progress: bool = True,
    say: Callable[[str], None] | None = print,
) -> DemoResult:
    """Run the demo against local database `alien-demo` of ``controller``.

    ``say`` gets the opening line (None: silent); ``progress`` shows a bar on a terminal.
    Returns the measurements; `DemoResult.report` is the printed summary.
    Raise `AlienError` (or a subclass, e.g. `StartFailed`) with a hint when something fails.
    """
    from ..local import DatabaseNotFound

    started = time.perf_counter()
    digits = load_digits()  # first: a broken install fails before any server starts
    held, rest = digits.split()
    vectors = digits.vectors
    try:
        before = controller.status(DATABASE)
        created, was_running = False, before.lifecycle != "stopped"
    except DatabaseNotFound:
        created, was_running = True, False
    result = DemoResult(
        database=DATABASE, table=TABLE, created_database=created, was_running=was_running,
        rows=len(rest), queries=len(held), dimensions=vectors.shape[1], metric=METRIC, k=K,
    )  # fmt: skip
    if say is not None:
        how = "creating" if created else ("reusing running" if was_running else "starting")
        say(
            f"alien-nb demo: {len(digits.labels):,} handwritten digits (8x8 pixels, scikit-learn's copy of "
            f"the UCI set) through pgvector; {how} local database {DATABASE!r} in "
            f"{controller.home}"
        )
    # One bar over the demo's steps; the vector helpers' own bars stay off, so there is never two.
    bar = Progress(5 + len(EF_SEARCH), "alien-nb demo", enabled=progress, delay=0, unit="step",
                   bar_format="{desc:<36} {bar} {n_fmt}/{total_fmt} [{elapsed}]")  # fmt: skip
    conn: psycopg.Connection[Any] | None = None
    failed = True
    try:
        with bar.step(f"starting database {DATABASE}"):
            binding = controller.start(DATABASE)
            from ..resolver import resolve_inline

            conn = resolve_inline(binding).connect(autocommit=True)
        _measure(conn, digits, vectors, held, rest, result, bar)
        failed = False
    finally:
        bar.close()
        try:
            if failed:
                with contextlib.suppress(Exception):  # the first error is the one to report
                    _clean_up(controller, conn, result, keep)
            else:
                _clean_up(controller, conn, result, keep)
        finally:
            if conn is not None:
                conn.close()
    result.seconds = time.perf_counter() - started
    return result


def _measure(
    conn: psycopg.Connection[Any],
    digits: Digits,
    vectors: np.ndarray,
    held: np.ndarray,
    rest: np.ndarray,
    result: DemoResult,
    bar: Progress,
) -> None:
    from psycopg import sql

    from .. import vector

    queries, query_labels = vectors[held], digits.labels[held]
    with bar.step(f"loading {len(rest):,} digits"), _step_errors(f"loading {TABLE}"):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(TABLE)))  # the demo's own
        loaded = vector.load(
            conn, TABLE, vectors[rest], ids=rest, columns={"label": digits.labels[rest].astype(np.int16)},
            progress=False,
        )  # fmt: skip
        result.load_seconds = loaded.seconds
    with bar.step("building the HNSW index"), _step_errors("building the index"):
        index = vector.create_index(
            conn,
            TABLE,
            method="hnsw",
            metric=METRIC,
            m=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION,
            progress=False,
        )
        result.index_seconds, result.index_bytes = index.seconds, index.size_bytes
        result.index_options = dict(index.options)
    with bar.step("exact neighbours (numpy)"), _step_errors("computing exact neighbours"):
        truth = vector.exact_neighbors(conn, TABLE, queries, k=K, metric=METRIC)
    with bar.step("labels of the neighbours"), _step_errors("searching"):
        # One batch at the largest ef_search; it also warms the index before the timed queries.
        hits = vector.search(conn, TABLE, queries, k=K, metric=METRIC, ef_search=max(EF_SEARCH),
                             columns=["label"])  # fmt: skip
        _label_stats(hits, query_labels, result)
    numpy_row: SearchRow | None = None
    for ef in EF_SEARCH:
        with bar.step(f"searching, ef_search={ef}"), _step_errors(f"searching with ef_search={ef}"):
            table = vector.sweep(conn, TABLE, queries, k=K, metric=METRIC, ef_search=[ef], truth=truth).table
        for record in table.to_dict("records"):
            row = SearchRow(
                method="pgvector HNSW" if record["method"] == "index" else str(record["method"]),
                ef_search=ef if record["method"] == "index" else None,
                recall=float(record[f"recall@{K}"]),
                p50_ms=float(record["p50_ms"]),
                p95_ms=float(record["p95_ms"]),
                qps=float(record["qps"]),
            )
            if row.ef_search is not None:
                result.searches.append(row)
            else:
                numpy_row = row  # every sweep times numpy too; the last one is kept
    if numpy_row is not None:
        result.searches.append(numpy_row)


def _label_stats(hits: Any, query_labels: np.ndarray, result: DemoResult) -> None:
    """How often the neighbours share the query's label: overall, per digit, and the k-NN vote."""
    query_no = hits["query_no"].to_numpy()
    got = hits["label"].to_numpy().astype(np.int64)
    want = query_labels[query_no]
    same = got == want
    result.label_share = float(same.mean()) if len(same) else 0.0
    for digit in range(10):
        mine = want == digit
        if mine.any():
            result.label_share_by_digit[digit] = float(same[mine].mean())
            wrong = got[mine & ~same]
            if len(wrong):
                result.confused_with[digit] = int(np.bincount(wrong, minlength=10).argmax())
    votes = 0
    for q in range(len(query_labels)):
        labels = got[query_no == q]
        if len(labels) and int(np.bincount(labels, minlength=10).argmax()) == int(query_labels[q]):
            votes += 1
    result.vote_correct = votes


def _clean_up(
    controller: LocalPostgresController, conn: psycopg.Connection[Any] | None, result: DemoResult, keep: bool
) -> None:
    """Drop the demo's table and stop a server the demo started, unless ``keep``. Nothing else."""
    if keep:
        result.kept = True
        return
    if conn is not None and not conn.closed:
        from psycopg import sql

        with _step_errors(f"dropping {TABLE}"):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(TABLE)))
            result.table_dropped = True
    if not result.was_running:
        if not controller.exists(DATABASE):
            return  # it never came into being
        controller.stop(DATABASE)
        result.stopped = True
