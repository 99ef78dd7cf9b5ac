"""The administrator's Users and Audit log pages, used as an administrator would."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.engine import make_engine, transaction
from data.models import User
from tests.test_dashboard.conftest import AppWorld, signed_in


def _user(url: str, username: str) -> User | None:
    engine = make_engine(url)
    with transaction(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
    engine.dispose()
    return user


def test_create_disable_and_reset_an_account(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/users.py").run()
    form = app.get("form")[0]
    inputs = [i for i in app.text_input if i.label in ("Username", "Full name")]
    inputs[0].input("new-clinician")
    inputs[1].input("New Clinician")
    app.selectbox[0].select("clinician")
    next(i for i in app.text_input if i.label.startswith("Temporary password")).input(
        "long enough pw"
    )
    next(b for b in app.button if b.label == "Create").click().run()
    assert not app.exception, app.exception
    assert any("created" in s.value for s in app.success)
    created = _user(app_world.url, "new-clinician")
    assert created is not None and created.role == "clinician" and created.active
    assert form is not None

    app.run()  # the account picker of the run before the creation does not list it yet
    picker = app.selectbox[1]
    picker.select(created.id).run()
    next(b for b in app.button if b.label == "Disable").click().run()
    assert not app.exception
    disabled = _user(app_world.url, "new-clinician")
    assert disabled is not None and not disabled.active

    short = next(i for i in app.text_input if i.label == "New password")
    short.input("short").run()
    next(b for b in app.button if b.label == "Reset password").click().run()
    assert any("at least 12 characters" in e.value for e in app.error)


def test_audit_log_filters_by_patient(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/audit.py").run()
    assert not app.exception
    # By the clinic's own patient id (MRN), not the internal one (issue 12).
    app.text_input(key="audit_mrn").input("MRN-patient").run()
    assert not app.exception
    log = app.dataframe[0].value
    assert len(log) > 0
    assert set(log["patient_id"].dropna().astype(int)) == {app_world.patient.patient_id}


HOSTILE_NAME = "**pwned** :green[all clear] ![x](http://evil.example/x.png)"


def test_usernames_and_names_are_shown_as_plain_text_and_no_patient_account_is_offered(
    app: AppTest, app_world: AppWorld
) -> None:
    """Issue 9, items 1 and 12, on the Users page: a username or full name is never
    Markdown (no forged "all clear", no image fetched), and patients get their sign-in from
    their record, not from a free-standing account here."""
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/users.py").run()
    assert app.selectbox[0].options == ["clinician", "administrator"]
    inputs = [i for i in app.text_input if i.label in ("Username", "Full name")]
    inputs[0].input(HOSTILE_NAME)
    inputs[1].input(HOSTILE_NAME)
    next(i for i in app.text_input if i.label.startswith("Temporary password")).input(
        "a long enough password"
    )
    next(b for b in app.button if b.label == "Create").click().run()
    assert not app.exception, app.exception
    assert any("created" in s.value for s in app.success)
    app.run()
    assert HOSTILE_NAME in set(app.dataframe[0].value["username"])
    markdown = [
        str(e.value)
        for kind in ("markdown", "success", "error", "warning", "info", "caption", "title")
        for e in getattr(app, kind)
    ]
    assert not [m for m in markdown if "pwned" in m or "evil.example" in m]
