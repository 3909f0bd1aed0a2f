"""`dataframe(db.sql(...))`: a query's result, known to be a frame, typed as one."""

from __future__ import annotations

import pandas as pd


def dataframe(result: object) -> pd.DataFrame:
    """Return `result`, asserting it is the DataFrame a query gives (not a statement's status)."""
    assert isinstance(result, pd.DataFrame), result
    return result
