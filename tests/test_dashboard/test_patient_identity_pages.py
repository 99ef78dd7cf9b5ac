"""The right patient, everywhere (issue 11): three patients of one name, told apart on the
worklist, in the search, in the header and in an export's file name; the patient page opens
nobody until a patient is chosen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import downloads, state
from dashboard.patient_label import patient_label, patient_label_text
from dashboard.patient_view.identity import patient_labels
from data.access import Actor
from data.engine import make_engine, transaction
from data.models import Clinic, Patient
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP, signed_in

NAME = "Casey Example"
CASEYS = (
    ("00123", dt.date(1980, 2, 3)),
    ("00456", dt.date(1991, 7, 8)),
    ("00789", dt.date(2001, 12, 24)),
)


@dataclass(frozen=True)
class Caseys:
    url: str
    clinician: Actor
    patient_ids: tuple[int, ...]


@pytest.fixture(scope="module")
def caseys(tmp_path_factory: pytest.TempPathFactory) -> Caseys:
    """A clinic like the demo one: three patients named Casey Example, no scores yet."""
    url = f"sqlite:///{tmp_path_factory.mktemp('caseys') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Clinic C")
        session.add(clinic)
        session.flush()
        # Never signs in with this hash: the tests set the session's actor directly.
        clinician = add_user(session, clinic.id, "clinician", "clinician", "not-a-hash")
        patients = [
            Patient(
                clinic_id=clinic.id,
                external_id=mrn,
                name=NAME,
                date_of_birth=born,
                assigned_clinician_id=clinician.id,
            )
            for mrn, born in CASEYS
        ]
        session.add_all(patients)
        session.flush()
        ids = tuple(p.id for p in patients)
        actor = Actor(clinician.id, clinic.id, "clinician", "clinician")
    engine.dispose()
    return Caseys(url, actor, ids)


@pytest.fixture
def app(caseys: Caseys, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", caseys.url)
    yield AppTest.from_file(APP, default_timeout=60)


def _labels(*, markdown: bool) -> list[str]:
    label = patient_label if markdown else patient_label_text
    return [label(NAME, mrn, born, today=dt.date.today()) for mrn, born in CASEYS]


def _patient_page(app: AppTest, caseys: Caseys, selected: int | None = None) -> AppTest:
    signed_in(app, caseys.clinician)
    if selected is not None:
        app.session_state[state.SELECTED_PATIENT] = selected
    app.run()
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    return app


def test_the_worklist_rows_tell_the_three_apart(app: AppTest, caseys: Caseys) -> None:
    signed_in(app, caseys.clinician).run()
    assert not app.exception, app.exception
    rows = [m.value for m in app.markdown if NAME in m.value]
    assert len(rows) == 3
    for label, row in zip(_labels(markdown=True), sorted(rows), strict=True):
        assert row.startswith(f"{label} — ")


def test_with_nobody_chosen_the_page_asks_and_shows_no_patient(
    app: AppTest, caseys: Caseys
) -> None:
    _patient_page(app, caseys)
    chooser = app.selectbox[0]
    assert chooser.value is None
    assert sorted(chooser.options) == _labels(markdown=False)
    assert any("Choose a patient" in i.value for i in app.info)
    assert not app.header  # no header
    assert not app.get("plotly_chart")  # no chart
    assert not app.tabs  # no log, forms or files
    assert state.SELECTED_PATIENT not in app.session_state


def test_a_search_lists_the_three_and_opens_only_the_one_picked(
    app: AppTest, caseys: Caseys
) -> None:
    _patient_page(app, caseys)
    app.text_input(key="patient_search").input("casey").run()
    assert app.selectbox[0].value is None and not app.header
    assert sorted(app.selectbox[0].options) == _labels(markdown=False)
    app.selectbox[0].select(caseys.patient_ids[1]).run()
    assert not app.exception, app.exception
    assert app.header[0].value == _labels(markdown=True)[1]
    assert app.session_state[state.SELECTED_PATIENT] == caseys.patient_ids[1]


def test_a_patient_opened_from_the_worklist_opens_directly(app: AppTest, caseys: Caseys) -> None:
    signed_in(app, caseys.clinician).run()
    app.button(key=f"open_no_baseline_{caseys.patient_ids[2]}").click().run()
    assert not app.exception, app.exception
    assert all(box.label != "Patient" for box in app.selectbox)  # no chooser in the way
    assert app.header[0].value == _labels(markdown=True)[2]
    assert "Care team: Clinician" in next(
        m.value for m in app.markdown if str(m.value).startswith("Phone: ")
    )


def test_the_export_file_is_named_by_name_mrn_and_birth_date(
    app: AppTest, caseys: Caseys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AppTest cannot send a cookie; this stands in for the browser's cookie, the one thing
    # the server would read from it (the whole download runs in Chromium in
    # test_browser_security.py).
    browser = downloads.new_browser_id()
    downloads.mark_signed_in(browser, idle_seconds=60)
    monkeypatch.setattr(state, "browser_id", lambda: browser)
    try:
        app.session_state["patient_tab"] = "Export"  # only the open tab is drawn
        _patient_page(app, caseys, selected=caseys.patient_ids[0])
        app.button(key="prepare_export").click().run()
        assert not app.exception, app.exception
        _, _, link = app.session_state["prepared_download"]
        prepared = downloads.take(link.removeprefix(downloads.ROUTE), browser)
    finally:
        downloads.forget_browser(browser)
    assert prepared is not None
    assert prepared.file_name == "Casey-Example_MRN-00123_1980-02-03-assessments.csv"


def test_an_unknown_birth_date_reads_as_unknown_however_the_frame_holds_it() -> None:
    today = dt.date(2026, 11, 29)
    frame = pd.DataFrame(
        {
            "patient_id": [1, 2, 3, 4],
            "external_id": ["00123", "00456", "00789", "00999"],
            "name": [NAME] * 4,
            "date_of_birth": [dt.date(1980, 2, 3), None, pd.NaT, float("nan")],
        }
    )
    assert patient_labels(frame, today=today, markdown=False) == {
        1: f"{NAME} · MRN 00123 · born 1980-02-03 (46)",
        2: f"{NAME} · MRN 00456 · born unknown",
        3: f"{NAME} · MRN 00789 · born unknown",
        4: f"{NAME} · MRN 00999 · born unknown",
    }
