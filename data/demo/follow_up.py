"""What the demo clinic's clinicians did with the safety alerts its questionnaires raised.

Every alert is acknowledged by the patient's clinician within hours, with a note, but for
the few recent ones the demo leaves open (:func:`data.demo.cohort.plan_clinic`); the alerts
are then stored by the one writer of safety alerts, :func:`data.records.alerts.write_alerts`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from data.demo.plan import Plan, at
from data.demo.write import AlertToCreate
from data.records.alerts import NewAlert

_ALERT_NOTES = (
    "Called the patient the same day: passive thoughts only, no plan or intent. C-SSRS screen "
    "low risk; safety plan reviewed.",
    "Discussed at the infusion visit. Denies intent or plan; crisis line information given.",
    "Phoned the patient: fleeting thoughts during a hard week, none now. Safety plan updated.",
    "Reviewed with the patient and the prescriber; C-SSRS screen low risk. Support person "
    "aware of the safety plan.",
)


def followed_up_alerts(
    rng: random.Random,
    raised: Sequence[AlertToCreate],
    plans: list[Plan],
    *,
    clinic_id: int,
    patient_ids: list[int],
    clinician_ids: list[int],
    today: dt.date,
) -> list[NewAlert]:
    """The alerts to store: acknowledged by the patient's clinician within hours, with a
    note, but for the few the demo leaves open."""
    alerts = []
    midnight = at(today, 0)
    for alert in raised:
        acknowledged_by_id = acknowledged_at = note = None
        if not alert.left_open:
            acknowledged_at = alert.created_at + dt.timedelta(minutes=rng.randint(30, 18 * 60))
            if acknowledged_at >= midnight:
                acknowledged_at = alert.created_at + dt.timedelta(minutes=20)
            acknowledged_by_id = clinician_ids[plans[alert.owner].clinician]
            note = rng.choice(_ALERT_NOTES)
        alerts.append(
            NewAlert(
                clinic_id=clinic_id,
                patient_id=patient_ids[alert.owner],
                assessment_id=alert.assessment_id,
                kind=alert.kind,
                created_at=alert.created_at,
                acknowledged_by_id=acknowledged_by_id,
                acknowledged_at=acknowledged_at,
                note=note,
            )
        )
    return alerts
