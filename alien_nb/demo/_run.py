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
"""

from __future__ import annotations

import contextlib
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import numpy as np

from .core import AlienError, format_size

if TYPE_CHECKING:
    import psycopg

    from .controllers import LocalPostgresController

DATABASE = "alien-demo"
TABLE = "alien_demo_digits"
METRIC = "cosine"
K = 10
EF_SEARCH = (10, 20, 40, 100)
# A deliberately sparse graph: with pgvector's defaults (m=16, ef_construction=64) HNSW finds all
# 10 true neighbours of these 1,697 vectors already at ef_search=10, and the table would show no
# trade-off. With m=4 recall climbs from about 0.9 to 1.0 as ef_search grows.
HNSW_M, HNSW_EF_CONSTRUCTION = 4, 16
QUERIES_PER_DIGIT = 10  # 100 held-out query images, 10 of each digit
SEED = 0


# -- the data set ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Digits:
    """The bundled digits: ``images`` (N, 8, 8) uint8 in 0..16 and ``labels`` (N,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    @property
    def vectors(self) -> np.ndarray:
        """(N, 64) float32, each row scaled to unit length (so cosine and l2 rank alike)."""
        x = self.images.reshape(len(self.images), -1).astype(np.float32)
        unit: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return unit

    def split(self, per_digit: int = QUERIES_PER_DIGIT, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
        """(query indices, table indices): ``per_digit`` random images of each digit are held out."""
        rng = np.random.default_rng(seed)
        held = np.concatenate(
            [rng.choice(np.flatnonzero(self.labels == d), per_digit, replace=False) for d in range(10)]
        )
        held.sort()
        rest = np.setdiff1d(np.arange(len(self.labels)), held)
        return held, rest


def load_digits() -> Digits:
    """The 1,797 handwritten digits shipped in ``alien_nb/data/digits.npz`` (no scikit-learn needed).

    Raise `AlienError` when the file is missing or damaged.
    """
    resource = files("alien_nb") / "data" / "digits.npz"
    hint = "Reinstall alien-nb (pip install --force-reinstall alien-nb): the file ships with the package."
    try:
        with resource.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            images, labels = np.asarray(npz["images"]), np.asarray(npz["labels"])
    except FileNotFoundError:
        raise AlienError(
            "The demo's data set alien_nb/data/digits.npz is not installed.", hint=hint
        ) from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise AlienError(
            f"The demo's data set alien_nb/data/digits.npz cannot be read ({type(exc).__name__}).", hint=hint
        ) from None
    if images.shape[1:] != (8, 8) or labels.shape != (len(images),) or not len(images):
        raise AlienError("The demo's data set alien_nb/data/digits.npz has an unexpected shape.", hint=hint)
    return Digits(images, labels.astype(np.int64))


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRow:
    method: str  # "pgvector HNSW" or "numpy brute force"
    ef_search: int | None
    recall: float
    p50_ms: float
    p95_ms: float
    qps: float


@dataclass
class DemoResult:
    database: str
    table: str
    created_database: bool  # it did not exist before the demo
    was_running: bool  # it was running (or meant to be) before the demo
    rows: int
    queries: int
    dimensions: int
    metric: str
    k: int
    load_seconds: float = 0.0
    index_seconds: float = 0.0
    index_bytes: int = 0
    index_options: dict[str, int] = field(default_factory=dict)
    searches: list[SearchRow] = field(default_factory=list)
    label_share: float = 0.0  # share of the k neighbours with the query's label
    label_share_by_digit: dict[int, float] = field(default_factory=dict)
    confused_with: dict[int, int] = field(default_factory=dict)  # digit -> most frequent wrong label
    vote_correct: int = 0  # queries whose k-NN majority vote is their label
    table_dropped: bool = False
    stopped: bool = False
    kept: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["recall_at_k"] = {str(r.ef_search): r.recall for r in self.searches if r.ef_search is not None}
        data["label_share_by_digit"] = {str(d): v for d, v in self.label_share_by_digit.items()}
        data["confused_with"] = {str(d): v for d, v in self.confused_with.items()}
        return data

    def report(self) -> str:
        """The human summary: what ran, the recall / latency table, labels, cleanup, where to go next."""
        lines = [
            f"Loaded {self.rows:,} vectors ({self.dimensions}-d, L2-normalised) into {self.table} "
            f"(id, embedding vector({self.dimensions}), label) in {self.load_seconds:.2f} s; "
            f"{self.queries} digits held out as queries.",
            f"HNSW index ({self.metric}, "
            + ", ".join(f"{k}={v}" for k, v in self.index_options.items())
            + f") built in {self.index_seconds:.2f} s, {format_size(self.index_bytes)}; "
            "a sparse graph on purpose (defaults m=16, ef_construction=64 are exact on so few rows).",
            "",
            f"k={self.k} nearest neighbours of {self.queries} queries, each query sent alone; "
            "recall against exact (numpy) search:",
            "",
            f"  {'method':<18} {'ef_search':>9} {f'recall@{self.k}':>10} "
            f"{'p50 ms':>8} {'p95 ms':>8} {'QPS':>8}",
        ]
        for r in self.searches:
            ef = "-" if r.ef_search is None else str(r.ef_search)
            lines.append(
                f"  {r.method:<18} {ef:>9} {r.recall:>10.3f} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} {r.qps:>8,.0f}"
            )
        index_rows = [r for r in self.searches if r.ef_search is not None]
        numpy_rows = [r for r in self.searches if r.ef_search is None]
        if index_rows and numpy_rows and numpy_rows[0].p50_ms < min(r.p50_ms for r in index_rows):
            lines.append(
                f"  (on {self.rows:,} vectors numpy scanning them all is faster still; "
                "an index pays off on much larger tables)"
            )
        lines += ["", *self._label_lines(), "", *self._cleanup_lines(), "", *self._next_lines()]
        lines.append(f"\nDone in {self.seconds:.1f} s.")
        return "\n".join(lines)

    def _label_lines(self) -> list[str]:
        if not self.label_share_by_digit:
            return []
        by_digit = self.label_share_by_digit
        best = max(by_digit, key=lambda d: (by_digit[d], -d))
        worst = min(by_digit, key=lambda d: (by_digit[d], d))
        lines = [
            f"Labels (at ef_search={max(EF_SEARCH)}): the {self.k} nearest neighbours of a held-out digit "
            f"have its label {self.label_share:.0%} of the time; a {self.k}-NN majority vote names "
            f"{self.vote_correct} of {self.queries} digits correctly.",
            "  " + "  ".join(f"{d}: {share:.0%}" for d, share in sorted(by_digit.items())),
            f"  The nearest neighbours {_of(best)} are {best}s {by_digit[best]:.0%} of the time",
        ]
        if worst != best and by_digit[worst] < 1.0:
            other = self.confused_with.get(worst)
            mix = f", else mostly {other}s" if other is not None else ""
            lines[-1] += f"; those {_of(worst)} are {worst}s {by_digit[worst]:.0%} of the time{mix}."
        else:
            lines[-1] += "."
        return lines

    def _cleanup_lines(self) -> list[str]:
        if self.kept:
            return [
                f"Kept (--keep): database {self.database} is running with table {self.table} in it.",
                f"  In Jupyter: %alien_postgres start {self.database}, then "
                f"SELECT label, count(*) FROM {self.table} GROUP BY label",
            ]
        done = [f"dropped table {self.table}"] if self.table_dropped else []
        if self.stopped:
            why = "created by this run" if self.created_database else "it was not running before"
            done.append(f"stopped database {self.database} ({why}; its files stay)")
        else:
            done.append(f"left database {self.database} running (it was before)")
        return ["Cleaned up: " + "; ".join(done) + ". (--keep leaves both in place.)"]

    def _next_lines(self) -> list[str]:
        name = self.database
        rows = [
            ("tutorials", "notebooks/01-quickstart.ipynb", "SQL cells, parameters, a worker"),
            ("", "notebooks/02-embeddings.ipynb", "load, index, search, recall sweep"),
            ("", "notebooks/03-cloud-attach.ipynb", "Aurora, Cloud SQL, Azure, offline"),
            ("", "notebooks/04-panel.ipynb", "the widget panel"),
            ("", "notebooks/05-secrets.ipynb", "what is never shown, and the audit"),
            ("in Jupyter", "%load_ext alien_nb", ""),
            ("", "%alien_postgres start vec-db", "then vec_db.vector.load / search / sweep"),
            ("in a shell", "alien-nb status", "every local database"),
        ]
        if self.kept or self.was_running:
            rows.append(("", f"alien-nb stop {name}", "its data stays"))
        if self.created_database:
            rows.append(("", f"alien-nb delete {name}", "the demo database and its files"))
        lines = ["Where to go next:"]
        for where, what, note in rows:
            lines.append(f"  {where:<12}  {what:<32}  ({note})" if note else f"  {where:<12}  {what}")
        return lines


def _of(digit: int) -> str:
    return f"of {'an' if digit == 8 else 'a'} {digit}"


# -- the run --------------------------------------------------------------------------------------


class _Progress:
    """One bar over the demo's steps; the vector helpers' own bars stay off, so there is never two.
    Drawn only on a terminal or a watched notebook, never into pipes, logs or executed notebooks."""

    def __init__(self, total: int, enabled: bool) -> None:
        from .core._progress import Progress

        self._bar = Progress(total, "alien-nb demo", enabled=enabled, delay=0, unit="step",
                             bar_format="{desc:<36} {bar} {n_fmt}/{total_fmt} [{elapsed}]")  # fmt: skip
        self._failed = False

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        self._bar.describe(description)
        try:
            yield
        except BaseException:
            self._failed = True
            raise
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close(complete=not self._failed)


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
    """Run the demo against local database `alien-demo` of ``controller``'s manager.

    ``say`` gets the opening line (None: silent); ``progress`` shows a bar on a terminal.
    Returns the measurements; `DemoResult.report` is the printed summary.
    Raise `AlienError` (or a subclass, e.g. `StartFailed`) with a hint when something fails.
    """
    from .local import DatabaseNotFound

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
            f"{controller.manager.home}"
        )
    bar = _Progress(total=5 + len(EF_SEARCH), enabled=progress)
    conn: psycopg.Connection[Any] | None = None
    failed = True
    try:
        with bar.step(f"starting database {DATABASE}"):
            binding = controller.start(DATABASE)
            from .resolver import resolve_inline

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
    bar: _Progress,
) -> None:
    from psycopg import sql

    from . import vector

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
        try:
            controller.status(DATABASE)
        except AlienError:
            return  # it never came into being
        controller.stop(DATABASE)
        result.stopped = True
