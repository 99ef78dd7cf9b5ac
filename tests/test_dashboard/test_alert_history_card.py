"""The worklist's alert card shows the alert's history (issue 14): raised, who was told how and
when with the message's delivery status, escalations, and who acknowledged. AppTest on a real
SQLite clinic; the messages are queued by the real check-in and escalation code."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import ClinicSettings
from data.notify.escalation import escalate_due
from data.notify.models import OnCallContact, OutboxMessage
from tests.builders import add_user
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in

SELF_HARM = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 3}


def _card_history(app: AppTest) -> tuple[list[str], str]:
    labels = [str(e.label) for e in app.expander if str(e.label).startswith("Alert history")]
    text = "\n".join(str(m.value) for m in app.markdown)
    return labels, text.replace("\\", "")


def test_the_card_says_who_was_told_how_and_the_escalation(
    app: AppTest, app_world: AppWorld
) -> None:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        user = add_user(
            session, app_world.clinician.clinic_id, f"c-{uuid.uuid4().hex[:8]}", "clinician", "!"
        )
        user.email = f"{user.username}@clinic.example"
        user.display_name = "Dr Lee"
        # Open every day round the clock, so the escalation below is due whatever today is.
        settings = session.get(ClinicSettings, app_world.clinician.clinic_id)
        if settings is None:
            settings = ClinicSettings(clinic_id=app_world.clinician.clinic_id)
            session.add(settings)
        settings.clinic_days, settings.clinic_opens, settings.clinic_closes = (
            "0,1,2,3,4,5,6",
            "00:00",
            "23:59",
        )
        session.add_all(
            [
                OnCallContact(
                    clinic_id=user.clinic_id, position=1, name="Nurse Kim", phone="+12025550101"
                ),
                OnCallContact(
                    clinic_id=user.clinic_id, position=2, name="Dr Park", email="park@x.example"
                ),
            ]
        )
        session.flush()
        clinician = Actor(user.id, user.clinic_id, "clinician", user.username)
    patient = new_patient(app_world, clinician=clinician)
    with transaction(engine, write=True) as session:
        (alert_id,) = submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=SELF_HARM,
        ).alert_ids
        # The worker sent the clinician's e-mail; the text to the nurse is still queued.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.alert_id == alert_id, OutboxMessage.channel == "email")
            .values(status="sent", sent_at=dt.datetime.now(dt.UTC))
        )
    with transaction(engine, write=True) as session:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)
        assert escalate_due(session, later) >= 1
    engine.dispose()

    signed_in(app, app_world.clinician).run()
    assert not app.exception, app.exception
    labels, text = _card_history(app)
    assert "Alert history (5)" in labels  # raised, two told, escalated, told
    assert "**Raised**" in text
    assert "**Told**: Dr Lee (the patient's clinician) by e-mail — sent" in text
    assert "**Told**: Nurse Kim (on call, position 1) by text message — queued, not sent yet" in (
        text
    )
    assert "**Escalated**: escalation 1 to Dr Park (on call, position 2)" in text
    assert "**Told**: Dr Park (on call, position 2) by e-mail — queued, not sent yet" in text
    # Nobody reachable is said on the card of the world's own alert (no addresses then).
    assert "**Not told**: nobody reachable" in text

    # Acknowledged: the history says by whom.
    with transaction(engine := make_engine(app_world.url), write=True) as session:
        from data.records.alert_history import alert_history
        from data.records.alert_review import acknowledge_alert

        acknowledge_alert(session, actor=app_world.clinician, alert_id=alert_id, note="called")
        steps = alert_history(session, actor=app_world.clinician, alert_id=alert_id)
    engine.dispose()
    # (The escalation above was dated half an hour ahead, so it sorts after this step.)
    acknowledged = steps[steps["kind"] == "acknowledged"]
    assert list(acknowledged["actor"]) == ["Clinician"]
