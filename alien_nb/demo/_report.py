"""The demo's measurements and the summary printed from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..core import format_size
from ._plan import EF_SEARCH


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
