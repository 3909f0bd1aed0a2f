"""``where=`` with ``:name`` placeholders in search, exact_neighbors and sweep, on a real server."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
import pytest

from alien_nb import vector
from alien_nb.core._sql import SqlTextInvalid
from tests.vector.test_vector import clustered


@pytest.fixture
def docs(conn: psycopg.Connection[Any], request: pytest.FixtureRequest) -> tuple[str, np.ndarray]:
    """1,200 rows with lang ('en' for every fourth) and a title, plus an HNSW index."""
    import re

    name = re.sub(r"\W+", "_", f"w_{request.node.name}")[:60].lower()
    x = clustered(1200, 16, seed=7)
    lang = np.where(np.arange(1200) % 4 == 0, "en", "de")
    titles = [("a" if i % 3 == 0 else "b") + f"-{i}" for i in range(1200)]
    vector.load(conn, name, x, columns={"lang": lang.tolist(), "title": titles}, replace=True, progress=False)
    vector.create_index(conn, name, progress=False)
    return name, x


def _ids(frame: Any) -> set[int]:
    return set(frame["id"].tolist())


def test_search_binds_named_placeholders_single_and_many(
    conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray]
) -> None:
    table, x = docs
    many = vector.search(
        conn, table, x[:3], k=10, where="lang = :lang", params={"lang": "en"}, columns=["lang"]
    )
    assert len(many) == 30 and (many["lang"] == "en").all()
    one = vector.search(
        conn, table, x[1], k=10, where="lang = :lang", params={"lang": "en"}, columns=["lang"]
    )
    assert len(one) == 10 and (one["lang"] == "en").all() and all(i % 4 == 0 for i in _ids(one))
    # a name used twice, a cast and extra params that the condition does not use
    both = vector.search(conn, table, x[:2], k=5, where="lang = :l OR lang = :l::text || ''",
                         params={"l": "de", "unused": 1})  # fmt: skip
    assert all(i % 4 for i in _ids(both))


def test_a_literal_percent_in_where(conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray]) -> None:
    table, x = docs
    for queries in (x[0], x[:4]):
        hits = vector.search(conn, table, queries, k=5, where="title LIKE 'a%'", columns=["title"])
        assert len(hits) and hits["title"].str.startswith("a").all()
        mixed = vector.search(conn, table, queries, k=5, where="title LIKE 'a%' AND lang = :lang",
                              params={"lang": "en"}, columns=["title", "lang"])  # fmt: skip
        assert mixed["title"].str.startswith("a").all() and (mixed["lang"] == "en").all()


@pytest.mark.parametrize("where, shown", [("lang = %(x)s", ":x"), ("lang = $1", ":n")])
def test_other_placeholder_styles_are_refused_with_the_named_form(
    conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray], where: str, shown: str
) -> None:
    table, x = docs
    for call in (
        lambda: vector.search(conn, table, x[0], where=where, params={"x": "en"}),
        lambda: vector.search(conn, table, x[:2], where=where, params={"x": "en"}),
        lambda: vector.exact_neighbors(conn, table, x[:2], where=where, params={"x": "en"}),
        lambda: vector.sweep(conn, table, x[:2], ef_search=[10], where=where, params={"x": "en"}),
    ):
        with pytest.raises(SqlTextInvalid) as caught:
            call()
        assert shown in (caught.value.hint or "")


def test_missing_and_reserved_params(conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray]) -> None:
    table, x = docs
    with pytest.raises(vector.InvalidArgument, match=r":lang, :title") as caught:
        vector.search(conn, table, x[0], where="lang = :lang AND title = :title", params={"other": 1})
    assert "params=" in (caught.value.hint or "")
    with pytest.raises(vector.InvalidArgument, match=":lang"):
        vector.search(conn, table, x[:2], where="lang = :lang")
    with pytest.raises(vector.InvalidArgument, match="reserved"):
        vector.search(conn, table, x[0], where="lang = :lang", params={"lang": "en", "_alien_q": 1})
    with pytest.raises(vector.InvalidArgument, match="reserved"):
        vector.search(conn, table, x[0], where="id = :_alien_q", params={})
    with pytest.raises(vector.InvalidArgument, match="a mapping"):
        vector.search(conn, table, x[0], where="lang = :lang", params=[("lang", "en")])  # type: ignore[arg-type]
    with pytest.raises(SqlTextInvalid, match="one SQL condition"):
        vector.search(conn, table, x[0], where="true; DROP TABLE x")


def test_filtered_exact_neighbors_numpy_and_sql_agree(
    conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray]
) -> None:
    table, x = docs
    where, params = "lang = :lang AND title LIKE 'a%'", {"lang": "en"}
    matching = {i for i in range(1200) if i % 4 == 0 and i % 3 == 0}
    by_numpy = vector.exact_neighbors(conn, table, x[:5], k=7, where=where, params=params)
    by_sql = vector.exact_neighbors(conn, table, x[:5], k=7, where=where, params=params, method="sql")
    assert len(by_numpy) == 35 and _ids(by_numpy) <= matching
    assert by_numpy["id"].tolist() == by_sql["id"].tolist()
    assert np.allclose(by_numpy["distance"], by_sql["distance"], atol=1e-5)
    ids, data = vector.read_embeddings(conn, table, where=where, params=params)
    assert set(ids.tolist()) == matching and np.array_equal(data, x[ids])
    none_ids, none = vector.read_embeddings(conn, table, where="lang = :lang", params={"lang": "xx"})
    assert len(none_ids) == 0 and len(none) == 0


def test_filtered_recall_against_filtered_truth(
    conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray]
) -> None:
    table, x = docs
    where, params = "lang = :lang", {"lang": "en"}
    truth = vector.exact_neighbors(conn, table, x[:8], k=10, where=where, params=params)
    no_index = {"enable_indexscan": "off", "enable_bitmapscan": "off", "enable_indexonlyscan": "off"}
    with conn.transaction():
        for name, value in no_index.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        exact = vector.search(conn, table, x[:8], k=10, where=where, params=params)
    assert vector.recall(exact, truth) == 1.0
    # the unfiltered truth would be the wrong yardstick: most of its neighbours are filtered out
    assert vector.recall(exact, vector.exact_neighbors(conn, table, x[:8], k=10)) < 0.6


def test_sweep_with_where(conn: psycopg.Connection[Any], docs: tuple[str, np.ndarray]) -> None:
    table, x = docs
    result = vector.sweep(conn, table, x[:10], k=5, ef_search=[10, 200], where="lang = :lang",
                          params={"lang": "en"})  # fmt: skip
    assert result.table["method"].tolist() == ["index", "index", "numpy brute force"]
    assert result.table.loc[1, "recall@5"] == pytest.approx(1.0)
    truth = vector.exact_neighbors(conn, table, x[:10], k=5, where="lang = :lang", params={"lang": "en"})
    given = vector.sweep(conn, table, x[:10], k=5, ef_search=[200], truth=truth, where="lang = :lang",
                         params={"lang": "en"})  # fmt: skip
    assert given.table.loc[0, "recall@5"] == pytest.approx(1.0)
    with pytest.raises(vector.InvalidArgument, match=":lang"):
        vector.sweep(conn, table, x[:2], ef_search=[10], where="lang = :lang")
