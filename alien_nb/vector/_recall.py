"""Ground truth, recall, and the recall / latency sweep (with numpy brute force beside it)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from . import _args as args
from ._errors import InvalidArgument, VectorError
from ._metrics import metric as get_metric
from ._read import read_embeddings
from ._search import as_queries, search
from ._tables import scoped_settings, vector_column

if TYPE_CHECKING:
    import pandas as pd

#: Bytes of distances computed at once by the numpy ground truth.
_BLOCK_BYTES = 256 * 1024**2


class BruteForce:
    """Exact search in numpy over an in-memory matrix; per-row norms are computed once, here.

    Ranks by a score where larger is nearer (cosine similarity, inner
    product, or q.x - |x|^2/2 for l2) and turns only the k winners into
    pgvector's distances, so the (queries x rows) matrix is touched as few
    times as possible.
    """

    def __init__(self, data: np.ndarray, ids: np.ndarray, metric: str = "cosine") -> None:
        self.metric = get_metric(metric).name
        self.ids = np.asarray(ids)
        x = np.asarray(data, dtype=np.float32)
        if self.metric == "cosine":
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
        self.data = x
        self.half_sq = 0.5 * np.einsum("ij,ij->i", x, x) if self.metric == "l2" else None

    def query(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances), each (n_queries, k), nearest first."""
        x = self.data
        k = min(k, len(x))
        q_all = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if self.metric == "cosine":
            q_all = q_all / np.maximum(np.linalg.norm(q_all, axis=1, keepdims=True), 1e-30)
        out_ids = np.empty((len(q_all), k), dtype=self.ids.dtype)
        out_dist = np.empty((len(q_all), k), dtype=np.float32)
        step = max(1, _BLOCK_BYTES // (4 * max(len(x), 1)))
        for start in range(0, len(q_all), step):
            q = q_all[start : start + step]
            scores = q @ x.T
            if self.half_sq is not None:
                scores -= self.half_sq[None, :]
            if k < scores.shape[1]:
                top = np.argpartition(scores, -k, axis=1)[:, -k:]
            else:
                top = np.tile(np.arange(k), (len(q), 1))
            best = np.take_along_axis(scores, top, axis=1)
            order = np.argsort(-best, axis=1, kind="stable")
            top, best = np.take_along_axis(top, order, axis=1), np.take_along_axis(best, order, axis=1)
            if self.metric == "cosine":
                dist = 1.0 - best
            elif self.metric == "ip":
                dist = -best
            else:
                dist = np.sqrt(np.maximum(np.einsum("ij,ij->i", q, q)[:, None] - 2.0 * best, 0.0))
            out_ids[start : start + step] = self.ids[top]
            out_dist[start : start + step] = dist
        return out_ids, out_dist


def brute_force(
    data: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int, metric: str = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by batched matrix products: (ids, distances), each (n_queries, k)."""
    return BruteForce(data, ids, metric).query(queries, k)


def _frame(ids: np.ndarray, dist: np.ndarray, id_column: str = "id") -> pd.DataFrame:
    import pandas as pd

    n, k = ids.shape
    return pd.DataFrame(
        {
            "query_no": np.repeat(np.arange(n), k),
            "rank": np.tile(np.arange(1, k + 1), n),
            id_column: ids.ravel(),
            "distance": dist.ravel().astype(np.float64),
        }
    )


def exact_neighbors(
    conn: psycopg.Connection[Any],
    table: str,
    queries: Any,
    k: int = 10,
    *,
    metric: str = "cosine",
    method: str = "numpy",
    column: str = "embedding",
    id_column: str = "id",
    where: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The true ``k`` nearest rows per query, in `search`'s DataFrame shape.

    ``method="numpy"`` reads the table once (binary COPY) and ranks on the
    client with batched matrix products: fast while the table fits in
    memory. ``method="sql"`` makes the server scan without any index.
    ``where`` / ``params`` (``:name`` placeholders, as in `search`) restrict
    both to the matching rows: the truth to measure a filtered search against.
    """
    k = args.integer("k", k, hint="k is how many neighbours per query, e.g. k=10.")
    args.choice("method", "method", method, ("numpy", "sql"))
    args.condition(where, params)  # refused before the table is read
    chosen = get_metric(metric)
    with args.server_errors(f"reading {table!r}"):
        _kind, dim = vector_column(conn, table, column)
    q = as_queries(queries, dim, chosen.name)
    if method == "numpy":
        ids, data = read_embeddings(
            conn, table, column=column, id_column=id_column, where=where, params=params
        )
        return _frame(*brute_force(data, ids, q, k, metric), id_column=id_column)
    no_index = dict.fromkeys(("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"), "off")
    with scoped_settings(conn, no_index):
        return search(conn, table, q, k, metric=metric, column=column, id_column=id_column,
                      where=where, params=params)  # fmt: skip


def recall(found: Any, truth: Any, k: int | None = None, *, id_column: str = "id") -> float:
    """Mean recall@k: the share of the true top-k that ``found`` returned, per query.

    Both are `search`-shaped DataFrames or (n_queries, k) id arrays.
    """
    f, t = _id_matrix(found, id_column), _id_matrix(truth, id_column)
    if f.shape[0] != t.shape[0]:
        raise VectorError(f"{f.shape[0]} queries found but {t.shape[0]} in the truth.")
    k = k or t.shape[1]
    shares = []
    for got, want in zip(f.tolist(), t.tolist(), strict=True):
        true_ids = {i for i in want[:k] if i is not None}  # a table smaller than k has fewer
        if true_ids:
            shares.append(len(true_ids & {i for i in got[:k] if i is not None}) / len(true_ids))
    return float(np.mean(shares)) if shares else 0.0


def _id_matrix(value: Any, id_column: str) -> np.ndarray:
    if hasattr(value, "groupby"):
        groups = value.sort_values(["query_no", "rank"]).groupby("query_no")[id_column].apply(list)
        width = max((len(g) for g in groups), default=0)
        return np.array([g + [None] * (width - len(g)) for g in groups], dtype=object)
    return np.asarray(value)


@dataclass
class Sweep:
    """The result of `sweep`: a table and its recall / latency plot."""

    table: pd.DataFrame
    k: int
    parameter: str

    def _repr_html_(self) -> str:
        return str(self.table.to_html(index=False, float_format=lambda v: f"{v:.3f}"))

    def __repr__(self) -> str:
        return str(self.table.to_string(index=False))

    def plot(self, ax: Any = None) -> Any:
        """Recall@k against p50 latency, index settings as a line, numpy brute force as a point."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 4))[1]
        index = self.table[self.table["method"] != "numpy brute force"]
        ax.plot(index["p50_ms"], index[f"recall@{self.k}"], marker="o", label=f"index ({self.parameter})")
        for _, row in index.iterrows():
            ax.annotate(str(row[self.parameter]), (row["p50_ms"], row[f"recall@{self.k}"]),
                        textcoords="offset points", xytext=(4, -10), fontsize=8)  # fmt: skip
        numpy_row = self.table[self.table["method"] == "numpy brute force"]
        ax.scatter(numpy_row["p50_ms"], numpy_row[f"recall@{self.k}"], color="black", marker="s",
                   label="numpy brute force (exact)", zorder=3)  # fmt: skip
        ax.set_xlabel("p50 latency per query (ms)")
        ax.set_ylabel(f"recall@{self.k}")
        ax.set_title("Recall against latency")
        ax.grid(alpha=0.3)
        ax.legend()
        return ax


def sweep(
    conn: psycopg.Connection[Any],
    table: str,
    queries: Any,
    k: int = 10,
    *,
    metric: str = "cosine",
    ef_search: Sequence[int] | None = None,
    probes: Sequence[int] | None = None,
    truth: Any = None,
    column: str = "embedding",
    id_column: str = "id",
    where: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Sweep:
    """Recall@k, p50/p95 latency and QPS for each ``ef_search`` (HNSW) or ``probes`` (IVFFlat).

    Every query is timed alone, as an application would send it. The table
    always has a numpy brute-force row too: for small tables it can beat the
    index, and the comparison should show it. ``where`` / ``params`` filter
    every timed search, the numpy rows and (unless ``truth`` is given) the
    ground truth alike.
    """
    import pandas as pd

    if (ef_search is None) == (probes is None):
        raise VectorError("Give exactly one of ef_search=[...] (HNSW) or probes=[...] (IVFFlat).")
    parameter, values = ("ef_search", ef_search) if ef_search is not None else ("probes", probes)
    k = args.integer("k", k, hint="k is how many neighbours per query, e.g. k=10.")
    high = 1000 if parameter == "ef_search" else 32768
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidArgument(
            f"{parameter} must be a list of values to try.", hint=f"For example {parameter}=[10, 40, 100]."
        )
    values = [args.integer(f"each {parameter}", v, 1, high, f"pgvector allows 1 to {high}.") for v in values]
    args.condition(where, params)  # refused before any search is timed
    chosen = get_metric(metric)
    with args.server_errors(f"reading {table!r}"):
        _kind, dim = vector_column(conn, table, column)
    q = as_queries(queries, dim, chosen.name)
    # The matching rows only: the exact truth of the filtered search, and the numpy row's data.
    ids, data = read_embeddings(conn, table, column=column, id_column=id_column, where=where, params=params)
    true_ids = (
        _id_matrix(truth, id_column) if truth is not None else BruteForce(data, ids, metric).query(q, k)[0]
    )
    rows = []
    for value in values or ():
        found, latencies = [], []
        ef, pr = (value, None) if parameter == "ef_search" else (None, value)
        for vector in q:
            started = time.perf_counter()
            result = search(conn, table, vector, k, metric=metric, column=column, id_column=id_column,
                            ef_search=ef, probes=pr, where=where, params=params)  # fmt: skip
            latencies.append(time.perf_counter() - started)
            found.append(result[id_column].tolist() + [None] * (k - len(result)))
        rows.append(
            _row("index", parameter, value, k, recall(np.array(found, dtype=object), true_ids, k), latencies)
        )
    exact = BruteForce(data, ids, metric)  # prepared once, as a numpy user would
    latencies = []
    for vector in q:
        started = time.perf_counter()
        exact.query(vector, k)
        latencies.append(time.perf_counter() - started)
    rows.append(_row("numpy brute force", parameter, None, k, 1.0, latencies))
    frame = pd.DataFrame(rows)
    frame[parameter] = frame[parameter].astype("Int64")
    return Sweep(frame, k, parameter)


def _row(
    method: str, parameter: str, value: Any, k: int, rec: float, latencies: list[float]
) -> dict[str, Any]:
    lat = np.array(latencies) * 1000
    return {
        "method": method,
        parameter: value,
        f"recall@{k}": rec,
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "qps": float(len(lat) / (lat.sum() / 1000)) if lat.sum() else float("inf"),
    }
