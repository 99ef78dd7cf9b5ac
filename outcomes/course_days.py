"""Calendar days of assessment and infusion dates, and packed (patient, day) sort keys.

Every course rule works on calendar dates, like ``shared/clinical/scoring-spec.md`` §3 ("day
counts are calendar-day differences"). :func:`calendar_days` turns a column of dates,
datetimes or ISO strings into day numbers once; the vectorised course code
(:mod:`outcomes.alignment`, :mod:`outcomes.course`) then orders all patients' rows with one
int64 key per row, patient first and day second (:func:`day_keys`), so that a single sort
and binary searches replace a loop over patients.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.errors import ScoringError

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A day number (days since 1970) fits in 32 bits for any date within five million years, and
# patient codes count patients: code * 2**32 + (day + 2**31) orders by patient, then by day.
DAY_SPAN = np.int64(1 << 32)
"""Distance between two patients' blocks of packed keys."""
DAY_OFFSET = np.int64(1 << 31)
"""Added to a day number so that days before 1970 pack as non-negative numbers."""


def day_keys(codes: IntArray, days: IntArray) -> IntArray:
    """Packed sort keys of (patient code, day number) pairs; see :data:`DAY_SPAN`."""
    keys: IntArray = codes * DAY_SPAN + (days + DAY_OFFSET)
    return keys


def key_days(keys: IntArray) -> IntArray:
    """The day numbers of packed keys (the inverse of :func:`day_keys` for the day)."""
    days: IntArray = keys % DAY_SPAN - DAY_OFFSET
    return days


def calendar_days(values: pd.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of dates, datetimes or ISO strings."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        # Already parsed, as the database returns them: to_datetime would still turn a sample
        # of the values into Python objects to decide whether to cache, for nothing.
        stamps = values
    else:
        try:
            with warnings.catch_warnings():
                # pandas' notice that mixed offsets will need utc=True: handled just below.
                warnings.simplefilter("ignore", FutureWarning)
                stamps = pd.to_datetime(values, utc=False, format="mixed")
            if not pd.api.types.is_datetime64_any_dtype(stamps.dtype):
                # Texts with different UTC offsets come back as Python objects: their days
                # are counted in UTC, as the app stores every time.
                stamps = pd.to_datetime(values, utc=True, format="mixed")
        except (ValueError, TypeError) as error:
            raise ScoringError(
                f"administered_at holds a value that is not a date: {error}"
            ) from None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    if stamps.isna().any():
        raise ScoringError("administered_at is empty on some rows; every row needs its date")
    days: np.ndarray = stamps.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return days


def frame_days(frame: pd.DataFrame) -> IntArray:
    """:func:`calendar_days` of ``frame["administered_at"]`` (an empty frame has none)."""
    if not len(frame):
        return np.zeros(0, np.int64)
    days: IntArray = calendar_days(frame["administered_at"])
    return days


def require_columns(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    """Raise :class:`~outcomes.errors.ScoringError` unless ``frame`` has ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise ScoringError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringError(f"{name} needs the column(s) {', '.join(missing)}")


def patient_codes(*keys: pd.Series) -> tuple[list[np.ndarray], pd.Index]:
    """Codes 0..n-1 of the patient ids of several columns, shared, and the ids in code order."""
    # Leave out empty frames: pandas is deprecating their exclusion from the dtype of a concat.
    combined = pd.concat([key for key in keys if len(key)] or keys, ignore_index=True)
    codes, uniques = pd.factorize(combined, sort=True)
    out: list[np.ndarray] = []
    start = 0
    for key in keys:
        out.append(codes[start : start + len(key)].astype(np.int64))
        start += len(key)
    return out, pd.Index(uniques)


def patient_index(*ids: pd.Series) -> pd.Index:
    """Every patient id of the columns, ordered by ``str(id)`` (then by id).

    This is the row order of :func:`outcomes.course.course_outcomes`. Sorting the distinct ids
    (not the rows) in Python keeps that order exactly, including ``10`` before ``2`` for
    integer ids, at a cost of milliseconds for 10,000 patients.
    """
    seen: set[Any] = set()
    for series in ids:
        seen |= set(series.unique())
    index: pd.Index = pd.Index(sorted(seen, key=lambda p: (str(p), p)), name="patient_id")
    return index
