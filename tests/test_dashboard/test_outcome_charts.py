"""The outcomes page's rate and completeness charts (issue 12): both denominators side by
side with Wilson intervals, and a published rate drawn only at the time point its source
defined (it used to be a line across every time point)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import charts
from dashboard.charts.cohort import completeness_figure
from outcomes.cohort import response_rates, timepoint_label
from outcomes.completeness import weekly_completeness
from outcomes.course import course_outcomes
from outcomes.reporting import OLIVER_2022, ORKA1, REFERENCES, suppress_rate_table
from tests.test_outcomes.test_rates import ASSESSMENTS, INFUSIONS, TODAY

RATES = response_rates("phq9", ASSESSMENTS, INFUSIONS, today=TODAY)


@pytest.mark.parametrize("measure", ["response", "remission"])
def test_reference_marks_sit_only_over_their_own_timepoint(measure: str) -> None:
    figure = charts.rates_figure(RATES, measure=measure, references=REFERENCES)  # type: ignore[arg-type]
    # no line across the chart
    assert not figure.layout.shapes
    marks = {t.name: t for t in figure.data if t.type == "scatter"}
    assert len(marks) == 2
    for reference in (ORKA1, OLIVER_2022):
        value = getattr(reference, measure)
        mark = marks[f"{reference.name} {measure} {value:.1%} (published)"]
        assert list(mark.x) == [timepoint_label(reference.timepoint)]
        assert list(mark.y) == [value]


def test_no_reference_without_its_timepoint() -> None:
    weeks_only = RATES[RATES["timepoint"].str.startswith("week")]
    figure = charts.rates_figure(weeks_only, references=REFERENCES)
    assert [t.type for t in figure.data] == ["bar", "bar"]


def test_bars_carry_wilson_intervals_and_their_numbers() -> None:
    figure = charts.rates_figure(RATES)
    assessed, started = figure.data
    assert list(assessed.x)[1] == "Week 4"
    week4 = RATES.set_index("timepoint").loc["week_4"]
    assert assessed.y[1] == pytest.approx(week4["response_rate"])
    assert assessed.error_y.array[1] == pytest.approx(
        week4["response_high"] - week4["response_rate"]
    )
    assert assessed.error_y.arrayminus[1] == pytest.approx(
        week4["response_rate"] - week4["response_low"]
    )
    assert started.y[1] == pytest.approx(week4["started_response_rate"])
    assert started.text[1] == "2 of 5"
    # small counts are shown as "< 5", never exactly, and a rate over under 5 not at all
    shown = charts.rates_figure(suppress_rate_table(RATES))
    assert shown.data[1].text[1] == "< 5 of 5"
    assert pd.isna(shown.data[0].y[1])


def test_completeness_figure_is_a_weekly_series() -> None:
    courses = course_outcomes("phq9", ASSESSMENTS, INFUSIONS)
    weekly = weekly_completeness(courses, ASSESSMENTS, today=dt.date(2024, 2, 12), weeks=6)
    figure = completeness_figure(weekly)
    assert len(figure.data[0].x) == 6
    assert list(figure.data[0].text) == [
        f"{r} of {e}" for r, e in zip(weekly["received"], weekly["expected"], strict=True)
    ]
    assert isinstance(weekly, pd.DataFrame)


def _step_value(days: list[float], values: list[float], day: float) -> float:
    """The value an "hv" step line through (days, values) shows at ``day``."""
    position = max(i for i, d in enumerate(days) if d <= day)
    return values[position]


def test_survival_figure_carries_only_its_corners_and_keeps_every_step() -> None:
    """Issue 13: a day with censorings but no event adds a point and no corner; the figure
    leaves those out, and the line and band still show every day's value."""
    import numpy as np

    from dashboard.charts.cohort import curve_steps
    from outcomes.survival import kaplan_meier

    rng = np.random.default_rng(7)
    durations = rng.integers(0, 300, 2000)
    curve = kaplan_meier(durations, rng.random(2000) < 0.05)
    figure = charts.survival_figure(curve, title="Durability", y_title="still responding")
    band, line = figure.data
    assert len(line.x) == len(curve_steps(curve)) < len(curve) / 2
    assert list(line.x)[-1] == curve["days"].iloc[-1]  # the line still ends on the last day
    days, shown = list(line.x), list(line.y)
    upper = list(band.y)[: len(days)]
    for day, probability, high in zip(
        curve["days"], curve["probability"], curve["ci_upper"], strict=True
    ):
        assert _step_value(days, shown, day) == probability
        assert _step_value(days, upper, day) == high
