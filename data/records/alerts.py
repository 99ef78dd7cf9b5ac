"""Safety alerts: the one place that writes them.

A positive self-harm answer (or a C-SSRS risk level) is a safety event: the care team sees an
alert on the worklist until someone acknowledges it with a note. Every path that stores such
an answer writes its alert here, in the caller's transaction, so an answer and its alert are
committed together or not at all: a check-in, an import, a rescore that newly raises a flag,
and the demo clinic.

:func:`alerts_for_answers` is the rule for answers that arrive late (imports, rescoring): an
answer given more than :data:`HISTORICAL_ALERT_AGE` before now is history, and its alert is
stored already acknowledged with :data:`HISTORICAL_ALERT_NOTE` and no acknowledging user (nobody
reviewed it; the audit trail records who imported it), so the record shows it but the worklist
is not flooded with years-old answers.

These functions decide nothing about access: their callers have checked the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from data.models import SafetyAlert
from data.notify.safety import OpenAlert, notify_new_alerts

__all__ = [
    "HISTORICAL_ALERT_AGE",
    "HISTORICAL_ALERT_NOTE",
    "NewAlert",
    "alerts_for_answers",
    "write_alerts",
]

HISTORICAL_ALERT_AGE = dt.timedelta(days=14)
"""Answers older than this when they are stored get their alert acknowledged as history."""
HISTORICAL_ALERT_NOTE = "historical answer imported"


@dataclass(frozen=True)
class NewAlert:
    """One safety alert to store; open unless ``acknowledged_at`` is given."""

    clinic_id: int
    patient_id: int
    assessment_id: int
    kind: str
    created_at: dt.datetime
    acknowledged_by_id: int | None = None
    acknowledged_at: dt.datetime | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None


def write_alerts(
    session: Session, alerts: Sequence[NewAlert], *, return_ids: bool = False
) -> tuple[int, ...]:
    """Store ``alerts`` in the caller's transaction; their ids in order if ``return_ids``.

    One multi-row INSERT (a large import writes thousands); ids are only fetched when the
    caller needs them (a check-in reports its alert) or an alert is open: each open alert
    reaches a person in the same transaction (:func:`data.notify.safety.notify_new_alerts`:
    its clinician and the first on-call contact are sent a message, and its history
    begins). No alert, no read: a check-in without a safety answer costs nothing here.
    """
    if not alerts:
        return ()
    rows = [asdict(alert) for alert in alerts]
    if not return_ids and not any(alert.open for alert in alerts):
        session.execute(insert(SafetyAlert), rows)
        return ()
    ids = tuple(
        int(alert_id)
        for alert_id in session.scalars(
            insert(SafetyAlert).returning(SafetyAlert.id, sort_by_parameter_order=True), rows
        )
    )
    notify_new_alerts(
        session,
        [
            OpenAlert(alert_id, alert.clinic_id, alert.patient_id, alert.created_at)
            for alert_id, alert in zip(ids, alerts, strict=True)
            if alert.open
        ],
    )
    return ids if return_ids else ()


def alerts_for_answers(
    *,
    clinic_id: int,
    answers: Sequence[tuple[int, int, dt.datetime, tuple[str, ...]]],
    now: dt.datetime,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> list[NewAlert]:
    """The alerts for late-arriving answers: (assessment id, patient id, answered at, kinds).

    Alerts of answers older than ``historical_after`` are stored acknowledged as history
    (module notes); the others are open, created ``now``.
    """
    alerts = []
    for assessment_id, patient_id, answered_at, kinds in answers:
        historical = answered_at < now - historical_after
        for kind in kinds:
            alerts.append(
                NewAlert(
                    clinic_id=clinic_id,
                    patient_id=patient_id,
                    assessment_id=assessment_id,
                    kind=kind,
                    created_at=now,
                    acknowledged_at=now if historical else None,
                    note=HISTORICAL_ALERT_NOTE if historical else None,
                )
            )
    return alerts
