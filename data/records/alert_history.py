"""A safety alert's history: the one writer of ``alert_event`` rows, and the care team's read.

Each step of an alert is a row, written in the transaction of the step itself: ``raised``
(the answer was stored), ``notified`` (a message was queued to someone, by one channel: the
row names the person and channel and points at the message), ``escalated`` (the next on-call
contact was told because nobody acknowledged in time), ``delivery_failed`` (nobody could be
told: no address at all, or one that is not valid), ``acknowledged`` (by whom, with the note
on the alert itself). ``detail`` names people and channels only, never clinical content.

:func:`alert_history` reads one alert's steps with each message's delivery status (queued,
sent, failed, cancelled: the outbox row's own), for the clinician's alert card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

import pandas as pd
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, aliased

from data import audit
from data.access import Actor, ensure_can_write_patient, ensure_role
from data.errors import AccessDenied
from data.models import SafetyAlert, User
from data.notify.models import AlertEvent, OutboxMessage
from data.records.frames import frame_of, with_nullable_ints

__all__ = ["EVENT_KINDS", "NewEvent", "alert_histories", "alert_history", "record_events"]

EVENT_KINDS: Final[tuple[str, ...]] = (
    "raised",
    "notified",
    "escalated",
    "delivery_failed",
    "acknowledged",
)
_DETAIL = AlertEvent.__table__.c.detail.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewEvent:
    """One step of one alert to store."""

    clinic_id: int
    alert_id: int
    kind: str
    at: dt.datetime
    detail: str | None = None
    actor_id: int | None = None
    message_id: int | None = None


def record_events(session: Session, events: Sequence[NewEvent]) -> None:
    """Store ``events`` in the caller's transaction (one INSERT); the one writer of the table.

    Raises ValueError for a kind not of :data:`EVENT_KINDS` (a programming error)."""
    if not events:
        return
    for event in events:
        if event.kind not in EVENT_KINDS:
            raise ValueError(f"unknown alert event {event.kind!r}")
    rows = [asdict(event) for event in events]
    for row in rows:
        if row["detail"] is not None and len(row["detail"]) > _DETAIL:
            row["detail"] = row["detail"][: _DETAIL - 1] + "…"
    # The table, not the class: one executemany (the ORM's bulk insert splits the rows by
    # which columns are None, a statement more per check-in that raises an alert).
    table: Table = AlertEvent.__table__  # type: ignore[assignment]
    session.execute(insert(table), rows)


def alert_history(session: Session, *, actor: Actor, alert_id: int) -> pd.DataFrame:
    """One alert's history, oldest first (the care team of the alert's patient).

    Returns
    -------
    DataFrame
        ``at``, ``kind`` (:data:`EVENT_KINDS`), ``detail`` (who and how, in words),
        ``actor`` (the display name of the user who acted, where one did), ``message_id``,
        ``channel``, ``status`` (the message's delivery status: ``queued``, ``sent``,
        ``failed``, ``cancelled``; missing for a step without a message) and ``sent_at``.

    Raises
    ------
    AccessDenied
        Not a clinician (or the operator) of the alert's clinic, or no such alert.
    """
    ensure_role(session, actor, "clinician", "system")
    alert = session.get(SafetyAlert, alert_id) if isinstance(alert_id, int) else None
    if alert is None or alert.clinic_id != actor.clinic_id:
        raise AccessDenied("no such alert in your clinic")
    ensure_can_write_patient(session, actor=actor, patient_id=alert.patient_id, clinician_only=True)
    frame = _steps(session, clinic_id=actor.clinic_id, alert_ids=[alert.id])
    # A card redrawn by a page's reruns is one read of the history, as a list is one visit.
    audit.record(
        session,
        actor=actor,
        action=audit.Action.VIEW_ALERT_HISTORY,
        patient_id=alert.patient_id,
        subject=f"alert {alert.id}",
        once_within=audit.VISIT,
    )
    return frame.drop(columns=["alert_id", "patient_id"])


def alert_histories(session: Session, *, actor: Actor, alert_ids: Sequence[int]) -> pd.DataFrame:
    """The histories of several alerts at once: a page of the worklist's cards in one read.

    The clinic's care team (as :func:`data.records.alert_review.open_alerts`); alerts of
    another clinic, or none, are left out. One audit event per patient concerned.

    Returns
    -------
    DataFrame
        ``alert_id`` then :func:`alert_history`'s columns, by alert and then oldest first.
    """
    ensure_role(session, actor, "clinician", "system")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in alert_ids):
        raise AccessDenied("no such alert in your clinic")
    frame = _steps(session, clinic_id=actor.clinic_id, alert_ids=alert_ids)
    audit.record_many(
        session,
        actor=actor,
        action=audit.Action.VIEW_ALERT_HISTORY,
        patient_ids=sorted({int(p) for p in frame["patient_id"]}),
    )
    return frame.drop(columns=["patient_id"])


_COLUMNS = (
    "alert_id",
    "patient_id",
    "at",
    "kind",
    "detail",
    "actor",
    "message_id",
    "channel",
    "status",
    "sent_at",
)


def _steps(session: Session, *, clinic_id: int, alert_ids: Sequence[int]) -> pd.DataFrame:
    """The steps of the clinic's alerts among ``alert_ids``, each with its message's status."""
    who = aliased(User)
    query = (
        select(
            AlertEvent.alert_id,
            SafetyAlert.patient_id,
            AlertEvent.at,
            AlertEvent.kind,
            AlertEvent.detail,
            who.display_name,
            AlertEvent.message_id,
            OutboxMessage.channel,
            OutboxMessage.status,
            OutboxMessage.sent_at,
        )
        .join(SafetyAlert, SafetyAlert.id == AlertEvent.alert_id)
        .outerjoin(who, who.id == AlertEvent.actor_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == AlertEvent.message_id)
        .where(
            AlertEvent.alert_id.in_(sorted(set(alert_ids))),
            SafetyAlert.clinic_id == clinic_id,
            AlertEvent.clinic_id == clinic_id,
        )
        .order_by(AlertEvent.alert_id, AlertEvent.at, AlertEvent.id)
    )
    return with_nullable_ints(frame_of(session, query, _COLUMNS), "message_id")
