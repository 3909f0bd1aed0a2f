"""Query results into pandas."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import psycopg


def fetch_dataframe(
    cur: psycopg.Cursor[Any], *, limit: int | None = None, on_rows: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """The cursor's rows as a DataFrame with the result's column names.

    ``limit`` keeps at most that many rows. The rows are already on the
    client after ``execute``; building the frame from row tuples in one call
    is the cheapest pandas path for psycopg results.
    """
    import pandas as pd

    columns = [col.name for col in cur.description or ()]
    rows = cur.fetchall() if limit is None else cur.fetchmany(limit)
    if on_rows is not None:
        on_rows(len(rows))
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns}, columns=columns)
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
