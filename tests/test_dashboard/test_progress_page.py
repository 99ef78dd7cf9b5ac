"""My progress, run as the real page (AppTest): every questionnaire the patient answers, each
with its trend in plain words, a chart with a text alternative and no toolbar, and a table."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import Clinic, ClinicSettings, Patient
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP, signed_in

PAGE = "app_pages/patient/progress.py"
# A clinic in New York: a check-in at 02:00 UTC is the evening before on its clock.
TIME_ZONE = "America/New_York"


@dataclass(frozen=True)
class ProgressWorld:
    url: str
    patient: Actor
    newcomer: Actor
    first_day: dt.date


def _answers(instrument: str, items: int, level: int) -> dict[str, int]:
    answers = {f"{instrument}_{i}": level for i in range(1, items + 1)}
    if instrument == "phq9":
        answers["phq9_9"] = 0  # no safety answer: this page is about progress
    return answers


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, password_hash_module: str) -> ProgressWorld:
    url = f"sqlite:///{tmp_path_factory.mktemp('progress') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    # Three weekly check-ins ending yesterday, at 02:00 UTC (the evening before in New York).
    last = dt.datetime.now(dt.UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    last -= dt.timedelta(days=1)
    moments = [last - dt.timedelta(days=14), last - dt.timedelta(days=7), last]
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Progress clinic")
        session.add(clinic)
        session.flush()
        session.add(
            ClinicSettings(
                clinic_id=clinic.id, checkin_instruments=["phq9", "gad7"], time_zone=TIME_ZONE
            )
        )
        clinician = add_user(
            session, clinic.id, "progress-clinician", "clinician", password_hash_module
        )
        staff = Actor(clinician.id, clinic.id, "clinician", "progress-clinician")
        actors = []
        for name in ("progress-patient", "progress-newcomer"):
            user = add_user(session, clinic.id, name, "patient", password_hash_module)
            patient = Patient(
                clinic_id=clinic.id,
                external_id=f"MRN-{name}",
                name=name.title(),
                date_of_birth=dt.date(1980, 5, 6),
                assigned_clinician_id=clinician.id,
                user_id=user.id,
            )
            session.add(patient)
            session.flush()
            actors.append(Actor(user.id, clinic.id, "patient", name, patient_id=patient.id))
        patient = actors[0]
        for offset in (14, 12):
            record_infusion(
                session,
                actor=staff,
                patient_id=patient.patient_id or 0,
                infusion=InfusionInput(
                    administered_at=last - dt.timedelta(days=offset) + dt.timedelta(hours=14),
                    route="iv",
                    dose_mg_per_kg=0.5,
                    systolic_before=120,
                    diastolic_before=80,
                    heart_rate_before=70,
                    systolic_40min=130,
                    diastolic_40min=85,
                    heart_rate_40min=75,
                ),
            )
        # PHQ-9 16 -> 8 -> 8 (eight items answered, the ninth 0); GAD-7 14 -> 7 -> 21.
        for moment, phq_level, gad_level in zip(moments, (2, 1, 1), (2, 1, 3), strict=True):
            for instrument, items, level in (("phq9", 9, phq_level), ("gad7", 7, gad_level)):
                submit_checkin(
                    session,
                    actor=patient,
                    patient_id=patient.patient_id or 0,
                    instrument=instrument,
                    answers=_answers(instrument, items, level),
                    administered_at=moment,
                )
    engine.dispose()
    first_day = (moments[0] - dt.timedelta(hours=5)).date()  # New York is UTC-4 or UTC-5
    return ProgressWorld(url, actors[0], actors[1], first_day)


@pytest.fixture(scope="module")
def password_hash_module() -> str:
    from data.accounts import hash_password

    return hash_password("correct horse battery")


@pytest.fixture
def page(world: ProgressWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", world.url)
    yield AppTest.from_file(APP, default_timeout=60)


def _open(page: AppTest, actor: Actor) -> AppTest:
    signed_in(page, actor).run()
    page.switch_page(PAGE).run()
    assert not page.exception, page.exception
    return page


def _text(page: AppTest) -> str:
    return " ".join(m.value for m in page.markdown)


def test_both_questionnaires_are_shown_with_honest_words(
    page: AppTest, world: ProgressWorld
) -> None:
    _open(page, world.patient)
    assert [t.value for t in page.title] == ["My progress"]
    assert [h.value for h in page.header] == [
        "Mood questionnaire (PHQ-9)",
        "Anxiety questionnaire (GAD-7)",
    ]
    assert not page.subheader  # h1 -> h2, no level skipped
    text = _text(page)
    assert "lower is better" in text.lower()
    assert "Your score is 8, the same as last time." in text
    assert "Since your first check-in it went down from 16 to 8." in text
    assert "Your score went up from 7 to 21 since last time." in text
    assert "Since your first check-in it went up from 14 to 21." in text
    for jargon in ("%", "remission", "response", "PHQ-9 total", "baseline"):
        assert jargon not in text


def test_each_chart_has_a_text_alternative_a_table_and_no_toolbar(
    page: AppTest, world: ProgressWorld
) -> None:
    _open(page, world.patient)
    charts = page.get("plotly_chart")
    assert len(charts) == 2
    summaries = [chart.proto.alt for chart in charts]
    assert summaries[0].startswith("Chart of your Mood questionnaire (PHQ-9) scores: 3 check-ins")
    assert summaries[1].startswith("Chart of your Anxiety questionnaire (GAD-7) scores")
    assert all("2 infusions are marked" in s for s in summaries)
    assert all(s in _text(page) for s in summaries)  # also on screen, for everyone
    assert all(json.loads(c.proto.config)["displayModeBar"] is False for c in charts)
    figure = json.loads(charts[0].proto.spec)
    assert [s["name"] for s in figure["layout"]["shapes"]].count("infusion:1") == 1
    assert [t["name"] for t in figure["data"]] == ["Your score", "Infusion"]

    tables = [frame.value for frame in page.dataframe]
    assert [list(t.columns) for t in tables] == [["Date", "Score", "What it means"]] * 2
    assert list(tables[0]["Score"]) == [16, 8, 8]
    assert list(tables[1]["What it means"]) == ["moderate", "mild", "severe"]
    # The clinic's calendar day, not UTC's: the first check-in was the evening before.
    first = world.first_day
    assert tables[0]["Date"].iloc[0] == f"{first.day} {first:%B %Y}"


def test_a_patient_with_no_answers_sees_each_checkin_questionnaire_waiting(
    page: AppTest, world: ProgressWorld
) -> None:
    _open(page, world.newcomer)
    assert [h.value for h in page.header] == [
        "Mood questionnaire (PHQ-9)",
        "Anxiety questionnaire (GAD-7)",
    ]
    assert _text(page).count("No answers yet") == 2
    assert not page.get("plotly_chart")
