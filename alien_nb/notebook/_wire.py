"""libpq steps the engine waits on itself: sending what is queued, the next result, its error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    from psycopg.pq.abc import PGresult


def flush(conn: psycopg.Connection[Any]) -> None:
    """Send what libpq has queued; wait only if the socket cannot take it all now."""
    from psycopg import generators

    if conn.pgconn.flush():
        conn.wait(generators.send(conn.pgconn))


def next_result(conn: psycopg.Connection[Any]) -> PGresult | None:
    """The next result; waiting (interruptibly, psycopg's way) only if it has not arrived yet.

    A small result's messages arrive together: reading them without a wait each is most of
    what a one-row cell costs beyond psycopg's own ``execute``.
    """
    from psycopg import generators

    pg = conn.pgconn
    if not pg.is_busy():
        return pg.get_result()
    return conn.wait(generators.fetch(pg))


def result_error(conn: psycopg.Connection[Any], res: PGresult) -> Exception:
    from psycopg import errors

    return errors.error_from_result(res, encoding=conn.info.encoding)
