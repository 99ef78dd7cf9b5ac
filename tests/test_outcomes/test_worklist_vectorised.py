"""The vectorised worklist gives the frame of the per-patient reference (issue 13).

:func:`outcomes.worklist.worklist` applies the rules to every patient at once;
``tests/reference/worklist_reference.py`` is the loop it replaced. Hypothesis draws clinics of
courses (every status, dates present or missing, totals missing), last check-ins (times in
UTC, dates, none), open alerts, rules and cadences, and both must agree row for row, in the
same order. Real courses (:func:`outcomes.course.course_outcomes`) are checked too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.course import course_outcomes
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import STATUSES
from outcomes.worklist import worklist
from tests.reference.worklist_reference import worklist_reference

TODAY = dt.date(2026, 5, 1)
# Short spans: boundaries (due today, a score exactly the booster recency old) come up often.
days_ago = st.integers(-1, 30).map(lambda n: TODAY - dt.timedelta(days=n))


@st.composite
def worklist_inputs(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(st.integers(1, 60), unique=True, max_size=25))
    rows = []
    for _ in ids:
        first = draw(st.none() | days_ago)
        rows.append(
            {
                "first_infusion_date": first,
                "last_infusion_date": None
                if first is None
                else draw(st.integers(0, 40).map(lambda n, f=first: f + dt.timedelta(days=n))),
                "infusions": draw(st.integers(0, 12)),
                "baseline_total": draw(st.none() | st.integers(0, 27)),
                "latest_date": draw(st.none() | days_ago),
                "latest_total": draw(st.none() | st.integers(0, 27)),
                "status": draw(st.sampled_from(STATUSES)),
            }
        )
    courses = pd.DataFrame(
        rows,
        index=pd.Index(ids, name="patient_id"),
        columns=[
            "first_infusion_date",
            "last_infusion_date",
            "infusions",
            "baseline_total",
            "latest_date",
            "latest_total",
            "status",
        ],
    )
    for column in ("baseline_total", "latest_total"):
        courses[column] = pd.array(courses[column].tolist(), dtype="Int64")
    courses["infusions"] = courses["infusions"].astype("int64")
    # Last check-ins as the page passes them (UTC times, NaT for none) or as dates.
    checked = [i for i in ids if draw(st.booleans())] + draw(
        st.lists(st.integers(61, 70), unique=True, max_size=3)
    )
    hours = [draw(st.integers(-1, 30)) * 24 + draw(st.sampled_from([0, 1, 13])) for _ in checked]
    times = [
        pd.Timestamp(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)) - pd.Timedelta(hours=h)
        for h in hours
    ]
    index = pd.Index(checked, dtype="int64")
    last_checkin = pd.Series(times, index=index, dtype="datetime64[ns, UTC]")
    if draw(st.booleans()):
        last_checkin = pd.Series([t.date() for t in times], index=index, dtype=object)
    alerts = [
        (
            draw(st.integers(1, 70)),
            draw(st.sampled_from(["phq9_item9", "cssrs_high_risk"])),
            pd.Timestamp(draw(days_ago)).tz_localize("UTC"),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    rules: Rules = DEFAULT_RULES
    if draw(st.booleans()):
        rules = DEFAULT_RULES.override(
            after_course_days=draw(st.integers(1, 60)),
            lost_to_follow_up_days=draw(st.integers(1, 40)),
            booster_recency_cadences=draw(st.integers(1, 4)),
            early_days=draw(st.integers(0, 3)),
        )
    patient_ids = (
        pd.Index(sorted(set(ids) | set(draw(st.lists(st.integers(1, 80), max_size=5)))))
        if draw(st.booleans())
        else None
    )
    return {
        "courses": courses,
        "last_checkin": last_checkin,
        "open_alerts": pd.DataFrame(alerts, columns=["patient_id", "kind", "created_at"]),
        "today": TODAY,
        "patient_ids": patient_ids,
        "cadence_days": draw(st.sampled_from([1, 7, 14])),
        "grace_days": draw(st.none() | st.integers(0, 10)),
        "active_days": draw(st.integers(1, 60)),
        "rules": rules,
    }


def assert_same_worklist(arguments: dict[str, Any]) -> None:
    expected = worklist_reference(**arguments)
    got = worklist(**arguments)
    if expected.empty:
        assert got.empty and list(got.columns) == list(expected.columns)
        return
    pd.testing.assert_frame_equal(got, expected)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worklist_inputs())
def test_the_vectorised_worklist_equals_the_per_patient_reference(
    arguments: dict[str, Any],
) -> None:
    assert_same_worklist(arguments)


def test_a_clinic_of_real_courses_gives_the_reference_worklist() -> None:
    """Courses from scores and infusions (every reason present), not drawn columns."""
    scores, infusions = [], []
    for patient in range(1, 41):
        start = 10 + 3 * patient
        infusions += [
            (patient, TODAY - dt.timedelta(days=start - 2 * k)) for k in range(patient % 7)
        ]
        for week in range(patient % 9):
            total = max(0, 22 - (patient % 5) * week + (week > 5) * (patient % 3) * 4)
            scores.append((patient, TODAY - dt.timedelta(days=start + 1 - 7 * week), total))
    courses = course_outcomes(
        "phq9",
        pd.DataFrame(scores, columns=["patient_id", "administered_at", "total"]),
        pd.DataFrame(infusions, columns=["patient_id", "administered_at"]),
        today=TODAY,
    )
    last = (
        pd.DataFrame(scores, columns=["patient_id", "day", "total"])
        .groupby("patient_id")["day"]
        .max()
    )
    arguments = {
        "courses": courses,
        "last_checkin": last,
        "open_alerts": pd.DataFrame(
            [(3, "phq9_item9", pd.Timestamp("2026-04-20", tz="UTC"))],
            columns=["patient_id", "kind", "created_at"],
        ),
        "today": TODAY,
        "patient_ids": pd.Index(range(1, 46)),
    }
    assert set(worklist(**arguments)["reason"]) >= {"safety_alert", "overdue", "no_baseline"}
    assert_same_worklist(arguments)
