"""Reviewing safety alerts: the clinic's open alerts, one patient's alerts, acknowledging one.

The alerts themselves are written by :mod:`data.records.alerts` in the transaction of the
answer that raised them; the care team reads and acknowledges them here (clinicians and the
operator only, never the patient), each read and acknowledgement recorded in the audit trail.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from data import audit
from data.access import Actor, ensure_can_write_patient, ensure_role
from data.errors import AccessDenied, InvalidInput
from data.models import Assessment, Patient, SafetyAlert, User, utcnow
from data.records.frames import frame_of, with_nullable_ints


def patient_alerts(session: Session, *, actor: Actor, patient_id: int) -> pd.DataFrame:
    """The patient's safety alerts, newest first (care team only)."""
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    acknowledger = aliased(User)
    query = (
        select(
            SafetyAlert.id,
            SafetyAlert.kind,
            SafetyAlert.created_at,
            SafetyAlert.acknowledged_at,
            acknowledger.display_name,
            SafetyAlert.note,
        )
        .outerjoin(acknowledger, acknowledger.id == SafetyAlert.acknowledged_by_id)
        .where(SafetyAlert.patient_id == patient_id)
        .order_by(SafetyAlert.created_at.desc())
    )
    frame = frame_of(
        session,
        query,
        ("alert_id", "kind", "created_at", "acknowledged_at", "acknowledged_by", "note"),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_ALERTS, patient_id=patient_id)
    return frame


def open_alerts(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Unacknowledged safety alerts of the clinic, oldest first (clinicians)."""
    ensure_role(session, actor, "clinician", "system")
    query = (
        select(
            SafetyAlert.id,
            SafetyAlert.patient_id,
            Patient.name,
            SafetyAlert.kind,
            SafetyAlert.created_at,
            Assessment.instrument,
            Assessment.total,
        )
        .join(Patient, Patient.id == SafetyAlert.patient_id)
        .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
        .where(SafetyAlert.clinic_id == actor.clinic_id, SafetyAlert.acknowledged_at.is_(None))
        .order_by(SafetyAlert.created_at)
    )
    frame = frame_of(
        session,
        query,
        ("alert_id", "patient_id", "name", "kind", "created_at", "instrument", "total"),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_OPEN_ALERTS)
    return with_nullable_ints(frame, "total")


def acknowledge_alert(session: Session, *, actor: Actor, alert_id: int, note: str) -> None:
    """Mark a safety alert seen, with what was done; records who and when."""
    ensure_role(session, actor, "clinician", "system")
    alert = session.get(SafetyAlert, alert_id) if isinstance(alert_id, int) else None
    if alert is None or alert.clinic_id != actor.clinic_id:
        raise AccessDenied("no such alert in your clinic")
    ensure_can_write_patient(session, actor=actor, patient_id=alert.patient_id, clinician_only=True)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(["say what was done (for example: called the patient, safety plan)"])
    if alert.acknowledged_at is not None:
        raise InvalidInput(["this alert was already acknowledged"])
    alert.acknowledged_by_id = actor.user_id
    alert.acknowledged_at = utcnow()
    alert.note = note
    audit.record(
        session, actor=actor, action=audit.Action.ACKNOWLEDGE_ALERT, patient_id=alert.patient_id
    )
