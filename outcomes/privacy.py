"""Small-cell suppression for aggregates shown to administrators.

Any group of fewer than :data:`MIN_GROUP` patients is shown as ``"< 5"``, never exactly, so
that an aggregate cannot single out a patient (the common small-cell rule of health
statistics; e.g. CMS cell-size suppression policy, cells 1-10; NHS Digital uses < 5/< 10).
"""

from __future__ import annotations

import pandas as pd

MIN_GROUP = 5
SMALL = f"< {MIN_GROUP}"


def shown_count(n: int) -> str:
    """A count as it may be shown: exact from 5 up, ``"< 5"`` below (0 stays 0)."""
    return str(n) if n == 0 or n >= MIN_GROUP else SMALL


def suppress_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """:func:`outcomes.cohort.response_rates` made safe to show.

    Counts below 5 become ``"< 5"``; a rate whose denominator is below 5 becomes NaN (its
    numerator could otherwise be worked out).
    """
    shown = rates.copy()
    for rate, denominator in (
        ("response_rate", "assessed"),
        ("remission_rate", "remission_eligible"),
    ):
        small = (shown[denominator] > 0) & (shown[denominator] < MIN_GROUP)
        shown.loc[small, rate] = float("nan")
    for column in (
        "eligible",
        "assessed",
        "missing",
        "responders",
        "remission_eligible",
        "remitters",
    ):
        shown[column] = shown[column].map(lambda n: shown_count(int(n)))
    return shown


def suppress_group_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`outcomes.cohort.outcomes_by_group` made safe to show: groups under 5 patients
    show ``"< 5"`` and no rates; counts under 5 within larger groups show ``"< 5"``."""
    shown = table.copy()
    small = shown["patients"] < MIN_GROUP
    for rate in ("response_rate", "remission_rate"):
        shown.loc[small, rate] = float("nan")
    for column in ("patients", "responded", "remitted"):
        shown[column] = shown[column].map(lambda n: shown_count(int(n)))
    return shown
