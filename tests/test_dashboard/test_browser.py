"""End to end in real headless Chromium (Debian's package, driven by Playwright).

The app runs as a real Streamlit server on 127.0.0.1 against an embedded SQLite database
seeded with the demo clinic. Each test takes a screenshot into ``$SCREENSHOT_DIR`` (``make
screenshots`` sets it to ``docs/screenshots`` for the README).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
# make screenshots refreshes the README's images; an ordinary test run keeps its own copies.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="outcomes-shots-"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(url: str, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """The app as ``make run`` serves it (dashboard/server.py), on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "OUTCOMES_DATABASE_URL": url, **settings}
    # The server's log goes to a file: a pipe nobody reads fills up (64 KiB) and then blocks
    # the server mid-page, which a test sees as a page that never finishes.
    log = Path(tempfile.mkdtemp(prefix="outcomes-server-")) / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "server.py"),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the Streamlit server did not start within 60 s")


def _demo_database(folder: Path) -> str:
    from data.bootstrap import prepare
    from data.engine import make_engine

    url = f"sqlite:///{folder / 'demo.db'}"
    engine = make_engine(url)
    prepare(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _demo_database(tmp_path_factory.mktemp("browser"))
    os.environ["BROWSER_TEST_DATABASE_URL"] = url
    process, base = _start_server(url)
    yield base
    process.terminate()
    process.wait(timeout=20)


def _page(browser, width: int = 1280, height: int = 900):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    # Generous: a page waits on a 2-core CI machine that may be busy with the rest of the suite.
    page.set_default_timeout(60_000)
    return page


def _sign_in(page, base: str, username: str, password: str = "demo") -> None:  # type: ignore[no-untyped-def]
    page.goto(base)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # let charts finish drawing
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _answer_checkin(page, *, self_harm: str) -> None:  # type: ignore[no-untyped-def]
    groups = page.get_by_role("radiogroup")
    groups.first.wait_for()
    for index in range(groups.count()):
        group = groups.nth(index)
        label = group.get_attribute("aria-label") or ""
        answer = (
            self_harm
            if label.startswith("9. Thoughts that you would be better off dead")
            else ("Several days" if "difficult" not in label else "Somewhat difficult")
        )
        group.get_by_text(answer, exact=True).click()
    page.get_by_role("button", name="Submit check-in").click()


def test_sign_in_page_shows_the_demo_accounts(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser)
    page.goto(server)
    page.get_by_text("This is the demo clinic", exact=False).wait_for()
    _shot(page, "sign-in")


def test_patient_with_a_self_harm_answer_sees_the_crisis_panel(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser)
    _sign_in(page, server, "demo-patient")
    page.get_by_role("heading", name="Weekly check-in").wait_for()
    _shot(page, "patient-checkin")
    _answer_checkin(page, self_harm="More than half the days")
    page.get_by_text("Call or text 988", exact=False).first.wait_for()
    page.get_by_text("Thank you. Your answers are saved", exact=False).wait_for()
    # eight items "Several days" (1) and item 9 "More than half the days" (2)
    page.get_by_text("Mood (PHQ-9): 10 out of 27", exact=False).wait_for()
    _shot(page, "patient-crisis-panel")
    page.get_by_role("link", name="My progress").click()
    page.get_by_role("heading", name="My progress").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _shot(page, "patient-progress")


def _demo_patient_name(server_url: str) -> str:
    import datetime as dt

    from sqlalchemy import select

    from dashboard.patient_label import patient_label_text
    from data.engine import make_engine, transaction
    from data.models import Patient, User

    engine = make_engine(os.environ["BROWSER_TEST_DATABASE_URL"])
    with transaction(engine) as session:
        row = session.execute(
            select(Patient.name, Patient.external_id, Patient.date_of_birth)
            .join(User, User.id == Patient.user_id)
            .where(User.username == "demo-patient")
        ).one()
    engine.dispose()
    return patient_label_text(row.name, row.external_id, row.date_of_birth, today=dt.date.today())


def test_clinician_acknowledges_the_alert_and_sees_the_new_score(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """Runs after the patient's check-in above (PHQ-9: eight items 'Several days', item 9
    'More than half the days': total 10)."""
    label = _demo_patient_name(server)
    name = label.split(" · ")[0]
    page = _page(browser)
    _sign_in(page, server, "demo-clinician")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_role("heading", name="Safety alerts", exact=False).wait_for()
    _shot(page, "clinician-worklist")
    # The innermost bordered block holding the patient's name is that patient's alert card.
    cards = (
        page.locator("[data-testid='stLayoutWrapper']")
        .filter(has_text=f"{name} · MRN")
        .filter(has_text="PHQ-9 item 9")
    )
    card = cards.last
    card.wait_for()
    assert "PHQ-9 item 9 (thoughts of death or self-harm) positive" in card.inner_text()
    card.get_by_label("What was done (required)").fill("Called; safety plan reviewed")
    card.get_by_role("button", name="Acknowledge").click()
    page.wait_for_timeout(2000)
    assert cards.count() == 0
    page.get_by_role("link", name="Patient", exact=True).click()
    page.get_by_role("heading", name="Patient", exact=True).wait_for()
    page.get_by_role("textbox", name="Find a patient (name or MRN)").fill(name)
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)
    page.get_by_role("combobox").first.click()
    page.get_by_role("option", name=label, exact=True).click()
    page.get_by_role("heading", name=label, exact=True).wait_for()
    latest = page.locator("[data-testid='stMetric']").filter(has_text="Latest")
    assert latest.locator("[data-testid='stMetricValue']").inner_text().strip() == "10"
    page.locator(".js-plotly-plot").first.wait_for()
    _shot(page, "clinician-patient")


def test_administrator_sees_the_outcomes(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser)
    _sign_in(page, server, "demo-admin")
    page.get_by_role("heading", name="Outcomes").wait_for()
    page.get_by_role("heading", name="Response and remission").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _shot(page, "admin-outcomes")
    # The sections are tabs: another opens by a click, drawn when it is opened.
    page.get_by_role("tab", name="Time to response").click()
    page.get_by_role("heading", name="Time to response and durability").wait_for()


def _a_week_after_the_check_in_above() -> None:
    """Move the demo patient's check-ins of today a week back, as if a week had passed: one
    check-in per window (issue 12), so the next one is offered in the next window."""
    import datetime as dt

    from sqlalchemy import select

    from data.engine import make_engine, transaction
    from data.models import Assessment, Patient, User

    engine = make_engine(os.environ["BROWSER_TEST_DATABASE_URL"])
    week = dt.timedelta(days=7)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with transaction(engine, write=True) as session:
        patient_id = session.scalar(
            select(Patient.id)
            .join(User, User.id == Patient.user_id)
            .where(User.username == "demo-patient")
        )
        for assessment in session.scalars(
            select(Assessment).where(
                Assessment.patient_id == patient_id, Assessment.created_at >= since
            )
        ):
            assessment.administered_at -= week
            assessment.created_at -= week
    engine.dispose()


def test_a_patient_on_a_phone_completes_a_check_in(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    _a_week_after_the_check_in_above()
    page = _page(browser, width=390, height=844)
    _sign_in(page, server, "demo-patient")
    page.get_by_role("heading", name="Weekly check-in").wait_for()
    _answer_checkin(page, self_harm="Not at all")
    page.get_by_text("Thank you. Your answers are saved", exact=False).wait_for()
    assert page.get_by_text("Call or text 988", exact=False).count() == 0
    _shot(page, "patient-phone")


def _demo_patient_infusions() -> tuple[str, int]:
    """The demo patient's MRN, and how many infusions are stored for them."""
    from sqlalchemy import func, select

    from data.engine import make_engine, transaction
    from data.models import Infusion, Patient, User

    engine = make_engine(os.environ["BROWSER_TEST_DATABASE_URL"])
    with transaction(engine) as session:
        patient_id, mrn = session.execute(
            select(Patient.id, Patient.external_id)
            .join(User, User.id == Patient.user_id)
            .where(User.username == "demo-patient")
        ).one()
        count = session.scalar(select(func.count()).where(Infusion.patient_id == patient_id))
    engine.dispose()
    return mrn, int(count or 0)


def test_enter_in_a_vitals_field_stores_nothing_and_a_second_infusion_asks_first(
    server: str, browser
) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: Enter in a vitals field submitted the infusion form. Now only the Record
    button stores, and the same infusion again asks before storing."""
    mrn, before = _demo_patient_infusions()
    page = _page(browser)
    _sign_in(page, server, "demo-clinician")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_role("link", name="Patient", exact=True).click()
    page.get_by_role("heading", name="Patient", exact=True).wait_for()
    page.get_by_role("textbox", name="Find a patient (name or MRN)").fill(mrn)
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)
    page.get_by_role("combobox").first.click()
    page.get_by_role("option").first.click()
    page.get_by_role("tab", name="Record infusion").click()
    page.get_by_text("Time (America/New_York)").wait_for()  # the demo clinic's time zone
    page.get_by_label("Dose given (mg), required").fill("35")
    page.get_by_label("Weight today (kg)").fill("70")
    heart_rate = page.get_by_label("Heart rate before")
    heart_rate.fill("72")
    heart_rate.press("Enter")
    page.get_by_text("0.50 mg/kg", exact=False).first.wait_for()
    page.wait_for_timeout(1500)
    assert _demo_patient_infusions()[1] == before
    assert page.get_by_text("Infusion recorded:", exact=False).count() == 0

    page.get_by_role("button", name="Record infusion").click()
    asked = page.get_by_role("button", name="Yes, record a second infusion")
    recorded = page.get_by_text("Infusion recorded:", exact=False).first
    asked.or_(recorded).first.wait_for()
    if asked.count():  # the demo patient may have had an infusion a few hours ago
        asked.click()
    recorded.wait_for()
    assert _demo_patient_infusions()[1] == before + 1
    _shot(page, "clinician-infusion-recorded")

    page.get_by_label("Dose given (mg), required").fill("35")
    page.get_by_label("Dose given (mg), required").press("Tab")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Record infusion").click()
    page.get_by_text("Another infusion of this patient is already recorded", exact=False).wait_for()
    assert _demo_patient_infusions()[1] == before + 1
    _shot(page, "clinician-infusion-asks-first")
