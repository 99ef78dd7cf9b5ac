"""What every figure shares: colours, route symbols and the axes of days."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import pandas as pd

XAxis = Literal["date", "days"]

# How every page draws a figure: st.plotly_chart(figure, config=PLOTLY_CONFIG). Plotly's
# toolbar (zoom, pan, autoscale, download...) put eight Tab stops on each chart, before the
# page's next control, and serves nobody here: the figures are read, not explored, and the
# numbers are in the table beside each one. Hover still shows a point's values.
PLOTLY_CONFIG: dict[str, Any] = {"displayModeBar": False}

# Severity bands from calm to alarming; colour-blind-safe, light enough to read a line over.
BAND_COLOURS = ("#e8f5e9", "#f1f8e9", "#fff8e1", "#fff3e0", "#ffebee")
SCORE_COLOUR = "#1f4e79"
INFUSION_COLOUR = "#6a1b9a"
RESPONSE_COLOUR = "#2e7d32"
RELAPSE_COLOUR = "#c62828"
NEUTRAL_COLOUR = "#757575"
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

# A day is the smallest step a clinic reads a course in: scores and infusions are placed on
# calendar days, so a tick between two days ("12:00") would only say something false.
DAY_MS = 86_400_000
# More ticks than this crowd a phone-wide chart; fewer leave a two-year course unreadable.
MAX_TICKS = 8
DAY_STEPS = (1, 2, 7, 14)
MONTH_STEPS = (1, 2, 3, 6, 12)
DAY_NUMBER_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364)
DAY_TICK_FORMAT = "%-d %b<br>%Y"
MONTH_TICK_FORMAT = "%b<br>%Y"
HOVER_DATE_FORMAT = "%-d %b %Y"

# Labels placed on a figure are kept apart as if the plot were this wide (a narrow desktop
# column; Streamlit's wide layout gives more, a phone less), at about this many pixels a
# character of the 11 px font, with this gap between two labels.
PLOT_WIDTH_PX = 500
LABEL_CHAR_PX = 7
LABEL_GAP_PX = 4


def band_shape(label: str, lower: float, upper: float, colour: str) -> dict[str, Any]:
    """A severity band as a shape across the whole width behind the data, named
    ``band:<label>``: the same on the care team's chart and the patient's own."""
    return {
        "type": "rect",
        "name": f"band:{label}",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": lower - 0.5,
        "y1": upper + 0.5,
        "fillcolor": colour,
        "line": {"width": 0},
        "layer": "below",
    }


def calendar_days(values: pd.Series) -> pd.Series:
    """Stored times (UTC) as naive calendar days, the x axis of every dated figure."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()


def calendar_day(value: Any) -> pd.Timestamp:
    """One date or time (naive or UTC) as a naive calendar day."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def change_colour(change: float | None) -> str:
    """The colour of a change in score: every scale here is "lower is better".

    A fall is good news (green), a rise bad news (red), no change or no comparison neutral
    (grey); a figure that colours a change takes it from here, never from the sign alone.
    """
    if change is None or (isinstance(change, float) and math.isnan(change)) or change == 0:
        return NEUTRAL_COLOUR
    return RESPONSE_COLOUR if change < 0 else RELAPSE_COLOUR


def date_axis(days: Iterable[Any]) -> dict[str, Any]:
    """Layout of a calendar x axis whose ticks are whole days, whatever the span.

    Parameters
    ----------
    days : iterable of dates or times
        Everything the figure places on the axis (NA left out).

    Returns
    -------
    dict
        ``xaxis`` settings: linear ticks every 1, 2, 7 or 14 days from the first day (at
        midnight), or every 1, 2, 3, 6 or 12 months from a month's first day, so that at most
        :data:`MAX_TICKS` ticks show; labels are dates, never times; the range pads the
        first and last day by half a day (or 3% of the span) so their markers are not cut.

    Notes
    -----
    The step is fixed (``tickmode="linear"``) rather than Plotly's automatic choice, which
    puts ticks every few hours on a short history ("00:00 / 12:00") and again on zooming in.
    """
    stamps = sorted(calendar_day(d) for d in days if d is not None and not pd.isna(d))
    axis: dict[str, Any] = {
        "type": "date",
        "tickmode": "linear",
        "hoverformat": HOVER_DATE_FORMAT,
    }
    if not stamps:
        return {**axis, "dtick": DAY_MS, "tickformat": DAY_TICK_FORMAT}
    first, last = stamps[0], stamps[-1]
    span = (last - first).days
    pad = max(pd.Timedelta(hours=12), (last - first) * 0.03)
    axis["range"] = [first - pad, last + pad]
    for step in DAY_STEPS:
        if span // step + 1 <= MAX_TICKS:
            return {**axis, "tick0": first, "dtick": step * DAY_MS, "tickformat": DAY_TICK_FORMAT}
    low, high = axis["range"]
    # Month ticks count from a January the 1st, so 3-, 6- and 12-month steps land on quarters;
    # the smallest step whose ticks inside the range are few enough wins.
    months = (high.year - low.year) * 12 + high.month - low.month
    steps = [*MONTH_STEPS, 12 * math.ceil(months / 12 / (MAX_TICKS - 2))]
    step = next(m for m in steps if _month_ticks(low, high, m) <= MAX_TICKS)
    return {
        **axis,
        "tick0": pd.Timestamp(first.year, 1, 1),
        "dtick": f"M{step}",
        "tickformat": MONTH_TICK_FORMAT,
    }


def _month_ticks(low: pd.Timestamp, high: pd.Timestamp, step: int) -> int:
    """How many first-of-month ticks, every ``step`` months from January, fall in the range."""
    start = low.year * 12 + low.month - 1 + (0 if low == low.normalize() and low.day == 1 else 1)
    end = high.year * 12 + high.month - 1
    return sum(1 for month in range(start, end + 1) if month % step == 0)


def day_number_axis(numbers: Iterable[Any]) -> dict[str, Any]:
    """Layout of a "days since the first infusion" x axis: whole days, at most MAX_TICKS ticks.

    Steps of 1 or 2 days, then whole weeks (7, 14, 28 days...), counted from day 0.
    """
    values = sorted(float(n) for n in numbers if n is not None and not pd.isna(n))
    axis: dict[str, Any] = {"type": "linear", "tickmode": "linear", "tick0": 0, "tickformat": "d"}
    if not values:
        return {**axis, "dtick": 1}
    span = values[-1] - values[0]
    pad = max(0.5, span * 0.03)
    step = next(
        (s for s in DAY_NUMBER_STEPS if span // s + 1 <= MAX_TICKS),
        364 * math.ceil(span / 364 / (MAX_TICKS - 1)),
    )
    return {**axis, "dtick": step, "range": [values[0] - pad, values[-1] + pad]}


def label_lanes(
    positions: Iterable[float], texts: Iterable[str], *, span: float, lanes: int = 2
) -> list[int | None]:
    """Which lane (0, 1, ...) each label goes in so that none collides, or None to leave it out.

    Parameters
    ----------
    positions : iterable of float
        Where each label is centred, in axis units, in drawing order.
    texts : iterable of str
        The labels.
    span : float
        The axis range in the same units (its width at :data:`PLOT_WIDTH_PX`).
    lanes : int
        How many rows labels may be staggered over.

    Returns
    -------
    list of int or None
        A label takes the first lane in which it clears the previous label by
        :data:`LABEL_GAP_PX`; a label that fits in no lane is left out (its marker and hover
        stay), which keeps the numbers that show readable rather than stacked.
    """
    per_px = span / PLOT_WIDTH_PX if span > 0 else 0.0
    ends: list[float | None] = [None] * lanes
    placed: list[int | None] = []
    for position, text in zip(positions, texts, strict=True):
        half = len(text) * LABEL_CHAR_PX / 2 * per_px
        lane = next(
            (i for i, end in enumerate(ends) if end is None or position - half >= end),
            None,
        )
        if lane is not None:
            ends[lane] = position + half + LABEL_GAP_PX * per_px
        placed.append(lane)
    return placed
