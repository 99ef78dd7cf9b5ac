"""A patient's trajectory for the care team: scores against infusions, response, relapse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import (
    BAND_COLOURS,
    INFUSION_COLOUR,
    RELAPSE_COLOUR,
    RESPONSE_COLOUR,
    ROUTE_NAMES,
    ROUTE_SYMBOLS,
    SCORE_COLOUR,
    XAxis,
    calendar_days,
)
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules


def _x(values: pd.Series, first_infusion: pd.Timestamp | None, x_axis: XAxis) -> pd.Series:
    days = calendar_days(values)
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
    first = calendar_days(ordered["administered_at"]).iloc[0] if len(ordered) else None
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
        hit = valid[calendar_days(valid["administered_at"]) == pd.Timestamp(response_date)]
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
            hit = valid[calendar_days(valid["administered_at"]) == pd.Timestamp(relapse_date)]
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
