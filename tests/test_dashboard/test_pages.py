"""Every page for every role, run by Streamlit's AppTest against a real SQLite clinic."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import PAGES, page_files
from tests.test_dashboard.conftest import PASSWORD, AppWorld, signed_in


def _texts(app: AppTest) -> str:
    parts = [e.value for e in app.markdown] + [e.value for e in app.title]
    parts += [e.value for e in app.info] + [e.value for e in app.error]
    parts += [e.value for e in app.warning] + [e.value for e in app.success]
    parts += [e.value for e in app.subheader] + [e.value for e in app.caption]
    return "\n".join(str(p) for p in parts)


def test_signed_out_visitors_see_only_the_sign_in_page(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert app.title[0].value == "Infusion Outcomes"
    assert [t.label for t in app.text_input] == ["Username", "Password"]


def test_wrong_password_is_refused_with_a_plain_message(app: AppTest) -> None:
    app.run()
    app.text_input(key="username").input("clinician")
    app.text_input(key="password").input("wrong password")
    app.button[0].click().run()
    assert not app.exception
    assert "username or password is not correct" in app.error[0].value
    assert "actor" not in app.session_state


@pytest.mark.parametrize(
    ("username", "landing_title"),
    [("patient", "Weekly check-in"), ("clinician", "Worklist"), ("admin", "Outcomes")],
)
def test_each_role_lands_on_its_first_page(app: AppTest, username: str, landing_title: str) -> None:
    app.run()
    app.text_input(key="username").input(username)
    app.text_input(key="password").input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception
    assert app.title[0].value == landing_title


ROLE_PAGES = {
    "patient": page_files("patient"),
    "clinician": page_files("clinician"),
    "admin": page_files("administrator"),
}


@pytest.mark.parametrize(
    ("who", "page"), [(who, page) for who, pages in ROLE_PAGES.items() for page in pages]
)
def test_every_page_renders_for_its_role(
    app: AppTest, app_world: AppWorld, who: str, page: str
) -> None:
    actor = {
        "patient": app_world.patient,
        "clinician": app_world.clinician,
        "admin": app_world.admin,
    }[who]
    signed_in(app, actor).run()
    app.switch_page(f"app_pages/{page}").run()
    assert not app.exception, app.exception


def test_worklist_shows_the_safety_alert_first(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.clinician).run()
    assert not app.exception
    assert app.header[0].value.startswith("Safety alerts (1)")
    assert "PHQ-9 item 9 (thoughts of death or self-harm) positive" in _texts(app)


STAFF_PAGES = [
    "clinician/worklist.py",
    "clinician/patient.py",
    "admin/outcomes.py",
    "admin/users.py",
    "admin/audit.py",
]


@pytest.mark.parametrize("staff_page", STAFF_PAGES)
def test_a_patient_has_no_route_to_staff_pages(
    app: AppTest, app_world: AppWorld, staff_page: str
) -> None:
    signed_in(app, app_world.patient).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(f"app_pages/{staff_page}")


@pytest.mark.parametrize("staff_page", STAFF_PAGES)
def test_a_staff_page_run_by_a_patient_gets_no_data(
    app_world: AppWorld, staff_page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the navigation: the page script itself, run with a patient's session, is
    refused by the data layer."""
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", app_world.url)
    page = AppTest.from_file(str(PAGES / staff_page), default_timeout=60)
    signed_in(page, app_world.patient).run()
    assert page.exception
    assert "AccessDenied" in str(page.exception[0].value) or "role" in str(
        page.exception[0].message
    )
    texts = _texts(page)
    assert "Second" not in texts and "MRN-" not in texts


def test_a_forged_actor_reads_nothing(app: AppTest, app_world: AppWorld) -> None:
    forged = type(app_world.clinician)(
        app_world.patient.user_id, app_world.clinician.clinic_id, "clinician", "patient"
    )
    signed_in(app, forged).run()
    texts = _texts(app)
    assert "Second" not in texts
    assert app.title[0].value == "Infusion Outcomes"  # sent back to sign in


def test_other_clinics_patients_are_not_listed(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.other_clinician).run()
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception
    options = app.selectbox[0].options
    assert all("Second" not in o and "Patient ·" not in o for o in options)


def test_an_idle_session_is_signed_out(app: AppTest, app_world: AppWorld) -> None:
    import datetime as dt

    signed_in(app, app_world.clinician)
    app.session_state["last_seen"] = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    app.run()
    assert not app.exception
    assert app.title[0].value == "Infusion Outcomes"  # back at sign-in
    assert "inactivity" in app.info[0].value
    assert "Second" not in _texts(app)
