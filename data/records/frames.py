"""Query results as DataFrames, the shape every read of :mod:`data.records` returns."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Executable
from sqlalchemy.orm import Session


def frame_of(session: Session, query: Executable, columns: tuple[str, ...]) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame with ``columns``."""
    rows = session.execute(query).all()
    return pd.DataFrame.from_records(rows, columns=list(columns))


def with_nullable_ints(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``columns`` as pandas' nullable integers (a missing total stays missing, not NaN)."""
    for column in columns:
        frame[column] = frame[column].astype("Int64")
    return frame
