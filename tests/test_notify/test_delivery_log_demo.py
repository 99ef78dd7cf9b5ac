"""The demo clinic shows messages on the embedded default: reminders on, an on-call list of
two demo clinicians, fictional addresses, a few unreachable patients (issue 14)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.demo import seed_demo
from data.demo.messages import REMINDERS_ON_WEEKS_AGO, demo_email
from data.models import Patient, User
from data.notify.delivery_log import unreachable_patients
from data.notify.on_call import on_call_list
from data.notify.reminder_effect import reminder_completeness
from data.notify.settings_admin import message_settings

TODAY = dt.date(2026, 3, 2)
PATIENTS = 30


def _admin(session: Session, clinic_id: int) -> Actor:
    admin = session.scalars(
        select(User).where(User.clinic_id == clinic_id, User.username == "demo-admin")
    ).one()
    return Actor(admin.id, clinic_id, "administrator", "demo-admin")


def test_the_demo_clinic_has_reminders_on_and_an_on_call_list(session: Session) -> None:
    summary = seed_demo(session, patients=PATIENTS, today=TODAY)
    admin = _admin(session, summary.clinic_id)
    settings = message_settings(session, actor=admin)
    assert settings.reminders_on_since is not None
    assert settings.reminders_on_since.date() == TODAY - dt.timedelta(weeks=REMINDERS_ON_WEEKS_AGO)
    contacts = on_call_list(session, actor=admin)
    assert [(c.position, c.active) for c in contacts] == [(1, True), (2, True)]
    assert all(c.email and c.email.endswith("@example.org") for c in contacts)
    assert all(c.phone and c.phone[-7:-2] == "55501" for c in contacts)
    staff = session.scalars(
        select(User).where(User.clinic_id == summary.clinic_id, User.role != "patient")
    ).all()
    assert all(user.email and user.email.endswith("@example.org") for user in staff)
    assert {c.user_id for c in contacts} <= {user.id for user in staff}


def test_demo_patients_have_example_addresses_and_a_few_none_at_all(session: Session) -> None:
    summary = seed_demo(session, patients=PATIENTS, today=TODAY)
    patients = session.scalars(
        select(Patient).where(Patient.clinic_id == summary.clinic_id).order_by(Patient.external_id)
    ).all()
    for number, patient in enumerate(patients, start=1):
        assert patient.email == demo_email(number)
        if patient.email is not None:
            assert patient.email == f"demo-{number:04d}@example.org"
    unreachable = [p for p in patients if not p.email and not p.phone]
    assert len(unreachable) == PATIENTS // 14
    admin = _admin(session, summary.clinic_id)
    assert unreachable_patients(session, actor=admin) == len(unreachable)


def test_the_demo_compares_completeness_before_and_with_reminders(session: Session) -> None:
    summary = seed_demo(session, patients=PATIENTS, today=TODAY)
    admin = _admin(session, summary.clinic_id)
    effect = reminder_completeness(session, actor=admin, weeks=8, today=TODAY)
    assert list(effect.weekly["period"]) == ["before"] * 8 + ["after"] * 8
    assert effect.before is not None and effect.after is not None
    assert 0 <= effect.before <= 1 and 0 <= effect.after <= 1
