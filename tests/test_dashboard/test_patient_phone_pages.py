"""A contact phone where recorded (issue 11, the morning huddle): a ``tel:`` link on the
worklist's rows and alert cards and in the patient header, the number as literal text; a
hostile value that reached the database some other way neither formats the page nor links
anywhere but a phone call."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from dashboard.patient_view.identity import patient_phones, phone_link
from dashboard.plain import literal
from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import Clinic, Patient
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP, signed_in

PHONE = "(212) 555-0107"
LINK = r"[\(212\) 555\-0107](tel:2125550107)"
ALERT_PHONE = "+1 212 555 0108"
ALERT_LINK = r"[\+1 212 555 0108](tel:+12125550108)"
# Stored behind the rule's back (an old row, a hand-edited database): the page must hold.
HOSTILE = "[call](javascript:alert(1)) :green[ok] 555"


@dataclass(frozen=True)
class Phones:
    url: str
    clinician: Actor
    with_phone: int
    without_phone: int
    with_alert: int
    hostile: int


@pytest.fixture(scope="module")
def phones(tmp_path_factory: pytest.TempPathFactory) -> Phones:
    """Four patients, no scores yet (so each is on the worklist for a baseline): one with a
    phone, one without, one with a phone and an open safety alert, one with a hostile value."""
    url = f"sqlite:///{tmp_path_factory.mktemp('phones') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Clinic P")
        session.add(clinic)
        session.flush()
        # Never signs in with this hash: the tests set the session's actor directly.
        clinician = add_user(session, clinic.id, "clinician", "clinician", "not-a-hash")
        patients = [
            Patient(
                clinic_id=clinic.id,
                external_id=mrn,
                name=name,
                date_of_birth=dt.date(1980, 2, 3),
                assigned_clinician_id=clinician.id,
                phone=phone,
            )
            for mrn, name, phone in (
                ("P-1", "Ann Phone", PHONE),
                ("P-2", "Bo Unlisted", None),
                ("P-3", "Cy Alert", ALERT_PHONE),
                ("P-4", "Di Hostile", HOSTILE),
            )
        ]
        session.add_all(patients)
        session.flush()
        actor = Actor(clinician.id, clinic.id, "clinician", "clinician")
        submit_checkin(
            session,
            actor=actor,
            patient_id=patients[2].id,
            instrument="phq9",
            answers={f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 2},
        )
        ids = [p.id for p in patients]
    engine.dispose()
    return Phones(url, actor, ids[0], ids[1], ids[2], ids[3])


@pytest.fixture
def app(phones: Phones, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", phones.url)
    yield AppTest.from_file(APP, default_timeout=60)


def _markdown(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown]


def _links(text: str) -> list[str]:
    """Every Markdown link target in ``text``."""
    return re.findall(r"\]\(([^)]*)\)", text)


def test_worklist_rows_show_the_phone_where_recorded(app: AppTest, phones: Phones) -> None:
    signed_in(app, phones.clinician).run()
    assert not app.exception, app.exception
    rows = {row.split(" · MRN ")[0]: row for row in _markdown(app) if " · MRN " in row}
    assert rows["Ann Phone"].endswith(f" · phone {LINK}")
    assert " · phone " not in rows["Bo Unlisted"] and "tel:" not in rows["Bo Unlisted"]


def test_the_alert_card_shows_the_phone(app: AppTest, phones: Phones) -> None:
    signed_in(app, phones.clinician).run()
    (card,) = [text for text in _markdown(app) if text.startswith(":red[**Cy Alert")]
    assert card.endswith(f" · phone {ALERT_LINK}")


def test_the_patient_header_shows_the_phone_as_a_call_link(app: AppTest, phones: Phones) -> None:
    signed_in(app, phones.clinician)
    app.session_state[state.SELECTED_PATIENT] = phones.with_phone
    app.run()
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    assert next(m.value for m in app.markdown if str(m.value).startswith("Phone: ")).startswith(
        f"Phone: {LINK} · Care team: Clinician"
    )


def test_a_patient_without_a_phone_says_not_recorded(app: AppTest, phones: Phones) -> None:
    signed_in(app, phones.clinician)
    app.session_state[state.SELECTED_PATIENT] = phones.without_phone
    app.run()
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    assert next(m.value for m in app.markdown if str(m.value).startswith("Phone: ")).startswith(
        "Phone: not recorded · Care team: Clinician"
    )


def test_a_hostile_stored_phone_links_only_to_its_digits(app: AppTest, phones: Phones) -> None:
    """Defence in depth behind data.patients' rule: the text is literal (no link, no colour),
    and the only link is ``tel:`` with the value's digits."""
    signed_in(app, phones.clinician).run()
    (row,) = [text for text in _markdown(app) if text.startswith("Di Hostile")]
    signed_in(app, phones.clinician)
    app.session_state[state.SELECTED_PATIENT] = phones.hostile
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    header = next(m.value for m in app.markdown if str(m.value).startswith("Phone: "))
    for text in (row, header):
        assert f"[{literal(HOSTILE)}](tel:1555)" in text
        assert _links(text) == ["tel:1555"]
        assert ":green[" not in text


def test_phone_links_are_built_from_digits_alone() -> None:
    assert phone_link(None) == ""
    assert phone_link(float("nan")) == ""
    assert phone_link("  ") == ""
    assert phone_link("+44 20 7946 0958") == r"[\+44 20 7946 0958](tel:+442079460958)"
    assert _links(phone_link("[x](http://example.com/5550101)")) == ["tel:5550101"]
    frame = pd.DataFrame({"patient_id": [1, 2], "phone": [PHONE, None]})
    assert patient_phones(frame) == {1: LINK}
