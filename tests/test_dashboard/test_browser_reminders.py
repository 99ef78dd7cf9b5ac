"""Issue 14 end to end in real Chromium: a reminder by e-mail, its link, a self-harm answer, the
on-call e-mail, and its escalation, all through a real SMTP server (aiosmtpd on 127.0.0.1).

The app runs as ``make run`` serves it (dashboard/server.py) against a SQLite database, with
the SMTP transport pointed at the test server; the worker passes run here, in process
(:func:`data.notify.worker.run_pass`), with the same settings. The patient has no sign-in:
the link in the e-mail is the only way in. Their first infusion was recorded three days ago
and the next is booked for tomorrow, so the check-in before it (§4: 48 hours before an
induction infusion) is open now. The clinic is open every day round the clock (but the last
minute) and has no quiet hours, so the test does not depend on when it runs; the escalation
pass runs at the moment the clinic's own rule says 30 minutes of opening hours have passed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from data.access import Actor
from data.clinic import clinic_config
from data.engine import make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import Clinic, ClinicSettings, Patient, SafetyAlert, User
from data.notify.models import OnCallContact
from data.notify.worker import run_pass
from data.schedule import plan_infusion
from data.schema import upgrade
from data.settings import get_settings
from outcomes.clinic_time import open_time_elapsed_at
from tests.test_dashboard.test_browser import _answer_checkin, _page, _shot, _start_server

# The real SMTP server of the messages tests (a fixture, so imported by name).
from tests.test_notify.conftest import Received, SmtpTestServer, smtp_server  # noqa: F401

pytestmark = pytest.mark.browser

PATIENT = "patient@patients.example"
CLINICIAN = "clinician@clinic.example"
FIRST, SECOND = "first@oncall.example", "second@oncall.example"
URL = re.compile(r"https?://\S+")


def _clinic(url: str) -> tuple[int, int]:
    """The clinic (see the module) and its patient, committed: (clinic id, patient id)."""
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Reminder Clinic")
        session.add(clinic)
        session.flush()
        session.add(
            ClinicSettings(
                clinic_id=clinic.id,
                reminders_on_since=now - dt.timedelta(days=1),
                quiet_hours_start="00:00",
                quiet_hours_end="00:00",
                clinic_days="0,1,2,3,4,5,6",
                clinic_opens="00:00",
                clinic_closes="23:59",
                escalation_minutes=30,
            )
        )
        clinician = User(
            clinic_id=clinic.id,
            username="reminder-clinician",
            display_name="Dr Reminder",
            role="clinician",
            password_hash="!unusable",
            failed_logins=0,
            active=True,
            email=CLINICIAN,
        )
        session.add(clinician)
        session.flush()
        patient = Patient(
            clinic_id=clinic.id,
            external_id="MRN-remind",
            name="Rita Remind",
            email=PATIENT,
            assigned_clinician_id=clinician.id,
        )
        session.add(patient)
        session.add_all(
            OnCallContact(clinic_id=clinic.id, position=position, name=name, email=address)
            for position, name, address in ((1, "First", FIRST), (2, "Second", SECOND))
        )
        session.flush()
        actor = Actor(clinician.id, clinic.id, "clinician", clinician.username)
        record_infusion(
            session,
            actor=actor,
            patient_id=patient.id,
            infusion=InfusionInput(
                administered_at=now - dt.timedelta(days=3), route="iv", dose_mg=35
            ),
        )
        plan_infusion(
            session, actor=actor, patient_id=patient.id, planned_at=now + dt.timedelta(days=1)
        )
        ids = (clinic.id, patient.id)
    engine.dispose()
    return ids


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets where links point (``OUTCOMES_PUBLIC_URL``) for the passes run here."""

    def point_at(base: str) -> None:
        monkeypatch.setenv("OUTCOMES_PUBLIC_URL", base)
        get_settings.cache_clear()

    yield point_at
    get_settings.cache_clear()


def _to(received: list[Received], address: str) -> list[Received]:
    return [r for r in received if address in r.rcpt_tos]


def _text(message: Received) -> str:
    body = message.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _no_clinical_content(message: Received) -> None:
    words = URL.sub("", f"{message.message['Subject']} {_text(message)}").lower()
    for clinical in ("phq", "gad", "rita", "score", "self-harm", "better off dead", "27"):
        assert clinical not in words


def test_reminder_link_checkin_on_call_email_and_escalation(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    smtp_server: SmtpTestServer,  # noqa: F811 (the fixture, imported above)
    public_url,
    browser,
) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    clinic_id, patient_id = _clinic(url)
    smtp = {
        "OUTCOMES_MESSAGES_TRANSPORT": "smtp",
        "OUTCOMES_SMTP_HOST": "127.0.0.1",
        "OUTCOMES_SMTP_PORT": str(smtp_server.port),
        "OUTCOMES_SMTP_STARTTLS": "false",
        "OUTCOMES_SMTP_FROM": "clinic@outcomes.test",
    }
    process, base = _start_server(url, **smtp)
    public_url(base)
    engine = make_engine(url)
    settings = smtp_server.settings(public_url=base)
    try:
        # 1. A worker pass delivers the due reminder to the patient.
        counts = run_pass(engine, settings=settings)
        (reminder,) = _to(smtp_server.received, PATIENT)
        assert counts.queued == 1 and len(smtp_server.received) == 1
        assert reminder.message["Subject"] == "Your check-in with Reminder Clinic is due"
        checkin_link, opt_out_link = URL.findall(_text(reminder))
        assert checkin_link.startswith(f"{base}/?link=")
        assert opt_out_link.startswith(f"{base}/?link=") and opt_out_link != checkin_link
        _no_clinical_content(reminder)

        # 2. Its link opens the check-in in Chromium without a password; self-harm answered.
        page = _page(browser, width=390, height=844)
        page.goto(checkin_link)
        page.get_by_role("heading", name="Your check-in").wait_for()
        assert page.get_by_role("textbox", name="Password").count() == 0
        _answer_checkin(page, self_harm="More than half the days")
        page.get_by_text("Call or text 988", exact=False).first.wait_for()
        _shot(page, "reminder-link-crisis")
        page.context.close()
        with transaction(engine) as session:
            alert = session.scalars(
                select(SafetyAlert).where(SafetyAlert.patient_id == patient_id)
            ).one()
            raised = alert.created_at
            config = clinic_config(session, clinic_id)

        # 3. One pass delivers the alert to the clinician and the first on-call contact.
        run_pass(engine, settings=settings)
        told = {address: _to(smtp_server.received, address) for address in (CLINICIAN, FIRST)}
        for address, (message,) in told.items():
            assert message.message["Subject"] == "A patient safety alert needs review", address
            assert f"/worklist?alert={alert.id}" in _text(message)
            _no_clinical_content(message)
        assert _to(smtp_server.received, SECOND) == []
        assert len(_to(smtp_server.received, PATIENT)) == 1  # checked in: no more reminders

        # 4. Unacknowledged for the clinic's 30 minutes of opening hours: the next contact.
        due = open_time_elapsed_at(raised, dt.timedelta(minutes=30), **config.opening_hours)
        assert due is not None
        run_pass(engine, settings=settings, now=due - dt.timedelta(seconds=1))
        assert _to(smtp_server.received, SECOND) == []
        run_pass(engine, settings=settings, now=due + dt.timedelta(seconds=1))
        (escalation,) = _to(smtp_server.received, SECOND)
        assert escalation.message["Subject"] == "A patient safety alert is still unacknowledged"
        assert f"/worklist?alert={alert.id}" in _text(escalation)
        _no_clinical_content(escalation)
        assert len(smtp_server.received) == 4
    finally:
        engine.dispose()
        process.terminate()
        process.wait(timeout=20)
