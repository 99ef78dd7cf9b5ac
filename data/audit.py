"""The audit trail: who looked at or changed which patient's records, and when.

An event is added to the caller's session, so it commits or rolls back with the read or
write it records. Events carry the actor, the action and the patient's id, never patient
data; nothing here is logged.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from data.access import Actor
from data.models import AuditEvent, utcnow


def record(session: Session, *, actor: Actor, action: str, patient_id: int | None = None) -> None:
    """Add an audit event for ``action`` (a verb phrase such as ``"view_assessments"``)."""
    session.add(
        AuditEvent(
            clinic_id=actor.clinic_id,
            actor_id=actor.user_id,
            actor_name=actor.username,
            action=action,
            patient_id=patient_id,
            at=utcnow(),
        )
    )
