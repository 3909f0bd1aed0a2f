"""What client libraries send, against alien_nb's server as configured: every row comes back.

pgvector-python's own suite (psycopg, vector / halfvec / bit / sparsevec types) passes against
this server; its queries are small. These are the shapes a client sends on a real table: numpy
vectors bound as binary parameters (pgvector.psycopg), the SQLAlchemy ORM's ``order_by``
without ``limit``, server-side cursors that stream an ordered table, after deletes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from tests.vector.conftest import vector_db

__all__ = ["vector_db"]

ROWS = 5000


@pytest.fixture(scope="module")
def items(vector_db: str) -> Iterator[tuple[str, np.ndarray]]:
    x = np.random.default_rng(7).standard_normal((ROWS, 12)).astype(np.float32)
    with psycopg.connect(vector_db, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("DROP TABLE IF EXISTS client_items")
        conn.execute("CREATE TABLE client_items (id bigserial PRIMARY KEY, embedding vector(12))")
        with conn.cursor().copy("COPY client_items (embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["vector"])
            for row in x:
                copy.write_row([row])
        conn.execute("CREATE INDEX ON client_items USING hnsw (embedding vector_l2_ops)")
        conn.execute("DELETE FROM client_items WHERE id % 5 = 0")  # dead entries stay in the graph
        conn.execute("ANALYZE client_items")
    yield vector_db, x
    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute("DROP TABLE client_items")


def test_psycopg_with_numpy_parameters(items: tuple[str, np.ndarray]) -> None:
    url, x = items
    live = ROWS - ROWS // 5
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        q = x[42]
        for binary in (False, True):
            rows = conn.execute(
                "SELECT id, embedding <-> %s FROM client_items ORDER BY embedding <-> %s",
                (q, q),
                binary=binary,
            ).fetchall()
            assert len(rows) == live
            assert [d for _id, d in rows] == sorted(d for _id, d in rows)
        assert conn.execute(
            "SELECT count(*) FROM (SELECT id FROM client_items ORDER BY embedding <-> %s) AS s", (q,)
        ).fetchone() == (live,)
        (ordered,) = conn.execute(  # type: ignore[misc]
            "SELECT array_agg(id ORDER BY embedding <-> %s) FROM client_items", (q,)
        ).fetchone()
        assert len(ordered) == live
        # A server-side cursor streaming the table in distance order, as a client pages through it.
        with conn.transaction(), conn.cursor(name="pages") as cur:
            cur.execute("SELECT id FROM client_items ORDER BY embedding <-> %s", (q,))
            seen = 0
            while batch := cur.fetchmany(700):
                seen += len(batch)
        assert seen == live
        top = conn.execute("SELECT id FROM client_items ORDER BY embedding <-> %s LIMIT 5", (q,)).fetchall()
        assert top[0] == (43,)  # bigserial ids start at 1: x[42] is id 43, its own nearest


def test_sqlalchemy_orm_order_by_without_limit(items: tuple[str, np.ndarray]) -> None:
    from pgvector.sqlalchemy import VECTOR
    from sqlalchemy import BigInteger, create_engine, func, select
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "client_items"
        # No Mapped[] annotations: with postponed annotations SQLAlchemy resolves them in this
        # module's globals, where a function-local import is not.
        id = mapped_column(BigInteger, primary_key=True)
        embedding = mapped_column(VECTOR(12))

    url, x = items
    engine = create_engine(url.replace("postgres://", "postgresql+psycopg://", 1).replace(
        "postgresql://", "postgresql+psycopg://", 1))  # fmt: skip
    live = ROWS - ROWS // 5
    try:
        with Session(engine) as session:
            distance = Item.embedding.l2_distance(x[7])
            ids = session.scalars(select(Item.id).order_by(distance)).all()
            assert len(ids) == live
            inner = select(Item.id).order_by(distance).subquery()
            assert session.scalar(select(func.count()).select_from(inner)) == live
            assert len(session.scalars(select(Item.id).order_by(distance).limit(10)).all()) == 10
    finally:
        engine.dispose()
