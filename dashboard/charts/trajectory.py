"""A patient's trajectory for the care team: scores against infusions, response episodes,
relapses and safety alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import (
    BAND_COLOURS,
    INFUSION_COLOUR,
    NEUTRAL_COLOUR,
    RELAPSE_COLOUR,
    RESPONSE_COLOUR,
    ROUTE_NAMES,
    ROUTE_SYMBOLS,
    SCORE_COLOUR,
    XAxis,
    band_shape,
    calendar_day,
    calendar_days,
    change_colour,
    date_axis,
    day_number_axis,
    label_lanes,
)
from dashboard.plain import alert_label
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules

# Rows above the highest possible score, as fractions of it: the infusion markers, with their
# numbers staggered just above (lane 0) and just below (lane 1), clear of the marker and of
# the top band's label (about 13 px either way on a 450 px high figure).
INFUSION_ROW = 1.085
LANE_OFFSETS = (0.045, -0.045)
TOP = 1.17
# The safety alert row sits below zero, in a strip of its own, when there are alerts.
ALERT_ROW = -0.045
ALERT_BOTTOM = -0.09


class EpisodeLike(Protocol):
    """What the chart reads of a response episode (``outcomes``' ``Episode`` fits)."""

    @property
    def number(self) -> int: ...

    @property
    def response_date(self) -> Any: ...

    @property
    def relapse_date(self) -> Any: ...


def _x(values: pd.Series, first_infusion: pd.Timestamp | None, x_axis: XAxis) -> pd.Series:
    days = calendar_days(values)
    if x_axis == "days" and first_infusion is not None:
        return (days - first_infusion).dt.days
    return days


def _x_of(day: Any, first_infusion: pd.Timestamp | None, x_axis: XAxis) -> Any:
    stamp = calendar_day(day)
    if x_axis == "days" and first_infusion is not None:
        return int((stamp - first_infusion).days)
    return stamp


def _in_days(x: Any) -> float:
    """An x value (a day or a day number) as a number of days, to measure label room."""
    if isinstance(x, pd.Timestamp):
        return float((x - pd.Timestamp(0)) / pd.Timedelta(days=1))
    return float(x)


def _day_text(day: Any) -> str:
    stamp = calendar_day(day)
    return f"{stamp.day} {stamp:%b %Y}"


def _value(course: Mapping[str, Any] | None, key: str) -> Any:
    if course is None:
        return None
    value = course.get(key)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _present(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def trajectory_figure(
    instrument: str | Instrument,
    scores: pd.DataFrame,
    infusions: pd.DataFrame,
    course: Mapping[str, Any] | None = None,
    *,
    rules: Rules = DEFAULT_RULES,
    x_axis: XAxis = "date",
    episodes: Sequence[EpisodeLike] | None = None,
    alerts: pd.DataFrame | None = None,
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
        Calendar dates, or days since the first infusion; either way ticks are whole days.
    episodes : sequence, optional
        The response episodes (``outcomes``' ``Episode``: anything with ``number``,
        ``response_date`` and ``relapse_date``, optionally ``durable_response_days``). When
        given they replace the course's own response and relapse marks (episode 1 is the
        same response): each response is a star labelled "response" (episode 1) or
        "episode N", each relapse a cross, each episode a shaded span ``episode:<n>``.
    alerts : DataFrame, optional
        ``created_at``, ``kind`` and ``acknowledged_at``: each safety alert is a diamond on
        a row below the scores and a vertical line (``alert:<n>``), open ones filled on a
        solid line (trace "safety alert, open"), acknowledged ones hollow on a dotted line
        (trace "safety alert, acknowledged"), so the two differ without colour.

    Returns
    -------
    go.Figure
        Severity bands (shapes named ``band:<label>``), the score trace, baseline, response
        (the clinic's ``response_min_drop`` below baseline) and remission lines (shapes
        ``baseline``, ``response_line``, ``remission_line``), each infusion as a marker
        (trace ``Infusions``, its number in the hover) and dotted line (``infusion:<n>``)
        with its number written where it fits (trace ``Infusion numbers``), onset and
        relapse markers (traces ``Onset``, ``Relapse``) and the durable response span
        (shape ``durable_response``, or ``episode:<n>`` with ``episodes``).
    """
    definition = get_instrument(instrument)
    instrument_rules = rules.for_instrument(definition)
    valid = scores[scores["total"].notna()].sort_values("administered_at")
    valid_days = calendar_days(valid["administered_at"])
    ordered = infusions.sort_values("administered_at")
    first = calendar_days(ordered["administered_at"]).iloc[0] if len(ordered) else None
    use_days = x_axis == "days" and first is not None
    max_total = definition.max_total or 1
    has_alerts = alerts is not None and len(alerts) > 0

    def at(day: Any) -> Any:
        return _x_of(day, first, x_axis)

    def score_on(day: Any) -> float | None:
        hit = valid[valid_days == calendar_day(day)]
        return float(hit["total"].iloc[0]) if len(hit) else None

    hover_x = "day %{x}" if use_days else "%{x|%-d %b %Y}"
    figure = go.Figure()
    # Shapes and annotations are collected as plain dicts and set in one layout update:
    # figure.add_hrect/add_vline re-validate the whole layout on every call, which made a
    # patient with 25 infusions take a third of a second to draw.
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    # Everything placed on the x axis, so its range and ticks cover all of it.
    placed: list[Any] = []
    # A span's label ("response held 21 days") is placed once the axis range is known.
    span_notes: list[tuple[str, Any, Any]] = []

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

    def vertical(name: str, x: Any, line: dict[str, Any], opacity: float) -> None:
        shapes.append(
            {
                "type": "line",
                "name": name,
                "xref": "x",
                "x0": x,
                "x1": x,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "opacity": opacity,
                "line": line,
            }
        )

    def span(name: str, start: Any, end: Any, text: str | None) -> None:
        shapes.append(
            {
                "type": "rect",
                "name": name,
                "xref": "x",
                "x0": start,
                "x1": end,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "fillcolor": RESPONSE_COLOUR,
                "opacity": 0.08,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        if text:
            span_notes.append((text, start, end))

    for colour, band in zip(BAND_COLOURS * 2, definition.bands, strict=False):
        shapes.append(band_shape(band.label, band.lower, band.upper, colour))
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
            # The response line is a fall from baseline: good news, in good news' colour.
            change_colour(-1),
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

    score_x = list(_x(valid["administered_at"], first, x_axis))
    placed += score_x
    figure.add_trace(
        go.Scatter(
            x=score_x,
            y=valid["total"].astype(float),
            mode="lines+markers",
            name=f"{definition.name} total",
            line={"color": SCORE_COLOUR, "width": 2.5},
            marker={"size": 8},
            hovertemplate=f"{hover_x}<br>score %{{y}}<extra></extra>",
        )
    )

    infusion_x = list(_x(ordered["administered_at"], first, x_axis)) if len(ordered) else []
    placed += infusion_x

    if episodes is not None:
        _draw_episodes(figure, episodes, at, score_on, span, placed, valid_days, course)
    else:
        _draw_course(figure, course, at, score_on, span, placed)

    if alerts is not None and has_alerts:
        _draw_alerts(figure, alerts, at, vertical, placed, max_total * ALERT_ROW)

    axis = day_number_axis(placed) if use_days else date_axis(placed)
    low, high = (_in_days(v) for v in axis["range"]) if "range" in axis else (0.0, 1.0)
    for text, start, end in span_notes:
        # It reads from the span's start, or back from its end when the span starts in the
        # right half, so the words stay inside the plot. On the bottom of the lowest band,
        # so they stay above the alert row.
        right = _in_days(start) - low > (high - low) / 2
        note(
            text,
            xref="x",
            x=end if right else start,
            yref="y",
            y=-0.5,
            xanchor="right" if right else "left",
            yanchor="bottom",
            font={"size": 11, "color": RESPONSE_COLOUR},
        )

    if infusion_x:
        routes = list(ordered.get("route", pd.Series(["iv"] * len(ordered))))
        for number, x in enumerate(infusion_x, start=1):
            vertical(
                f"infusion:{number}",
                x,
                {"color": INFUSION_COLOUR, "width": 1, "dash": "dot"},
                0.4,
            )
        numbers = [str(n) for n in range(1, len(infusion_x) + 1)]
        figure.add_trace(
            go.Scatter(
                x=infusion_x,
                y=[max_total * INFUSION_ROW] * len(infusion_x),
                mode="markers",
                name="Infusions",
                text=numbers,
                marker={
                    "symbol": [ROUTE_SYMBOLS.get(r, "circle") for r in routes],
                    "size": 11,
                    "color": INFUSION_COLOUR,
                },
                customdata=[ROUTE_NAMES.get(r, r) for r in routes],
                hovertemplate=f"infusion %{{text}}: %{{customdata}}<br>{hover_x}<extra></extra>",
            )
        )
        # Induction infusions a day apart would print their numbers on top of each other:
        # they are staggered above and below the marker, and one that still does not fit
        # is left out (its number stays in the hover), so the numbers shown stay readable.
        lanes = label_lanes([_in_days(x) for x in infusion_x], numbers, span=high - low)
        shown = [i for i, lane in enumerate(lanes) if lane is not None]
        figure.add_trace(
            go.Scatter(
                x=[infusion_x[i] for i in shown],
                y=[max_total * (INFUSION_ROW + LANE_OFFSETS[lanes[i] or 0]) for i in shown],
                mode="text",
                name="Infusion numbers",
                text=[numbers[i] for i in shown],
                textposition="middle center",
                textfont={"size": 11, "color": INFUSION_COLOUR},
                hoverinfo="skip",
                showlegend=False,
            )
        )

    figure.update_layout(shapes=shapes, annotations=notes)
    figure.update_layout(
        title=f"{definition.name} over time",
        xaxis={**axis, "title": {"text": "days since first infusion" if use_days else "date"}},
        yaxis_title=f"{definition.name} total",
        yaxis_range=[max_total * ALERT_BOTTOM if has_alerts else -0.5, max_total * TOP],
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        hovermode="closest",
    )
    return figure


Span = Callable[[str, Any, Any, "str | None"], None]


def _draw_course(
    figure: go.Figure,
    course: Mapping[str, Any] | None,
    at: Callable[[Any], Any],
    score_on: Callable[[Any], float | None],
    span: Span,
    placed: list[Any],
) -> None:
    """The first response, its durability and its relapse, from the course row."""
    response_date = _value(course, "response_date")
    if response_date is None:
        return
    infusions_to = _value(course, "infusions_to_response")
    days_to = _value(course, "days_to_response")
    figure.add_trace(
        go.Scatter(
            x=[at(response_date)],
            y=[score_on(response_date)],
            mode="markers",
            name="Onset",
            marker={"symbol": "star", "size": 18, "color": RESPONSE_COLOUR},
            hovertemplate=f"response after {infusions_to} infusions, day {days_to}<extra></extra>",
        )
    )
    relapse_date = _value(course, "relapse_date")
    end = relapse_date or _value(course, "latest_date") or response_date
    placed += [at(response_date), at(end)]
    held = f"response held {_value(course, 'durable_response_days')} days"
    span("durable_response", at(response_date), at(end), held + ("" if relapse_date else "+"))
    if relapse_date is not None:
        figure.add_trace(
            go.Scatter(
                x=[at(relapse_date)],
                y=[score_on(relapse_date)],
                mode="markers",
                name="Relapse",
                marker={"symbol": "x", "size": 16, "color": RELAPSE_COLOUR},
                hovertemplate="relapse (confirmed on the next score)<extra></extra>",
            )
        )


def _draw_episodes(
    figure: go.Figure,
    episodes: Sequence[EpisodeLike],
    at: Callable[[Any], Any],
    score_on: Callable[[Any], float | None],
    span: Span,
    placed: list[Any],
    valid_days: pd.Series,
    course: Mapping[str, Any] | None,
) -> None:
    """Every response episode: its response, its span and its relapse, each labelled."""
    ordered = sorted(episodes, key=lambda e: int(e.number))
    if not ordered:
        return
    last_score = valid_days.max() if len(valid_days) else None
    latest = _value(course, "latest_date") or last_score
    onsets: list[tuple[Any, float | None, str, str]] = []
    relapses: list[tuple[Any, float | None, str, str]] = []
    for episode in ordered:
        number = int(episode.number)
        response = episode.response_date
        if not _present(response):
            continue
        relapse = episode.relapse_date if _present(episode.relapse_date) else None
        name = "response" if number == 1 else f"episode {number}"
        onsets.append(
            (
                at(response),
                score_on(response),
                name,
                f"episode {number}: response on {_day_text(response)}",
            )
        )
        end = relapse if relapse is not None else (latest if _present(latest) else response)
        held: Any = getattr(episode, "durable_response_days", None)
        text = None
        if _present(held):
            text = f"{'response' if number == 1 else name} held {int(held)} days"
            text += "" if relapse is not None else "+"
        span(f"episode:{number}", at(response), at(end), text)
        placed += [at(response), at(end)]
        if relapse is not None:
            relapses.append(
                (
                    at(relapse),
                    score_on(relapse),
                    "relapse",
                    f"episode {number}: relapse on {_day_text(relapse)} "
                    "(confirmed on the next score)",
                )
            )
    # A response is at or below the response line, whose label sits above it: its label goes
    # below the star. A relapse is above the line: its label goes above the cross.
    for name, rows, marker, colour, where in (
        ("Onset", onsets, {"symbol": "star", "size": 18}, RESPONSE_COLOUR, "bottom center"),
        ("Relapse", relapses, {"symbol": "x", "size": 16}, RELAPSE_COLOUR, "top center"),
    ):
        if not rows:
            continue
        figure.add_trace(
            go.Scatter(
                x=[row[0] for row in rows],
                y=[row[1] for row in rows],
                mode="markers+text",
                name=name,
                text=[row[2] for row in rows],
                textposition=where,
                textfont={"size": 11, "color": colour},
                customdata=[row[3] for row in rows],
                marker={**marker, "color": colour},
                hovertemplate="%{customdata}<extra></extra>",
            )
        )


def _draw_alerts(
    figure: go.Figure,
    alerts: pd.DataFrame,
    at: Callable[[Any], Any],
    vertical: Callable[[str, Any, dict[str, Any], float], None],
    placed: list[Any],
    row: float,
) -> None:
    """Each safety alert on the time line: open ones filled, acknowledged ones hollow."""
    ordered = alerts.sort_values("created_at").reset_index(drop=True)
    acknowledged = ordered["acknowledged_at"].notna()
    for number, (raised, seen) in enumerate(
        zip(ordered["created_at"], acknowledged, strict=True), start=1
    ):
        is_open = not seen
        vertical(
            f"alert:{number}",
            at(raised),
            {
                "color": RELAPSE_COLOUR if is_open else NEUTRAL_COLOUR,
                "width": 1.5 if is_open else 1,
                "dash": "solid" if is_open else "dot",
            },
            0.6,
        )
    for name, subset, marker in (
        (
            "safety alert, open",
            ordered[~acknowledged],
            {"symbol": "diamond", "color": RELAPSE_COLOUR, "size": 13},
        ),
        (
            "safety alert, acknowledged",
            ordered[acknowledged],
            {"symbol": "diamond-open", "color": NEUTRAL_COLOUR, "size": 12},
        ),
    ):
        if subset.empty:
            continue
        x = [at(when) for when in subset["created_at"]]
        placed += x
        hover = []
        for kind, raised, seen in zip(
            subset["kind"], subset["created_at"], subset["acknowledged_at"], strict=True
        ):
            text = f"{alert_label(str(kind))}<br>raised {_day_text(raised)}<br>"
            if _present(seen):
                waited = (calendar_day(seen) - calendar_day(raised)).days
                after = {0: "the same day", 1: "1 day after"}.get(waited, f"{waited} days after")
                text += f"acknowledged {_day_text(seen)}, {after}"
            else:
                text += "not yet acknowledged"
            hover.append(text)
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[row] * len(x),
                mode="markers",
                name=name,
                marker=marker,
                customdata=hover,
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
