"""The patient header's course summary in AppTest: one status, a banner only with it, and
colours that mean something (lower is better: a fall is good news, no change is neutral)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from outcomes.course import course_outcomes
from outcomes.status import STATUS_LABELS

TODAY = dt.date(2026, 5, 1)
INDUCTION = [60, 58, 56, 53, 51, 49]


# AppTest runs this function's body as a script: its annotations are evaluated there, where
# only what it imports exists, so they are texts.
def _header(course: "dict[str, object]", today: "dt.date") -> None:  # noqa: UP037
    from dashboard.patient_view.course_summary import show_course_summary
    from data.clinic import ClinicConfig
    from outcomes.rules import DEFAULT_RULES

    config = ClinicConfig(1, ("phq9",), 7, "", DEFAULT_RULES)
    show_course_summary(course, config, today=today)


def _course(scores: list[tuple[int, int]], infusions: list[int] = INDUCTION) -> dict[str, Any]:
    """One PHQ-9 course row at TODAY (days are days before TODAY)."""
    frame = course_outcomes(
        "phq9",
        pd.DataFrame(
            [("a", TODAY - dt.timedelta(days=d), t) for d, t in scores],
            columns=["patient_id", "administered_at", "total"],
        ),
        pd.DataFrame(
            [("a", TODAY - dt.timedelta(days=d)) for d in infusions],
            columns=["patient_id", "administered_at"],
        ),
        today=TODAY,
    )
    row: dict[str, Any] = frame.loc["a"].to_dict()
    return row


def _run(course: dict[str, Any]) -> AppTest:
    app = AppTest.from_function(_header, args=(course, TODAY), default_timeout=30)
    app.run()
    assert not app.exception
    return app


def _metric(app: AppTest, label: str) -> Any:
    return next(m for m in app.metric if m.label == label)


def test_a_responder_has_no_losing_response_banner() -> None:
    """Issue 11: "responder, 35 days+" sat beside a "losing response" banner."""
    course = _course([(60, 20), (40, 8), (2, 9)])
    app = _run(course)
    assert _metric(app, "Status").value == STATUS_LABELS["responding"]
    assert not app.warning
    # The banner follows the one status alone, never a second flag beside it.
    assert not _run({**course, "losing_response": True}).warning


def test_losing_response_is_the_status_and_the_banner() -> None:
    app = _run(_course([(60, 20), (40, 8), (2, 12)]))
    assert _metric(app, "Status").value == STATUS_LABELS["losing_response"]
    assert [w.value for w in app.warning] == [
        "Losing response: the latest score is back above 50% of baseline. Consider a booster."
    ]


def test_a_losing_response_on_an_old_score_asks_for_a_check_in_first() -> None:
    app = _run(_course([(60, 20), (40, 8), (20, 12)]))
    assert _metric(app, "Status").value == STATUS_LABELS["losing_response"]
    (banner,) = app.warning
    assert "ask for a check-in before deciding on a booster" in banner.value
    assert "Consider a booster" not in banner.value


@pytest.mark.parametrize(
    ("latest", "color", "direction"),
    [
        (20, MetricProto.MetricColor.GRAY, MetricProto.MetricDirection.NONE),  # no change
        (8, MetricProto.MetricColor.GREEN, MetricProto.MetricDirection.DOWN),  # a fall: good
        (24, MetricProto.MetricColor.RED, MetricProto.MetricDirection.UP),  # a rise: bad
    ],
    ids=["no_change", "fall", "rise"],
)
def test_the_latest_score_change_is_coloured_for_lower_is_better(
    latest: int, color: int, direction: int
) -> None:
    """Issue 11: a red "↑ +0 points" appeared for no change at all."""
    app = _run(_course([(60, 20), (2, latest)]))
    metric = _metric(app, "Latest")
    assert metric.proto.color == color
    assert metric.proto.direction == direction
    assert metric.proto.delta_description == "points"


def test_the_printed_summary_names_the_status_day_and_each_response_again() -> None:
    from dashboard.summary import summary_html
    from data.records.patient_record import PatientRecord
    from outcomes.episodes import patient_episodes

    scores = [(120, 20), (100, 8), (80, 14), (73, 15), (60, 7), (2, 6)]
    course = _course(scores, [120, 30])
    frame = pd.DataFrame(
        [(TODAY - dt.timedelta(days=d), t) for d, t in scores],
        columns=["administered_at", "total"],
    )
    infusions = pd.DataFrame({"administered_at": [TODAY - dt.timedelta(days=d) for d in (120, 30)]})
    found = patient_episodes("phq9", frame, infusions)
    record = PatientRecord(1, "MRN-1", "Pat", None, None, None)
    page = summary_html(record, "PHQ-9", course, 6, today=TODAY, episodes=found)
    assert "<th>Status on 2026-05-01</th><td>Responding</td>" in page
    assert "Response again (episode 2)" in page
    assert "2026-03-02: day 60, lasting 58+ days" in page
