"""Unacknowledged safety alerts escalate down the clinic's on-call list (a worker step).

:func:`escalate_due` runs in every worker pass (:data:`data.notify.steps.STEPS`). An open
alert whose last step (raised, or the last escalation) is older than the clinic's
``escalation_minutes`` of *opening hours* (its days and hours, on its clock: an alert raised
on Friday at 17:50 with 30 minutes escalates on Monday at 08:20, not in the night) is
escalated: the next on-call contact is sent a ``safety_escalation`` message by each channel
they have, and the alert's history gains an ``escalated`` step (which round, to whom) and a
``notified`` step per message.

Who is next: the first contact was told when the alert was raised, so escalation round ``k``
goes to the contact at list index ``k`` (position order, active contacts only). When the list
is exhausted, every further round goes to its **last** contact again, until someone
acknowledges: the end of a clinic's list is its backstop (typically the medical director),
and an alert nobody acknowledges must keep reaching someone. A clinic whose list has nobody
reachable gets one ``escalated`` step saying so, not one every half hour.

Safe twice and in two workers: each alert is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time) and its steps read again before a round is
written, so a second worker finds the round done; message keys name the round
(``alert:<id>:escalated:<round>:<contact>:<channel>``), so a message is queued once whatever
happens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from data.clinic import ClinicConfig, clinic_config
from data.models import Clinic, SafetyAlert
from data.notify.models import AlertEvent
from data.notify.safety import OpenAlert, on_call_contacts, tell
from data.records.alert_history import NewEvent, record_events
from outcomes.clinic_time import open_time_elapsed_at

__all__ = ["NOBODY_ON_CALL", "escalate_due"]

NOBODY_ON_CALL = "nobody reachable: the on-call list has no active contact with an e-mail or phone"
_STEPS = ("raised", "escalated")


@dataclass(frozen=True)
class _Stage:
    last_step: dt.datetime
    rounds: int
    nobody_before: bool


def _stage(session: Session, alert_id: int) -> _Stage | None:
    """The alert's last raise or escalation, and how many rounds were escalated."""
    row = session.execute(
        select(
            func.max(AlertEvent.at),
            func.count(case((AlertEvent.kind == "escalated", 1))),
            func.count(
                case(((AlertEvent.kind == "escalated") & (AlertEvent.detail == NOBODY_ON_CALL), 1))
            ),
        ).where(AlertEvent.alert_id == alert_id, AlertEvent.kind.in_(_STEPS))
    ).one()
    last, rounds, nobody = row
    return None if last is None else _Stage(last, int(rounds), int(nobody) > 0)


def _due(config: ClinicConfig, since: dt.datetime, now: dt.datetime) -> bool:
    wait = dt.timedelta(minutes=config.escalation_minutes)
    at = open_time_elapsed_at(since, wait, **config.opening_hours)
    return at is not None and at <= now


def escalate_due(session: Session, now: dt.datetime) -> int:
    """Escalate every open alert that is due (module notes); how many messages were queued.

    A worker step: ``step(session, now) -> int``, run in its own transaction.
    """
    candidates = session.execute(
        select(
            SafetyAlert.id,
            SafetyAlert.clinic_id,
            SafetyAlert.patient_id,
            SafetyAlert.created_at,
            func.max(AlertEvent.at),
        )
        .outerjoin(
            AlertEvent, (AlertEvent.alert_id == SafetyAlert.id) & AlertEvent.kind.in_(_STEPS)
        )
        .where(SafetyAlert.acknowledged_at.is_(None), SafetyAlert.created_at <= now)
        .group_by(
            SafetyAlert.id, SafetyAlert.clinic_id, SafetyAlert.patient_id, SafetyAlert.created_at
        )
        .order_by(SafetyAlert.clinic_id, SafetyAlert.id)
    ).all()
    configs: dict[int, ClinicConfig] = {}
    queued = 0
    for alert_id, clinic_id, patient_id, created_at, last_step in candidates:
        if clinic_id not in configs:
            configs[clinic_id] = clinic_config(session, clinic_id)
        config = configs[clinic_id]
        if not _due(config, last_step or created_at, now):
            continue  # the cheap test first; the lock only for alerts that look due
        queued += _escalate(
            session, OpenAlert(alert_id, clinic_id, patient_id, created_at), config, now
        )
    return queued


def _escalate(session: Session, alert: OpenAlert, config: ClinicConfig, now: dt.datetime) -> int:
    locked = session.scalar(
        select(SafetyAlert.id)
        .where(SafetyAlert.id == alert.alert_id, SafetyAlert.acknowledged_at.is_(None))
        .with_for_update()
    )
    if locked is None:
        return 0  # acknowledged meanwhile
    stage = _stage(session, alert.alert_id)
    since = stage.last_step if stage is not None else alert.created_at
    if not _due(config, since, now):
        return 0  # another worker escalated it first
    rounds = stage.rounds if stage is not None else 0
    contacts = [c for c in on_call_contacts(session, alert.clinic_id) if c.addresses()]
    if not contacts:
        if stage is not None and stage.nobody_before:
            return 0
        record_events(
            session,
            [NewEvent(alert.clinic_id, alert.alert_id, "escalated", now, NOBODY_ON_CALL)],
        )
        return 0
    round_number = rounds + 1
    contact = contacts[min(round_number, len(contacts) - 1)]
    clinic = session.get(Clinic, alert.clinic_id)
    minutes = max(1, int((now - alert.created_at).total_seconds() // 60))
    told, count = tell(
        session,
        alert=alert,
        contacts=[contact],
        kind="safety_escalation",
        step=f"escalated:{round_number}",
        at=now,
        clinic_name=clinic.name if clinic is not None else "your clinic",
        values={"minutes": str(minutes)},
    )
    head = NewEvent(
        alert.clinic_id,
        alert.alert_id,
        "escalated",
        now,
        f"escalation {round_number} to {contact.label}, unacknowledged after {minutes} min",
    )
    record_events(session, [head, *told])
    return count
