"""Has the server closed a psycopg connection? Found out without a round trip, before reuse.

psycopg learns that a connection broke only when an operation on it fails
(``conn.closed`` / ``conn.broken`` change then). For the next statement
that is too late: once it has been handed to the driver, nobody can say
whether the server received it. The server's side of the story is on the
socket already, though: a server that died, restarted or ended the session
closed it, and an idle connection whose socket is readable has either an
asynchronous message waiting (a notice, a notification, the FATAL a server
sends as it terminates a session) or the end of the stream. libpq reads
what is there; end of stream marks the connection bad. A live connection
with a pending notification stays good, and nothing is sent either way.
"""

from __future__ import annotations

import enum
import select
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# A FATAL notice then end of stream takes two reads; a flood of notifications is not a dead server.
_MAX_READS = 8


class Liveness(enum.Enum):
    ALIVE = "alive"
    #: Closed while idle: a new connection can run the next statement; nothing was lost.
    CLOSED = "closed"
    #: Closed inside an open transaction (a BEGIN of the user's): its changes were rolled back.
    CLOSED_IN_TRANSACTION = "closed in transaction"


def probe(conn: psycopg.Connection[Any]) -> Liveness:
    """Is ``conn`` still usable? Reads what the server has sent, writes nothing."""
    from psycopg import OperationalError, pq

    if conn.closed:
        return Liveness.CLOSED
    pgconn = conn.pgconn
    with conn.lock:
        in_transaction = pgconn.transaction_status in (
            pq.TransactionStatus.INTRANS,
            pq.TransactionStatus.INERROR,
        )
        closed = Liveness.CLOSED_IN_TRANSACTION if in_transaction else Liveness.CLOSED
        if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
            return Liveness.ALIVE  # a statement is in flight (another thread's): not ours to judge
        try:
            fd = pgconn.socket
            for _ in range(_MAX_READS):
                if not _readable(fd):
                    break
                pgconn.consume_input()
                pgconn.is_busy()  # parse it: notices go to their handlers, notifications are queued
                if pgconn.status != pq.ConnStatus.OK:
                    return closed
        except OperationalError:
            return closed
        return Liveness.ALIVE if pgconn.status == pq.ConnStatus.OK else closed


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()  # select() cannot take descriptors above FD_SETSIZE
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)
