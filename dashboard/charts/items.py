"""Which symptoms moved: the item heatmap of one patient's administrations."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import calendar_days
from outcomes.instruments import Instrument, get_instrument


def _column_labels(days: pd.Series) -> list[str]:
    """Each administration's day as words ("5 Jan 2026"); a second one that day gets "(2)"."""
    labels: list[str] = []
    seen: dict[str, int] = {}
    for day in days:
        label = f"{day.day} {day:%b %Y}"
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return labels


def item_table(instrument: str | Instrument, assessments: pd.DataFrame) -> pd.DataFrame:
    """The heatmap's numbers as a table, for a screen reader and for reading exact answers:
    one row per scored item (its short name), one column per administration (its day, as the
    heatmap labels it), each cell the answer as text (blank where not answered)."""
    definition = get_instrument(instrument)
    ordered = assessments.sort_values("administered_at")
    keys = list(definition.scored_item_keys)
    columns = _column_labels(calendar_days(ordered["administered_at"]))
    cells = {
        column: [
            "" if value is None or pd.isna(value) else str(int(value))
            for value in _answers(answers, keys)
        ]
        for column, answers in zip(columns, ordered["answers"], strict=True)
    }
    table = pd.DataFrame(cells, index=[definition.item(k).short_name for k in keys])
    table.index.name = "item"
    return table


def _answers(answers: object, keys: list[str]) -> list[object]:
    """One administration's answers to ``keys`` (None where not answered)."""
    return [answers.get(key) if isinstance(answers, Mapping) else None for key in keys]


def item_heatmap(instrument: str | Instrument, assessments: pd.DataFrame) -> go.Figure:
    """Which symptoms moved: one row per scored item, one column per administration.

    The columns are categories labelled with their day, not a time axis: on a date axis Plotly
    spreads each cell over a day and labels its edges with times ("23:59:59.9996"), and two
    administrations on one day would share a cell. Colour runs from pale (0, no symptom) to
    red (the item's highest answer): lower is better, as on every scale here.
    """
    definition = get_instrument(instrument)
    ordered = assessments.sort_values("administered_at")
    keys = list(definition.scored_item_keys)
    by_answers = [_answers(answers, keys) for answers in ordered["answers"]]
    values = [[column[row] for column in by_answers] for row in range(len(keys))]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=_column_labels(calendar_days(ordered["administered_at"])),
            y=[f"{definition.item(k).short_name}" for k in keys],
            zmin=definition.min_value,
            zmax=definition.max_value,
            colorscale="YlOrRd",
            colorbar={"title": "answer", "dtick": 1},
            xgap=1,
            hovertemplate="%{y}<br>%{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"{definition.name} items over time",
        xaxis={"type": "category", "title": {"text": "date"}},
        yaxis_autorange="reversed",
        margin={"l": 160, "r": 20, "t": 50, "b": 40},
    )
    return figure
