"""A check-in link opened in real Chromium without a password, answered and submitted.

The app runs as ``make run`` serves it (dashboard/server.py) on 127.0.0.1, against a SQLite
database with one patient who has no sign-in at all: the link is the only way in, and it
opens that check-in and nothing else (issue 14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data.engine import make_engine, transaction
from data.models import Assessment, Clinic, Patient
from data.notify.links import issue_link
from data.schema import upgrade
from tests.test_dashboard.test_browser import _answer_checkin, _page, _shot, _start_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """(server address, database URL, patient id)."""
    folder: Path = tmp_path_factory.mktemp("links")
    url = f"sqlite:///{folder / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Link Clinic")
        session.add(clinic)
        session.flush()
        patient = Patient(clinic_id=clinic.id, external_id="MRN-link", name="Lee Link")
        session.add(patient)
        session.flush()
        patient_id = patient.id
    engine.dispose()
    process, base = _start_server(url)
    yield base, url, patient_id
    process.terminate()
    process.wait(timeout=20)


def _stored(url: str, patient_id: int) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Assessment).where(Assessment.patient_id == patient_id)
        )
    engine.dispose()
    return int(count or 0)


def test_a_checkin_link_opens_and_submits_without_a_password(  # type: ignore[no-untyped-def]
    clinic: tuple[str, str, int], browser
) -> None:
    base, url, patient_id = clinic
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        link = issue_link(
            session,
            clinic_id=session.get(Patient, patient_id).clinic_id,  # type: ignore[union-attr]
            patient_id=patient_id,
            purpose="checkin",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            instruments=("phq9", "gad7"),
            public_url=base,
        )
    engine.dispose()
    page = _page(browser, width=390, height=844)  # a phone, where reminders are read
    page.goto(link.url)
    page.get_by_role("heading", name="Your check-in").wait_for()
    assert page.get_by_role("textbox", name="Password").count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 0
    _answer_checkin(page, self_harm="Not at all")
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("Your answers are saved", exact=False).wait_for()
    _shot(page, "link-checkin-thank-you")
    assert _stored(url, patient_id) == 2
    # The same link again (a reload, or a second tap on the message): done, no form.
    page.goto(link.url)
    page.get_by_role("heading", name="Check-in done").wait_for()
    assert page.get_by_role("radiogroup").count() == 0
    # Sign in leaves the link for the normal sign-in page.
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("textbox", name="Username").wait_for()
    assert _stored(url, patient_id) == 2
    page.context.close()
