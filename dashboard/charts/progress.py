"""The patient's own progress: their scores and treatment days, in plain words."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import INFUSION_COLOUR, SCORE_COLOUR, calendar_days, date_axis
from outcomes.instruments import Instrument, get_instrument


def progress_figure(
    instrument: str | Instrument, scores: pd.DataFrame, infusions: pd.DataFrame
) -> go.Figure:
    """A patient's own view: their scores and treatment days, in plain words.

    The x axis shows whole days (dates, never hours), whatever the span, as the care team's.
    """
    definition = get_instrument(instrument)
    valid = scores[scores["total"].notna()].sort_values("administered_at")
    score_days = calendar_days(valid["administered_at"])
    figure = go.Figure(
        go.Scatter(
            x=score_days,
            y=valid["total"].astype(float),
            mode="lines+markers",
            name="your score",
            line={"color": SCORE_COLOUR, "width": 3},
            marker={"size": 9},
            hovertemplate="%{x|%-d %b %Y}: %{y}<extra></extra>",
        )
    )
    treatment_days = calendar_days(infusions["administered_at"]).sort_values()
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
        xaxis=date_axis([*score_days, *treatment_days]),
        yaxis_title="score",
        yaxis_range=[-0.5, (definition.max_total or 1) + 0.5],
        showlegend=False,
        margin={"l": 30, "r": 10, "t": 50, "b": 30},
    )
    return figure
