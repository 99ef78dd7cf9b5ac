"""The worklist for a morning huddle (issue 11): "my patients" or the whole clinic, with the
safety alerts always the whole clinic's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import Clinic, Patient
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP, signed_in


@dataclass(frozen=True)
class Team:
    url: str
    morgan: Actor
    riley: Actor
    newcomer: Actor


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Team:
    """Two clinicians with a new patient each (no baseline yet), and one with none."""
    url = f"sqlite:///{tmp_path_factory.mktemp('team') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Clinic T")
        session.add(clinic)
        session.flush()
        # Never signs in with this hash: the tests set the session's actor directly.
        staff = {
            name: add_user(session, clinic.id, name, "clinician", "not-a-hash")
            for name in ("morgan", "riley", "newcomer")
        }
        for mrn, name, carer in (("M-1", "Mo Patient", "morgan"), ("R-1", "Ro Patient", "riley")):
            session.add(
                Patient(
                    clinic_id=clinic.id,
                    external_id=mrn,
                    name=name,
                    assigned_clinician_id=staff[carer].id,
                )
            )
        actors = {n: Actor(u.id, clinic.id, "clinician", n) for n, u in staff.items()}
    engine.dispose()
    return Team(url, actors["morgan"], actors["riley"], actors["newcomer"])


@pytest.fixture
def app(team: Team, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", team.url)
    yield AppTest.from_file(APP, default_timeout=60)


def _rows(app: AppTest) -> str:
    return " ".join(str(m.value) for m in app.markdown)


def _worklist(app: AppTest, actor: Actor) -> AppTest:
    signed_in(app, actor).run()
    app.switch_page("app_pages/clinician/worklist.py").run()
    assert not app.exception, app.exception
    return app


def test_a_clinician_starts_with_their_own_patients_and_can_see_the_clinic(
    app: AppTest, team: Team
) -> None:
    page = _worklist(app, team.morgan)
    assert "Mo Patient" in _rows(page) and "Ro Patient" not in _rows(page)
    next(r for r in page.radio if r.key == "worklist_scope").set_value("clinic").run()
    assert not page.exception, page.exception
    assert "Mo Patient" in _rows(page) and "Ro Patient" in _rows(page)


def test_a_clinician_with_no_patients_of_their_own_starts_with_the_clinic(
    app: AppTest, team: Team
) -> None:
    page = _worklist(app, team.newcomer)
    assert next(r for r in page.radio if r.key == "worklist_scope").value == "clinic"
    assert "Mo Patient" in _rows(page) and "Ro Patient" in _rows(page)


def test_patients_no_reminder_can_reach_are_counted_and_named_on_request(
    app: AppTest, team: Team
) -> None:
    """Neither patient has an e-mail or a phone (issue 14): each clinician sees their own."""
    page = _worklist(app, team.morgan)
    assert "No e-mail or phone on record (1)" in [s.value for s in page.subheader]
    toggle = next(t for t in page.toggle if t.key == "unreachable_mine")
    toggle.set_value(True).run()
    assert not page.exception, page.exception
    listed = [str(m.value) for m in page.markdown if str(m.value).startswith("- ")]
    assert len(listed) == 1 and "Mo Patient" in listed[0]
    next(r for r in page.radio if r.key == "worklist_scope").set_value("clinic").run()
    assert "No e-mail or phone on record (2)" in [s.value for s in page.subheader]
