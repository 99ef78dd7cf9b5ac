"""What the clinician's worklist reads: each patient's stored course state, never the clinic's
history (issue 13).

The worklist used to read every valid score and every infusion of the clinic and recompute
every course on each rerun (seconds at 10,000 patients). It now reads the rows
:mod:`data.course_state` keeps current on every write: the course facts of the check-in
instrument (``course_state``) and each patient's last check-in and open alerts
(``patient_state``). The page adds what the day decides (:func:`outcomes.course.courses_at`)
and the worklist's rules (:func:`outcomes.worklist.worklist`).

For the care team (clinicians and the operator) of the actor's own clinic; each read is
recorded in the audit trail as the reads it replaces were.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.models import CourseState, Patient, PatientState
from outcomes.course import FACT_COLUMNS

__all__ = ["PATIENT_COLUMNS", "WorklistState", "worklist_state"]

PATIENT_COLUMNS = (
    "assigned_clinician_id",
    "last_checkin_at",
    "next_due",
    "next_due_closes",
    "open_alerts",
    "oldest_open_alert_at",
)
"""Columns of :attr:`WorklistState.patients`."""

_INTEGER_COLUMNS = tuple(
    c
    for c in FACT_COLUMNS
    if c
    in (
        "infusions",
        "baseline_total",
        "latest_total",
        "days_to_response",
        "infusions_to_response",
        "days_to_remission",
        "durable_response_days",
        "followup_days",
    )
)
_BOOLEAN_COLUMNS = ("completed_induction", "censored")


@dataclass(frozen=True)
class WorklistState:
    """The stored state the worklist is computed from.

    Attributes
    ----------
    patients : DataFrame
        Every patient of the clinic (index ``patient_id``, :data:`PATIENT_COLUMNS`):
        ``assigned_clinician_id`` (for "my patients"), ``last_checkin_at`` (UTC; the latest
        counted administration of any instrument, valid or not; NaT for none), ``next_due``,
        ``open_alerts`` and ``oldest_open_alert_at``. A patient registered but never recorded
        has no stored state yet: no check-in, no due date, no open alert.
    courses : DataFrame
        The course facts of the instrument (index ``patient_id``,
        :data:`outcomes.course.FACT_COLUMNS` in the dtypes of
        :func:`outcomes.course.course_facts`) of the patients with a course of it, for
        :func:`outcomes.course.courses_at`.
    """

    patients: pd.DataFrame
    courses: pd.DataFrame


def worklist_state(
    session: Session,
    *,
    actor: Actor,
    instrument: str = "phq9",
    assigned_to: int | None = None,
) -> WorklistState:
    """The clinic's stored course state for the worklist (clinicians and the operator).

    One query: a row per patient of the clinic with its ``patient_state`` and its
    ``course_state`` of ``instrument``; the cost grows with the number of patients, never with
    their scores and infusions. The response episodes and time points (JSON, for other pages)
    are not read: decoding them cost more than the rest of the read. ``assigned_to`` (a
    clinician's user id) reads only that clinician's patients ("My patients"): a clinician
    of a large clinic waits for their own patients' rows only.
    """
    ensure_role(session, actor, "clinician", "system")
    facts = [getattr(CourseState, name) for name in FACT_COLUMNS]
    query = (
        select(
            Patient.id,
            Patient.assigned_clinician_id,
            PatientState.last_checkin_at,
            PatientState.next_due,
            PatientState.next_due_closes,
            PatientState.open_alerts,
            PatientState.oldest_open_alert_at,
            CourseState.patient_id,
            *facts,
        )
        .outerjoin(PatientState, PatientState.patient_id == Patient.id)
        .outerjoin(
            CourseState,
            and_(CourseState.patient_id == Patient.id, CourseState.instrument == instrument),
        )
        .where(Patient.clinic_id == actor.clinic_id)
        .order_by(Patient.id)
    )
    if assigned_to is not None:
        query = query.where(Patient.assigned_clinician_id == assigned_to)
    frame = pd.DataFrame(
        # Core rows: the ORM's per-row bookkeeping cost more than the read itself here.
        session.connection().execute(query).all(),
        columns=["patient_id", *PATIENT_COLUMNS, "course_of", *FACT_COLUMNS],
    ).set_index("patient_id")
    # Like the cohort reads it replaces: the instrument's courses, and the infusions.
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT, instrument=instrument)
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT_INFUSIONS)
    return WorklistState(patients=_patients(frame), courses=_courses(frame))


def _patients(frame: pd.DataFrame) -> pd.DataFrame:
    patients = frame[list(PATIENT_COLUMNS)].copy()
    for column in ("last_checkin_at", "oldest_open_alert_at"):
        patients[column] = pd.to_datetime(patients[column], utc=True)
    patients["open_alerts"] = pd.to_numeric(patients["open_alerts"]).fillna(0).astype("int64")
    patients["assigned_clinician_id"] = pd.array(
        patients["assigned_clinician_id"].tolist(), dtype="Int64"
    )
    return patients


def _courses(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with a course, in the dtypes of :func:`outcomes.course.course_facts`."""
    courses = frame.loc[frame["course_of"].notna(), list(FACT_COLUMNS)].copy()
    for column in _INTEGER_COLUMNS:
        courses[column] = pd.array(courses[column].tolist(), dtype="Int64")
    for column in _BOOLEAN_COLUMNS:
        courses[column] = courses[column].astype(bool)
    for column in FACT_COLUMNS:
        if column.endswith("_date"):
            # dates as objects, None for none, as course_facts gives them
            dates = courses[column].to_numpy(dtype=object)
            dates[pd.isna(dates)] = None
            courses[column] = pd.Series(dates, index=courses.index, dtype=object)
    courses["standing_status"] = courses["standing_status"].astype(object)
    return courses
