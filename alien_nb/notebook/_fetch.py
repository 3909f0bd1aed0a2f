"""Query results into pandas, by the fastest path for their size.

Measured on this project's machine (benchmarks/sql_fetch.py): for a handful
of rows psycopg plus one DataFrame constructor is fastest; for a million
rows ADBC (binary COPY into Arrow) is ~6x faster than any psycopg path. A
single read-only statement is therefore first run with ``LIMIT n+1``
through psycopg; if it has more than ``n`` rows, it runs again through
ADBC, provided every column has a type ADBC and psycopg agree on. (So
volatile functions in such a query run twice; its result comes from the
second run only.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._sqltext import Statement, code_only, placeholders

if TYPE_CHECKING:
    import pandas as pd
    import psycopg

#: Rows up to which psycopg alone serves a result.
SMALL_RESULT_ROWS = 5000

# Types that come out of ADBC with the same Python values psycopg gives
# (numeric, json and vector do not: ADBC returns them as str or bytes).
_ARROW_FRIENDLY_OIDS = {
    16,  # bool
    17,  # bytea
    19,  # name
    20,  # int8
    21,  # int2
    23,  # int4
    25,  # text
    700,  # float4
    701,  # float8
    1042,  # bpchar
    1043,  # varchar
    1082,  # date
    1114,  # timestamp
    1184,  # timestamptz
    2950,  # uuid
}
_READ_ONLY_START = re.compile(r"\s*\(*\s*(select|with|values|table)\b", re.IGNORECASE)
_WRITES = re.compile(r"\b(insert|update|delete|merge|into|copy|call)\b", re.IGNORECASE)
# No str: ADBC binds it as text, where psycopg lets the server infer the type
# (a timestamp comparison, say), so the two paths would disagree.
_SCALARS = (int, float, bool, type(None))
# Session state that must match between the two connections for the results to.
_SESSION = (
    "SELECT current_setting('search_path'), current_setting('TimeZone'), "
    # temp tables of the user's (the vector helpers' own query tables do not count)
    "(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() "
    "AND relname NOT LIKE '\\_alien\\_nb\\_queries\\_%')"
)


def fetch_dataframe(
    cur: psycopg.Cursor[Any], *, limit: int | None = None, on_rows: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """The psycopg cursor's rows as a DataFrame with the result's column names."""
    import pandas as pd

    columns = [col.name for col in cur.description or ()]
    wanted = cur.rowcount if limit is None else min(limit, max(cur.rowcount, 0))
    if wanted > _CHUNK:
        rows = _fetch_with_progress(cur, wanted)
    else:
        rows = cur.fetchall() if limit is None else cur.fetchmany(limit)
    if on_rows is not None:
        on_rows(len(rows))
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)


_CHUNK = 50_000


def _fetch_with_progress(cur: psycopg.Cursor[Any], wanted: int) -> list[Any]:
    from ..core._progress import Progress

    rows: list[Any] = []
    with Progress(wanted, "fetching", delay=0.5, unit=" rows") as bar:
        while len(rows) < wanted:
            chunk = cur.fetchmany(min(_CHUNK, wanted - len(rows)))
            if not chunk:
                break
            rows.extend(chunk)
            bar.update(len(chunk))
    return rows


@lru_cache(maxsize=512)
def reads_only(original: str) -> bool:
    """Does this statement only read (SELECT, WITH, VALUES, TABLE, and no writing keyword)?"""
    code = code_only(original)
    return bool(_READ_ONLY_START.match(code)) and not _WRITES.search(code)


def eligible_for_arrow(original: str, params: Mapping[str, Any]) -> bool:
    """A single statement that only reads, with plain scalar parameters."""
    return reads_only(original) and all(isinstance(v, _SCALARS) for v in params.values())


def to_dollar_params(original: str) -> tuple[str, list[str]]:
    """``:name`` → ``$1, $2 …`` (ADBC's style), with the names in order."""
    out, names, last = [], [], 0
    for start, end, name in placeholders(original):
        if name not in names:
            names.append(name)
        out.append(original[last:start])
        out.append(f"${names.index(name) + 1}")
        last = end
    out.append(original[last:])
    return re.sub(r"\\(:[A-Za-z_])", r"\1", "".join(out)), names


class ArrowConnectionLost(Exception):
    """Internal: the ADBC connection broke while a statement ran on it (it may have run)."""


class ArrowFetcher:
    """Runs a read-only statement through ADBC; one connection, opened on first use.

    The driver shows nothing of its socket, so before reuse a ``SELECT 1``
    checks the connection (one round trip, on the path for results of
    thousands of rows): a connection the server closed is replaced before the
    statement is sent. A failure after it was sent is `ArrowConnectionLost`
    when the connection itself broke, never a silent second run.
    """

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._conn: Any = None
        self._session: tuple[Any, ...] | None = None

    def _ready(self) -> Any:
        if self._conn is not None and not self._ping():
            self.close()
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _ping(self) -> bool:
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        except Exception:
            return False
        return True

    def same_session_as(self, conn: psycopg.Connection[Any]) -> bool:
        """Would a query see the same objects, settings and time zone on both connections?

        False once the psycopg session has temp tables, another search_path
        or time zone (a `SET` in an earlier cell), or an open transaction.
        """
        import psycopg

        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False
        row = conn.execute(_SESSION).fetchone()
        if row is None or row[2] != 0:
            return False
        if self._session is None:
            with self._ready().cursor() as cur:
                cur.execute(_SESSION)
                self._session = tuple(cur.fetchone())
        return tuple(row[:2]) == self._session[:2]

    def fetch(self, sql: str, params: list[Any]) -> pd.DataFrame:
        import numpy as np

        conn = self._ready()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, parameters=tuple(params) if params else None)
                frame = cur.fetch_df()
        except Exception:
            if not self._ping():
                self.close()
                raise ArrowConnectionLost() from None
            raise
        # psycopg gives Python ints (int64 columns) for every integer type; match it.
        for name in frame.columns:
            if frame[name].dtype in (np.int16, np.int32):
                frame[name] = frame[name].astype(np.int64)
        return frame

    def close(self) -> None:
        conn, self._conn, self._session = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a broken connection has nothing left to close cleanly
                pass


def fetch_single(
    conn: psycopg.Connection[Any],
    original: str,
    statement: Statement,
    params: Mapping[str, Any],
    *,
    arrow: ArrowFetcher | None,
    limit: int | None,
    report: Callable[[str], None],
) -> pd.DataFrame | None:
    """Fetch one read-only statement's rows by the fastest path; None if it is not one."""
    if arrow is None or not eligible_for_arrow(original, params):
        return None
    import psycopg

    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return None  # inside the user's transaction a failing probe would abort it: run it as written
    cap = SMALL_RESULT_ROWS if limit is None else min(limit, SMALL_RESULT_ROWS)
    probe = f"SELECT * FROM (\n{statement.text}\n) AS _alien_nb_probe LIMIT {cap + 1}"
    started = time.perf_counter()
    try:
        with conn.cursor() as cur:
            cur.execute(probe, params or None)
            if cur.description is None:
                return None
            oids = [col.type_code for col in cur.description]
            if (cur.rowcount <= cap) or (limit is not None and limit <= cap):
                return fetch_dataframe(cur, limit=limit)
    except psycopg.Error:
        if conn.closed:
            raise  # it broke with the statement sent: the caller must not run it again
        return None  # not wrappable (SELECT INTO, …): the caller runs it as written
    if not all(oid in _ARROW_FRIENDLY_OIDS for oid in oids):
        return None
    try:
        if not arrow.same_session_as(conn):
            return None
    except psycopg.Error:
        if conn.closed:
            raise
        return None
    except Exception:  # no ADBC connection (the driver's error, reworded): psycopg serves it
        arrow.close()
        return None
    sql, names = to_dollar_params(original)
    if limit is not None:
        sql = f"SELECT * FROM (\n{sql}\n) AS _alien_nb_limited LIMIT {int(limit)}"
    try:
        frame = arrow.fetch(sql, [params[n] for n in names])
    except ArrowConnectionLost:
        raise
    except Exception:
        arrow.close()
        return None
    elapsed = time.perf_counter() - started
    report(f"{len(frame):,} rows × {frame.shape[1]} columns in {elapsed:.2f} s (via Arrow)")
    return frame
