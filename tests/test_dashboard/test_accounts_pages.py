"""Issue 12 in AppTest: registering a patient (and their sign-in) as a clinician and as an
administrator, the Users table refreshed after a change, one view per visit, and the audit
log filtered by MRN with subjects shown."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.accounts import authenticate
from data.engine import make_engine, transaction
from data.models import AuditEvent, Patient, User
from tests.test_dashboard.conftest import AppWorld, signed_in

REGISTER = "app_pages/clinician/register.py"


def _patient(url: str, mrn: str) -> tuple[Patient, User | None] | None:
    engine = make_engine(url)
    with transaction(engine) as session:
        patient = session.scalars(select(Patient).where(Patient.external_id == mrn)).one_or_none()
        user = None
        if patient is not None and patient.user_id is not None:
            user = session.get(User, patient.user_id)
    engine.dispose()
    return None if patient is None else (patient, user)


def _count(url: str, **where: object) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        query = select(func.count()).select_from(AuditEvent)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        count = int(session.scalar(query) or 0)
    engine.dispose()
    return count


def _text(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(i for i in app.text_input if i.label == label)


def _fill(app: AppTest, mrn: str, *, email: str = "casey@example.org") -> None:
    _text(app, "Full name").input("Casey Newcomer")
    _text(app, "Patient id (MRN)").input(mrn)
    _text(app, "Contact phone (optional)").input("(555) 010-0199")
    _text(app, "Email (optional)").input(email)
    language = next(s for s in app.selectbox if s.label == "Preferred language")
    language.select("es")


def _register_as(app: AppTest, actor: Actor) -> None:
    signed_in(app, actor).run()
    app.switch_page(REGISTER).run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Register a patient"


def test_a_clinician_registers_a_patient_who_can_then_sign_in(
    app: AppTest, app_world: AppWorld
) -> None:
    _register_as(app, app_world.clinician)
    assigned = next(s for s in app.selectbox if s.label == "Assigned clinician")
    assert assigned.value == app_world.clinician.user_id  # their own patient by default
    mrn = f"MRN-{uuid.uuid4().hex[:8]}"
    _fill(app, mrn)
    next(b for b in app.button if b.label == "Register").click().run()
    assert not app.exception, app.exception
    assert [s.value for s in app.success] == ["The patient is registered."]
    username, password = (c.value for c in app.code)

    stored = _patient(app_world.url, mrn)
    assert stored is not None
    patient, user = stored
    assert (patient.name, patient.email, patient.preferred_language, patient.phone) == (
        "Casey Newcomer",
        "casey@example.org",
        "es",
        "(555) 010-0199",
    )
    assert patient.assigned_clinician_id == app_world.clinician.user_id
    assert user is not None and user.username == username and user.role == "patient"

    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        me = authenticate(session, username=username, password=password)
    engine.dispose()
    assert me.patient_id == patient.id

    # Shown once: the next run no longer shows the password.
    app.run()
    assert not app.code


def test_a_refused_registration_names_the_problem_and_saves_nothing(
    app: AppTest, app_world: AppWorld
) -> None:
    _register_as(app, app_world.admin)
    _fill(app, "MRN-patient", email="not an address")  # the MRN of a registered patient
    next(b for b in app.button if b.label == "Register").click().run()
    assert not app.exception, app.exception
    (error,) = app.error
    assert "nothing was saved" in error.value
    assert "already registered" in error.value and "email address" in error.value
    assert not app.success and not app.code
    stored = _patient(app_world.url, "MRN-patient")
    assert stored is not None and stored[0].name == "Patient"  # unchanged


def test_an_administrator_gives_a_registered_patient_a_new_temporary_password(
    app: AppTest, app_world: AppWorld
) -> None:
    _register_as(app, app_world.admin)
    _text(app, "Patient id (MRN) of the patient").input("MRN-nobody")
    next(b for b in app.button if b.label.startswith("Make a sign-in")).click().run()
    assert any("no patient of your clinic" in e.value for e in app.error)

    _text(app, "Patient id (MRN) of the patient").input("MRN-second")
    next(b for b in app.button if b.label.startswith("Make a sign-in")).click().run()
    assert not app.exception, app.exception
    username, password = (c.value for c in app.code)
    assert username == "second"  # the patient's existing sign-in keeps its username
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        me = authenticate(session, username=username, password=password)
    engine.dispose()
    assert me.patient_id == app_world.other_patient.patient_id


def test_the_register_page_is_in_the_menu_of_clinicians_and_administrators_only(
    app: AppTest, app_world: AppWorld
) -> None:
    signed_in(app, app_world.patient).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(REGISTER)


def test_the_users_table_shows_a_new_account_at_once(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/users.py").run()
    username = f"clinician-{uuid.uuid4().hex[:6]}"
    _text(app, "Username").input(username)
    _text(app, "Full name").input("Fresh Clinician")
    next(i for i in app.text_input if i.label.startswith("Temporary password")).input(
        "long enough pw"
    )
    next(b for b in app.button if b.label == "Create").click().run()
    assert not app.exception, app.exception
    # The same run, no reload: the table and the account picker list the new account.
    assert username in set(app.dataframe[0].value["username"])
    assert any("created" in s.value for s in app.success)
    picker = next(s for s in app.selectbox if s.label == "Account")
    assert username in picker.options

    created = next(
        int(user_id)
        for user_id, name in zip(
            app.dataframe[0].value["user_id"], app.dataframe[0].value["username"], strict=True
        )
        if name == username
    )
    picker.select(created).run()
    next(b for b in app.button if b.label == "Disable").click().run()
    table = app.dataframe[0].value
    assert not bool(table.loc[table["username"] == username, "active"].iloc[0])


def test_the_users_page_is_one_view_however_often_it_reruns(
    app: AppTest, app_world: AppWorld
) -> None:
    admin = app_world.admin
    before = _count(app_world.url, action="view_users", actor_id=admin.user_id)
    signed_in(app, admin).run()
    app.switch_page("app_pages/admin/users.py").run()
    for _ in range(4):
        app.run()
    after = _count(app_world.url, action="view_users", actor_id=admin.user_id)
    assert after - before <= 1


def test_the_audit_log_filters_by_mrn_and_shows_subjects(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/audit.py").run()
    assert not app.exception, app.exception
    assert "subject" in app.dataframe[0].value.columns
    app.text_input(key="audit_mrn").input("MRN-second").run()
    log = app.dataframe[0].value
    assert len(log) > 0
    assert set(log["patient_id"].dropna().astype(int)) == {app_world.other_patient.patient_id}
    app.text_input(key="audit_mrn").input("MRN-nobody").run()
    assert not app.exception
    assert any("no patient of your clinic" in e.value for e in app.error)
    assert not app.dataframe
