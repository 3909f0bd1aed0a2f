"""The pgvector helpers against a real local server."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from alien_nb import vector
from alien_nb.vector import (
    DimensionMismatch,
    IndexMemoryWarning,
    InvalidEmbeddings,
    TableNotFound,
    VectorError,
)


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    x = centres[rng.integers(0, 20, n)] + 0.2 * rng.normal(size=(n, dim))
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


@pytest.fixture
def fresh(conn: psycopg.Connection[Any], request: pytest.FixtureRequest) -> str:
    import re

    name = re.sub(r"\W+", "_", f"t_{request.node.name}")[:60].lower()
    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    return name


def test_load_numpy_and_read_back(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(3000, 24)
    result = vector.load(conn, fresh, x)
    assert result.rows == 3000 and result.created and result.rows_per_second > 0
    ids, back = vector.read_embeddings(conn, fresh)
    assert np.array_equal(ids, np.arange(3000)) and np.array_equal(back, x)
    # append continues the ids and keeps the dimension
    more = vector.load(conn, fresh, x[:10])
    assert not more.created
    ids, back = vector.read_embeddings(conn, fresh)
    assert ids.max() == 3009 and len(back) == 3010
    value = conn.execute(f'SELECT embedding FROM "{fresh}" WHERE id = 5').fetchone()[0]  # type: ignore[index]
    assert isinstance(value, np.ndarray) and value.dtype == np.float32 and np.array_equal(value, x[5])
    # replace=True: re-running the cell loads the same rows, not a second copy (even another dimension)
    again = vector.load(conn, fresh, x[:100, :8], replace=True)
    assert again.created and again.rows == 100
    ids, back = vector.read_embeddings(conn, fresh)
    assert np.array_equal(ids, np.arange(100)) and back.shape == (100, 8)


def test_load_dataframe_with_metadata_and_lists(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(200, 8)
    frame = pd.DataFrame({"embedding": list(x), "title": [f"doc {i}" for i in range(200)],
                          "score": np.linspace(0, 1, 200), "id": np.arange(200) * 10})  # fmt: skip
    vector.load(conn, fresh, frame)
    row = conn.execute(f'SELECT id, title, score FROM "{fresh}" WHERE id = 30').fetchone()
    assert row == (30, "doc 3", pytest.approx(3 / 199))
    vector.load(conn, fresh + "_l", x.tolist(), columns={"n": np.arange(200)})
    assert conn.execute(f'SELECT count(*), max(n) FROM "{fresh}_l"').fetchone() == (200, 199)
    conn.execute(f'DROP TABLE "{fresh}_l"')


def test_load_halfvec_unlogged(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(100, 16)
    vector.load(conn, fresh, x, dtype="halfvec", unlogged=True)
    kind, persistence = conn.execute(
        f"SELECT format_type(a.atttypid, a.atttypmod), c.relpersistence FROM pg_attribute a "
        f"JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = '{fresh}' AND a.attname = 'embedding'"
    ).fetchone()  # type: ignore[misc]
    assert kind == "halfvec(16)" and persistence == "u"
    hits = vector.search(conn, fresh, x[3], k=1)
    assert hits["id"].tolist() == [3]


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.ones((3, 4, 2)), InvalidEmbeddings, "2-dimensional"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), InvalidEmbeddings, "row 0, column 1"),
        (np.array([[1.0, np.inf]]), InvalidEmbeddings, "NaN or infinite"),
        ([[1.0, 2.0], [1.0]], InvalidEmbeddings, "ragged|one length"),
        (np.array([["a", "b"]]), InvalidEmbeddings, "numbers"),
        (np.zeros((2, 16001)), InvalidEmbeddings, "1 to 16000"),
    ],
)
def test_load_refuses_bad_embeddings_before_sending(
    conn: psycopg.Connection[Any], fresh: str, bad: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        vector.load(conn, fresh, bad)
    assert conn.execute("SELECT to_regclass(%s)", (fresh,)).fetchone() == (None,)


def test_load_dimension_and_table_errors(conn: psycopg.Connection[Any], fresh: str) -> None:
    vector.load(conn, fresh, clustered(10, 8))
    with pytest.raises(DimensionMismatch, match="8 are expected"):
        vector.load(conn, fresh, clustered(10, 9))
    with pytest.raises(TableNotFound, match="create=True"):
        vector.load(conn, fresh + "_none", clustered(10, 8), create=False)
    with pytest.raises(InvalidEmbeddings, match="ids must be"):
        vector.load(conn, fresh, clustered(10, 8), ids=[1, 2])
    with pytest.raises(VectorError, match="dtype='halfvec'"):
        vector.load(conn, fresh, clustered(10, 8), dtype="float")
    assert conn.execute(f'SELECT count(*) FROM "{fresh}"').fetchone() == (10,)  # nothing half-loaded


def test_index_search_recall(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(4000, 32, seed=1)
    vector.load(conn, fresh, x[:3900])
    queries = x[3900:3950]
    built = vector.create_index(conn, fresh, method="hnsw", metric="cosine")
    assert built.rows == 3900 and built.size_bytes > 0 and built.workers >= 1
    assert built.maintenance_work_mem >= vector.hnsw_graph_bytes(3900, 32)
    hits = vector.search(conn, fresh, queries, k=10, ef_search=100)
    assert list(hits.columns[:4]) == ["query_no", "rank", "id", "distance"]
    assert len(hits) == 500 and hits.groupby("query_no")["rank"].max().eq(10).all()
    assert (hits.groupby("query_no")["distance"].diff().dropna() >= -1e-6).all()
    truth = vector.exact_neighbors(conn, fresh, queries, k=10)
    assert vector.recall(hits, truth) >= 0.95
    truth_sql = vector.exact_neighbors(conn, fresh, queries, k=10, method="sql")
    assert vector.recall(truth_sql, truth) >= 0.99
    # numpy ground truth matches pgvector's own distances
    merged = hits.merge(truth, on=["query_no", "id"], suffixes=("", "_true"))
    assert np.allclose(merged["distance"], merged["distance_true"], atol=1e-5)
    single = vector.search(conn, fresh, queries[0], k=5)
    # HNSW is approximate (and its parallel build not deterministic): compare as sets, with slack
    assert len(set(single["id"]) & set(truth[truth.query_no == 0]["id"])) >= 4


def test_exact_results_on_a_tiny_known_set(conn: psycopg.Connection[Any], fresh: str) -> None:
    points = np.array([[0, 0], [1, 0], [0, 2], [3, 3], [-1, -1]], dtype=np.float32)
    vector.load(conn, fresh, points, ids=[10, 11, 12, 13, 14])
    for metric, expected in (("l2", [10, 11, 14]), ("ip", [13, 12, 11])):
        hits = vector.search(conn, fresh, [0.1, 0.1] if metric == "l2" else [1.0, 1.0], k=3, metric=metric)
        assert hits["id"].tolist() == expected
        truth = vector.exact_neighbors(conn, fresh, np.array([[0.1, 0.1] if metric == "l2" else [1.0, 1.0]]), k=3,
                                       metric=metric)  # fmt: skip
        assert truth["id"].tolist() == expected
    assert vector.recall(np.array([[10, 11, 99]]), np.array([[10, 11, 14]])) == pytest.approx(2 / 3)


def test_filtered_search_and_columns(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(2000, 16, seed=2)
    vector.load(conn, fresh, x, columns={"lang": np.where(np.arange(2000) % 4 == 0, 1, 0)})
    vector.create_index(conn, fresh)
    hits = vector.search(conn, fresh, x[:3], k=10, where="lang = :lang", params={"lang": 1}, columns=["lang"])
    assert len(hits) == 30 and (hits["lang"] == 1).all()
    one = vector.search(conn, fresh, x[4], k=10, where="lang = :lang", params={"lang": 1}, ef_search=10)
    assert len(one) == 10  # iterative scans keep going past the filter


def test_ivfflat_and_sweep(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(3000, 16, seed=3)
    vector.load(conn, fresh, x[:2950])
    built = vector.create_index(conn, fresh, method="ivfflat", metric="l2")
    assert built.options == {"lists": 2} and vector.default_lists(2_000_000) == 1414
    result = vector.sweep(conn, fresh, x[2950:2970], k=5, metric="l2", probes=[1, 2])
    table = result.table
    assert table["method"].tolist() == ["index", "index", "numpy brute force"]
    assert table.loc[1, "recall@5"] == pytest.approx(1.0) and table.loc[2, "recall@5"] == 1.0
    assert (table["p50_ms"] > 0).all() and (table["qps"] > 0).all()
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot()
    assert ax.get_ylabel() == "recall@5"
    assert "numpy brute force" in result._repr_html_()


def test_index_memory_warning(conn: psycopg.Connection[Any], fresh: str) -> None:
    vector.load(conn, fresh, clustered(500, 16))
    with pytest.warns(IndexMemoryWarning, match="will spill to disk"):
        built = vector.create_index(conn, fresh, memory_fraction=1e-9)
    assert built.warnings and "needs about" in built.warnings[0]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda c, t: vector.search(c, t, np.ones(9), k=3), DimensionMismatch, "8 are expected"),
        (lambda c, t: vector.search(c, t, np.ones(8), metric="hamming"), VectorError, "Unknown metric"),
        (lambda c, t: vector.search(c, "no_such_table", np.ones(8)), TableNotFound, "no_such_table"),
        (lambda c, t: vector.search(c, t, np.full(8, np.nan)), InvalidEmbeddings, "NaN"),
        (lambda c, t: vector.create_index(c, t, method="lsh"), VectorError, "Unknown index method"),
        (lambda c, t: vector.create_index(c, t, metric="manhattan"), VectorError, "Unknown metric"),
        (lambda c, t: vector.sweep(c, t, np.ones((2, 8))), VectorError, "exactly one of"),
        (
            lambda c, t: vector.exact_neighbors(c, t, np.ones(8), method="faiss"),
            VectorError,
            "Unknown method",
        ),
        (lambda c, t: vector.search(c, t, np.ones(8), column="nope"), TableNotFound, "column="),
    ],
)
def test_errors(conn: psycopg.Connection[Any], fresh: str, call: Any, error: type, message: str) -> None:
    vector.load(conn, fresh, clustered(20, 8))
    with pytest.raises(error, match=message):
        call(conn, fresh)


def test_ensure_vector_registers_numpy(conn: psycopg.Connection[Any]) -> None:
    vector.ensure_vector(conn)
    value = conn.execute("SELECT '[1,2,3]'::vector, '[1,2]'::halfvec").fetchone()
    assert value is not None
    assert isinstance(value[0], np.ndarray) and value[0].tolist() == [1.0, 2.0, 3.0]
    assert value[1].dtype == np.float16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conn.execute("SELECT %s::vector", (np.array([1.0, 2.0]),))


def test_names_are_taken_literally(conn: psycopg.Connection[Any]) -> None:
    conn.execute('DROP TABLE IF EXISTS "My Docs"')
    vector.load(conn, "My Docs", clustered(50, 4))
    built = vector.create_index(conn, "My Docs")
    assert built.size_bytes > 0
    assert len(vector.search(conn, "My Docs", clustered(2, 4), k=3)) == 6
    conn.execute('DROP TABLE "My Docs"')
    conn.execute("DROP SCHEMA IF EXISTS lab CASCADE; CREATE SCHEMA lab")
    vector.load(conn, "lab.items", clustered(30, 4))
    assert vector.create_index(conn, "lab.items", method="ivfflat").size_bytes > 0
    assert vector.search(conn, "lab.items", clustered(1, 4, seed=9), k=2)["rank"].tolist() == [1, 2]


def test_database_handle_exposes_the_helpers(vector_db: str) -> None:
    from alien_nb.core import parse_binding
    from alien_nb.notebook._database import Database
    from alien_nb.resolver import resolve_inline

    info = psycopg.conninfo.conninfo_to_dict(vector_db)
    binding = parse_binding({"service": "local-postgres", "host": info["host"], "port": int(str(info["port"])),
                             "database": info["dbname"], "username": info["user"], "password": info["password"]})  # fmt: skip
    db = Database("vec-tests", resolve_inline(binding), backend="local")
    db.connection.execute("DROP TABLE IF EXISTS handle_items")
    x = clustered(100, 8)
    assert db.vector.load("handle_items", x).rows == 100
    db.vector.create_index("handle_items")
    assert db.vector.search("handle_items", x[7], k=1)["id"].tolist() == [7]
    assert (
        db.vector.recall(
            db.vector.search("handle_items", x[:5], k=3),
            db.vector.exact_neighbors("handle_items", x[:5], k=3),
        )
        == 1.0
    )
    db.close()


def test_non_autocommit_connection_keeps_its_transaction_clean(vector_db: str) -> None:
    with psycopg.connect(vector_db) as c:  # autocommit off: every call runs inside an open transaction
        c.execute("DROP TABLE IF EXISTS tx_a, tx_b")
        a, b = clustered(50, 4, seed=4), clustered(50, 6, seed=5)
        vector.load(c, "tx_a", a)
        vector.load(c, "tx_b", b)
        assert len(vector.search(c, "tx_a", a[:2], k=3)) == 6
        assert len(vector.search(c, "tx_a", a[10:12], k=3)) == 6  # the first batch is gone
        assert len(vector.search(c, "tx_b", b[:2], k=3)) == 6  # another dimension, same session
        vector.exact_neighbors(c, "tx_a", a[:2], k=3, method="sql")
        vector.search(c, "tx_a", a[0], k=3, ef_search=77)
        assert c.execute("SHOW enable_indexscan").fetchone() == ("on",)
        assert c.execute("SHOW hnsw.ef_search").fetchone() == ("40",)
        c.rollback()


def test_recall_with_fewer_rows_than_k() -> None:
    assert (
        vector.recall(
            np.array([[1, 2, 3, None, None]], dtype=object), np.array([[3, 2, 1, None, None]], dtype=object)
        )
        == 1.0
    )
    assert vector.recall(np.array([[1, None]], dtype=object), np.array([[2, None]], dtype=object)) == 0.0


def test_append_checks_column_types(conn: psycopg.Connection[Any], fresh: str) -> None:
    x = clustered(10, 4)
    vector.load(conn, fresh, x, columns={"score": np.linspace(0, 1, 10)})
    with pytest.raises(VectorError, match="double precision, but the data is bigint"):
        vector.load(conn, fresh, x, columns={"score": np.arange(10)})
    with pytest.raises(VectorError, match="stores vector embeddings, not halfvec"):
        vector.load(conn, fresh, x, dtype="halfvec", columns={"score": np.linspace(0, 1, 10)})
    with pytest.raises(VectorError, match="has no column 'other'"):
        vector.load(conn, fresh, x, columns={"score": np.zeros(10), "other": np.zeros(10)})
    assert conn.execute(f'SELECT count(*) FROM "{fresh}"').fetchone() == (10,)


def test_halfvec_range_and_missing_metadata(conn: psycopg.Connection[Any], fresh: str) -> None:
    with pytest.raises(InvalidEmbeddings, match="half precision"):
        vector.load(conn, fresh, np.full((2, 3), 1e6), dtype="halfvec")
    frame = pd.DataFrame({"embedding": list(clustered(3, 4)), "title": ["a", None, np.nan],
                          "n": pd.array([1, None, 3], dtype="Int64")})  # fmt: skip
    vector.load(conn, fresh, frame)
    assert conn.execute(f'SELECT title, n FROM "{fresh}" ORDER BY id').fetchall() == [
        ("a", 1),
        (None, None),
        (None, 3),
    ]


def test_a_table_recreated_under_the_cache(conn: psycopg.Connection[Any], fresh: str) -> None:
    vector.load(conn, fresh, clustered(10, 4))
    vector.search(conn, fresh, clustered(1, 4), k=2)
    conn.execute(f'DROP TABLE "{fresh}"')
    conn.execute(f'CREATE TABLE "{fresh}" (id bigint, embedding vector(6))')
    conn.execute(f'INSERT INTO "{fresh}" VALUES (1, %s)', (np.ones(6, dtype=np.float32),))
    with pytest.raises(vector.ServerRefused):
        vector.search(
            conn, fresh, clustered(1, 4), k=2
        )  # stale shape: the server refuses, the cache is dropped
    vector.load(conn, fresh, clustered(5, 6))
    assert len(vector.search(conn, fresh, clustered(1, 6), k=2)) == 2  # the new shape was read again


def test_streamed_rows_are_the_same_bytes() -> None:
    from alien_nb.vector._binary import encode_rows, iter_copy_chunks, stream_rows

    x = clustered(1000, 5)
    ids = np.arange(1000) * 3
    extra = [("score", np.linspace(0, 1, 1000)), ("flag", np.arange(1000) % 2 == 0)]
    whole = b"".join(bytes(c) for c in iter_copy_chunks(encode_rows(ids, x, "vector", extra)))
    streamed = b"".join(bytes(c) for c in stream_rows(ids, x, "vector", extra, chunk=1000))
    assert streamed == whole
    half = b"".join(bytes(c) for c in stream_rows(ids, x, "halfvec", chunk=777))
    assert half == b"".join(
        bytes(c) for c in iter_copy_chunks(encode_rows(ids, x.astype(np.float16), "halfvec"))
    )
