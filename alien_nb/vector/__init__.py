"""pgvector helpers: bulk load from numpy, index builds, kNN search, recall measurement.

The loop for an embedding experiment::

    from alien_nb import vector
    vector.load(conn, "docs", embeddings, columns={"title": titles})
    vector.create_index(conn, "docs", method="hnsw", metric="cosine")
    hits = vector.search(conn, "docs", query_vectors, k=10, columns=["title"])
    truth = vector.exact_neighbors(conn, "docs", query_vectors, k=10)
    vector.recall(hits, truth)
    vector.sweep(conn, "docs", query_vectors, ef_search=[10, 20, 40, 80]).plot()

Every function takes a psycopg connection (``db.connect()`` or ``db.connection`` of a
notebook handle) and returns plain values or DataFrames.
"""

from ._errors import (
    ColumnNotFound,
    DimensionMismatch,
    IndexExists,
    IndexMemoryWarning,
    InvalidArgument,
    InvalidEmbeddings,
    ServerRefused,
    TableNotFound,
    VectorError,
)
from ._index import IndexResult, create_index, default_lists, hnsw_graph_bytes
from ._load import LoadResult, load
from ._read import read_embeddings
from ._recall import BruteForce, Sweep, brute_force, exact_neighbors, recall, sweep
from ._search import search
from ._types import ensure_vector, register_types

__all__ = [
    "BruteForce",
    "ColumnNotFound",
    "DimensionMismatch",
    "IndexExists",
    "IndexMemoryWarning",
    "IndexResult",
    "InvalidArgument",
    "InvalidEmbeddings",
    "LoadResult",
    "ServerRefused",
    "Sweep",
    "TableNotFound",
    "VectorError",
    "brute_force",
    "create_index",
    "default_lists",
    "ensure_vector",
    "exact_neighbors",
    "hnsw_graph_bytes",
    "load",
    "read_embeddings",
    "recall",
    "register_types",
    "search",
    "sweep",
]
