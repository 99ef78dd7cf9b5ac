"""Two workers escalating at once escalate an alert once (issue 14), on a real PostgreSQL
server: the second worker waits for the first one's lock on the alert, then finds the round
done. (SQLite has one writer at a time: a worker's transaction takes the write lock first.)
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.engine import make_engine
from data.models import Assessment, Clinic, ClinicSettings, Patient
from data.notify.escalation import escalate_due
from data.notify.models import AlertEvent, OnCallContact, OutboxMessage
from data.records.alerts import NewAlert, write_alerts
from data.schema import upgrade
from tests.builders import add_user
from tests.conftest import fresh_database_url


@pytest.mark.postgres
def test_two_workers_escalate_an_alert_once(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url("postgres", request, tmp_path))
    upgrade(engine)
    raised = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    with Session(engine) as setup:
        clinic = Clinic(name="Clinic W")
        setup.add(clinic)
        setup.flush()
        # Open round the clock: the escalation is due whatever the day.
        setup.add(
            ClinicSettings(
                clinic_id=clinic.id,
                clinic_days="0,1,2,3,4,5,6",
                clinic_opens="00:00",
                clinic_closes="23:59",
            )
        )
        clinician = add_user(setup, clinic.id, "clinician-w", "clinician", "!")
        patient = Patient(
            clinic_id=clinic.id,
            external_id="MRN-W",
            name="W",
            assigned_clinician_id=clinician.id,
        )
        setup.add(patient)
        for position in (1, 2):
            setup.add(
                OnCallContact(
                    clinic_id=clinic.id,
                    position=position,
                    name=f"Contact {position}",
                    email=f"c{position}@x.example",
                )
            )
        setup.flush()
        assessment = Assessment(
            clinic_id=clinic.id,
            patient_id=patient.id,
            instrument="phq9",
            administered_at=raised,
            source="patient",
            answers={},
            total=10,
            flags=["phq9_item9_positive"],
            valid=True,
            scoring_version="test",
        )
        setup.add(assessment)
        setup.flush()
        (alert_id,) = write_alerts(
            setup,
            [NewAlert(clinic.id, patient.id, assessment.id, "phq9_item9_positive", raised)],
            return_ids=True,
        )
        setup.commit()

    now = dt.datetime.now(dt.UTC)
    second: dict[str, object] = {}

    def second_worker() -> None:
        try:
            with Session(engine) as worker:
                second["queued"] = escalate_due(worker, now)
                worker.commit()
        except Exception as error:  # reported below, in the test's own thread
            second["error"] = error

    first = Session(engine)
    assert escalate_due(first, now) == 1  # holds the alert's lock until it commits
    thread = threading.Thread(target=second_worker)
    thread.start()
    thread.join(timeout=1)
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert not thread.is_alive() and "error" not in second, second
    assert second["queued"] == 0
    with Session(engine) as check:
        rounds = check.scalar(
            select(func.count())
            .select_from(AlertEvent)
            .where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "escalated")
        )
        escalations = check.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.kind == "safety_escalation")
        ).all()
    assert rounds == 1 and escalations == ["c2@x.example"]
    engine.dispose()
