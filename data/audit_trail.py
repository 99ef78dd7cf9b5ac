"""Reading the audit trail: the clinic's events for its administrators.

Events are written by :mod:`data.audit` in the transaction of the action they record; this
module only reads them, filtered by user, patient and time.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.models import AuditEvent


def audit_log(
    session: Session,
    *,
    actor: Actor,
    user_id: int | None = None,
    patient_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The clinic's audit trail, newest first, filtered by user, patient and time."""
    ensure_role(session, actor, "administrator", "system")
    query = select(
        AuditEvent.at,
        AuditEvent.actor_name,
        AuditEvent.action,
        AuditEvent.patient_id,
    ).where(AuditEvent.clinic_id == actor.clinic_id)
    if user_id is not None:
        query = query.where(AuditEvent.actor_id == user_id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at <= until)
    rows = session.execute(query.order_by(AuditEvent.at.desc()).limit(limit)).all()
    audit.record(session, actor=actor, action=audit.Action.VIEW_AUDIT_LOG)
    return pd.DataFrame(rows, columns=["at", "user", "action", "patient_id"])
