"""Check-in completeness week by week before and after reminders were switched on."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import NEUTRAL_COLOUR, SCORE_COLOUR

PERIOD_COLOURS = {"before": NEUTRAL_COLOUR, "after": SCORE_COLOUR}
PERIOD_NAMES = {"before": "before reminders", "after": "with reminders"}


def _period_share(weeks: pd.DataFrame) -> float | None:
    expected = int(weeks["expected"].sum())
    return None if expected == 0 else float(weeks["received"].sum()) / expected


def reminder_completeness_figure(weekly: pd.DataFrame, *, since: dt.datetime) -> go.Figure:
    """Share of expected weekly check-ins received in each week, the weeks before the switch
    grey and those after blue, each bar labelled "x of n", a dotted line at the switch and
    each period's overall share as a dashed line across its weeks.

    ``weekly`` is :attr:`data.notify.reminder_effect.ReminderEffect.weekly`
    (:data:`outcomes.completeness.WEEKLY_COLUMNS` and ``period``).
    """
    figure = go.Figure()
    for period in ("before", "after"):
        weeks = weekly[weekly["period"] == period]
        if weeks.empty:
            continue
        ends = [pd.Timestamp(end) for end in weeks["week_end"]]
        figure.add_trace(
            go.Bar(
                x=ends,
                y=weeks["share"],
                marker_color=PERIOD_COLOURS[period],
                name=PERIOD_NAMES[period],
                text=[
                    f"{r} of {e}" for r, e in zip(weeks["received"], weeks["expected"], strict=True)
                ],
                textposition="outside",
                hovertemplate="week to %{x|%-d %b %Y}: %{y:.0%} (%{text})<extra></extra>",
            )
        )
        share = _period_share(weeks)
        if share is not None:
            figure.add_trace(
                go.Scatter(
                    x=[ends[0] - pd.Timedelta(days=3), ends[-1] + pd.Timedelta(days=3)],
                    y=[share, share],
                    mode="lines",
                    line={"color": PERIOD_COLOURS[period], "dash": "dash"},
                    name=f"{PERIOD_NAMES[period]}: {share:.0%} overall",
                    hoverinfo="skip",
                )
            )
    switch = pd.Timestamp(since.astimezone(dt.UTC).date())
    # Bars stand at their week's last day: the last week before ends the day before the
    # switch, the first after six days later, so the line between them is 2.5 days after.
    between = switch + pd.Timedelta(days=2.5)
    figure.add_shape(
        type="line",
        x0=between,
        x1=between,
        y0=0,
        y1=1.1,
        line={"color": "#000000", "dash": "dot"},
    )
    figure.add_annotation(
        x=between,
        y=1.1,
        text=f"reminders on {switch:%-d %b %Y}",
        showarrow=False,
        xanchor="left",
    )
    figure.update_layout(
        title="Weekly check-ins received, before and with reminders",
        xaxis_title="week ending",
        yaxis_title="share received",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.15],
        legend={"orientation": "h", "y": -0.3},
        barmode="group",
    )
    return figure
