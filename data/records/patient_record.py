"""One patient's record for their page: identity and care team, questionnaires, infusions.

Functions are keyword-only and take the acting user (``actor``); they decide access
themselves (:mod:`data.access`: the patient themself or their clinic's care team), add an
audit event to the caller's session, and never commit. Reads are indexed on
``(patient_id, ...)``: their cost grows with the patient's own history, not with the clinic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from data import audit
from data.access import Actor, ensure_can_view_patient
from data.models import Assessment, Infusion, TreatmentCourse, User
from data.records.assessments import counted
from data.records.frames import frame_of, with_nullable_ints

ASSESSMENT_COLUMNS = (
    "assessment_id",
    "patient_id",
    "instrument",
    "administered_at",
    "source",
    "total",
    "severity",
    "valid",
    "flags",
    "answers",
    "created_at",
    "corrects_id",
    "superseded_at",
)
"""A questionnaire's columns: ``created_at`` is when it was stored (a correction is possible
for ``correction_hours`` from then); ``corrects_id`` names the record a patient's correction
corrects, and ``superseded_at`` is when a record was corrected (course-and-reporting §3)."""
INFUSION_COLUMNS = (
    "infusion_id",
    "patient_id",
    "administered_at",
    "route",
    "dose_mg_per_kg",
    "dose_mg",
    "duration_minutes",
    "systolic_before",
    "diastolic_before",
    "heart_rate_before",
    "systolic_40min",
    "diastolic_40min",
    "heart_rate_40min",
    "systolic_discharge",
    "diastolic_discharge",
    "heart_rate_discharge",
    "spo2_min",
    "dissociation_cadss6",
    "sedation_moaas",
    "side_effects",
    "side_effects_note",
    "weight_kg",
)
INFUSION_LOG_COLUMNS = (
    *INFUSION_COLUMNS,
    "recorded_by",
    "entered_in_error_at",
    "entered_in_error_by",
    "entered_in_error_reason",
)
"""The log's columns: each infusion as recorded, who recorded it, and any entered-in-error
mark (its time, who marked it and why; all missing for an infusion that counts)."""
_WHOLE_NUMBER_COLUMNS = tuple(
    c for c in INFUSION_COLUMNS[6:19] if c not in ("dose_mg_per_kg", "dose_mg")
)


@dataclass(frozen=True)
class PatientRecord:
    """Who a patient is, for the header of their page."""

    patient_id: int
    external_id: str
    name: str
    date_of_birth: dt.date | None
    assigned_clinician: str | None
    protocol: str | None
    phone: str | None = None


def patient_record(session: Session, *, actor: Actor, patient_id: int) -> PatientRecord:
    """The patient's identity, contact phone and care team (the patient themself or their
    clinic's staff); audited as a view of the patient."""
    patient = ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    clinician = (
        session.get(User, patient.assigned_clinician_id) if patient.assigned_clinician_id else None
    )
    protocol = session.scalar(
        select(TreatmentCourse.protocol)
        .where(TreatmentCourse.patient_id == patient.id)
        .order_by(TreatmentCourse.started_on.desc())
        .limit(1)
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_PATIENT, patient_id=patient.id)
    return PatientRecord(
        patient_id=patient.id,
        external_id=patient.external_id,
        name=patient.name,
        date_of_birth=patient.date_of_birth,
        assigned_clinician=clinician.display_name if clinician else None,
        protocol=protocol,
        phone=patient.phone,
    )


def patient_assessments(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    instrument: str | None = None,
    include_superseded: bool = False,
) -> pd.DataFrame:
    """The patient's questionnaires, oldest first (columns: :data:`ASSESSMENT_COLUMNS`).

    Only the latest of each correction chain by default: what course outcomes, charts and
    progress count. ``include_superseded=True`` adds the answers a patient corrected
    (``superseded_at`` set), for the care team's history of what was answered and when, and
    for the check-in page's windows.
    """
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    query = select(
        Assessment.id,
        Assessment.patient_id,
        Assessment.instrument,
        Assessment.administered_at,
        Assessment.source,
        Assessment.total,
        Assessment.severity,
        Assessment.valid,
        Assessment.flags,
        Assessment.answers,
        Assessment.created_at,
        Assessment.corrects_id,
        Assessment.superseded_at,
    ).where(Assessment.patient_id == patient_id)
    if not include_superseded:
        query = query.where(counted())
    if instrument is not None:
        query = query.where(Assessment.instrument == instrument)
    query = query.order_by(Assessment.instrument, Assessment.administered_at)
    frame = frame_of(session, query, ASSESSMENT_COLUMNS)
    audit.record(session, actor=actor, action=audit.Action.VIEW_ASSESSMENTS, patient_id=patient_id)
    return with_nullable_ints(frame, "total", "corrects_id").sort_values(
        "administered_at", kind="stable"
    )


def patient_infusions(session: Session, *, actor: Actor, patient_id: int) -> pd.DataFrame:
    """The patient's infusions that count, oldest first (columns: :data:`INFUSION_COLUMNS`).

    Infusions marked entered in error are left out: everything that counts or numbers
    infusions (course outcomes, the chart, the summary) reads this.
    :func:`patient_infusion_log` has them too.
    """
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    query = (
        select(
            Infusion.id,
            *(getattr(Infusion, name) for name in INFUSION_COLUMNS[1:]),
        )
        .where(Infusion.patient_id == patient_id, Infusion.entered_in_error_at.is_(None))
        .order_by(Infusion.administered_at, Infusion.id)
    )
    frame = frame_of(session, query, INFUSION_COLUMNS)
    audit.record(session, actor=actor, action=audit.Action.VIEW_INFUSIONS, patient_id=patient_id)
    return with_nullable_ints(frame, *_WHOLE_NUMBER_COLUMNS)


def patient_infusion_log(session: Session, *, actor: Actor, patient_id: int) -> pd.DataFrame:
    """Every infusion of the patient as recorded, oldest first, entered-in-error ones included
    (columns: :data:`INFUSION_LOG_COLUMNS`): the infusion log shows them struck through."""
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    recorder, marker = aliased(User), aliased(User)
    query = (
        select(
            Infusion.id,
            *(getattr(Infusion, name) for name in INFUSION_COLUMNS[1:]),
            recorder.display_name,
            Infusion.entered_in_error_at,
            marker.display_name,
            Infusion.entered_in_error_reason,
        )
        .outerjoin(recorder, recorder.id == Infusion.recorded_by_id)
        .outerjoin(marker, marker.id == Infusion.entered_in_error_by_id)
        .where(Infusion.patient_id == patient_id)
        .order_by(Infusion.administered_at, Infusion.id)
    )
    frame = frame_of(session, query, INFUSION_LOG_COLUMNS)
    audit.record(session, actor=actor, action=audit.Action.VIEW_INFUSIONS, patient_id=patient_id)
    return with_nullable_ints(frame, *_WHOLE_NUMBER_COLUMNS)
