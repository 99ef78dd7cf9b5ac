"""The pages one-tap links open without a password (issue 14): a check-in, an invitation,
stopping reminders, and the plain page of a link that does not open."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data.accounts import authenticate
from data.engine import make_engine, transaction
from data.models import Assessment, Patient, SafetyAlert, User
from data.notify.links import LINK_PARAMETER, IssuedLink, issue_link
from data.notify.models import AccessLink, OutboxMessage
from data.notify.opt_outs import opted_out
from tests.test_dashboard.conftest import APP, AppWorld, new_patient, signed_in


def _link(app_world: AppWorld, patient_id: int, purpose: str, **options: object) -> IssuedLink:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        clinic_id = session.get(Patient, patient_id).clinic_id  # type: ignore[union-attr]
        link = issue_link(
            session,
            clinic_id=clinic_id,
            patient_id=patient_id,
            purpose=purpose,
            **options,  # type: ignore[arg-type]
        )
    engine.dispose()
    return link


def _checkin_link(app_world: AppWorld, patient_id: int) -> IssuedLink:
    return _link(
        app_world,
        patient_id,
        "checkin",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        instruments=("phq9", "gad7"),
    )


def _open(app: AppTest, token: str) -> AppTest:
    app.query_params[LINK_PARAMETER] = token
    return app.run()


def _texts(app: AppTest) -> str:
    parts = [e.value for e in (*app.title, *app.markdown, *app.success, *app.warning, *app.error)]
    return " ".join(str(p) for p in parts)


def _count(url: str, model: type, patient_id: int) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        found = session.scalar(
            select(func.count()).select_from(model).where(model.patient_id == patient_id)  # type: ignore[attr-defined]
        )
    engine.dispose()
    return int(found or 0)


def test_a_checkin_link_opens_its_form_without_a_password_and_nothing_else(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)
    pid = patient.patient_id or 0
    link = _checkin_link(app_world, pid)
    _open(app, link.token)
    assert not app.exception
    assert [t.value for t in app.title] == ["Your check-in"]
    assert [h.value for h in app.header] == ["PHQ-9", "GAD-7"]
    assert len(app.radio) == 17  # PHQ-9 (with its unscored difficulty item) and GAD-7
    assert "actor" not in app.session_state  # nobody is signed in
    assert not app.sidebar.button  # no menu, no sign-out: nothing else of the app
    # Unanswered questions are marked and nothing is stored.
    app.radio[0].set_value(1)
    app.button[0].click().run()
    assert "Nothing is saved yet" in _texts(app)
    assert _count(app_world.url, Assessment, pid) == 0
    for radio in app.radio:
        radio.set_value(2 if str(radio.key).endswith(":phq9_9") else 1)
    app.button[0].click().run()
    assert not app.exception
    assert "988" in app.error[0].value  # a self-harm answer: crisis help first
    assert [t.value for t in app.title] == ["Thank you"]
    assert "Sign in to see your progress" in _texts(app)
    assert _count(app_world.url, Assessment, pid) == 2
    assert _count(app_world.url, SafetyAlert, pid) == 1
    # The sign-in button leaves the link for the normal sign-in page.
    app.button(key="link_sign_in").click().run()
    assert LINK_PARAMETER not in app.query_params
    assert app.text_input  # the sign-in form
    # Opened again (a new visit): done, said as a thank-you.
    again = _open(AppTest.from_file(APP, default_timeout=60), link.token)
    assert [t.value for t in again.title] == ["Check-in done"]
    assert "done already" in again.success[0].value
    assert not again.radio


def test_links_that_do_not_open_get_a_plain_page(app: AppTest, app_world: AppWorld) -> None:
    patient = new_patient(app_world)
    pid = patient.patient_id or 0
    expired = _checkin_link(app_world, pid)
    disabled_patient = new_patient(app_world)
    disabled = _checkin_link(app_world, disabled_patient.patient_id or 0)
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        row = session.get(AccessLink, expired.link_id)
        assert row is not None
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        user = session.get(User, disabled_patient.user_id)
        assert user is not None
        user.active = False
    engine.dispose()
    token, _, signature = expired.token.rpartition(".")
    for value, title, words in (
        (expired.token, "This link does not open", "This link has expired."),
        (disabled.token, "This link does not open", "not active"),
        (token + "x." + signature, "This link does not open", "This link is not valid"),
        ("<script>alert(1)</script>", "This link does not open", "This link is not valid"),
    ):
        page = _open(AppTest.from_file(APP, default_timeout=60), value)
        assert not page.exception, value
        assert [t.value for t in page.title] == [title]
        assert words in _texts(page), value
        assert not page.radio
    assert _count(app_world.url, Assessment, pid) == 0


def test_an_invitation_link_sets_a_password_then_the_patient_signs_in(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)
    link = _link(app_world, patient.patient_id or 0, "invitation")
    _open(app, link.token)
    assert [t.value for t in app.title] == ["Set your password"]
    app.text_input(key="link_password").input("short")
    app.text_input(key="link_again").input("short")
    app.button[0].click().run()
    assert "Please choose another password" in app.error[0].value
    app.text_input(key="link_password").input("river lantern quietly")
    app.text_input(key="link_again").input("river lantern quietly!")
    app.button[0].click().run()
    assert "not the same" in app.error[0].value
    app.text_input(key="link_again").input("river lantern quietly")
    app.button[0].click().run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Your password is set"]
    assert app.code[0].value == patient.username
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        actor = authenticate(session, username=patient.username, password="river lantern quietly")
    engine.dispose()
    assert actor.patient_id == patient.patient_id
    again = _open(AppTest.from_file(APP, default_timeout=60), link.token)
    assert "used already" in _texts(again)


def test_an_opt_out_link_stops_reminders_with_one_button(app: AppTest, app_world: AppWorld) -> None:
    patient = new_patient(app_world)
    pid = patient.patient_id or 0
    link = _link(app_world, pid, "opt_out", channel="email")
    _open(app, link.token)
    assert [t.value for t in app.title] == ["Stop reminders"]
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        # Opening it (a mail scanner follows links too) changes nothing.
        assert not opted_out(session, patient_id=pid, channel="email")
    app.button(key="link_opt_out").click().run()
    assert not app.exception
    assert "no more check-in reminders by e-mail" in app.success[0].value
    assert "ask the clinic" in _texts(app)
    with transaction(engine) as session:
        assert opted_out(session, patient_id=pid, channel="email")
        assert not opted_out(session, patient_id=pid, channel="sms")
    engine.dispose()


def _patient_page(app: AppTest, app_world: AppWorld, patient_id: int) -> AppTest:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = patient_id
    return app.switch_page("app_pages/clinician/patient.py").run()


def test_the_clinician_invites_a_patient_from_their_page(app: AppTest, app_world: AppWorld) -> None:
    patient = new_patient(app_world)
    pid = patient.patient_id or 0
    _patient_page(app, app_world, pid)
    assert not app.exception
    app.button(key=f"invite_send_{pid}").click().run()
    assert "no e-mail or phone on record" in app.error[0].value.replace("\\", "")
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        row = session.get(Patient, pid)
        assert row is not None
        row.email = "fresh@example.org"
    app.button(key=f"invite_send_{pid}").click().run()
    assert not app.exception
    assert "Invitation queued to fresh@example.org" in app.success[0].value.replace(
        "\\", ""
    ).replace("\u2060", "")
    with transaction(engine) as session:
        (message,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.patient_id == pid)
        ).all()
        assert message.kind == "invitation" and "?link=" in message.body
    engine.dispose()
