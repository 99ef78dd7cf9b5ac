"""Assessments placed on the infusion course, and per-patient course outcomes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from outcomes.alignment import PHASES, align, assessment_phase
from outcomes.course import course_outcomes
from outcomes.errors import ScoringError
from outcomes.patient_course import COURSE_COLUMNS, patient_course
from outcomes.rules import DEFAULT_RULES
from outcomes.trajectory import trajectory

# Six induction infusions (three in week one, three in week two), then maintenance.
INFUSIONS = pd.DataFrame(
    {
        "patient_id": ["p1"] * 7 + ["p2"],
        "administered_at": [
            "2024-01-10",
            "2024-01-11",
            "2024-01-12",
            "2024-01-15",
            "2024-01-17",
            "2024-01-19",
            "2024-02-20",
            "2024-03-01",
        ],
    }
)
ASSESSMENTS = pd.DataFrame(
    {
        "patient_id": ["p1"] * 7 + ["p2", "p2", "p3"],
        "administered_at": [
            "2024-01-08",
            "2024-01-10",
            "2024-01-12",
            "2024-01-17",
            "2024-02-10",
            "2024-06-30",
            "2024-07-07",
            "2024-03-01",
            "2024-03-09",
            "2024-01-01",
        ],
        "total": pd.array([20, 18, 9, 4, 12, 15, 16, 14, None, 10], dtype="Int64"),
    }
)
# The day the statuses are read: three days after p1's latest score.
TODAY = dt.date(2024, 7, 10)


def test_align_counts_infusions_before_each_assessment_and_sets_the_phase() -> None:
    aligned = align(ASSESSMENTS, INFUSIONS)
    assert list(aligned["infusions_before"]) == [0, 0, 2, 4, 6, 7, 7, 0, 1, 0]
    assert list(aligned["days_since_first_infusion"].astype(object)) == [
        -2,
        0,
        2,
        7,
        31,
        172,
        179,
        0,
        8,
        pd.NA,
    ]
    assert list(aligned["phase"]) == [
        "baseline",
        "baseline",  # same day as the first infusion: presumed pre-infusion (spec §3)
        "induction",
        "induction",
        "induction",  # after the sixth infusion: still the end of induction
        "after_course",  # 131 days after the latest infusion (> 90)
        "after_course",
        "baseline",
        "induction",
        "baseline",  # no infusions at all
    ]
    assert list(aligned["phase"].cat.categories) == list(PHASES)
    # The input's own columns and index come back unchanged.
    pd.testing.assert_frame_equal(aligned[ASSESSMENTS.columns], ASSESSMENTS)


def test_maintenance_phase_after_the_induction_infusions() -> None:
    infusions = pd.DataFrame(
        {"patient_id": ["a"] * 8, "administered_at": pd.date_range("2024-01-01", periods=8)}
    )
    assessments = pd.DataFrame(
        {"patient_id": ["a"], "administered_at": [dt.date(2024, 1, 20)], "total": [5]}
    )
    assert align(assessments, infusions)["phase"].tolist() == ["maintenance"]
    longer = DEFAULT_RULES.override(induction_infusions=8)
    assert align(assessments, infusions, rules=longer)["phase"].tolist() == ["induction"]


@pytest.mark.parametrize(("days_after", "phase"), [(90, "induction"), (91, "after_course")])
def test_the_course_ends_after_more_than_after_course_days_without_an_infusion(
    days_after: int, phase: str
) -> None:
    """90 days after the latest infusion is still the course (default ``after_course_days``)."""
    infusions = pd.DataFrame({"patient_id": ["a"], "administered_at": ["2024-01-01"]})
    day = dt.date(2024, 1, 1) + dt.timedelta(days=days_after)
    assessments = pd.DataFrame({"patient_id": ["a"], "administered_at": [day], "total": [5]})
    assert align(assessments, infusions)["phase"].tolist() == [phase]
    assert (
        assessment_phase(
            infusions_before=1, days_since_latest_infusion=days_after, rules=DEFAULT_RULES
        )
        == phase
    )


def test_align_accepts_datetimes_with_time_zones_and_uses_their_calendar_date() -> None:
    infusions = pd.DataFrame(
        {"patient_id": [1], "administered_at": [pd.Timestamp("2024-05-01 09:00", tz="UTC")]}
    )
    assessments = pd.DataFrame(
        {
            "patient_id": [1, 1],
            "administered_at": [
                pd.Timestamp("2024-05-01 08:00", tz="UTC"),
                pd.Timestamp("2024-05-02 08:00", tz="UTC"),
            ],
            "total": [10, 4],
        }
    )
    assert align(assessments, infusions)["infusions_before"].tolist() == [0, 1]


def test_align_refuses_frames_without_the_columns_it_needs() -> None:
    with pytest.raises(ScoringError, match="administered_at"):
        align(pd.DataFrame({"patient_id": [1]}), INFUSIONS)
    with pytest.raises(ScoringError, match="not a date"):
        align(pd.DataFrame({"patient_id": [1], "administered_at": ["next tuesday"]}), INFUSIONS)


def test_course_outcomes_report_onset_in_days_and_in_infusions() -> None:
    courses = course_outcomes("phq9", ASSESSMENTS, INFUSIONS, today=TODAY)
    p1 = courses.loc["p1"]
    assert p1["baseline_total"] == 18  # the last valid score on or before the first infusion
    assert p1["baseline_date"] == dt.date(2024, 1, 10)
    assert p1["response_date"] == dt.date(2024, 1, 12)  # 9 <= 18/2
    assert p1["days_to_response"] == 2
    assert p1["infusions_to_response"] == 2  # two infusions given before that check-in
    assert p1["remission_date"] == dt.date(2024, 1, 17)
    assert p1["days_to_remission"] == 7
    assert p1["relapse_date"] == dt.date(2024, 2, 10)  # 12 then 15: both > 9 and >= 10
    assert p1["durable_response_days"] == 29
    assert p1["status"] == "relapsed"
    assert p1["infusions"] == 7
    assert bool(p1["completed_induction"])
    assert p1["followup_days"] == 179


def test_course_outcomes_match_trajectory_for_every_patient() -> None:
    courses = course_outcomes("phq9", ASSESSMENTS, INFUSIONS, today=TODAY)
    p1 = ASSESSMENTS[ASSESSMENTS["patient_id"] == "p1"]
    expected = trajectory(
        "phq9",
        baseline_date="2024-01-10",
        assessments=zip(p1["administered_at"], p1["total"].astype(object), strict=True),
    )
    row = courses.loc["p1"]
    assert row["response_date"] == expected.response_date
    assert row["remission_date"] == expected.remission_date
    assert row["relapse_date"] == expected.relapse_date
    assert row["durable_response_days"] == expected.durable_response_days
    assert bool(row["censored"]) == expected.censored


def test_status_of_patients_without_follow_up_or_baseline() -> None:
    courses = course_outcomes("phq9", ASSESSMENTS, INFUSIONS, today=TODAY)
    assert courses.loc["p2", "status"] == "no_follow_up"  # the only later score is invalid
    assert courses.loc["p2", "baseline_total"] == 14
    assert courses.loc["p3", "status"] == "no_baseline"  # no infusion, no index date
    assert pd.isna(courses.loc["p3", "first_infusion_date"])


def test_losing_response_marks_a_responder_back_above_half_of_baseline() -> None:
    infusions = pd.DataFrame({"patient_id": ["a"], "administered_at": ["2024-01-01"]})
    assessments = pd.DataFrame(
        {
            "patient_id": ["a"] * 4,
            "administered_at": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"],
            "total": [20, 8, 9, 12],  # responded, then 12 > 10 once: not yet a relapse
        }
    )
    row = course_outcomes("phq9", assessments, infusions, today="2024-01-25").loc["a"]
    # One status, not "responder" beside a "losing response" banner (issue 11).
    assert row["status"] == "losing_response"
    assert bool(row["losing_response"])
    assert pd.isna(row["relapse_date"])


def test_course_outcomes_use_only_rows_of_the_requested_instrument() -> None:
    mixed = ASSESSMENTS.assign(instrument="phq9")
    gad = mixed.assign(instrument="gad7", total=pd.array([0] * 10, dtype="Int64"))
    courses = course_outcomes("phq9", pd.concat([mixed, gad]), INFUSIONS)
    assert courses.loc["p1", "baseline_total"] == 18


def test_texts_with_different_utc_offsets_count_their_days_in_utc() -> None:
    """pandas returns Python objects for mixed offsets; those are days in UTC, not an error."""
    from outcomes.course_days import calendar_days

    texts = pd.Series(["2025-01-07T23:00:00-05:00", "2025-01-08T01:00:00+01:00", "2025-01-09"])
    days = calendar_days(texts)
    assert days.astype("datetime64[D]").astype(str).tolist() == [
        "2025-01-08",
        "2025-01-08",
        "2025-01-09",
    ]


def test_patient_course_states_the_same_row_for_one_patient() -> None:
    """The readable per-patient rules give p1's row of the vectorised frame, field by field."""
    p1 = ASSESSMENTS[ASSESSMENTS["patient_id"] == "p1"]
    course = patient_course(
        "phq9",
        infusion_dates=INFUSIONS.loc[INFUSIONS["patient_id"] == "p1", "administered_at"],
        assessments=zip(p1["administered_at"], p1["total"].astype(object), strict=True),
        today=TODAY,
    )
    assert course.status == "relapsed"
    assert course.infusions_to_response == 2
    assert course.followup_days == 179
    row = course_outcomes("phq9", ASSESSMENTS, INFUSIONS, today=TODAY).loc["p1"]
    for column in COURSE_COLUMNS:
        assert getattr(course, column) == row[column], column
