"""The administrator's Messages page (settings, wording, on-call list) and the contact details
on the Users page, used as an administrator would (issue 14)."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.engine import make_engine, transaction
from data.models import ClinicSettings, User
from data.notify.models import MessageTemplate, OnCallContact
from tests.test_dashboard.conftest import AppWorld, signed_in

PAGE = "app_pages/admin/messages.py"


def _read(url: str, query):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with transaction(engine) as session:
        found = query(session)
    engine.dispose()
    return found


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label)


def _open(app: AppTest, app_world: AppWorld) -> AppTest:
    signed_in(app, app_world.admin).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def test_settings_are_saved_and_reminders_switched_on(app: AppTest, app_world: AppWorld) -> None:
    _open(app, app_world)
    assert any("reminders are **off**" in m.value for m in app.markdown)
    app.toggle[0].set_value(True)
    next(n for n in app.number_input if n.label.startswith("Escalate")).set_value(45)
    next(n for n in app.number_input if n.label.startswith("Most reminders")).set_value(2)
    _button(app, "Save settings").click().run()
    assert not app.exception, app.exception
    assert any("saved" in s.value for s in app.success)
    settings = _read(app_world.url, lambda s: s.get(ClinicSettings, app_world.admin.clinic_id))
    assert settings.reminders_on_since is not None
    assert (settings.escalation_minutes, settings.max_reminders) == (45, 2)
    assert any("reminders are **on**" in m.value for m in app.markdown)


def test_no_clinic_day_is_refused_with_what_to_correct(app: AppTest, app_world: AppWorld) -> None:
    _open(app, app_world)
    app.multiselect[0].set_value([])
    _button(app, "Save settings").click().run()
    assert not app.exception, app.exception
    assert any("Nothing was saved" in e.value and "days of the week" in e.value for e in app.error)


def test_wording_is_checked_previewed_saved_and_reset(app: AppTest, app_world: AppWorld) -> None:
    _open(app, app_world)
    app.selectbox(key="tpl_kind").select("checkin_reminder").run()
    app.radio(key="tpl_channel").set_value("sms").run()
    body = app.text_area(key="tpl_body_checkin_reminder_sms")
    body.input("Please check in today, your score matters {score}").run()
    _button(app, "Save wording").click().run()
    errors = " ".join(e.value for e in app.error)
    assert "score" in errors and "link" in errors
    assert (
        _read(
            app_world.url,
            lambda s: s.get(
                MessageTemplate, (app_world.admin.clinic_id, "checkin_reminder", "sms")
            ),
        )
        is None
    )
    app.text_area(key="tpl_body_checkin_reminder_sms").input(
        "{clinic_name}: time to check in {link} Reply STOP to stop."
    ).run()
    _button(app, "Preview").click().run()
    assert any(t.value.startswith("Clinic A: time to check in https://") for t in app.text)
    _button(app, "Save wording").click().run()
    assert not app.exception, app.exception
    stored = _read(
        app_world.url,
        lambda s: s.get(MessageTemplate, (app_world.admin.clinic_id, "checkin_reminder", "sms")),
    )
    assert (
        stored is not None
        and stored.body == "{clinic_name}: time to check in {link} Reply STOP to stop."
    )
    assert any("own wording" in m.value for m in app.markdown)
    _button(app, "Back to the default").click().run()
    assert not app.exception, app.exception
    assert any("default wording is used" in s.value for s in app.success)
    assert (
        _read(
            app_world.url,
            lambda s: s.get(
                MessageTemplate, (app_world.admin.clinic_id, "checkin_reminder", "sms")
            ),
        )
        is None
    )


def _contacts(url: str, clinic_id: int) -> list[tuple[str, int, bool, str | None]]:
    return _read(
        url,
        lambda s: [
            (c.name, c.position, c.active, c.phone)
            for c in s.scalars(
                select(OnCallContact)
                .where(OnCallContact.clinic_id == clinic_id)
                .order_by(OnCallContact.position)
            )
        ],
    )


def test_the_on_call_list_is_added_to_reordered_and_deactivated(
    app: AppTest, app_world: AppWorld
) -> None:
    clinic = app_world.admin.clinic_id
    _open(app, app_world)
    app.text_input(key="add_name").input("Dr First")
    app.text_input(key="add_email").input("not an address")
    _button(app, "Add to the list").click().run()
    assert any("is not valid" in e.value for e in app.error)
    assert _contacts(app_world.url, clinic) == []
    for name, phone in (("Dr First", "+1 212 555 0101"), ("Nurse Second", "(312) 555-0102")):
        app.text_input(key="add_name").input(name)
        app.text_input(key="add_phone").input(phone)
        _button(app, "Add to the list").click().run()
        assert not app.exception, app.exception
    assert _contacts(app_world.url, clinic) == [
        ("Dr First", 1, True, "+12125550101"),
        ("Nurse Second", 2, True, "+13125550102"),
    ]
    # Nurse Second first.
    app.selectbox(key="change_contact").select(_id_of(app_world, "Nurse Second")).run()
    next(n for n in app.number_input if n.label == "Place in the order").set_value(1)
    _button(app, "Save contact").click().run()
    assert not app.exception, app.exception
    assert [c[0] for c in _contacts(app_world.url, clinic)] == ["Nurse Second", "Dr First"]
    # Dr First deactivated: kept, last, inactive.
    app.selectbox(key="change_contact").select(_id_of(app_world, "Dr First")).run()
    next(c for c in app.checkbox if c.label.startswith("Active")).uncheck()
    _button(app, "Save contact").click().run()
    assert not app.exception, app.exception
    assert _contacts(app_world.url, clinic)[-1][:3] == ("Dr First", 2, False)


def _id_of(app_world: AppWorld, name: str) -> int:
    return int(
        _read(
            app_world.url,
            lambda s: s.scalar(select(OnCallContact.id).where(OnCallContact.name == name)),
        )
    )


def test_a_staff_members_contact_details_are_set_on_the_users_page(
    app: AppTest, app_world: AppWorld
) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/users.py").run()
    app.selectbox[1].select(app_world.clinician.user_id).run()
    email = next(t for t in app.text_input if t.label == "E-mail")
    phone = next(t for t in app.text_input if t.label == "Mobile number")
    email.input("clinician@example.org")
    phone.input("12")
    _button(app, "Save contact details").click().run()
    assert any("not a valid number" in e.value for e in app.error)
    next(t for t in app.text_input if t.label == "Mobile number").input("(212) 555-0150")
    _button(app, "Save contact details").click().run()
    assert not app.exception, app.exception
    user = _read(app_world.url, lambda s: s.get(User, app_world.clinician.user_id))
    assert (user.email, user.phone) == ("clinician@example.org", "+12125550150")
