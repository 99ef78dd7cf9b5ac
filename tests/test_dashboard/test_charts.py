"""Chart builders, tested on their traces, shapes and annotations (no browser)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import charts
from outcomes.cohort import mean_score_by_week, response_rates
from outcomes.course import course_outcomes
from outcomes.survival import durability_curve, time_to_response_curve

DAY0 = dt.date(2026, 1, 5)


def _days(*offsets: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(DAY0 + dt.timedelta(days=o), tz="UTC") for o in offsets]


SCORES = pd.DataFrame(
    {
        "patient_id": 1,
        "administered_at": _days(0, 2, 7, 14, 28, 35, 42),
        "total": pd.array([20, 14, 9, 4, 12, 15, 16], dtype="Int64"),
    }
)
INFUSIONS = pd.DataFrame(
    {
        "patient_id": 1,
        "administered_at": _days(0, 2, 4, 7, 9, 11, 40),
        "route": ["iv"] * 6 + ["intranasal_esketamine"],
    }
)
COURSE = course_outcomes("phq9", SCORES, INFUSIONS).loc[1].to_dict()


def _shape_names(figure) -> list[str]:
    return [shape.name for shape in figure.layout.shapes]


def test_trajectory_has_bands_thresholds_and_every_infusion_numbered() -> None:
    figure = charts.trajectory_figure("phq9", SCORES, INFUSIONS, COURSE)
    names = _shape_names(figure)
    for band in ("none_minimal", "mild", "moderate", "moderately_severe", "severe"):
        assert f"band:{band}" in names
    assert {"baseline", "response_line", "remission_line", "durable_response"} <= set(names)
    assert [n for n in names if n.startswith("infusion:")] == [f"infusion:{i}" for i in range(1, 8)]
    baseline = next(s for s in figure.layout.shapes if s.name == "baseline")
    response = next(s for s in figure.layout.shapes if s.name == "response_line")
    assert (baseline.y0, response.y0) == (20, 10)  # 50% of baseline
    infusions = next(t for t in figure.data if t.name == "Infusions")
    assert list(infusions.text) == [str(i) for i in range(1, 8)]
    assert list(infusions.customdata)[-1] == "intranasal esketamine"  # route shown
    scores = next(t for t in figure.data if t.name == "PHQ-9 total")
    assert list(scores.y) == [20, 14, 9, 4, 12, 15, 16]


def test_onset_and_relapse_are_marked_where_they_happened() -> None:
    figure = charts.trajectory_figure("phq9", SCORES, INFUSIONS, COURSE)
    onset = next(t for t in figure.data if t.name == "Onset")
    relapse = next(t for t in figure.data if t.name == "Relapse")
    assert list(onset.y) == [9]  # day 7: 9 <= 10
    # infusions on days 0, 2 and 4; the one on day 7 is after that day's check-in
    assert "after 3 infusions, day 7" in onset.hovertemplate
    assert list(relapse.y) == [12]  # day 28: 12 and then 15, both > 10 and >= 10
    annotations = [a.text for a in figure.layout.annotations]
    assert any(text.startswith("response held 21 days") for text in annotations)


def test_x_axis_switches_to_days_since_first_infusion() -> None:
    figure = charts.trajectory_figure("phq9", SCORES, INFUSIONS, COURSE, x_axis="days")
    scores = next(t for t in figure.data if t.name == "PHQ-9 total")
    assert list(scores.x) == [0, 2, 7, 14, 28, 35, 42]
    assert figure.layout.xaxis.title.text == "days since first infusion"
    onset = next(t for t in figure.data if t.name == "Onset")
    assert list(onset.x) == [7]


def test_trajectory_without_infusions_or_course_still_draws_the_scores() -> None:
    figure = charts.trajectory_figure("gad7", SCORES, INFUSIONS.iloc[0:0])
    assert [t.name for t in figure.data] == ["GAD-7 total"]
    assert "baseline" not in _shape_names(figure)


def test_item_heatmap_has_one_row_per_scored_item() -> None:
    assessments = SCORES.assign(
        answers=[{f"phq9_{i}": (t // 9) for i in range(1, 10)} for t in SCORES["total"]]
    )
    figure = charts.item_heatmap("phq9", assessments)
    heatmap = figure.data[0]
    assert len(heatmap.y) == 9 and heatmap.y[0] == "anhedonia"
    assert len(heatmap.x) == len(SCORES)
    assert (heatmap.zmin, heatmap.zmax) == (0, 3)


@pytest.mark.parametrize("builder", [time_to_response_curve, durability_curve])
def test_survival_figure_draws_the_curve_and_its_band(builder) -> None:
    curve = builder(course_outcomes("phq9", SCORES, INFUSIONS))
    figure = charts.survival_figure(curve, title="t", y_title="y")
    assert [t.name for t in figure.data] == ["95% confidence band", "Kaplan-Meier estimate"]
    assert figure.data[1].line.shape == "hv"


def test_rates_figure_labels_every_bar_with_its_n_and_draws_references() -> None:
    rates = response_rates("phq9", SCORES, INFUSIONS)
    figure = charts.rates_figure(rates, references={"community response 53.6%": 0.536})
    assert [t.name for t in figure.data] == ["response", "remission"]
    assert all(text.startswith("n=") for text in figure.data[0].text)
    assert "reference:community response 53.6%" in _shape_names(figure)


def test_mean_trajectory_and_funnel() -> None:
    weekly = mean_score_by_week("phq9", SCORES, INFUSIONS)
    figure = charts.mean_trajectory_figure(weekly, instrument="phq9")
    assert figure.data[1].name == "mean score"
    assert list(figure.data[1].customdata) == list(weekly["n"])
    funnel = charts.funnel_figure({"infusion 1": 10, "infusion 6": 5, "maintenance": 3})
    assert list(funnel.data[0].x) == [10, 5, 3]
