"""The current status (course-and-reporting §2) and response episodes (§1), rule by rule.

Each case is read by the readable rule (:func:`outcomes.status.current_status`) and by the
vectorised :func:`outcomes.course.course_outcomes`, which must agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from outcomes import Episode, current_status, episodes, trajectory
from outcomes.course import course_outcomes
from outcomes.episodes import EpisodeInfusions, episode_infusions, patient_episodes
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import STATUS_LABELS, STATUSES, status_label

START = dt.date(2025, 1, 6)
INDUCTION = [0, 2, 4, 7, 9, 11]


def _date(day: int) -> dt.date:
    return START + dt.timedelta(days=day)


def _status(
    infusions: list[int],
    scores: list[tuple[int, int | None]],
    today: int,
    rules: Rules = DEFAULT_RULES,
) -> str:
    """PHQ-9 status of one patient, by the readable rule and by the vectorised frame."""
    readable = current_status(
        "phq9",
        baseline_date=_date(min(infusions)) if infusions else None,
        assessments=[(_date(d), t) for d, t in scores],
        today=_date(today),
        last_infusion_date=_date(max(infusions)) if infusions else None,
        rules=rules,
    )
    frame = course_outcomes(
        "phq9",
        pd.DataFrame(
            [("a", _date(d), t) for d, t in scores],
            columns=["patient_id", "administered_at", "total"],
        ).astype({"total": "Int64"}),
        pd.DataFrame(
            [("a", _date(d)) for d in infusions], columns=["patient_id", "administered_at"]
        ),
        rules=rules,
        today=_date(today),
    )
    assert frame.loc["a", "status"] == readable
    assert bool(frame.loc["a", "losing_response"]) is (readable == "losing_response")
    return readable


# Baseline 20 on day 0: a response is <= 10, remission < 5, relapse two scores > 10 and >= 10.
@pytest.mark.parametrize(
    ("infusions", "scores", "today", "expected"),
    [
        # §2 row by row.
        (INDUCTION, [(20, 20)], 21, "no_baseline"),
        ([], [(0, 20), (14, 8)], 20, "no_baseline"),
        (INDUCTION, [(0, 20)], 5, "no_follow_up"),
        (INDUCTION, [(0, 20), (14, None)], 20, "no_follow_up"),
        (INDUCTION, [(0, 20), (14, 18)], 20, "not_yet_responded"),
        (INDUCTION, [(0, 20), (14, 8)], 20, "responding"),
        (INDUCTION, [(0, 20), (14, 10)], 20, "responding"),  # exactly 50% counts
        (INDUCTION, [(0, 20), (14, 4)], 20, "in_remission"),
        (INDUCTION, [(0, 20), (14, 8), (21, 11)], 25, "losing_response"),
        (INDUCTION, [(0, 20), (14, 8), (21, 11), (28, 12)], 30, "relapsed"),
        # Relapse needs the floor: 9 and 9 are above half of 17 but below 10.
        (INDUCTION, [(0, 17), (14, 8), (21, 9), (28, 9)], 30, "losing_response"),
        (INDUCTION, [(0, 20), (14, 8)], 14 + 91, "course_ended"),
        ([*INDUCTION, 60], [(0, 20), (14, 8)], 70, "lost_to_follow_up"),
        # Precedence: no follow-up before course ended ...
        (INDUCTION, [(0, 20)], 400, "no_follow_up"),
        # ... course ended before relapsed, losing response or responding ...
        (INDUCTION, [(0, 20), (14, 8), (21, 11), (28, 12)], 28 + 91, "course_ended"),
        # ... lost to follow-up before relapsed (a booster last week, no score for 60 days).
        ([*INDUCTION, 80], [(0, 20), (14, 8), (21, 11), (28, 12)], 88, "lost_to_follow_up"),
        # After a relapse, a response (4 <= 10) starts episode 2, here in remission too.
        (INDUCTION, [(0, 20), (14, 8), (21, 11), (28, 12), (35, 4)], 36, "in_remission"),
    ],
)
def test_current_status_rule_by_rule(
    infusions: list[int], scores: list[tuple[int, int | None]], today: int, expected: str
) -> None:
    assert _status(infusions, scores, today) == expected


@pytest.mark.parametrize(("score_age", "expected"), [(28, "responding"), (29, "lost_to_follow_up")])
def test_lost_to_follow_up_after_more_than_28_days_without_a_score(
    score_age: int, expected: str
) -> None:
    assert _status([*INDUCTION, 40], [(0, 20), (14, 8)], 14 + score_age) == expected
    # The clinic's own number of days.
    longer = DEFAULT_RULES.override(lost_to_follow_up_days=35)
    assert _status([*INDUCTION, 40], [(0, 20), (14, 8)], 14 + 29, longer) == "responding"


@pytest.mark.parametrize(("idle", "expected"), [(90, "lost_to_follow_up"), (91, "course_ended")])
def test_course_ended_after_more_than_after_course_days_without_infusion_or_score(
    idle: int, expected: str
) -> None:
    # Last infusion and last score both on day 40: still in treatment 90 days later (and so
    # lost to follow-up), the course ended the day after.
    assert _status([*INDUCTION, 40], [(0, 20), (40, 8)], 40 + idle) == expected


def test_a_relapsed_patient_who_responds_again_under_boosters_is_responding() -> None:
    """Issue 11: relapsed, then eleven months of response under boosters read "relapsed"."""
    scores = [(0, 20), (14, 8), (60, 14), (67, 15)]  # relapse on day 60
    scores += [(d, 7) for d in range(74, 74 + 330, 14)]  # responding again for 11 months
    boosters = [*INDUCTION, *range(70, 400, 28)]
    assert _status(boosters, scores, 400) == "responding"
    found = episodes("phq9", baseline_date=START, assessments=[(_date(d), t) for d, t in scores])
    assert [(e.number, e.response_date, e.relapse_date, e.censored) for e in found] == [
        (1, _date(14), _date(60), False),
        (2, _date(74), None, True),
    ]
    assert found[1].days_to_response == 74
    assert found[1].durable_response_days == scores[-1][0] - 74


def test_episodes_relapse_and_respond_again_as_often_as_the_course_does() -> None:
    scores = [(0, 20), (7, 9), (14, 12), (21, 13), (28, 10), (35, 16), (42, 15), (49, 5)]
    found = episodes("phq9", baseline_date=START, assessments=[(_date(d), t) for d, t in scores])
    assert [(e.number, e.response_date, e.relapse_date) for e in found] == [
        (1, _date(7), _date(14)),
        (2, _date(28), _date(35)),
        (3, _date(49), None),
    ]
    assert [e.durable_response_days for e in found] == [7, 7, 0]
    assert _status([0], scores, 50) == "responding"
    assert _status([0], scores[:-1], 50) == "relapsed"


def test_episode_one_equals_trajectory() -> None:
    scores = [(_date(d), t) for d, t in [(-2, 22), (0, 20), (5, 9), (12, 15), (19, 16), (30, 3)]]
    first = episodes("phq9", baseline_date=START, assessments=scores)[0]
    spec = trajectory("phq9", baseline_date=START, assessments=scores)
    for field in ("response_date", "days_to_response", "relapse_date", "durable_response_days"):
        assert getattr(first, field) == getattr(spec, field), field
    assert first.censored == spec.censored
    assert [f.name for f in dataclasses.fields(Episode)] == [
        "number",
        "response_date",
        "days_to_response",
        "relapse_date",
        "durable_response_days",
        "censored",
    ]


@pytest.mark.parametrize(
    "scores", [[], [(0, 20)], [(0, 20), (7, 15)], [(3, 20), (7, 5)], [(0, 0), (7, 0)]]
)
def test_no_episode_without_baseline_follow_up_or_response(
    scores: list[tuple[int, int]],
) -> None:
    assert (
        episodes("phq9", baseline_date=START, assessments=[(_date(d), t) for d, t in scores]) == ()
    )


def test_the_patient_page_gets_the_episodes_in_one_call_on_its_frames() -> None:
    scores = pd.DataFrame(
        {
            "instrument": ["phq9"] * 5 + ["gad7"],
            "administered_at": [
                pd.Timestamp(_date(d), tz="UTC") + pd.Timedelta(hours=9)
                for d in (0, 14, 60, 67, 74, 80)
            ],
            "total": pd.array([20, 8, 14, 15, 7, 0], dtype="Int64"),
        }
    )
    infusions = pd.DataFrame(
        {"administered_at": [pd.Timestamp(_date(d), tz="UTC") for d in INDUCTION]}
    )
    found = patient_episodes("phq9", scores, infusions)
    assert [(e.number, e.response_date) for e in found] == [(1, _date(14)), (2, _date(74))]
    assert patient_episodes("phq9", scores, infusions.iloc[:0]) == ()


def test_every_status_has_short_clinic_words() -> None:
    assert set(STATUS_LABELS) == set(STATUSES)
    assert len(set(STATUS_LABELS.values())) == len(STATUS_LABELS)
    # The "not yet respon..." was cut off at 15 characters in a third of the page.
    assert max(len(label) for label in STATUS_LABELS.values()) <= 17
    assert status_label("losing_response") == "Losing response"
    assert status_label("something new") == "something new"


def test_each_episode_counts_its_infusions_and_the_boosters_since_the_relapse() -> None:
    """§1: infusions before each response; boosters between the relapse and re-response."""
    scores = [(0, 20), (7, 9), (14, 12), (21, 13), (28, 10), (35, 16), (42, 15), (49, 5)]
    found = episodes("phq9", baseline_date=START, assessments=[(_date(d), t) for d, t in scores])
    # Induction days 0-11; boosters on day 14 (the relapse day: after its score), 20 and
    # 28 (the re-response day: after it), then 40 and 45.
    infusions = [_date(d) for d in [*INDUCTION, 14, 20, 28, 40, 45]]
    assert episode_infusions(found, infusions) == (
        EpisodeInfusions(1, 3, None),  # days 0, 2, 4 before day 7
        EpisodeInfusions(2, 8, 2),  # + days 7, 9, 11, 14, 20; boosters 14 and 20
        EpisodeInfusions(3, 11, 2),  # + 28, 40, 45; boosters since day 35: 40 and 45
    )
