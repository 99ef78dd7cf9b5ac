"""A committed SQLite clinic for AppTest runs of the real pages."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import Clinic, Patient
from data.schema import upgrade
from tests.builders import add_user

# .streamlit/config.toml shows a person no error details at all; tests that run pages in
# AppTest read a page's exception to know why it failed. What a person sees instead is
# checked in Chromium (test_browser_security.py, test_damaged_database.py).
streamlit_config.set_option("client.showErrorDetails", "full")

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class AppWorld:
    url: str
    patient: Actor
    other_patient: Actor
    clinician: Actor
    admin: Actor
    other_clinician: Actor
    alert_ids: tuple[int, ...]


@pytest.fixture(scope="module")
def app_world(tmp_path_factory: pytest.TempPathFactory, password_hash_module: str) -> AppWorld:
    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    today = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with transaction(engine, write=True) as session:
        clinics = [Clinic(name="Clinic A"), Clinic(name="Clinic B")]
        session.add_all(clinics)
        session.flush()
        a, b = clinics[0].id, clinics[1].id
        clinician = add_user(session, a, "clinician", "clinician", password_hash_module)
        admin = add_user(session, a, "admin", "administrator", password_hash_module)
        other_clinician = add_user(session, b, "other-clinician", "clinician", password_hash_module)
        actors = {}
        for clinic, name, carer in (
            (a, "patient", clinician),
            (a, "second", clinician),
            (b, "elsewhere", other_clinician),
        ):
            user = add_user(session, clinic, name, "patient", password_hash_module)
            patient = Patient(
                clinic_id=clinic,
                external_id=f"MRN-{name}",
                name=name.title(),
                date_of_birth=dt.date(1985, 1, 2),
                assigned_clinician_id=carer.id,
                user_id=user.id,
            )
            session.add(patient)
            session.flush()
            actors[name] = Actor(user.id, clinic, "patient", name, patient_id=patient.id)
        staff = Actor(clinician.id, a, "clinician", "clinician")
        alert_ids: list[int] = []
        for name, start in (("patient", 40), ("second", 30)):
            pid = actors[name].patient_id or 0
            for n, offset in enumerate(
                (start, start - 2, start - 4, start - 7, start - 9, start - 11, start - 25)
            ):
                record_infusion(
                    session,
                    actor=staff,
                    patient_id=pid,
                    infusion=InfusionInput(
                        administered_at=today - dt.timedelta(days=offset),
                        route="iv",
                        dose_mg_per_kg=0.5,
                        systolic_before=120 + n,
                        diastolic_before=80,
                        heart_rate_before=70,
                        systolic_40min=135,
                        diastolic_40min=85,
                        heart_rate_40min=80,
                        side_effects=("nausea",),
                    ),
                )
            for offset, level in (
                (start, 3),
                (start - 7, 2),
                (start - 14, 1),
                (start - 21, 1),
                (start - 28, 0),
            ):
                if offset < 0:
                    continue
                answers = {f"phq9_{i}": level for i in range(1, 10)} | {"phq9_9": 0}
                submit_checkin(
                    session,
                    actor=actors[name],
                    patient_id=pid,
                    instrument="phq9",
                    answers=answers,
                    administered_at=today - dt.timedelta(days=offset, hours=1),
                )
        # Entered by the care team as the patient's answers: the patient's own second
        # check-in in this window would be refused (one per window, issue 12).
        risky = submit_checkin(
            session,
            actor=staff,
            patient_id=actors["second"].patient_id or 0,
            instrument="phq9",
            answers={f"phq9_{i}": 2 for i in range(1, 10)},
            administered_at=today - dt.timedelta(hours=3),
            source="patient",
        )
        alert_ids.extend(risky.alert_ids)
    engine.dispose()
    return AppWorld(
        url,
        actors["patient"],
        actors["second"],
        staff,
        Actor(admin.id, a, "administrator", "admin"),
        Actor(other_clinician.id, b, "clinician", "other-clinician"),
        tuple(alert_ids),
    )


@pytest.fixture(scope="module")
def password_hash_module() -> str:
    from data.accounts import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def app(app_world: AppWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", app_world.url)
    yield AppTest.from_file(APP, default_timeout=60)


def new_patient(app_world: AppWorld, *, clinician: Actor | None = None) -> Actor:
    """A new patient of clinic A with nothing recorded: a check-in is due today.

    A check-in fills its window (one per window, issue 12), so a page test that submits one
    takes a patient of its own, whatever order the tests run in.
    """
    engine = make_engine(app_world.url)
    name = f"fresh-{uuid.uuid4().hex[:8]}"
    staff = clinician or app_world.clinician
    with transaction(engine, write=True) as session:
        user = add_user(session, staff.clinic_id, name, "patient", "!unusable")
        patient = Patient(
            clinic_id=staff.clinic_id,
            external_id=f"MRN-{name}",
            name=name.title(),
            date_of_birth=dt.date(1990, 3, 4),
            assigned_clinician_id=staff.user_id,
            user_id=user.id,
        )
        session.add(patient)
        session.flush()
        actor = Actor(user.id, staff.clinic_id, "patient", name, patient_id=patient.id)
    engine.dispose()
    return actor


def signed_in(app: AppTest, actor: Actor) -> AppTest:
    app.session_state["actor"] = actor
    app.session_state["signed_in_at"] = dt.datetime.now(dt.UTC)
    app.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    return app


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium, driven by Playwright (never Playwright's own download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


FAILURE_SHOTS = Path(os.environ.get("BROWSER_FAILURE_DIR", "/tmp/browser-failures"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A browser test that fails leaves a picture of every page it had open: what the person
    would have seen when the test gave up (BROWSER_FAILURE_DIR, /tmp/browser-failures)."""
    outcome = yield
    report = outcome.get_result()
    chromium = getattr(item, "funcargs", {}).get("browser")
    if report.when != "call" or not report.failed or chromium is None:
        return
    FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
    for c, context in enumerate(chromium.contexts):
        for p, page in enumerate(context.pages):
            try:
                shot = FAILURE_SHOTS / f"{item.name}-{c}-{p}.png"
                page.screenshot(path=str(shot), full_page=True)
            except Exception:  # a page that is gone has nothing to show
                continue
