"""A clinician's morning, end to end in headless Chromium (issue 11's "Done when").

One walk, in the order a clinician works: sign in, take the most urgent alert, open its
patient (the right one of three "Casey Example"s, by MRN), acknowledge the alert with a note
and see it in the history, record one infusion (Enter stores nothing; the same infusion again
asks first), rate a MADRS. At each step the test checks what the page shows and what the
database holds. One test, because each browser start and sign-in costs seconds.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from data.access import Actor
from data.checkin import submit_checkin
from data.demo.seed import DEMO_TIME_ZONE
from data.engine import make_engine, transaction
from data.models import Assessment, Infusion, Patient, User
from data.records.alert_review import open_alerts, patient_alerts
from tests.test_dashboard.test_browser import (
    _demo_database,
    _page,
    _shot,
    _sign_in,
    _start_server,
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Morning:
    """The app's address and the database it serves."""

    base: str
    url: str


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Morning]:
    # A demo clinic of its own: no other browser test has acknowledged or recorded anything.
    url = _demo_database(tmp_path_factory.mktemp("morning"))
    process, base = _start_server(url)
    yield Morning(base, url)
    process.terminate()
    process.wait(timeout=20)


def _read(url: str, read: Any, *, write: bool = False) -> Any:
    """``read(session)`` in a transaction of its own on the app's database."""
    engine = make_engine(url)
    try:
        with transaction(engine, write=write) as session:
            return read(session)
    finally:
        engine.dispose()


NAMESAKE = "Casey Example"


def _overnight_checkin(session: Any) -> int:
    """Overnight, the last of the demo clinic's three Casey Examples answered PHQ-9 item 9
    "Nearly every day": the most urgent alert of the morning. The last, so that opening the
    first Casey Example found by name would show the wrong patient."""
    namesakes = session.scalars(
        select(Patient).where(Patient.name == NAMESAKE).order_by(Patient.external_id)
    ).all()
    assert len(namesakes) == 3
    patient = namesakes[-1]
    answers = {f"phq9_{n}": 1 for n in range(1, 11)} | {"phq9_9": 3}
    submit_checkin(
        session,
        actor=Actor.system(patient.clinic_id),
        patient_id=patient.id,
        instrument="phq9",
        answers=answers,
        source="patient",
    )
    return int(patient.id)


def _clinician(session: Any) -> tuple[Actor, str]:
    user = session.scalars(select(User).where(User.username == "demo-clinician")).one()
    actor = Actor(
        user_id=user.id, clinic_id=user.clinic_id, role="clinician", username=user.username
    )
    return actor, user.display_name


def _infusions(url: str, patient_id: int) -> int:
    return int(
        _read(
            url,
            lambda s: s.scalar(
                select(func.count()).select_from(Infusion).where(Infusion.patient_id == patient_id)
            ),
        )
    )


def _madrs_at(url: str, patient_id: int) -> list[tuple[dt.datetime, int | None]]:
    rows = _read(
        url,
        lambda s: s.execute(
            select(Assessment.administered_at, Assessment.total).where(
                Assessment.patient_id == patient_id, Assessment.instrument == "madrs"
            )
        ).all(),
    )
    return [(at if at.tzinfo else at.replace(tzinfo=dt.UTC), total) for at, total in rows]


# Some text on screen, in the part of the page the clinician is looking at: a confirmation
# above a long form's top, scrolled out of view, is not seen.
_IN_VIEW = """(text) => Array.from(document.querySelectorAll("[data-testid='stMarkdownContainer']"))
    .some((element) => {
        const box = element.getBoundingClientRect();
        return element.innerText.includes(text) && box.height > 0
            && box.bottom > 0 && box.top < window.innerHeight;
    })"""


def _seen(page: Any, text: str) -> None:
    """Wait until ``text`` shows in the viewport (Playwright's timeout otherwise)."""
    page.wait_for_function(_IN_VIEW, arg=text)


def test_a_clinicians_morning(morning: Morning, browser) -> None:  # type: ignore[no-untyped-def]
    namesake_id = _read(morning.url, _overnight_checkin, write=True)
    actor, display_name = _read(morning.url, _clinician)
    urgent = _read(morning.url, lambda s: open_alerts(s, actor=actor, limit=1)).iloc[0]
    patient_id, alert_id = int(urgent.patient_id), int(urgent.alert_id)
    assert (patient_id, urgent["name"]) == (namesake_id, NAMESAKE)
    mrn, born = str(urgent.external_id), urgent.date_of_birth.isoformat()

    # 1. The worklist's first card is the most urgent alert, and names its patient.
    page = _page(browser)
    _sign_in(page, morning.base, "demo-clinician")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_role("heading", name="Safety alerts", exact=False).wait_for()
    first_card = page.locator("[data-testid='stMarkdown']").filter(has_text=" · raised ").first
    card_text = first_card.inner_text()
    assert f"{urgent['name']} · MRN {mrn} · born {born}" in card_text
    assert card_text.index(f"MRN {mrn}") < card_text.index(" · raised ")
    _shot(page, "clinician-morning-alert")

    # 2. Its "Open patient" opens that patient (of the three Casey Examples, this MRN).
    page.get_by_role("button", name="Open patient").first.click()
    page.get_by_role("heading", name="Patient", exact=True).wait_for()
    header = page.get_by_role("heading").filter(has_text=f"MRN {mrn} · born {born}")
    header.wait_for()
    assert header.inner_text().startswith(f"{urgent['name']} · MRN {mrn}")

    # 3. Acknowledge the alert here, with a note: confirmation, history, database.
    note = "Called the patient; safety plan reviewed"
    note_field = page.locator(f".st-key-patient_ack_note_{alert_id} input")
    note_field.fill(note)
    page.locator("[data-testid='stForm']").filter(has=note_field).get_by_role(
        "button", name="Acknowledge"
    ).click()
    _seen(page, "Alert acknowledged (")
    stored = _read(
        morning.url, lambda s: patient_alerts(s, actor=actor, patient_id=patient_id)
    ).set_index("alert_id")
    acknowledged = stored.loc[alert_id]
    assert acknowledged.note == note
    assert acknowledged.acknowledged_by == display_name
    # The history is folded while other alerts are open, unfolded once none is.
    history = page.locator("[data-testid='stExpander'] details").filter(has_text="Alert history (")
    if history.get_attribute("open") is None:
        history.locator("summary").click()
    acknowledged_at = (
        dt.datetime.fromisoformat(str(acknowledged.acknowledged_at))
        .astimezone(zoneinfo.ZoneInfo(DEMO_TIME_ZONE))
        .strftime("%d %b %Y %H:%M %Z")
    )
    entry = page.locator("[data-testid='stMarkdown']").filter(has_text=f"What was done: {note}")
    entry.wait_for()
    assert f"acknowledged {acknowledged_at} by {display_name}" in entry.inner_text()
    assert page.locator(f".st-key-patient_ack_note_{alert_id}").count() == 0
    _shot(page, "clinician-morning-acknowledged")

    # 4. One infusion: Enter in a vitals field stores nothing; Record stores it once.
    before = _infusions(morning.url, patient_id)
    page.get_by_role("tab", name="Record infusion").click()
    dose = page.get_by_label("Dose given (mg), required")
    dose.fill("35")
    page.get_by_label("Weight today (kg)").fill("70")
    heart_rate = page.get_by_label("Heart rate before")
    heart_rate.fill("72")
    heart_rate.press("Enter")
    page.get_by_text("0.50 mg/kg", exact=False).first.wait_for()
    assert _infusions(morning.url, patient_id) == before
    assert page.get_by_text("Infusion recorded:", exact=False).count() == 0
    assert heart_rate.input_value() == "72"

    record = page.get_by_role("button", name="Record infusion")
    record.click()
    _seen(page, "Infusion recorded:")
    assert _infusions(morning.url, patient_id) == before + 1
    assert page.get_by_label("Dose given (mg), required").input_value() == ""
    assert page.get_by_label("Heart rate before").input_value() == ""
    _shot(page, "clinician-morning-infusion")

    # The same infusion again (same time, same dose): the page asks before storing.
    page.get_by_label("Dose given (mg), required").fill("35")
    page.get_by_label("Weight today (kg)").fill("70")
    page.get_by_text("0.50 mg/kg", exact=False).first.wait_for()
    page.get_by_role("button", name="Record infusion").click()
    page.get_by_text("Another infusion of this patient is already recorded", exact=False).wait_for()
    assert _infusions(morning.url, patient_id) == before + 1
    page.get_by_role("button", name="No, do not record it").click()
    page.get_by_text("Nothing recorded: the infusion was recorded already.").first.wait_for()
    assert _infusions(morning.url, patient_id) == before + 1

    # 5. A MADRS: Save untouched stores nothing and marks every item; then rated, it is stored.
    ratings_before = _madrs_at(morning.url, patient_id)
    page.get_by_role("tab", name="Clinician rating").click()
    save = page.get_by_role("button", name="Save MADRS")
    save.click()
    # The marks push the form's foot down: the clinician sees marked items, the summary below.
    _seen(page, "Not rated yet: choose a rating, or 'not rated'.")
    page.get_by_text("Nothing was stored: 10 item(s) not rated yet", exact=False).wait_for()
    assert page.get_by_text("Not rated yet: choose a rating, or 'not rated'.").count() == 10
    assert _madrs_at(morning.url, patient_id) == ratings_before

    form = page.locator("[data-testid='stForm']").filter(has=save)
    items = form.get_by_role("radiogroup")
    assert items.count() == 10
    for index in range(10):
        items.nth(index).get_by_text("2", exact=True).click()
    # A time that has passed (on the clinic's clock, to the form's 5-minute step), on the
    # form's day: the clinic's today.
    zone = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
    now = dt.datetime.now(zone)
    rated_at = (now - dt.timedelta(minutes=15)).replace(second=0, microsecond=0)
    rated_at = rated_at.replace(minute=rated_at.minute - rated_at.minute % 5)
    if rated_at.date() != now.date():  # just after the clinic's midnight: the earliest time
        rated_at = rated_at.replace(year=now.year, month=now.month, day=now.day, hour=0, minute=0)
    # The time field is an hour and a minute segment; typing the hour moves on to the minute.
    form.get_by_role("spinbutton", name=f"hour, Time of the rating ({DEMO_TIME_ZONE})").click()
    page.keyboard.type(rated_at.strftime("%H%M"))
    save.click()
    _seen(page, f"MADRS saved for {rated_at:%d %b %Y %H:%M} ({DEMO_TIME_ZONE}): total 20")
    stored_at = rated_at.astimezone(dt.UTC)
    assert sorted(set(_madrs_at(morning.url, patient_id)) - set(ratings_before)) == [
        (stored_at, 20)
    ]
    _shot(page, "clinician-morning-madrs")
