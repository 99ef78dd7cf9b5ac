"""What every figure shares: colours, route symbols and the calendar-day axis."""

from __future__ import annotations

from typing import Literal

import pandas as pd

XAxis = Literal["date", "days"]

# Severity bands from calm to alarming; colour-blind-safe, light enough to read a line over.
BAND_COLOURS = ("#e8f5e9", "#f1f8e9", "#fff8e1", "#fff3e0", "#ffebee")
SCORE_COLOUR = "#1f4e79"
INFUSION_COLOUR = "#6a1b9a"
RESPONSE_COLOUR = "#2e7d32"
RELAPSE_COLOUR = "#c62828"
ROUTE_SYMBOLS = {
    "iv": "triangle-up",
    "im": "diamond",
    "intranasal_esketamine": "circle",
    "sublingual_oral": "square",
}
ROUTE_NAMES = {
    "iv": "IV ketamine",
    "im": "IM ketamine",
    "intranasal_esketamine": "intranasal esketamine",
    "sublingual_oral": "sublingual/oral ketamine",
}


def calendar_days(values: pd.Series) -> pd.Series:
    """Stored times (UTC) as naive calendar days, the x axis of every dated figure."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()
