"""An administrator's message settings and the clinic's own wording (issue 14)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import AccessDenied, InvalidInput
from data.models import AuditEvent, ClinicSettings
from data.notify.models import MessageTemplate
from data.notify.settings_admin import message_settings, set_message_settings
from data.notify.templates import (
    DEFAULT_TEMPLATES,
    clinic_templates,
    preview_template,
    render_message,
    reset_template,
    save_template,
)
from tests.conftest import World


def _actions(session: Session, clinic_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.clinic_id == clinic_id)
            .order_by(AuditEvent.id)
        )
    )


def test_a_clinic_without_settings_reads_the_defaults(session: Session, world: World) -> None:
    settings = message_settings(session, actor=world.admin_a)
    assert settings.clinic_name == "Clinic A"
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == ("21:00", "08:00")
    assert (settings.clinic_opens, settings.clinic_closes) == ("08:00", "18:00")
    assert settings.clinic_days == (0, 1, 2, 3, 4)
    assert (settings.escalation_minutes, settings.max_reminders) == (30, 3)
    assert not settings.reminders_on


def test_settings_are_changed_validated_and_audited(session: Session, world: World) -> None:
    changed = set_message_settings(
        session,
        actor=world.admin_a,
        quiet_hours_start="22:30",
        quiet_hours_end="07:00",
        clinic_opens="09:00",
        clinic_closes="17:30",
        clinic_days=[5, 0, 1, 1],
        escalation_minutes=45,
        max_reminders=2,
    )
    assert (changed.quiet_hours_start, changed.quiet_hours_end) == ("22:30", "07:00")
    assert (changed.clinic_opens, changed.clinic_closes) == ("09:00", "17:30")
    assert changed.clinic_days == (0, 1, 5)
    assert (changed.escalation_minutes, changed.max_reminders) == (45, 2)
    stored = session.get(ClinicSettings, world.clinic_a)
    assert stored is not None and stored.clinic_days == "0,1,5"
    assert _actions(session, world.clinic_a) == ["set_message_settings"]
    # The same values again change nothing and record nothing.
    set_message_settings(session, actor=world.admin_a, escalation_minutes=45)
    assert _actions(session, world.clinic_a) == ["set_message_settings"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"quiet_hours_start": "9pm"}, "HH:MM"),
        ({"quiet_hours_end": "24:00"}, "HH:MM"),
        ({"clinic_opens": "18:00", "clinic_closes": "08:00"}, "open before it closes"),
        ({"quiet_hours_start": "08:00", "quiet_hours_end": "08:00"}, "different times"),
        ({"clinic_days": []}, "days of the week"),
        ({"clinic_days": [7]}, "days of the week"),
        ({"clinic_days": "0,1"}, "days of the week"),
        ({"escalation_minutes": 4}, "5 to 240"),
        ({"escalation_minutes": 241}, "5 to 240"),
        ({"escalation_minutes": True}, "5 to 240"),
        ({"max_reminders": 0}, "1 to 5"),
        ({"max_reminders": 6}, "1 to 5"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_written(
    session: Session, world: World, change: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        set_message_settings(session, actor=world.admin_a, **change)  # type: ignore[arg-type]
    assert session.get(ClinicSettings, world.clinic_a) is None
    assert _actions(session, world.clinic_a) == []


def test_one_bad_value_keeps_the_good_ones_from_being_written(
    session: Session, world: World
) -> None:
    with pytest.raises(InvalidInput) as refused:
        set_message_settings(
            session, actor=world.admin_a, max_reminders=2, escalation_minutes=1, clinic_days=[]
        )
    assert len(refused.value.problems) == 2
    assert message_settings(session, actor=world.admin_a).max_reminders == 3


def test_switching_reminders_on_and_off_keeps_its_history(session: Session, world: World) -> None:
    on = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
    settings = set_message_settings(session, actor=world.admin_a, reminders_on=True, now=on)
    assert settings.reminders_on and settings.reminders_on_since == on
    # On again: still since the first switch.
    again = set_message_settings(
        session, actor=world.admin_a, reminders_on=True, now=on + dt.timedelta(days=3)
    )
    assert again.reminders_on_since == on
    off = set_message_settings(session, actor=world.admin_a, reminders_on=False)
    assert not off.reminders_on and off.reminders_on_since is None
    assert _actions(session, world.clinic_a) == ["reminders_on", "reminders_off"]


def test_only_the_clinics_administration_changes_settings(session: Session, world: World) -> None:
    for actor in (world.clinician_a, world.patient_a1):
        with pytest.raises(AccessDenied):
            set_message_settings(session, actor=actor, max_reminders=1)
        with pytest.raises(AccessDenied):
            save_template(
                session, actor=actor, kind="invitation", channel="sms", subject=None, body="{link}"
            )
    set_message_settings(session, actor=world.system_a, max_reminders=1)
    assert message_settings(session, actor=world.admin_a).max_reminders == 1


# --- templates --------------------------------------------------------------------------------


def test_the_clinics_wording_is_saved_used_and_reset(session: Session, world: World) -> None:
    rows = clinic_templates(session, actor=world.admin_a)
    assert {(r.kind, r.channel) for r in rows} == set(DEFAULT_TEMPLATES)
    assert not any(r.own for r in rows)
    saved = save_template(
        session,
        actor=world.admin_a,
        kind="checkin_reminder",
        channel="email",
        subject="  Time for your {clinic_name} check-in  ",
        body="Hi,\r\nplease check in by {due_date}: {link}\r\nStop: {opt_out_link}",
    )
    assert saved.subject == "Time for your {clinic_name} check-in"
    assert "\r" not in saved.body
    own = {(r.kind, r.channel): r for r in clinic_templates(session, actor=world.admin_a)}
    assert own[("checkin_reminder", "email")].own
    rendered = render_message(
        session,
        clinic_id=world.clinic_a,
        kind="checkin_reminder",
        channel="email",
        values={
            "clinic_name": "Clinic A",
            "link": "https://x.example.org/l/1",
            "opt_out_link": "https://x.example.org/o/1",
            "due_date": "Monday",
        },
    )
    assert rendered.subject == "Time for your Clinic A check-in"
    assert "please check in by Monday: https://x.example.org/l/1" in rendered.body
    # Clinic B still has the default.
    assert session.get(MessageTemplate, (world.clinic_b, "checkin_reminder", "email")) is None
    assert reset_template(session, actor=world.admin_a, kind="checkin_reminder", channel="email")
    assert not reset_template(
        session, actor=world.admin_a, kind="checkin_reminder", channel="email"
    )
    assert _actions(session, world.clinic_a) == ["set_message_template", "reset_message_template"]
    subjects = session.scalars(
        select(AuditEvent.subject).where(AuditEvent.clinic_id == world.clinic_a)
    ).all()
    assert set(subjects) == {"template checkin_reminder email"}


@pytest.mark.parametrize(
    ("kind", "channel", "subject", "body", "words"),
    [
        ("checkin_reminder", "email", "Due", "Your score was {score}. {link}", "{score}"),
        ("checkin_reminder", "sms", None, "Please check in today", "must carry its {link}"),
        ("checkin_reminder", "email", "Due", "Check in: {link}", "{opt_out_link}"),
        ("checkin_reminder", "sms", None, "Check in: {link}", "STOP"),
        ("safety_alert", "email", "", "Review: {link}", "needs a subject"),
        ("safety_alert", "sms", None, "{clinic_name.__class__} {link}", "not a placeholder"),
        ("invitation", "sms", None, "Set up {link", "broken placeholder"),
        ("invitation", "sms", None, "x" * 321 + "{link}", "at most 320"),
        ("invitation", "sms", None, "Line one\nline two {link}", "one line"),
        ("invitation", "email", "Two\nlines", "{link}", "subject on one line"),
        ("invitation", "fax", None, "{link}", "no message"),
    ],
)
def test_bad_wording_is_refused_with_what_is_wrong(
    session: Session,
    world: World,
    kind: str,
    channel: str,
    subject: str | None,
    body: str,
    words: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        save_template(
            session, actor=world.admin_a, kind=kind, channel=channel, subject=subject, body=body
        )
    assert any(words in problem for problem in refused.value.problems), refused.value.problems
    assert session.get(MessageTemplate, (world.clinic_a, kind, channel)) is None
    assert _actions(session, world.clinic_a) == []


def test_a_preview_fills_sample_values_and_writes_nothing(session: Session, world: World) -> None:
    preview = preview_template(
        "safety_escalation",
        "sms",
        "ignored for a text",
        "{clinic_name}: alert open {minutes} min. {link}",
        clinic_name="Clinic A",
    )
    assert preview.subject is None
    assert preview.body.startswith("Clinic A: alert open 30 min. https://")
    with pytest.raises(InvalidInput, match="name"):
        preview_template("safety_alert", "sms", None, "{name} {link}", clinic_name="Clinic A")
    assert session.scalars(select(MessageTemplate)).all() == []
