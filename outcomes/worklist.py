"""What a clinician should look at first, and when each patient's next check-in is due.

Pure functions over :func:`outcomes.course.course_outcomes` and a few dates, so that the
worklist's order is a rule that can be read and tested, not a side effect of a page.

Priorities (most urgent first)
------------------------------
1. ``safety_alert``: an unacknowledged positive self-harm answer or C-SSRS risk.
2. ``booster``: the status (:func:`outcomes.status.current_status`) is ``losing_response`` or
   ``relapsed`` and the latest score is recent, at most ``booster_recency_cadences`` check-in
   cadences old (14 days with weekly check-ins): consider a booster.
3. ``not_responding``: four or more infusions and no response yet.
4. ``lost_to_follow_up``: in treatment and no valid score for more than
   ``lost_to_follow_up_days`` (the status of that name).
5. ``check_in``: losing response or relapsed on a score too old to decide a booster on:
   ask for a check-in first, never "consider a booster" on data weeks or months old.
6. ``overdue``: the check-in due date passed more than ``grace_days`` ago.
7. ``no_baseline``: infused, or waiting to start, without a baseline score.

Everything but the safety alerts and a missing baseline concerns patients whose course has
not ended: a patient with neither an infusion nor a score for ``after_course_days`` has the
status ``course_ended`` and is not listed. "Not responding" and "overdue" also need an
infusion within the last ``active_days`` (90 by default,
:attr:`outcomes.rules.Rules.after_course_days`); a lost-to-follow-up patient is listed as
that, not also as overdue.

Within a priority, the longest-waiting patient comes first. A patient appears once per reason.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from outcomes.errors import ScoringError
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import BOOSTER_STATUSES, status_label

REASONS = (
    "safety_alert",
    "booster",
    "not_responding",
    "lost_to_follow_up",
    "check_in",
    "overdue",
    "no_baseline",
)
REASON_LABELS = {
    "safety_alert": "Safety alert",
    "booster": "Losing response or relapsed: consider a booster",
    "not_responding": "Not responding after 4+ infusions",
    "lost_to_follow_up": "Lost to follow-up: no recent score",
    "check_in": "Losing response or relapsed on an old score: ask for a check-in",
    "overdue": "Check-in overdue",
    "no_baseline": "No baseline score",
}
NOT_RESPONDING_AFTER = 4
WORKLIST_COLUMNS = ("patient_id", "reason", "priority", "since", "detail")


def next_checkin_due(
    *,
    first_infusion: dt.date | None,
    last_checkin: dt.date | None,
    today: dt.date,
    cadence_days: int = 7,
    early_days: int | None = None,
) -> dt.date:
    """The next date a check-in is due, counted from the patient's first infusion.

    Check-ins fall every ``cadence_days`` from the first infusion (the index date of every
    outcome), so weekly scores line up with weeks of treatment. Without an infusion yet, a
    baseline is due today. The due date is the first such day after the last check-in; a
    missed one stays due (the earliest unmet day), so lateness is visible.

    A check-in up to ``early_days`` before a due day (its window's opening,
    course-and-reporting §3; ``DEFAULT_RULES.early_days`` by default) meets that day, as
    :func:`outcomes.checkin_windows.window_status` counts it.

    .. versionchanged:: issue 12
       A check-in in the window's early days meets the due day it opens for.
    """
    if cadence_days < 1:
        raise ScoringError("cadence_days must be at least 1")
    early = dt.timedelta(days=DEFAULT_RULES.early_days if early_days is None else early_days)
    if first_infusion is None:
        return today if last_checkin is None else max(today, last_checkin)
    if last_checkin is None or last_checkin + early < first_infusion:
        return first_infusion
    periods = (last_checkin + early - first_infusion).days // cadence_days + 1
    return first_infusion + dt.timedelta(days=periods * cadence_days)


def worklist(
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
    """The clinician's worklist, most urgent first.

    Parameters
    ----------
    courses : DataFrame
        :func:`outcomes.course.course_outcomes` for the clinic's patients (index
        ``patient_id``) on the check-in instrument.
    last_checkin : Series
        Date of each patient's latest check-in of any instrument (index ``patient_id``).
    open_alerts : DataFrame
        Unacknowledged alerts: ``patient_id``, ``kind``, ``created_at``.
    today : date
    patient_ids : Index, optional
        Every patient of the clinic; those with no score and no infusion at all are new
        patients without a baseline.
    cadence_days : int
        Check-in cadence.
    grace_days : int, optional
        Days of lateness tolerated before "overdue": by default the clinic's
        ``rules.grace_days``, the day a check-in's window closes (course-and-reporting §3).
    active_days : int
        A patient is in treatment if their latest infusion is at most this many days old.
    rules : Rules, optional
        The clinic's rules: ``booster_recency_cadences`` and ``lost_to_follow_up_days``
        (in the detail). The spec's rules by default. ``courses`` must have been computed
        with the same rules and ``today``.

    Returns
    -------
    DataFrame
        ``patient_id``, ``reason`` (one of :data:`REASONS`), ``priority`` (1 = most urgent),
        ``since`` (date the reason began) and ``detail`` (a short plain-language note).
    """
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
