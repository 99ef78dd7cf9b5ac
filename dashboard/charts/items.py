"""Which symptoms moved: the item heatmap of one patient's administrations."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import calendar_days
from outcomes.instruments import Instrument, get_instrument


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
            x=[d.strftime("%Y-%m-%d") for d in calendar_days(ordered["administered_at"])],
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
