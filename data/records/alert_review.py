"""Reviewing safety alerts: the clinic's open alerts, one patient's alerts, acknowledging one.

The alerts themselves are written by :mod:`data.records.alerts` in the transaction of the
answer that raised them; the care team reads and acknowledges them here (clinicians and the
operator only, never the patient), each read and acknowledgement recorded in the audit trail.

Each alert is read with the answer that raised it: the self-harm item's number and answer
level (``item_number``, ``answer``; PHQ-9 item 9 answered 3, "nearly every day"), read from
the stored answers in SQL, so the clinic's open alerts can be ordered and paged by urgency
in the database however many there are.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from data import audit
from data.access import Actor, ensure_can_write_patient, ensure_role
from data.course_state import refresh_patients
from data.errors import AccessDenied, InvalidInput
from data.models import Assessment, Patient, SafetyAlert, User, utcnow
from data.records.alert_history import NewEvent, record_events
from data.records.frames import frame_of, with_nullable_ints
from outcomes.instruments import registry


def _answer_level() -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """SQL for each alert's self-harm item number, its answer, and its urgency.

    Urgency is a number from 0 to 1: a self-harm item's answer as a share of the item's
    highest answer (PHQ-9 item 9 answered 3 of 3 is 1, MADRS item 10 answered 2 of 6 is 1/3);
    a C-SSRS risk level by its rank among the instrument's flagged levels (high 1, moderate
    2/3, low 1/3). An alert of a kind the registry no longer knows ranks 0. Read from the
    registry at call time, so a new instrument's safety items are ranked without new code.
    """
    numbers: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    answers: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    urgency: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    for instrument in registry.INSTRUMENTS:
        for safety in instrument.safety_items:
            is_kind = SafetyAlert.kind == safety.flag
            answer = Assessment.answers[safety.item].as_integer()
            numbers.append((is_kind, literal(instrument.item_keys.index(safety.item) + 1)))
            answers.append((is_kind, answer))
            urgency.append((is_kind, cast(answer, Float) / float(instrument.max_value)))
        flagged = [level for level in instrument.risk_levels if level.flag is not None]
        for rank, level in enumerate(flagged):
            urgency.append(
                (SafetyAlert.kind == level.flag, literal((len(flagged) - rank) / len(flagged)))
            )
    none = literal(None)
    return (
        case(*numbers, else_=none) if numbers else none,
        case(*answers, else_=none) if answers else none,
        case(*urgency, else_=literal(0.0)) if urgency else literal(0.0),
    )


def patient_alerts(session: Session, *, actor: Actor, patient_id: int) -> pd.DataFrame:
    """The patient's safety alerts, newest first (care team only).

    Returns
    -------
    DataFrame
        ``alert_id``, ``kind``, ``created_at``, ``acknowledged_at``, ``acknowledged_by``
        (the acknowledging user's display name), ``note`` (what was done), ``instrument``,
        ``item_number`` and ``answer`` (the self-harm item and its answer level; missing for
        a C-SSRS risk level, whose ``kind`` names the level).
    """
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    acknowledger = aliased(User)
    item_number, answer, _ = _answer_level()
    query = (
        select(
            SafetyAlert.id,
            SafetyAlert.kind,
            SafetyAlert.created_at,
            SafetyAlert.acknowledged_at,
            acknowledger.display_name,
            SafetyAlert.note,
            Assessment.instrument,
            item_number,
            answer,
        )
        .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
        .outerjoin(acknowledger, acknowledger.id == SafetyAlert.acknowledged_by_id)
        .where(SafetyAlert.patient_id == patient_id)
        .order_by(SafetyAlert.created_at.desc(), SafetyAlert.id.desc())
    )
    frame = frame_of(
        session,
        query,
        (
            "alert_id",
            "kind",
            "created_at",
            "acknowledged_at",
            "acknowledged_by",
            "note",
            "instrument",
            "item_number",
            "answer",
        ),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_ALERTS, patient_id=patient_id)
    return with_nullable_ints(frame, "item_number", "answer")


def open_alerts(
    session: Session, *, actor: Actor, limit: int | None = None, offset: int = 0
) -> pd.DataFrame:
    """Unacknowledged safety alerts of the clinic, most urgent first (clinicians).

    Most urgent first means: the highest urgency (a self-harm item's answer as a share of
    its highest answer, so "nearly every day" before "several days"; a C-SSRS risk level by
    rank, high first), then the oldest alert (the longest open), then the first stored.

    Parameters
    ----------
    session : Session
    actor : Actor
        A clinician or the system of the clinic.
    limit : int, optional
        At most this many alerts (one page); all of them by default.
    offset : int
        Skip this many alerts first (the pages before this one).

    Returns
    -------
    DataFrame
        ``alert_id``, ``patient_id``, ``name``, ``external_id``, ``date_of_birth`` (who),
        ``phone`` (their contact phone, None where none is recorded), ``kind``,
        ``created_at``, ``instrument``, ``total``, ``item_number``, ``answer``
        (the self-harm item and its answer level), ``urgency`` (0 to 1) and
        ``open_total``: how many open alerts the clinic has in all, on every row (so a page
        knows the count without a second read).

    Raises
    ------
    InvalidInput
        ``limit`` below 1 or ``offset`` below 0.
    """
    ensure_role(session, actor, "clinician", "system")
    if (limit is not None and (isinstance(limit, bool) or limit < 1)) or offset < 0:
        raise InvalidInput(["a page needs at least one alert and cannot start before the first"])
    item_number, answer, urgency = _answer_level()
    query = (
        select(
            SafetyAlert.id,
            SafetyAlert.patient_id,
            Patient.name,
            Patient.external_id,
            Patient.date_of_birth,
            Patient.phone,
            SafetyAlert.kind,
            SafetyAlert.created_at,
            Assessment.instrument,
            Assessment.total,
            item_number,
            answer,
            urgency,
            func.count().over(),
        )
        .join(Patient, Patient.id == SafetyAlert.patient_id)
        .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
        .where(SafetyAlert.clinic_id == actor.clinic_id, SafetyAlert.acknowledged_at.is_(None))
        .order_by(urgency.desc(), SafetyAlert.created_at, SafetyAlert.id)
        .limit(limit)
        .offset(offset)
    )
    frame = frame_of(
        session,
        query,
        (
            "alert_id",
            "patient_id",
            "name",
            "external_id",
            "date_of_birth",
            "phone",
            "kind",
            "created_at",
            "instrument",
            "total",
            "item_number",
            "answer",
            "urgency",
            "open_total",
        ),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_OPEN_ALERTS)
    return with_nullable_ints(frame, "total", "item_number", "answer")


def acknowledge_alert(session: Session, *, actor: Actor, alert_id: int, note: str) -> None:
    """Mark a safety alert seen, with what was done; records who and when (on the alert, in
    its history and in the audit trail). An acknowledged alert escalates no further."""
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
    # On the alert's history too (who, when): escalation stops, as it asks for open alerts.
    record_events(
        session,
        [
            NewEvent(
                alert.clinic_id,
                alert.id,
                "acknowledged",
                alert.acknowledged_at,
                "acknowledged with a note",
                actor_id=actor.user_id,
            )
        ],
    )
    audit.record(
        session,
        actor=actor,
        action=audit.Action.ACKNOWLEDGE_ALERT,
        patient_id=alert.patient_id,
        subject=f"alert {alert.id}",
    )
    # The patient's open alerts change, no course does (``instruments=()``).
    refresh_patients(
        session, clinic_id=actor.clinic_id, patient_ids=(alert.patient_id,), instruments=()
    )
