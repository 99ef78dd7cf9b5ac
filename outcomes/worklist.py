"""What a clinician should look at first, and when each patient's next check-in is due.

Pure functions over :func:`outcomes.course.course_outcomes` and a few dates, so that the
worklist's order is a rule that can be read and tested, not a side effect of a page.

Priorities (most urgent first)
------------------------------
1. ``safety_alert``: an unacknowledged positive self-harm answer or C-SSRS risk.
2. ``losing_response``: responded, and the latest score is back above 50% of baseline
   (no confirmed relapse yet): consider a booster.
3. ``not_responding``: four or more infusions and no response yet.
4. ``overdue``: the check-in due date passed more than ``grace_days`` ago.
5. ``no_baseline``: infused, or waiting to start, without a baseline score.

"Not responding" and "overdue" concern patients *in treatment*: an infusion within the last
``active_days`` (90 by default, :attr:`outcomes.rules.Rules.after_course_days`). A patient
who stopped months ago is not overdue for a weekly check-in; one who is losing response is
shown whatever the date, since that is exactly when a booster is considered.

Within a priority, the longest-waiting patient comes first. A patient appears once per reason.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from outcomes.errors import ScoringError

REASONS = ("safety_alert", "losing_response", "not_responding", "overdue", "no_baseline")
REASON_LABELS = {
    "safety_alert": "Safety alert",
    "losing_response": "Losing response: consider a booster",
    "not_responding": "Not responding after 4+ infusions",
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
) -> dt.date:
    """The next date a check-in is due, counted from the patient's first infusion.

    Check-ins fall every ``cadence_days`` from the first infusion (the index date of every
    outcome), so weekly scores line up with weeks of treatment. Without an infusion yet, a
    baseline is due today. The due date is the first such day after the last check-in; a
    missed one stays due (the earliest unmet day), so lateness is visible.
    """
    if cadence_days < 1:
        raise ScoringError("cadence_days must be at least 1")
    if first_infusion is None:
        return today if last_checkin is None else max(today, last_checkin)
    if last_checkin is None or last_checkin < first_infusion:
        return first_infusion
    periods = (last_checkin - first_infusion).days // cadence_days + 1
    return first_infusion + dt.timedelta(days=periods * cadence_days)


def worklist(
    courses: pd.DataFrame,
    *,
    last_checkin: pd.Series,
    open_alerts: pd.DataFrame,
    today: dt.date,
    patient_ids: pd.Index | None = None,
    cadence_days: int = 7,
    grace_days: int = 2,
    active_days: int = 90,
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
    cadence_days, grace_days : int
        Check-in cadence, and days of lateness tolerated before "overdue".
    active_days : int
        A patient is in treatment if their latest infusion is at most this many days old.

    Returns
    -------
    DataFrame
        ``patient_id``, ``reason`` (one of :data:`REASONS`), ``priority`` (1 = most urgent),
        ``since`` (date the reason began) and ``detail`` (a short plain-language note).
    """
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
        if bool(course["losing_response"]):
            rows.append(
                {
                    "patient_id": patient_id,
                    "reason": "losing_response",
                    "since": course["latest_date"],
                    "detail": f"latest {course['latest_total']} vs baseline "
                    f"{course['baseline_total']}",
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
            and course["status"] == "not_yet"
            and pd.isna(course["response_date"])
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
        )
        if in_treatment and (today - due).days > grace_days:
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
