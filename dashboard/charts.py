"""Chart builders: plain functions that take data and return a Plotly figure.

No Streamlit and no database here, so every figure is tested on its traces, shapes and
annotations without a browser (``tests/test_dashboard/test_charts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go

from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules

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


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()


def _x(values: pd.Series, first_infusion: pd.Timestamp | None, x_axis: XAxis) -> pd.Series:
    days = _dates(values)
    if x_axis == "days" and first_infusion is not None:
        return (days - first_infusion).dt.days
    return days


def _x_of(day: Any, first_infusion: pd.Timestamp | None, x_axis: XAxis) -> Any:
    stamp = pd.Timestamp(day).tz_localize(None) if pd.Timestamp(day).tzinfo else pd.Timestamp(day)
    stamp = stamp.normalize()
    if x_axis == "days" and first_infusion is not None:
        return int((stamp - first_infusion).days)
    return stamp


def _value(course: Mapping[str, Any] | None, key: str) -> Any:
    if course is None:
        return None
    value = course.get(key)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def trajectory_figure(
    instrument: str | Instrument,
    scores: pd.DataFrame,
    infusions: pd.DataFrame,
    course: Mapping[str, Any] | None = None,
    *,
    rules: Rules = DEFAULT_RULES,
    x_axis: XAxis = "date",
) -> go.Figure:
    """A patient's scores over time against their infusions.

    Parameters
    ----------
    instrument : str or Instrument
    scores : DataFrame
        ``administered_at`` and ``total`` (NA totals are left out).
    infusions : DataFrame
        ``administered_at`` and ``route`` (optionally ``dose_mg_per_kg``, ``dose_mg``).
    course : mapping, optional
        One row of :func:`outcomes.course.course_outcomes`: baseline, response, relapse...
    rules : Rules
        For the remission threshold.
    x_axis : {"date", "days"}
        Calendar dates, or days since the first infusion.

    Returns
    -------
    go.Figure
        Severity bands (shapes named ``band:<label>``), the score trace, baseline, response
        (the clinic's ``response_min_drop`` below baseline) and remission lines (shapes
        ``baseline``, ``response_line``, ``remission_line``), each
        infusion as a numbered marker (trace ``Infusions``) and dotted line (``infusion:<n>``),
        onset and relapse markers (traces ``Onset``, ``Relapse``) and the durable response
        span (shape ``durable_response``).
    """
    definition = get_instrument(instrument)
    instrument_rules = rules.for_instrument(definition)
    valid = scores[scores["total"].notna()].sort_values("administered_at")
    ordered = infusions.sort_values("administered_at")
    first = _dates(ordered["administered_at"]).iloc[0] if len(ordered) else None
    use_days = x_axis == "days" and first is not None
    figure = go.Figure()
    # Shapes and annotations are collected as plain dicts and set in one layout update:
    # figure.add_hrect/add_vline re-validate the whole layout on every call, which made a
    # patient with 25 infusions take a third of a second to draw.
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []

    def note(text: str, **where: Any) -> None:
        notes.append({"text": text, "showarrow": False, **where})

    def horizontal(name: str, y: float, colour: str, dash: str, text: str, side: str) -> None:
        shapes.append(
            {
                "type": "line",
                "name": name,
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": y,
                "y1": y,
                "line": {"color": colour, "dash": dash, "width": 1.5},
            }
        )
        note(
            text,
            xref="paper",
            x=1 if side == "right" else 0,
            yref="y",
            y=y,
            xanchor=side,
            yanchor="bottom",
            font={"size": 11, "color": colour},
        )

    for colour, band in zip(BAND_COLOURS * 2, definition.bands, strict=False):
        shapes.append(
            {
                "type": "rect",
                "name": f"band:{band.label}",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": band.lower - 0.5,
                "y1": band.upper + 0.5,
                "fillcolor": colour,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        note(
            band.label.replace("_", " "),
            xref="paper",
            x=0,
            yref="y",
            y=band.upper + 0.5,
            xanchor="left",
            yanchor="top",
            font={"size": 10, "color": "#777"},
        )

    baseline = _value(course, "baseline_total")
    if baseline is not None:
        horizontal("baseline", baseline, "#455a64", "dash", f"baseline {baseline}", "right")
        keep = 1 - rules.response_min_drop
        horizontal(
            "response_line",
            float(baseline * keep),
            RESPONSE_COLOUR,
            "dot",
            f"response: {float(keep):.0%} of baseline",
            "right",
        )
    if instrument_rules.remission_max_total is not None:
        horizontal(
            "remission_line",
            instrument_rules.remission_max_total + 0.5,
            "#00838f",
            "dot",
            f"remission: {instrument_rules.remission_max_total} or less",
            "left",
        )

    figure.add_trace(
        go.Scatter(
            x=_x(valid["administered_at"], first, x_axis),
            y=valid["total"].astype(float),
            mode="lines+markers",
            name=f"{definition.name} total",
            line={"color": SCORE_COLOUR, "width": 2.5},
            marker={"size": 8},
            hovertemplate="%{x}<br>score %{y}<extra></extra>",
        )
    )

    if len(ordered):
        infusion_x = list(_x(ordered["administered_at"], first, x_axis))
        routes = list(ordered.get("route", pd.Series(["iv"] * len(ordered))))
        for number, x in enumerate(infusion_x, start=1):
            shapes.append(
                {
                    "type": "line",
                    "name": f"infusion:{number}",
                    "xref": "x",
                    "x0": x,
                    "x1": x,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "opacity": 0.4,
                    "line": {"color": INFUSION_COLOUR, "width": 1, "dash": "dot"},
                }
            )
        max_total = definition.max_total or 1
        figure.add_trace(
            go.Scatter(
                x=infusion_x,
                y=[max_total * 1.02] * len(infusion_x),
                mode="markers+text",
                name="Infusions",
                text=[str(n) for n in range(1, len(infusion_x) + 1)],
                textposition="top center",
                marker={
                    "symbol": [ROUTE_SYMBOLS.get(r, "circle") for r in routes],
                    "size": 11,
                    "color": INFUSION_COLOUR,
                },
                customdata=[ROUTE_NAMES.get(r, r) for r in routes],
                hovertemplate="infusion %{text}: %{customdata}<br>%{x}<extra></extra>",
            )
        )

    response_date = _value(course, "response_date")
    if response_date is not None:
        hit = valid[_dates(valid["administered_at"]) == pd.Timestamp(response_date)]
        infusions_to = _value(course, "infusions_to_response")
        days_to = _value(course, "days_to_response")
        figure.add_trace(
            go.Scatter(
                x=[_x_of(response_date, first, x_axis)],
                y=[float(hit["total"].iloc[0])] if len(hit) else [None],
                mode="markers",
                name="Onset",
                marker={"symbol": "star", "size": 18, "color": RESPONSE_COLOUR},
                hovertemplate=(
                    f"response after {infusions_to} infusions, day {days_to}<extra></extra>"
                ),
            )
        )
        relapse_date = _value(course, "relapse_date")
        end = relapse_date or _value(course, "latest_date") or response_date
        start_x, end_x = _x_of(response_date, first, x_axis), _x_of(end, first, x_axis)
        shapes.append(
            {
                "type": "rect",
                "name": "durable_response",
                "xref": "x",
                "x0": start_x,
                "x1": end_x,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "fillcolor": RESPONSE_COLOUR,
                "opacity": 0.08,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        held = f"response held {_value(course, 'durable_response_days')} days"
        note(
            held + ("" if relapse_date else "+"),
            xref="x",
            x=start_x,
            yref="paper",
            y=0,
            xanchor="left",
            yanchor="bottom",
            font={"size": 11, "color": RESPONSE_COLOUR},
        )
        if relapse_date is not None:
            hit = valid[_dates(valid["administered_at"]) == pd.Timestamp(relapse_date)]
            figure.add_trace(
                go.Scatter(
                    x=[_x_of(relapse_date, first, x_axis)],
                    y=[float(hit["total"].iloc[0])] if len(hit) else [None],
                    mode="markers",
                    name="Relapse",
                    marker={"symbol": "x", "size": 16, "color": RELAPSE_COLOUR},
                    hovertemplate="relapse (confirmed on the next score)<extra></extra>",
                )
            )

    figure.update_layout(shapes=shapes, annotations=notes)
    figure.update_layout(
        title=f"{definition.name} over time",
        xaxis_title="days since first infusion" if use_days else "date",
        yaxis_title=f"{definition.name} total",
        yaxis_range=[-0.5, (definition.max_total or 1) * 1.1],
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        hovermode="closest",
    )
    return figure


def progress_figure(
    instrument: str | Instrument, scores: pd.DataFrame, infusions: pd.DataFrame
) -> go.Figure:
    """A patient's own view: their scores and treatment days, in plain words."""
    definition = get_instrument(instrument)
    valid = scores[scores["total"].notna()].sort_values("administered_at")
    figure = go.Figure(
        go.Scatter(
            x=_dates(valid["administered_at"]),
            y=valid["total"].astype(float),
            mode="lines+markers",
            name="your score",
            line={"color": SCORE_COLOUR, "width": 3},
            marker={"size": 9},
            hovertemplate="%{x|%b %d}: %{y}<extra></extra>",
        )
    )
    treatment_days = _dates(infusions["administered_at"]).sort_values()
    figure.update_layout(
        shapes=[
            {
                "type": "line",
                "name": f"treatment:{number}",
                "xref": "x",
                "x0": day,
                "x1": day,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "opacity": 0.5,
                "line": {"color": INFUSION_COLOUR, "dash": "dot", "width": 1},
            }
            for number, day in enumerate(treatment_days, start=1)
        ]
    )
    figure.update_layout(
        title="Your scores (lower means fewer symptoms)",
        xaxis_title="",
        yaxis_title="score",
        yaxis_range=[-0.5, (definition.max_total or 1) + 0.5],
        showlegend=False,
        margin={"l": 30, "r": 10, "t": 50, "b": 30},
    )
    return figure


def item_heatmap(instrument: str | Instrument, assessments: pd.DataFrame) -> go.Figure:
    """Which symptoms moved: one row per scored item, one column per administration."""
    definition = get_instrument(instrument)
    ordered = assessments.sort_values("administered_at")
    keys = list(definition.scored_item_keys)
    values = [
        [
            (answers or {}).get(key) if isinstance(answers, Mapping) else None
            for answers in ordered["answers"]
        ]
        for key in keys
    ]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=[d.strftime("%Y-%m-%d") for d in _dates(ordered["administered_at"])],
            y=[f"{definition.item(k).short_name}" for k in keys],
            zmin=definition.min_value,
            zmax=definition.max_value,
            colorscale="YlOrRd",
            colorbar={"title": "answer"},
            hovertemplate="%{y}<br>%{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"{definition.name} items over time",
        yaxis_autorange="reversed",
        margin={"l": 160, "r": 20, "t": 50, "b": 40},
    )
    return figure


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
