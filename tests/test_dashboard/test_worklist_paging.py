"""The worklist a page at a time (issue 13): each reason shows its 20 longest-waiting patients
with the total, "Show more" adds the next ones, and only the patients shown are named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.course_state import build_clinic
from data.engine import make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import Clinic, Patient
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP, signed_in

NEW_PATIENTS = 27  # never recorded: "no baseline" since today
OVERDUE = 3  # infused weeks ago, never checked in: overdue, and no baseline since the infusion
NO_BASELINE = NEW_PATIENTS + OVERDUE  # more than a page: the infused ones wait longest


@dataclass(frozen=True)
class Clinic27:
    url: str
    clinician: Actor
    new_names: tuple[str, ...]  # in the worklist's order (all waiting since today, by id)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic27:
    url = f"sqlite:///{tmp_path_factory.mktemp('paging') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Clinic P")
        session.add(clinic)
        session.flush()
        user = add_user(session, clinic.id, "paging-clinician", "clinician", "not-a-hash")
        clinician = Actor(user.id, clinic.id, "clinician", "paging-clinician")
        names = []
        for n in range(NEW_PATIENTS + OVERDUE):
            name = f"Pat{n:02d} Paging"
            patient = Patient(
                clinic_id=clinic.id,
                external_id=f"P-{n:02d}",
                name=name,
                date_of_birth=dt.date(1980, 1, 1),
                assigned_clinician_id=user.id,
            )
            session.add(patient)
            session.flush()
            if n < NEW_PATIENTS:
                names.append(name)
                continue
            record_infusion(
                session,
                actor=clinician,
                patient_id=patient.id,
                infusion=InfusionInput(
                    administered_at=now - dt.timedelta(days=30 + n),
                    route="iv",
                    dose_mg_per_kg=0.5,
                    systolic_before=120,
                    diastolic_before=80,
                ),
            )
        build_clinic(session, clinic_id=clinic.id)
    engine.dispose()
    return Clinic27(url, clinician, tuple(names))


@pytest.fixture
def app(clinic: Clinic27, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", clinic.url)
    yield AppTest.from_file(APP, default_timeout=60)


def _worklist(app: AppTest, clinic: Clinic27) -> AppTest:
    signed_in(app, clinic.clinician).run()
    app.switch_page("app_pages/clinician/worklist.py").run()
    assert not app.exception, app.exception
    return app


def _rows(app: AppTest, text: str) -> list[str]:
    return [str(m.value) for m in app.markdown if text in str(m.value)]


def test_a_reason_shows_its_first_twenty_with_the_total_in_words(
    app: AppTest, clinic: Clinic27
) -> None:
    page = _worklist(app, clinic)
    subheaders = [s.value for s in page.subheader]
    assert f"No baseline score ({NO_BASELINE})" in subheaders
    assert f"Check-in overdue ({OVERDUE})" in subheaders
    # Longest waiting first: the infused patients (since their infusion), then new ones.
    assert len(_rows(page, "no score on or before the first infusion")) == OVERDUE
    assert len(_rows(page, "new patient")) == 20 - OVERDUE
    captions = [c.value for c in page.caption]
    assert f"Showing 20 of {NO_BASELINE} patients, longest waiting first." in captions
    assert f"All {OVERDUE} patients shown, longest waiting first." in captions
    # Every reason but the paged one has no button; "Open" per row shown only.
    more = [b.label for b in page.button if b.label.startswith("Show ")]
    assert more == [f"Show {NO_BASELINE - 20} more: no baseline score"]
    assert len([b for b in page.button if b.label == "Open"]) == 20 + OVERDUE


def test_show_more_adds_the_next_patients_and_then_goes(app: AppTest, clinic: Clinic27) -> None:
    page = _worklist(app, clinic)
    next(b for b in page.button if b.label.startswith("Show ")).click().run()
    assert not page.exception, page.exception
    assert len(_rows(page, "new patient")) == NEW_PATIENTS
    assert f"All {NO_BASELINE} patients shown, longest waiting first." in [
        c.value for c in page.caption
    ]
    assert not [b for b in page.button if b.label.startswith("Show ")]
    # The scope radio is still there, and switching it keeps the page working.
    next(r for r in page.radio if r.key == "worklist_scope").set_value("clinic").run()
    assert not page.exception, page.exception


def test_only_the_patients_shown_are_named(app: AppTest, clinic: Clinic27) -> None:
    page = _worklist(app, clinic)
    text = " ".join(str(m.value) for m in page.markdown)
    shown, hidden = clinic.new_names[: 20 - OVERDUE], clinic.new_names[20 - OVERDUE :]
    assert all(name in text for name in shown)
    assert not [name for name in hidden if name in text]


def test_open_leads_to_the_patient_of_the_row(app: AppTest, clinic: Clinic27) -> None:
    page = _worklist(app, clinic)
    row = next(b for b in page.button if b.label == "Open" and "no_baseline" in str(b.key))
    row.click().run()
    assert not page.exception, page.exception
    assert page.session_state["selected_patient"] == int(str(row.key).rsplit("_", 1)[1])
