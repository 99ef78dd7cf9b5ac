"""The clinician's worklist, one patient at a time: the reference for ``outcomes.worklist``.

:func:`outcomes.worklist.worklist` applies the worklist's rules to every patient at once, with
array operations (issue 13: a clinic of 10,000 patients). :func:`worklist_reference` is the
loop it replaced, kept as the readable statement of the same rules, one patient after
another; ``tests/test_outcomes/test_worklist_vectorised.py`` checks that the two give the same
frame (Hypothesis clinics). No rule is stated only here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import BOOSTER_STATUSES, status_label
from outcomes.worklist import NOT_RESPONDING_AFTER, REASONS, WORKLIST_COLUMNS, next_checkin_due


def worklist_reference(
    courses: pd.DataFrame,
    *,
    last_checkin: pd.Series,
    open_alerts: pd.DataFrame,
    today: dt.date,
    patient_ids: pd.Index | None = None,
    cadence_days: int = 7,
    grace_days: int | None = None,
    active_days: int = 90,
    rules: Rules | None = None,
) -> pd.DataFrame:
    """:func:`outcomes.worklist.worklist` (same parameters and result), one patient at a time."""
    all_rules = rules or DEFAULT_RULES
    late_days = all_rules.grace_days if grace_days is None else grace_days
    recency_days = all_rules.booster_recency_cadences * cadence_days
    rows: list[dict[str, object]] = []
    created = pd.to_datetime(open_alerts["created_at"], utc=True).dt.date
    for patient_id, kind, since in zip(
        open_alerts["patient_id"], open_alerts["kind"], created, strict=True
    ):
        rows.append(
            {
                "patient_id": patient_id,
                "reason": "safety_alert",
                "since": since,
                "detail": str(kind).replace("_", " "),
            }
        )
    for patient_id, course in courses.iterrows():
        first = course["first_infusion_date"]
        first_date = first if isinstance(first, dt.date) else None
        last = last_checkin.get(patient_id)
        last_date = pd.Timestamp(last).date() if last is not None and not pd.isna(last) else None
        status = str(course["status"])
        latest = course["latest_date"]
        if status in BOOSTER_STATUSES and isinstance(latest, dt.date):
            # A booster is decided on a recent score only (course-and-reporting §2).
            recent = (today - latest).days <= recency_days
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "booster" if recent else "check_in",
                    "since": latest,
                    "detail": f"{status_label(status).lower()}: latest {course['latest_total']} "
                    f"on {latest.isoformat()} vs baseline {course['baseline_total']}",
                }
            )
        if status == "lost_to_follow_up" and isinstance(latest, dt.date):
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "lost_to_follow_up",
                    "since": latest,
                    "detail": f"no score for {(today - latest).days} days "
                    f"(more than {all_rules.lost_to_follow_up_days})",
                }
            )
        infusions = int(course["infusions"])
        latest_infusion = course.get("last_infusion_date")
        in_treatment = isinstance(latest_infusion, dt.date) and (
            (today - latest_infusion).days <= active_days
        )
        if (
            in_treatment
            and infusions >= NOT_RESPONDING_AFTER
            and course["status"] == "not_yet_responded"
        ):
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "not_responding",
                    "since": course["latest_date"],
                    "detail": f"{infusions} infusions, no response yet",
                }
            )
        due = next_checkin_due(
            first_infusion=first_date,
            last_checkin=last_date,
            today=today,
            cadence_days=cadence_days,
            early_days=all_rules.early_days,
        )
        if in_treatment and status != "lost_to_follow_up" and (today - due).days > late_days:
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "overdue",
                    "since": due,
                    "detail": f"due {due.isoformat()}",
                }
            )
        if pd.isna(course["baseline_total"]):
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "no_baseline",
                    "since": first_date or today,
                    "detail": "no score on or before the first infusion",
                }
            )
    if patient_ids is not None:
        for patient_id in patient_ids.difference(courses.index):
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "no_baseline",
                    "since": today,
                    "detail": "new patient: no check-in and no infusion yet",
                }
            )
    frame = pd.DataFrame(rows, columns=["patient_id", "reason", "since", "detail"])
    frame["priority"] = frame["reason"].map({r: i + 1 for i, r in enumerate(REASONS)})
    frame = frame.sort_values(["priority", "since"], kind="stable").reset_index(drop=True)
    return frame[list(WORKLIST_COLUMNS)]
