"""The clinic's figures: survival curves, mean trajectory, rates, completeness and the funnel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import RESPONSE_COLOUR, SCORE_COLOUR
from outcomes.instruments import Instrument, get_instrument
from outcomes.reporting import ReferenceRates
from outcomes.timepoints import timepoint_label


def curve_steps(curve: pd.DataFrame) -> pd.DataFrame:
    """The rows of a Kaplan-Meier curve where the drawn step curve or its band changes, and the
    last row (where the line ends).

    A day with censorings but no event repeats the estimate and its interval: drawn as
    steps ("hv"), such a row adds a point but no corner, so leaving it out keeps every
    step's shape exactly while the figure carries only the points it shows (the table
    beside the chart keeps every day).
    """
    if len(curve) <= 2:
        return curve
    values = curve[["probability", "ci_lower", "ci_upper"]].astype(float)
    changed = values.ne(values.shift()).any(axis=1).to_numpy()
    changed[0] = changed[-1] = True
    return curve[changed]


def survival_figure(
    curve: pd.DataFrame, *, title: str, y_title: str, colour: str = SCORE_COLOUR
) -> go.Figure:
    """A Kaplan-Meier step curve with its confidence band (from :mod:`outcomes.survival`),
    drawn through :func:`curve_steps`."""
    figure = go.Figure()
    curve = curve_steps(curve)
    if not curve.empty:
        figure.add_trace(
            go.Scatter(
                x=list(curve["days"]) + list(curve["days"])[::-1],
                y=list(curve["ci_upper"]) + list(curve["ci_lower"])[::-1],
                fill="toself",
                fillcolor="rgba(31, 78, 121, 0.15)",
                line={"width": 0, "shape": "hv"},
                name="95% confidence band",
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=curve["days"],
                y=curve["probability"],
                mode="lines",
                line={"shape": "hv", "color": colour, "width": 2.5},
                name="Kaplan-Meier estimate",
                customdata=curve["at_risk"],
                hovertemplate="day %{x}: %{y:.0%}<br>at risk %{customdata}<extra></extra>",
            )
        )
    figure.update_layout(
        title=title,
        xaxis_title="days",
        yaxis_title=y_title,
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.02],
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def mean_trajectory_figure(weekly: pd.DataFrame, *, instrument: str | Instrument) -> go.Figure:
    """Mean score by week since the first infusion with its 95% confidence band and n."""
    definition = get_instrument(instrument)
    banded = weekly.dropna(subset=["ci_lower", "ci_upper"])
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=list(banded["week"]) + list(banded["week"])[::-1],
            y=list(banded["ci_upper"]) + list(banded["ci_lower"])[::-1],
            fill="toself",
            fillcolor="rgba(31, 78, 121, 0.15)",
            line={"width": 0},
            name="95% confidence band",
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=weekly["week"],
            y=weekly["mean"],
            mode="lines+markers",
            name="mean score",
            line={"color": SCORE_COLOUR, "width": 2.5},
            customdata=weekly["n"],
            hovertemplate="week %{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Mean {definition.name} by week since first infusion",
        xaxis_title="week (0 = baseline)",
        yaxis_title=f"mean {definition.name}",
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


Measure = Literal["response", "remission"]

# (column prefix, legend name, colour): the two denominators side by side (spec §5).
_RATE_SERIES = (
    ("", "assessed only", RESPONSE_COLOUR),
    ("started_", "everyone who started", SCORE_COLOUR),
)


# Visible over both bar colours, and told apart from each other.
_REFERENCE_COLOURS = ("#e65100", "#ad1457", "#f9a825")


def _denominators(rates: pd.DataFrame, measure: Measure, prefix: str) -> tuple[str, str]:
    if measure == "response":
        return f"{prefix}responders", "started" if prefix else "assessed"
    return f"{prefix}remitters", "started" if prefix else "remission_eligible"


def rates_figure(
    rates: pd.DataFrame,
    *,
    measure: Measure = "response",
    references: Sequence[ReferenceRates] = (),
) -> go.Figure:
    """Response (or remission) per time point: assessed only beside everyone who started.

    ``rates`` is :func:`outcomes.cohort.response_rates` output, suppressed or not
    (:func:`outcomes.reporting.suppress_rate_table`: a rate is NaN where its denominator is
    under 5, counts may read ``"< 5"``). Each bar carries its Wilson 95% interval and is
    labelled "x of n". A published reference (:data:`outcomes.reporting.REFERENCES`) is
    drawn as a short mark *only* over the time point its source defined, never across the
    chart; a reference whose time point is not in ``rates`` is not drawn.
    """
    labels = [timepoint_label(str(t)) for t in rates["timepoint"]]
    figure = go.Figure()
    for prefix, name, colour in _RATE_SERIES:
        rate = rates[f"{prefix}{measure}_rate"].astype(float)
        low = rates[f"{prefix}{measure}_low"].astype(float)
        high = rates[f"{prefix}{measure}_high"].astype(float)
        successes, total = _denominators(rates, measure, prefix)
        counts = [f"{x} of {n}" for x, n in zip(rates[successes], rates[total], strict=True)]
        figure.add_trace(
            go.Bar(
                x=labels,
                y=rate,
                name=name,
                marker_color=colour,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (high - rate).tolist(),
                    "arrayminus": (rate - low).tolist(),
                    "color": "#333",
                },
                text=counts,
                # inside, at the foot of the bar: outside, the interval's whisker crosses it
                textposition="inside",
                insidetextanchor="start",
                textangle=0,
                textfont={"color": "white"},
                customdata=list(zip(low, high, strict=True)),
                hovertemplate=(
                    f"{name}: %{{y:.1%}} (%{{text}})<br>95% interval "
                    "%{customdata[0]:.1%} to %{customdata[1]:.1%}<extra></extra>"
                ),
            )
        )
    shown = dict(zip(rates["timepoint"], labels, strict=True))
    for reference, mark_colour in zip(references, _REFERENCE_COLOURS, strict=False):
        if reference.timepoint not in shown:
            continue
        value = reference.response if measure == "response" else reference.remission
        figure.add_trace(
            go.Scatter(
                x=[shown[reference.timepoint]],
                y=[value],
                mode="markers",
                marker={
                    "symbol": "line-ew-open",
                    "size": 70,
                    "color": mark_colour,
                    "line": {"width": 4, "color": mark_colour},
                },
                name=f"{reference.name} {measure} {value:.1%} (published)",
                hovertemplate=f"{reference.name}: {value:.1%}<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{measure.capitalize()} at each time point",
        barmode="group",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.1],
        yaxis_title=f"share with a {measure}",
        legend={"orientation": "h", "y": -0.3},
    )
    return figure


def completeness_figure(weekly: pd.DataFrame) -> go.Figure:
    """Share of expected weekly check-ins received, week by week
    (:func:`outcomes.completeness.weekly_completeness`), each bar labelled "x of n"."""
    labels = [f"{end:%d %b}" for end in weekly["week_end"]]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=weekly["share"],
            marker_color=SCORE_COLOUR,
            text=[
                f"{r} of {e}" for r, e in zip(weekly["received"], weekly["expected"], strict=True)
            ],
            textposition="outside",
            name="check-ins received",
            hovertemplate="week to %{x}: %{y:.0%} (%{text})<extra></extra>",
        )
    )
    figure.update_layout(
        title="Weekly check-ins received",
        xaxis_title="week ending",
        yaxis_title="share received",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.1],
    )
    return figure


def funnel_figure(stages: Mapping[str, int]) -> go.Figure:
    """How many patients reached each step of the course (infusion 1 to maintenance)."""
    figure = go.Figure(
        go.Funnel(y=list(stages), x=list(stages.values()), textinfo="value+percent initial")
    )
    figure.update_layout(title="Induction completion", margin={"l": 160})
    return figure
