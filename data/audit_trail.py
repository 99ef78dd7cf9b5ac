"""Reading the audit trail: the clinic's events for its administrators.

Events are written by :mod:`data.audit` in the transaction of the action they record; this
module only reads them, filtered by user, patient and time. A patient is named here by the
clinic's own patient id (MRN), which the administrator knows, and resolved to the internal id
in the administrator's own clinic only (:func:`audit_log`'s ``mrn``); the log itself shows the
internal id and the event's subject, never the MRN or any other patient data.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import AuditEvent, Patient

AUDIT_LOG_COLUMNS = ("at", "user", "action", "subject", "patient_id")
"""The columns of :func:`audit_log`: when, who (username), what (the stored action), to what
(``"account demo-admin"``, ``"alert 12"``; blank for most reads) and which patient (the
internal id)."""
UNKNOWN_MRN = (
    "no patient of your clinic has this patient id (MRN); check the number, or clear the box "
    "to see every patient"
)


def audit_log(
    session: Session,
    *,
    actor: Actor,
    user_id: int | None = None,
    patient_id: int | None = None,
    mrn: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The clinic's audit trail, newest first, filtered by user, patient and time.

    Parameters
    ----------
    user_id : int, optional
        Only this account's events.
    patient_id : int, optional
        Only events about this patient (the internal id, for the command line and tests).
    mrn : str, optional
        Only events about the patient of the actor's clinic with this patient id (MRN);
        surrounding spaces ignored, empty meaning no filter.
    since, until : datetime, optional
        Only events in this time (inclusive).

    Returns
    -------
    DataFrame
        :data:`AUDIT_LOG_COLUMNS`, at most ``limit`` rows.

    Raises
    ------
    InvalidInput
        ``mrn`` is no patient of the actor's clinic (another clinic's reads the same).
    """
    ensure_role(session, actor, "administrator", "system")
    mrn = (mrn or "").strip() or None
    if mrn is not None:
        found = session.scalar(
            select(Patient.id).where(
                Patient.clinic_id == actor.clinic_id, Patient.external_id == mrn
            )
        )
        if found is None:
            raise InvalidInput([UNKNOWN_MRN])
        if patient_id is not None and patient_id != found:
            raise InvalidInput(["the patient id and the MRN name two different patients"])
        patient_id = found
    query = select(
        AuditEvent.at,
        AuditEvent.actor_name,
        AuditEvent.action,
        AuditEvent.subject,
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
    # Once per visit: the page reruns on every click (data.audit, VISIT).
    audit.record(session, actor=actor, action=audit.Action.VIEW_AUDIT_LOG, once_within=audit.VISIT)
    frame = pd.DataFrame(rows, columns=list(AUDIT_LOG_COLUMNS))
    frame["patient_id"] = frame["patient_id"].astype("Int64")
    return frame
