"""The demo administrator's messages in real Chromium (issue 14): the on-call list and
reminders seeded on, switching reminders off, the stuck banner and a message sent read in the
app, its one-time link hidden."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from data.engine import make_engine, transaction
from data.models import Clinic, ClinicSettings, utcnow
from data.notify.models import OutboxAttempt, OutboxMessage
from data.notify.queue import NewMessage, queue_message
from tests.test_dashboard.test_browser import _demo_database, _page, _shot, _sign_in, _start_server

pytestmark = pytest.mark.browser

TOKEN = "Hq2Lw9Zx4Pn7Ck1Vb8Rt3Ys"


@dataclass(frozen=True)
class App:
    base: str
    url: str


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # A demo clinic of its own: this module switches its reminders off.
    url = _demo_database(tmp_path_factory.mktemp("admin-messages"))
    process, base = _start_server(url)
    yield App(base, url)
    process.terminate()
    process.wait(timeout=20)


def _run(url: str, work: Any, *, write: bool = False) -> Any:
    engine = make_engine(url)
    try:
        with transaction(engine, write=write) as session:
            return work(session)
    finally:
        engine.dispose()


def _outbox(session: Any) -> None:
    """A reminder sent an hour ago, and one due 40 minutes ago that could not be sent (what
    the worker leaves when the mail server cannot be reached)."""
    clinic_id = session.scalar(select(Clinic.id).where(Clinic.is_demo.is_(True)))
    for key, status in (("browser-sent", "sent"), ("browser-stuck", "queued")):
        message_id = queue_message(
            session,
            NewMessage(
                clinic_id=clinic_id,
                kind="checkin_reminder",
                channel="email",
                recipient="demo-0001@example.org",
                subject="Your check-in with the demo clinic is due",
                body=f"Check in here: https://outcomes.example.org/l/{TOKEN}",
                dedupe_key=key,
                not_before=utcnow() - dt.timedelta(minutes=40),
            ),
        )
        message = session.get(OutboxMessage, message_id)
        message.status = status
        outcome = "sent" if status == "sent" else "failed"
        message.attempts = 1
        message.sent_at = utcnow() if status == "sent" else None
        message.last_error = None if status == "sent" else "connection refused by 127.0.0.1:25"
        session.add(
            OutboxAttempt(
                clinic_id=clinic_id,
                message_id=message_id,
                outcome=outcome,
                detail=message.last_error,
            )
        )


def test_the_demo_administrator_reads_and_changes_messages(app: App, browser) -> None:  # type: ignore[no-untyped-def]
    _run(app.url, _outbox, write=True)
    page = _page(browser)
    _sign_in(page, app.base, "demo-admin")
    page.get_by_role("link", name="Message delivery").click()
    page.get_by_role("heading", name="Message delivery").wait_for()
    page.get_by_text("The mail server cannot be reached", exact=False).wait_for()
    page.get_by_text("connection refused by 127.0.0.1:25", exact=False).wait_for()
    # The message sent, as its recipient read it, without its one-time link.
    page.get_by_text("checkin_reminder · email to d***@", exact=False).first.click()
    page.get_by_text("Subject: Your check-in with the demo clinic is due").wait_for()
    body = page.get_by_text("Check in here:", exact=False).first.inner_text()
    assert "[one-time link hidden]" in body and TOKEN not in page.content()
    page.get_by_role("heading", name="Check-ins before and with reminders").wait_for()
    _shot(page, "admin-message-delivery")

    page.get_by_role("link", name="Messages", exact=True).click()
    page.get_by_role("heading", name="On-call list").wait_for()
    page.get_by_text("reminders are", exact=False).first.wait_for()
    _shot(page, "admin-messages")
    page.get_by_text("Send check-in reminders").click()
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("The message settings were saved.").wait_for()

    def reminders_since(session: Any) -> Any:
        clinic_id = session.scalar(select(Clinic.id).where(Clinic.is_demo.is_(True)))
        return session.get(ClinicSettings, clinic_id).reminders_on_since

    assert _run(app.url, reminders_since) is None
