"""A new safety alert reaches a person in the transaction that raised it (issue 14)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.models import Assessment, SafetyAlert, User
from data.notify.models import AlertEvent, OnCallContact, OutboxMessage
from data.notify.safety import NOBODY_REACHABLE, care_team_told
from data.records.alerts import alerts_for_answers, write_alerts
from tests.conftest import World

SELF_HARM = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 2}
NO_SELF_HARM = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}


def reachable_clinician(
    session: Session, world: World, *, phone: str | None = "+12025550143"
) -> None:
    user = session.get(User, world.clinician_a.user_id)
    assert user is not None
    user.email, user.phone = "clinician.a@clinic.example", phone
    session.flush()


def on_call(
    session: Session, clinic_id: int, *people: tuple[int, str, str | None, str | None]
) -> list[int]:
    rows = [
        OnCallContact(clinic_id=clinic_id, position=p, name=name, email=email, phone=phone)
        for p, name, email, phone in people
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def checkin(session: Session, world: World, answers: dict[str, int]) -> tuple[int, ...]:
    return submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="phq9",
        answers=answers,
    ).alert_ids


def messages(session: Session, alert_id: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.alert_id == alert_id)
            .order_by(OutboxMessage.id)
        )
    )


def events(session: Session, alert_id: int) -> list[tuple[str, str | None, int | None]]:
    return [
        (e.kind, e.detail, e.message_id)
        for e in session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
    ]


def test_a_self_harm_answer_tells_the_clinician_and_the_first_on_call_contact(
    session: Session, world: World
) -> None:
    reachable_clinician(session, world)
    first, _second = on_call(
        session,
        world.clinic_a,
        (1, "Dr On Call", "oncall@clinic.example", "(202) 555-0199"),
        (2, "Dr Backup", "backup@clinic.example", None),
    )
    (alert_id,) = checkin(session, world, SELF_HARM)
    sent = messages(session, alert_id)
    assert [(m.kind, m.channel, m.recipient, m.status) for m in sent] == [
        ("safety_alert", "email", "clinician.a@clinic.example", "queued"),
        ("safety_alert", "sms", "+12025550143", "queued"),
        ("safety_alert", "email", "oncall@clinic.example", "queued"),
        ("safety_alert", "sms", "+12025550199", "queued"),
    ]
    assert [m.dedupe_key for m in sent] == [
        f"alert:{alert_id}:notified:user:{world.clinician_a.user_id}:email",
        f"alert:{alert_id}:notified:user:{world.clinician_a.user_id}:sms",
        f"alert:{alert_id}:notified:oncall:{first}:email",
        f"alert:{alert_id}:notified:oncall:{first}:sms",
    ]
    assert {m.on_call_contact_id for m in sent[2:]} == {first}
    assert {m.user_id for m in sent[:2]} == {world.clinician_a.user_id}
    history = events(session, alert_id)
    assert [kind for kind, _, _ in history] == ["raised"] + ["notified"] * 4
    assert [message for _, _, message in history[1:]] == [m.id for m in sent]
    assert history[1][1] == "Clinician A (the patient's clinician) by e-mail"
    assert history[4][1] == "Dr On Call (on call, position 1) by text message"
    assert care_team_told(
        session, actor=world.patient_a1, patient_id=world.patient_a1.patient_id or 0
    )


def test_messages_carry_no_clinical_content_only_the_clinic_and_a_sign_in_link(
    session: Session, world: World
) -> None:
    reachable_clinician(session, world)
    (alert_id,) = checkin(session, world, SELF_HARM)
    email, sms = messages(session, alert_id)
    assert email.subject == "A patient safety alert needs review"
    assert "Clinic A" in email.body and "Clinic A" in sms.body
    assert f"/worklist?alert={alert_id}" in email.body and f"/worklist?alert={alert_id}" in sms.body
    patient_name = "Patient A1"
    for text in (email.subject or "", email.body, sms.body):
        for clinical in ("PHQ", "phq", "item 9", "score", "self-harm", "suicid", patient_name):
            assert clinical not in text


def test_no_alert_no_message_and_no_history(session: Session, world: World) -> None:
    reachable_clinician(session, world)
    assert checkin(session, world, NO_SELF_HARM) == ()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert session.scalar(select(func.count()).select_from(AlertEvent)) == 0


def test_nobody_reachable_the_alert_stands_and_the_history_says_so(
    session: Session, world: World
) -> None:
    # The clinician has no e-mail or phone and the clinic has no on-call list.
    (alert_id,) = checkin(session, world, SELF_HARM)
    alert = session.get(SafetyAlert, alert_id)
    assert alert is not None and alert.acknowledged_at is None
    assert messages(session, alert_id) == []
    assert events(session, alert_id) == [
        ("raised", None, None),
        ("delivery_failed", NOBODY_REACHABLE, None),
    ]
    assert not care_team_told(
        session, actor=world.patient_a1, patient_id=world.patient_a1.patient_id or 0
    )


def test_an_invalid_address_on_record_is_in_the_history_and_the_others_are_told(
    session: Session, world: World
) -> None:
    reachable_clinician(session, world, phone="12")  # not a number a text can go to
    (alert_id,) = checkin(session, world, SELF_HARM)
    assert [m.channel for m in messages(session, alert_id)] == ["email"]
    kinds = [(kind, detail) for kind, detail, _ in events(session, alert_id)]
    assert (
        "delivery_failed",
        "Clinician A (the patient's clinician): the sms address on record is not valid",
    ) in kinds
    assert ("notified", "Clinician A (the patient's clinician) by e-mail") in kinds


def test_a_clinician_who_is_also_on_call_is_told_once_per_address(
    session: Session, world: World
) -> None:
    reachable_clinician(session, world, phone=None)
    on_call(session, world.clinic_a, (1, "Clinician A", "Clinician.A@clinic.example", None))
    (alert_id,) = checkin(session, world, SELF_HARM)
    assert [m.recipient for m in messages(session, alert_id)] == ["clinician.a@clinic.example"]


def test_inactive_on_call_contacts_and_other_clinics_are_not_told(
    session: Session, world: World
) -> None:
    off, _ = on_call(
        session,
        world.clinic_a,
        (1, "Away", "away@clinic.example", None),
        (2, "Here", "here@clinic.example", None),
    )
    on_call(session, world.clinic_b, (1, "Other clinic", "b@clinic.example", None))
    contact = session.get(OnCallContact, off)
    assert contact is not None
    contact.active = False
    session.flush()
    (alert_id,) = checkin(session, world, SELF_HARM)
    assert [m.recipient for m in messages(session, alert_id)] == ["here@clinic.example"]


def test_an_import_tells_only_of_recent_open_alerts(session: Session, world: World) -> None:
    reachable_clinician(session, world, phone=None)
    now = dt.datetime.now(dt.UTC)
    patient = world.patient_a1.patient_id or 0
    ids = []
    for days in (2, 40):  # a recent answer, and one that is history
        assessment = Assessment(
            clinic_id=world.clinic_a,
            patient_id=patient,
            instrument="phq9",
            administered_at=now - dt.timedelta(days=days),
            source="import",
            answers=SELF_HARM,
            total=10,
            severity="moderate",
            flags=["phq9_item9_positive"],
            valid=True,
            scoring_version="test",
        )
        session.add(assessment)
        session.flush()
        ids.append((assessment.id, patient, assessment.administered_at, ("phq9_item9_positive",)))
    alert_ids = write_alerts(
        session, alerts_for_answers(clinic_id=world.clinic_a, answers=ids, now=now), return_ids=True
    )
    recent, historical = alert_ids
    assert [m.recipient for m in messages(session, recent)] == ["clinician.a@clinic.example"]
    assert messages(session, historical) == [] and events(session, historical) == []


def test_the_alert_and_its_messages_are_one_transaction(session: Session, world: World) -> None:
    reachable_clinician(session, world)
    savepoint = session.begin_nested()
    (alert_id,) = checkin(session, world, SELF_HARM)
    assert messages(session, alert_id)
    savepoint.rollback()
    for table in (SafetyAlert, OutboxMessage, AlertEvent):
        assert session.scalar(select(func.count()).select_from(table)) == 0


def test_a_checkin_without_an_alert_runs_no_statement_of_its_own_here(
    session: Session, world: World
) -> None:
    """The check-in path stays as cheap as it was: with no safety answer, nothing about
    notifications is read or written (no extra statement at all)."""
    from sqlalchemy import event

    reachable_clinician(session, world)
    on_call(session, world.clinic_a, (1, "Dr On Call", "oncall@clinic.example", None))
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        checkin(session, world, NO_SELF_HARM)
        quiet = list(statements)
        statements.clear()
        checkin_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            instrument="phq9",
            answers=SELF_HARM,
            administered_at=checkin_at,
        )
        alerted = list(statements)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    tables = ("on_call_contact", "alert_event", "outbox_message", "message_template")
    assert not [s for s in quiet if any(t in s for t in tables)]
    # With an alert: the clinic's name, its on-call list, the clinician, any own templates,
    # then one insert per message and one for the history.
    assert any("on_call_contact" in s for s in alerted)
    assert sum("INSERT INTO alert_event" in s for s in alerted) == 1
