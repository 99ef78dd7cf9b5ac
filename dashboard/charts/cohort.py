"""The clinic's figures: survival curves, mean trajectory, rates and the induction funnel."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import RESPONSE_COLOUR, SCORE_COLOUR
from outcomes.instruments import Instrument, get_instrument


def survival_figure(
    curve: pd.DataFrame, *, title: str, y_title: str, colour: str = SCORE_COLOUR
) -> go.Figure:
    """A Kaplan-Meier step curve with its confidence band (from :mod:`outcomes.survival`)."""
    figure = go.Figure()
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


def rates_figure(
    rates: pd.DataFrame, *, references: Mapping[str, float] | None = None
) -> go.Figure:
    """Response and remission rates per time point, each bar labelled with its n.

    ``rates`` is :func:`outcomes.cohort.response_rates` output with small groups already
    suppressed (``response_rate`` NaN where n < 5); ``references`` draws published rates as
    horizontal lines (e.g. ``{"community response 53.6%": 0.536}``).
    """
    labels = [str(t).replace("_", " ") for t in rates["timepoint"]]
    figure = go.Figure()
    for column, n_column, name, colour in (
        ("response_rate", "assessed", "response", RESPONSE_COLOUR),
        ("remission_rate", "remission_eligible", "remission", "#00838f"),
    ):
        figure.add_trace(
            go.Bar(
                x=labels,
                y=rates[column],
                name=name,
                marker_color=colour,
                text=[f"n={n}" for n in rates[n_column]],
                textposition="outside",
                hovertemplate=f"{name} %{{y:.0%}} (%{{text}})<extra></extra>",
            )
        )
    for label, value in (references or {}).items():
        figure.add_hline(
            y=value,
            line_dash="dash",
            line_color="#555",
            name=f"reference:{label}",
            annotation_text=label,
            annotation_position="top left",
        )
    figure.update_layout(
        title="Response and remission",
        barmode="group",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def funnel_figure(stages: Mapping[str, int]) -> go.Figure:
    """How many patients reached each step of the course (infusion 1 to maintenance)."""
    figure = go.Figure(
        go.Funnel(y=list(stages), x=list(stages.values()), textinfo="value+percent initial")
    )
    figure.update_layout(title="Induction completion", margin={"l": 160})
    return figure
