"""My progress in plain words, and its chart: honest at 0 and when a score rises, no
percentages, no jargon; bands and infusion days on the chart (issue 12)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from dashboard import charts
from dashboard import progress_words as words
from dashboard.charts import style
from outcomes.instruments import get_instrument

PHQ9 = get_instrument("phq9")
GAD7 = get_instrument("gad7")
PCL5 = get_instrument("pcl5")
JARGON = re.compile(r"%|remission|response|respond|remitter|total|baseline", re.IGNORECASE)


def _text(sentences: tuple[str, ...]) -> str:
    return " ".join(sentences)


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        # A rise says so, with both scores: the old headline called 20 -> 6 -> 12 "58% lower".
        ([20, 6, 12], "Your score went up from 6 to 12 since last time."),
        ([6, 12], "Your score went up from 6 to 12 since last time."),
        ([12, 6], "Your score went down from 12 to 6 since last time."),
        ([9, 9], "Your score is 9, the same as last time."),
        ([0, 0], "Your score is 0, the same as last time."),
        # A fall to 0 is a fall to 0, never "100% lower".
        ([2, 0], "Your score went down from 2 to 0 since last time."),
    ],
)
def test_since_last_time(totals: list[int], expected: str) -> None:
    sentences = words.trend_sentences(PHQ9, totals)
    assert sentences[0] == expected
    assert "Lower is better." in sentences
    assert not JARGON.search(_text(sentences))


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ([20, 6, 12], "Since your first check-in it went down from 20 to 12."),
        ([4, 9, 12], "Since your first check-in it went up from 4 to 12."),
        ([5, 8, 5], "It is the same as at your first check-in (5)."),
        ([3, 1, 0], "Since your first check-in it went down from 3 to 0."),
    ],
)
def test_since_the_start(totals: list[int], expected: str) -> None:
    assert expected in words.trend_sentences(PHQ9, totals)


def test_two_scores_are_compared_once_since_last_time_is_since_the_start() -> None:
    sentences = words.trend_sentences(PHQ9, [12, 6])
    assert not any(s.startswith("Since your first") for s in sentences)


def test_a_rise_tells_the_patient_their_care_team_sees_it_and_a_fall_does_not() -> None:
    assert "Your care team can see this too." in words.trend_sentences(PHQ9, [6, 12])
    assert "Your care team can see this too." not in words.trend_sentences(PHQ9, [12, 6])


def test_the_latest_score_is_placed_in_the_instruments_own_band_in_plain_words() -> None:
    assert "Your latest score is 0 out of 27, in the minimal range." in words.trend_sentences(
        PHQ9, [2, 0]
    )
    assert "Your latest score is 17 out of 27, in the moderately severe range." in (
        words.trend_sentences(PHQ9, [12, 17])
    )
    # GAD-7's top band starts at 15, PHQ-9's "moderately severe" does: each its own bands.
    assert "Your latest score is 15 out of 21, in the severe range." in words.trend_sentences(
        GAD7, [3, 15]
    )


def test_one_score_only() -> None:
    assert words.trend_sentences(PHQ9, [12]) == (
        "Your first score is 12 out of 27, in the moderate range.",
        "After your next check-in you will see here how it changes.",
        "Lower is better.",
    )


def test_no_scores() -> None:
    assert words.trend_sentences(GAD7, []) == (
        "No answers yet: your scores will appear here after your first check-in.",
    )


def test_an_instrument_without_bands_gives_the_score_on_its_scale_only() -> None:
    assert words.trend_sentences(PCL5, [40, 30])[-2] == "Your latest score is 30 out of 80."
    assert words.score_meaning(PCL5, 30) == "30 out of 80"


@pytest.mark.parametrize(
    ("instrument", "title"),
    [
        ("phq9", "Mood questionnaire (PHQ-9)"),
        ("gad7", "Anxiety questionnaire (GAD-7)"),
        ("qids_sr16", "Mood questionnaire (QIDS-SR16)"),
        ("pcl5", "Questionnaire (PCL-5)"),
    ],
)
def test_questionnaires_are_named_by_what_they_ask_about(instrument: str, title: str) -> None:
    assert words.questionnaire_title(get_instrument(instrument)) == title


@pytest.mark.parametrize(
    ("total", "word"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe")],
)
def test_band_words_come_from_the_instruments_bands(total: int, word: str) -> None:
    assert words.band_word(PHQ9, total) == word
    assert words.score_meaning(PHQ9, total) == word


def test_the_instruments_shown_are_the_checkin_ones_then_others_the_patient_answered() -> None:
    shown = words.progress_instruments(
        ("phq9", "gad7"), ("pcl5", "madrs", "cssrs_screen", "qids_sr16", "phq9", "unknown")
    )
    # MADRS is a clinician's rating and the C-SSRS screener has no score.
    assert [i.id for i in shown] == ["phq9", "gad7", "qids_sr16", "pcl5"]
    assert [i.id for i in words.progress_instruments(("gad7",), ())] == ["gad7"]


def test_the_chart_summary_says_what_the_chart_shows() -> None:
    summary = words.chart_summary(
        PHQ9,
        [dt.date(2026, 3, 3), dt.date(2026, 3, 10), dt.date(2026, 3, 31)],
        [20, 12, 6],
        [dt.date(2026, 3, 3), dt.date(2026, 3, 5)],
    )
    assert summary == (
        "Chart of your Mood questionnaire (PHQ-9) scores: 3 check-ins from 3 March 2026 to "
        "31 March 2026, from 20 (severe) at first to 6 (mild) at the latest; 2 infusions are "
        "marked. Lower is better."
    )
    one = words.chart_summary(GAD7, [dt.date(2026, 3, 3)], [0])
    assert one == (
        "Chart of your Anxiety questionnaire (GAD-7) scores: one check-in, on 3 March 2026, "
        "with a score of 0 (minimal); no infusions are marked. Lower is better."
    )


def test_the_table_carries_the_charts_scores_with_what_each_means() -> None:
    table = words.score_table(PHQ9, [dt.date(2026, 3, 3), dt.date(2026, 3, 10)], [12, 4])
    assert list(table.columns) == ["Date", "Score", "What it means"]
    assert table.to_dict("records") == [
        {"Date": "3 March 2026", "Score": 12, "What it means": "moderate"},
        {"Date": "10 March 2026", "Score": 4, "What it means": "minimal"},
    ]
    assert words.infusion_days_sentence([dt.date(2026, 3, 3)]) == "Infusion days: 3 March 2026."
    assert words.infusion_days_sentence([]) == "No infusions are on record yet."


def test_dates_are_the_clinics_days_not_utc() -> None:
    # 02:00 UTC on 4 March is still the evening of 3 March in New York.
    stored = pd.Series(pd.to_datetime(["2026-03-04 02:00"], utc=True))
    assert list(words.clinic_days(stored, "America/New_York")) == [pd.Timestamp("2026-03-03")]
    assert list(words.clinic_days(stored, "UTC")) == [pd.Timestamp("2026-03-04")]


# The chart -----------------------------------------------------------------------------


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = pd.DataFrame(
        {
            "administered_at": pd.to_datetime(
                ["2026-03-03 15:00", "2026-03-10 15:00", "2026-03-18 02:00"], utc=True
            ),
            "total": pd.array([20, 6, None], dtype="Int64"),
        }
    )
    infusions = pd.DataFrame(
        {
            "administered_at": pd.to_datetime(
                ["2026-03-03 16:00", "2026-03-05 16:00", "2026-03-11 03:00"], utc=True
            )
        }
    )
    return scores, infusions


def test_the_chart_draws_every_band_labelled_in_plain_words() -> None:
    scores, infusions = _frames()
    figure = charts.progress_figure("phq9", scores, infusions)
    bands = [s for s in figure.layout.shapes if s.name.startswith("band:")]
    assert [(s.y0, s.y1) for s in bands] == [(b.lower - 0.5, b.upper + 0.5) for b in PHQ9.bands]
    labels = [a.text for a in figure.layout.annotations if a.name.startswith("band:")]
    assert labels == ["minimal", "mild", "moderate", "moderately severe", "severe"]
    assert "lower is better" in figure.layout.title.text
    assert "Mood questionnaire (PHQ-9)" in figure.layout.title.text


def test_the_chart_marks_each_infusion_with_a_line_and_a_labelled_marker() -> None:
    scores, infusions = _frames()
    figure = charts.progress_figure("gad7", scores, infusions, time_zone="America/New_York")
    lines = [s for s in figure.layout.shapes if s.name.startswith("infusion:")]
    # 03:00 UTC on 11 March is 10 March on the clinic's clock.
    assert [pd.Timestamp(s.x0) for s in lines] == [
        pd.Timestamp(day) for day in ("2026-03-03", "2026-03-05", "2026-03-10")
    ]
    marker = next(t for t in figure.data if t.name == "Infusion")
    assert [pd.Timestamp(x) for x in marker.x] == [pd.Timestamp(s.x0) for s in lines]
    assert figure.layout.showlegend
    score = next(t for t in figure.data if t.name == "Your score")
    assert list(score.y) == [20.0, 6.0]  # the unscorable form is left out
    assert list(score.customdata) == ["severe", "mild"]  # GAD-7's own bands


@pytest.mark.parametrize("instrument", ["phq9", "gad7", "qids_sr16"])
def test_the_top_band_is_drawn_in_the_most_alarming_colour(instrument: str) -> None:
    scores, infusions = _frames()
    figure = charts.progress_figure(instrument, scores, infusions)
    fills = [s.fillcolor for s in figure.layout.shapes if s.name.startswith("band:")]
    assert fills[0] == style.BAND_COLOURS[0] and fills[-1] == style.BAND_COLOURS[-1]
    assert len(set(fills)) == len(fills)


def test_an_instrument_without_bands_draws_none() -> None:
    scores, infusions = _frames()
    figure = charts.progress_figure("pcl5", scores, infusions)
    assert not [s for s in figure.layout.shapes if s.name.startswith("band:")]
    assert figure.layout.yaxis.range == (-0.5, 80.5)
