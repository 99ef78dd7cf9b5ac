"""Store a questionnaire: answers, score, safety alerts and audit event in one transaction.

The one function here is what the patient's check-in page, the clinician's MADRS form and
the importers all call. It never commits: the caller's transaction holds all of it, so a
crash leaves either everything or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_write_patient
from data.clinic import SCORING_VERSION, clinic_config
from data.errors import InvalidInput
from data.models import Assessment, SafetyAlert, utcnow
from data.records.alerts import NewAlert, write_alerts
from data.records.assessments import insert_unless_stored
from outcomes import Score, get_instrument, score
from outcomes.errors import UnknownInstrumentError
from outcomes.instruments import Instrument
from outcomes.instruments.safety import safety_alert_kinds
from outcomes.rules import Rules

_KEY_LENGTH: int = Assessment.__table__.c.idempotency_key.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CheckinResult:
    """What was stored (or found stored already, for a repeated submission)."""

    assessment_id: int
    score: Score
    alert_ids: tuple[int, ...]
    duplicate: bool


def _clean_answers(instrument: Instrument, answers: Mapping[str, object]) -> dict[str, object]:
    # Keep only the instrument's own items; scoring has already refused bad values.
    return {key: answers.get(key) for key in instrument.item_keys if answers.get(key) is not None}


def _existing(session: Session, clinic_id: int, key: str) -> Assessment | None:
    return session.scalar(
        select(Assessment).where(
            Assessment.clinic_id == clinic_id, Assessment.idempotency_key == key
        )
    )


def _result_of(session: Session, stored: Assessment) -> CheckinResult:
    alert_ids = session.scalars(
        select(SafetyAlert.id)
        .where(SafetyAlert.assessment_id == stored.id)
        .order_by(SafetyAlert.id)
    ).all()
    return CheckinResult(
        assessment_id=stored.id,
        score=Score(
            total=stored.total,
            severity=stored.severity,
            flags=tuple(stored.flags),
            valid=stored.valid,
        ),
        alert_ids=tuple(alert_ids),
        duplicate=True,
    )


def _only_unanswered(definition: Instrument, answers: Mapping[str, object], rules: Rules) -> bool:
    """Whether a record's only fault is unanswered items: it scores once any number of items
    may be missing, and at least one item is answered."""
    answered = [key for key in definition.item_keys if answers.get(key) is not None]
    if not answered:
        return False
    lenient = rules.override(definition.id, max_missing=len(definition.item_keys) - 1)
    return score(definition, answers, rules=lenient).valid


def submit_checkin(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    instrument: str,
    answers: Mapping[str, object],
    idempotency_key: str | None = None,
    administered_at: dt.datetime | None = None,
    source: str | None = None,
    keep_incomplete: bool = False,
) -> CheckinResult:
    """Score and store one administration of ``instrument`` for a patient.

    Parameters
    ----------
    session : Session
        The caller's session; this function never commits.
    actor : Actor
        The patient (their own check-in), or a clinician or the system of the same clinic.
    patient_id : int
        Whose answers these are.
    instrument : str
        Instrument id; clinician-rated instruments (MADRS, C-SSRS) need a clinician.
    answers : Mapping[str, object]
        Item key to answer, as the form gave them.
    idempotency_key : str, optional
        The form's own id: a second submission with the same key stores nothing more and
        returns the first one's result (``duplicate=True``).
    administered_at : datetime, optional
        When the questionnaire was answered (time-zone aware); now by default.
    source : str, optional
        ``"patient"``, ``"clinician"`` or ``"import"``; by default from the actor's role.
    keep_incomplete : bool, default False
        Store a record whose only fault is unanswered items as it is, invalid (no total, no
        band), with its safety flags and alerts: a clinician's rating with items explicitly
        "not rated" is a record of what was rated (issue 11). Any other fault still refuses
        it, as does a record with no answer at all.

    Returns
    -------
    CheckinResult

    Raises
    ------
    AccessDenied
        The actor may not record answers for this patient.
    InvalidInput
        An unknown instrument, an unusable ``idempotency_key`` (empty, longer than 100
        characters, or with a NUL character), or answers that are not a valid record: the
        readable reasons from :func:`outcomes.score` are in ``problems`` and nothing is
        written. ``flags`` still carries any safety flag,
        so the page can show crisis help at once.

    Notes
    -----
    A positive self-harm item (or a C-SSRS risk level) always creates a safety alert, in the
    same transaction as the answers.
    """
    try:
        definition = get_instrument(instrument)
    except UnknownInstrumentError as error:
        raise InvalidInput([str(error)]) from None
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str)
        or not 0 < len(idempotency_key) <= _KEY_LENGTH
        or "\x00" in idempotency_key
    ):
        # PostgreSQL would refuse it with a DataError (too long, NUL) after the checks.
        raise InvalidInput(
            [f"the form's id must be 1 to {_KEY_LENGTH} characters without NUL; reload the form"]
        )
    ensure_can_write_patient(
        session,
        actor=actor,
        patient_id=patient_id,
        clinician_only=definition.rater == "clinician",
    )
    when = administered_at or utcnow()
    if when.tzinfo is None:
        raise InvalidInput(["the time of the check-in needs a time zone"])
    if when > utcnow() + dt.timedelta(minutes=5):
        raise InvalidInput(["the check-in time is in the future"])
    config = clinic_config(session, actor.clinic_id)
    result = score(definition, answers, rules=config.rules)
    if not result.valid and not (
        keep_incomplete and _only_unanswered(definition, answers, config.rules)
    ):
        raise InvalidInput(result.errors, flags=result.flags)

    assessment_id = insert_unless_stored(
        session,
        clinic_id=actor.clinic_id,
        patient_id=patient_id,
        instrument=definition.id,
        administered_at=when,
        source=source or ("patient" if actor.role == "patient" else "clinician"),
        answers=_clean_answers(definition, answers),
        total=result.total,
        severity=result.severity,
        flags=list(result.flags),
        valid=result.valid,
        scoring_version=SCORING_VERSION,
        idempotency_key=idempotency_key,
        entered_by_id=actor.user_id,
        created_at=utcnow(),
    )
    if assessment_id is None:  # the form was stored already (a double submit, a retry)
        stored = _existing(session, actor.clinic_id, idempotency_key or "")
        if stored is None:  # pragma: no cover - a conflict is always with a stored row
            raise RuntimeError("the form's key conflicted with no stored record")
        if stored.patient_id != patient_id or stored.instrument != definition.id:
            raise InvalidInput(["this form was already used for another record"])
        return _result_of(session, stored)

    alert_ids = write_alerts(
        session,
        [
            NewAlert(
                clinic_id=actor.clinic_id,
                patient_id=patient_id,
                assessment_id=assessment_id,
                kind=kind,
                created_at=utcnow(),
            )
            for kind in safety_alert_kinds(definition, result.flags)
        ],
        return_ids=True,
    )
    audit.record(
        session,
        actor=actor,
        action=audit.Action.SUBMIT,
        instrument=definition.id,
        patient_id=patient_id,
    )
    session.flush()
    return CheckinResult(
        assessment_id=assessment_id,
        score=result,
        alert_ids=alert_ids,
        duplicate=False,
    )
