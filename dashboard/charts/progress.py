"""The patient's own progress: one questionnaire's scores over its severity bands, with the
infusion days on the same time line, in plain words."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import (
    BAND_COLOURS,
    HOVER_DATE_FORMAT,
    INFUSION_COLOUR,
    SCORE_COLOUR,
    band_shape,
    date_axis,
)
from dashboard.progress_words import band_word, clinic_days, questionnaire_title
from outcomes.instruments import Instrument, get_instrument

INFUSION_LABEL = "Infusion"
SCORE_LABEL = "Your score"
# Band names are written on the left edge of the plot in a grey dark enough to read
# (about 7:1 on the lightest band colour).
BAND_TEXT_COLOUR = "#424242"


def band_colours(count: int) -> tuple[str, ...]:
    """``count`` band colours from calm to alarming, the top band always the most alarming
    (GAD-7's four bands end in red, as PHQ-9's five do)."""
    if count <= 1:
        return BAND_COLOURS[:count]
    calm = BAND_COLOURS[:-1]
    return (*(calm[i % len(calm)] for i in range(count - 1)), BAND_COLOURS[-1])


def progress_figure(
    instrument: str | Instrument,
    scores: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    time_zone: str = "UTC",
) -> go.Figure:
    """A patient's own view of one questionnaire: scores, bands and infusion days.

    Parameters
    ----------
    instrument : str or Instrument
        The questionnaire the scores are on.
    scores : DataFrame
        ``administered_at`` and ``total`` (missing totals are left out).
    infusions : DataFrame
        ``administered_at`` of every infusion that counts.
    time_zone : str
        The clinic's IANA time zone: scores and infusions are placed on the days the
        clinic's clock showed (a patient's dates are the clinic's).

    Returns
    -------
    go.Figure
        Shapes ``band:<label>`` (one per severity band, each labelled in plain words by an
        annotation of the same name) and ``infusion:<n>`` (a dotted vertical line per
        infusion); traces ``"Your score"`` and ``"Infusion"`` (a marker at the top of each
        infusion line, so the legend names them). The x axis shows whole days.
    """
    definition = get_instrument(instrument)
    top = float(definition.max_total or 1)
    valid = scores[scores["total"].notna()].sort_values("administered_at")
    score_days = clinic_days(valid["administered_at"], time_zone)
    totals = [int(total) for total in valid["total"]]
    infusion_days = clinic_days(infusions["administered_at"], time_zone).sort_values()

    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for colour, band in zip(band_colours(len(definition.bands)), definition.bands, strict=True):
        shapes.append(band_shape(band.label, band.lower, band.upper, colour))
        notes.append(
            {
                "name": f"band:{band.label}",
                "text": band_word(definition, band.lower),
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
                "yref": "y",
                "y": (band.lower + band.upper) / 2,
                "yanchor": "middle",
                "showarrow": False,
                "font": {"size": 11, "color": BAND_TEXT_COLOUR},
            }
        )
    shapes.extend(
        {
            "type": "line",
            "name": f"infusion:{number}",
            "xref": "x",
            "x0": day,
            "x1": day,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "opacity": 0.6,
            "line": {"color": INFUSION_COLOUR, "dash": "dot", "width": 1},
        }
        for number, day in enumerate(infusion_days, start=1)
    )

    figure = go.Figure(
        [
            go.Scatter(
                x=score_days,
                y=[float(total) for total in totals],
                customdata=[band_word(definition, total) for total in totals],
                mode="lines+markers",
                name=SCORE_LABEL,
                line={"color": SCORE_COLOUR, "width": 3},
                marker={"size": 9},
                hovertemplate=f"%{{x|{HOVER_DATE_FORMAT}}}: %{{y}} %{{customdata}}<extra></extra>",
            ),
            go.Scatter(
                x=infusion_days,
                y=[top] * len(infusion_days),
                mode="markers",
                name=INFUSION_LABEL,
                marker={"color": INFUSION_COLOUR, "symbol": "triangle-down", "size": 10},
                hovertemplate=f"{INFUSION_LABEL}, %{{x|{HOVER_DATE_FORMAT}}}<extra></extra>",
            ),
        ]
    )
    figure.update_layout(
        shapes=shapes,
        annotations=notes,
        title=f"{questionnaire_title(definition)}: lower is better",
        xaxis=date_axis([*score_days, *infusion_days]),
        yaxis={"title": "score", "range": [-0.5, top + 0.5], "fixedrange": True},
        showlegend=True,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        margin={"l": 30, "r": 10, "t": 70, "b": 30},
    )
    return figure
