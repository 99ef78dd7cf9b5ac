"""Chart builders, tested on their traces, shapes and annotations (no browser)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re

import pandas as pd
import pytest

from dashboard import charts
from dashboard.charts import style
from outcomes.cohort import mean_score_by_week, response_rates
from outcomes.course import course_outcomes
from outcomes.survival import durability_curve, time_to_response_curve

DAY0 = dt.date(2026, 1, 5)


def _days(*offsets: int, hour: int = 0) -> list[pd.Timestamp]:
    return [
        pd.Timestamp(DAY0 + dt.timedelta(days=o), tz="UTC") + pd.Timedelta(hours=hour)
        for o in offsets
    ]


def _history(score_days: list[int], infusion_days: list[int]) -> tuple[pd.DataFrame, ...]:
    """Scores falling from 20 and IV infusions, at the afternoon times a clinic records."""
    scores = pd.DataFrame(
        {
            "patient_id": 1,
            "administered_at": _days(*score_days, hour=14),
            "total": pd.array([max(20 - 2 * i, 0) for i in range(len(score_days))], "Int64"),
        }
    )
    infusions = pd.DataFrame(
        {
            "patient_id": 1,
            "administered_at": _days(*infusion_days, hour=16),
            "route": ["iv"] * len(infusion_days),
        }
    )
    return scores, infusions


def _date_ticks(axis) -> list[pd.Timestamp]:
    """Where Plotly puts the ticks of a linear date axis: tick0 + k * dtick inside the range."""
    assert axis.tickmode == "linear", "ticks left to Plotly fall on hours for short spans"
    low, high = (pd.Timestamp(v) for v in axis.range)
    tick = pd.Timestamp(axis.tick0)
    if isinstance(axis.dtick, str):
        months = int(axis.dtick.removeprefix("M"))
        step = pd.DateOffset(months=months)
    else:
        step = pd.Timedelta(milliseconds=axis.dtick)
    while tick > low:
        tick -= step
    ticks = []
    while tick <= high:
        if tick >= low:
            ticks.append(tick)
        tick += step
    return ticks


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


def test_rates_figure_labels_every_bar_with_its_numbers() -> None:
    rates = response_rates("phq9", SCORES, INFUSIONS)
    figure = charts.rates_figure(rates)
    assert [t.name for t in figure.data] == ["assessed only", "everyone who started"]
    assert all(" of " in text for text in figure.data[0].text)


def test_mean_trajectory_and_funnel() -> None:
    weekly = mean_score_by_week("phq9", SCORES, INFUSIONS)
    figure = charts.mean_trajectory_figure(weekly, instrument="phq9")
    assert figure.data[1].name == "mean score"
    assert list(figure.data[1].customdata) == list(weekly["n"])
    funnel = charts.funnel_figure({"infusion 1": 10, "infusion 6": 5, "maintenance": 3})
    assert list(funnel.data[0].x) == [10, 5, 3]


@dataclasses.dataclass(frozen=True)
class Episode:
    """Stands in for ``outcomes``' Episode: the chart reads only these attributes."""

    number: int
    response_date: dt.date
    relapse_date: dt.date | None
    durable_response_days: int | None = None


@pytest.mark.parametrize("span", [0, 3, 20, 60, 730])
@pytest.mark.parametrize("builder", ["trajectory", "progress"])
def test_date_axes_tick_whole_days_labelled_as_dates_whatever_the_span(span, builder) -> None:
    scores, infusions = _history([0, span // 2, span] if span else [0], [0])
    if builder == "trajectory":
        figure = charts.trajectory_figure("phq9", scores, infusions)
    else:
        figure = charts.progress_figure("phq9", scores, infusions)
    axis = figure.layout.xaxis
    ticks = _date_ticks(axis)
    assert 1 <= len(ticks) <= style.MAX_TICKS
    assert all(tick == tick.normalize() for tick in ticks), ticks  # midnight: no "12:00"
    assert not re.search("%[HIMSLpfX]", axis.tickformat)  # labels are dates, never times
    assert "%Y" in axis.tickformat and ("%b" in axis.tickformat)
    first, last = pd.Timestamp(DAY0), pd.Timestamp(DAY0 + dt.timedelta(days=span))
    assert pd.Timestamp(axis.range[0]) < first and pd.Timestamp(axis.range[1]) > last


def test_a_three_day_history_has_one_tick_a_day_at_midnight() -> None:
    scores, infusions = _history([0, 1, 3], [0, 1, 2, 3])
    figure = charts.trajectory_figure("phq9", scores, infusions)
    assert _date_ticks(figure.layout.xaxis) == [
        pd.Timestamp(DAY0 + dt.timedelta(days=d)) for d in range(4)
    ]
    assert figure.layout.xaxis.tickformat == "%-d %b<br>%Y"  # "5 Jan / 2026"


@pytest.mark.parametrize("span", [3, 60, 730])
def test_days_since_first_infusion_axis_ticks_whole_days(span) -> None:
    scores, infusions = _history([0, span], [0, 1])
    axis = charts.trajectory_figure("phq9", scores, infusions, x_axis="days").layout.xaxis
    assert axis.tickmode == "linear" and axis.tick0 == 0 and axis.tickformat == "d"
    assert isinstance(axis.dtick, int) and axis.dtick >= 1
    assert span // axis.dtick + 1 <= style.MAX_TICKS


def test_item_heatmap_columns_are_days_in_words_not_times() -> None:
    assessments = SCORES.assign(
        answers=[{f"phq9_{i}": (t // 9) for i in range(1, 10)} for t in SCORES["total"]]
    )
    # A second administration on the first day keeps its own column.
    assessments = pd.concat([assessments, assessments.iloc[[0]]], ignore_index=True)
    figure = charts.item_heatmap("phq9", assessments)
    assert figure.layout.xaxis.type == "category"
    labels = list(figure.data[0].x)
    assert labels[:3] == ["5 Jan 2026", "5 Jan 2026 (2)", "7 Jan 2026"]
    assert len(set(labels)) == len(labels) == len(assessments)


def _label_rows(figure) -> dict[float, list[tuple[float, str]]]:
    """The shown infusion numbers, by row (y), as (day, text) in the order of the axis."""
    numbers = next(t for t in figure.data if t.name == "Infusion numbers")
    rows: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in zip(numbers.x, numbers.y, numbers.text, strict=True):
        day = (pd.Timestamp(x) - pd.Timestamp(DAY0)) / pd.Timedelta(days=1)
        rows.setdefault(y, []).append((day, text))
    return rows


def _assert_no_label_collides(figure) -> None:
    low, high = (pd.Timestamp(v) for v in figure.layout.xaxis.range)
    days_per_px = (high - low) / pd.Timedelta(days=1) / style.PLOT_WIDTH_PX
    for row in _label_rows(figure).values():
        for (left, a), (right, b) in itertools.pairwise(row):
            room = (len(a) + len(b)) / 2 * style.LABEL_CHAR_PX + style.LABEL_GAP_PX
            assert (right - left) / days_per_px >= room, (a, b)


def test_induction_numbers_a_day_apart_are_staggered_not_stacked() -> None:
    # Six induction infusions on consecutive days, on a two-month history: a day is about
    # 8 px, too little for two numbers side by side, enough for them staggered.
    scores, infusions = _history([0, 7, 30, 60], [0, 1, 2, 3, 4, 5])
    figure = charts.trajectory_figure("phq9", scores, infusions)
    rows = _label_rows(figure)
    shown = sorted((day, text) for row in rows.values() for day, text in row)
    assert [text for _, text in shown] == ["1", "2", "3", "4", "5", "6"]  # all fit, staggered
    assert len(rows) == 2
    row_of = {text: y for y, row in rows.items() for _, text in row}
    assert all(row_of[str(n)] != row_of[str(n + 1)] for n in range(1, 6))
    _assert_no_label_collides(figure)
    markers = next(t for t in figure.data if t.name == "Infusions")
    assert list(markers.text) == ["1", "2", "3", "4", "5", "6"]  # every number in the hover


def test_induction_numbers_on_a_two_year_history_show_only_where_they_fit() -> None:
    scores, infusions = _history(list(range(0, 731, 30)), [0, 1, 2, 4, 5, 7, 60, 200, 400])
    figure = charts.trajectory_figure("phq9", scores, infusions)
    shown = [text for row in _label_rows(figure).values() for _, text in row]
    assert "1" in shown and {"7", "8", "9"} <= set(shown)
    assert len(shown) < 9  # the induction fortnight is a few pixels wide: some are left out
    _assert_no_label_collides(figure)


def test_a_fall_in_score_is_coloured_as_good_news() -> None:
    assert style.change_colour(-3) == style.RESPONSE_COLOUR
    assert style.change_colour(2) == style.RELAPSE_COLOUR
    assert style.change_colour(0) == style.change_colour(None) == style.NEUTRAL_COLOUR
    figure = charts.trajectory_figure("phq9", SCORES, INFUSIONS, COURSE)
    response = next(s for s in figure.layout.shapes if s.name == "response_line")
    assert response.line.color == style.change_colour(-1)
    assert next(t for t in figure.data if t.name == "Onset").marker.color == style.RESPONSE_COLOUR
    assert next(t for t in figure.data if t.name == "Relapse").marker.color == (
        style.RELAPSE_COLOUR
    )
    heatmap = charts.item_heatmap("phq9", SCORES.assign(answers=[{}] * len(SCORES))).data[0]
    lightest, darkest = heatmap.colorscale[0][1], heatmap.colorscale[-1][1]
    assert _brightness(lightest) > _brightness(darkest)  # the highest answer is the darkest


def _brightness(colour: str) -> float:
    red, green, blue = (int(v) for v in re.findall(r"\d+", colour)[:3])
    return 0.299 * red + 0.587 * green + 0.114 * blue


def test_each_response_episode_is_marked_and_labelled() -> None:
    episodes = [
        Episode(1, DAY0 + dt.timedelta(days=7), DAY0 + dt.timedelta(days=28), 21),
        Episode(2, DAY0 + dt.timedelta(days=42), None, 0),
    ]
    scores = SCORES.assign(total=pd.array([20, 14, 9, 4, 12, 15, 8], dtype="Int64"))
    figure = charts.trajectory_figure("phq9", scores, INFUSIONS, COURSE, episodes=episodes)
    onset = next(t for t in figure.data if t.name == "Onset")
    assert list(onset.text) == ["response", "episode 2"]
    assert list(onset.y) == [9, 8]
    assert [pd.Timestamp(x) for x in onset.x] == _naive(7, 42)
    relapse = next(t for t in figure.data if t.name == "Relapse")
    assert list(relapse.y) == [12] and [pd.Timestamp(x) for x in relapse.x] == _naive(28)
    names = _shape_names(figure)
    assert {"episode:1", "episode:2"} <= set(names) and "durable_response" not in names
    assert len([t for t in figure.data if t.name == "Onset"]) == 1  # the course's not redrawn
    annotations = [a.text for a in figure.layout.annotations]
    assert "response held 21 days" in annotations and "episode 2 held 0 days+" in annotations


def _naive(*offsets: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(DAY0 + dt.timedelta(days=o)) for o in offsets]


def test_no_episode_means_no_response_marks_even_with_a_course() -> None:
    figure = charts.trajectory_figure("phq9", SCORES, INFUSIONS, COURSE, episodes=())
    assert not {"Onset", "Relapse"} & {t.name for t in figure.data}
    assert "durable_response" not in _shape_names(figure)


def test_safety_alerts_are_marked_open_and_acknowledged_apart_without_colour() -> None:
    alerts = pd.DataFrame(
        {
            "alert_id": [1, 2],
            "kind": ["phq9_item9_positive", "phq9_item9_positive"],
            "created_at": _days(2, 35, hour=9),
            "acknowledged_at": [_days(3, hour=10)[0], pd.NaT],
        }
    )
    figure = charts.trajectory_figure("phq9", SCORES, INFUSIONS, COURSE, alerts=alerts)
    open_ = next(t for t in figure.data if t.name == "safety alert, open")
    seen = next(t for t in figure.data if t.name == "safety alert, acknowledged")
    assert [pd.Timestamp(x) for x in open_.x] == _naive(35)
    assert [pd.Timestamp(x) for x in seen.x] == _naive(2)
    assert open_.marker.symbol != seen.marker.symbol  # filled vs hollow, not colour alone
    assert "not yet acknowledged" in open_.customdata[0]
    assert "raised 7 Jan 2026<br>acknowledged 8 Jan 2026, 1 day after" in seen.customdata[0]
    assert "item 9" in seen.customdata[0]
    lines = {s.name: s.line.dash for s in figure.layout.shapes if s.name.startswith("alert:")}
    assert lines == {"alert:1": "dot", "alert:2": "solid"}
    # The alert row sits below zero, in the plot.
    assert figure.layout.yaxis.range[0] < open_.y[0] < 0


def test_a_span_label_near_the_right_edge_reads_back_from_the_span_end() -> None:
    scores, infusions = _history([0, 20, 28, 30], [0, 1])
    scores["total"] = pd.array([20, 18, 9, 8], dtype="Int64")  # response on day 28 of 30
    course = course_outcomes("phq9", scores, infusions).loc[1].to_dict()
    figure = charts.trajectory_figure("phq9", scores, infusions, course)
    held = next(a for a in figure.layout.annotations if a.text.startswith("response held"))
    assert held.xanchor == "right"
