"""Check-in reminders: at opening, once a day, at most 3, never in quiet hours (issue 14).

On SQLite and PostgreSQL (the ``session`` fixture). A patient of clinic A (New York) has an
infusion booked for day ``D`` at 10:00; the default schedule's baseline window opens at the
start of ``D - 7`` and closes at the infusion. Every moment is in the real future, since a
check-in link must expire after the present. Two workers at once: ``test_reminders_race.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import Assessment, AuditEvent, ClinicSettings, Patient, User
from data.notify.links import LINK_PARAMETER, OpenedLink, open_link
from data.notify.models import AccessLink, OutboxMessage
from data.notify.opt_outs import record_opt_out
from data.notify.outbox import claim_due
from data.notify.reminders import due_date_words, queue_due_reminders, reminder_number
from data.notify.steps import STEPS
from data.notify.templates import DEFAULT_TEMPLATES, save_template
from data.schedule import due_checkins, plan_infusion
from tests.conftest import World

NY = "America/New_York"
ZONE = zoneinfo.ZoneInfo(NY)
EMAIL, PHONE = "a1@patients.example", "+12025550123"
URL = re.compile(r"https?://\S+")


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment on the clinic's wall clock."""
    return dt.datetime.combine(day, dt.time(hour, minute), ZONE)


def today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def set_up(
    session: Session,
    world: World,
    *,
    infusion_day: dt.date | None = None,
    email: str | None = EMAIL,
    phone: str | None = PHONE,
    reminders_on: bool = True,
) -> tuple[int, dt.date]:
    """Clinic A in New York with reminders on (or off), patient a1 reachable as told and
    booked for an infusion on ``infusion_day`` (8 days ahead by default) at 10:00."""
    session.add(
        ClinicSettings(
            clinic_id=world.clinic_a,
            time_zone=NY,
            reminders_on_since=(
                dt.datetime.now(dt.UTC) - dt.timedelta(days=1) if reminders_on else None
            ),
        )
    )
    patient = session.get(Patient, world.patient_a1.patient_id)
    assert patient is not None
    patient.email, patient.phone = email, phone
    session.flush()
    day = infusion_day or today() + dt.timedelta(days=8)
    plan_infusion(
        session, actor=world.clinician_a, patient_id=patient.id, planned_at=local(day, 10)
    )
    return patient.id, day


def reminders(session: Session, patient_id: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.patient_id == patient_id, OutboxMessage.kind == "checkin_reminder")
            .order_by(OutboxMessage.id)
        )
    )


def keys(session: Session, patient_id: int) -> list[str]:
    return [m.dedupe_key for m in reminders(session, patient_id)]


def links(session: Session) -> int:
    return int(session.scalar(select(func.count(AccessLink.id))) or 0)


def check_in(session: Session, world: World, patient_id: int, at: dt.datetime) -> None:
    """The window's questionnaires stored at ``at`` (rows as the check-in writer stores them)."""
    due = due_checkins(session, actor=world.system_a, at=at)
    (mine,) = [d for d in due if d.patient_id == patient_id]
    for instrument in mine.missing:
        session.add(
            Assessment(
                clinic_id=world.clinic_a,
                patient_id=patient_id,
                instrument=instrument,
                administered_at=at.astimezone(dt.UTC),
                source="checkin",
                answers={},
                total=23,
                valid=True,
                scoring_version="test",
            )
        )
    session.flush()


def test_the_step_runs_in_every_worker_pass_after_escalation() -> None:
    names = [step for _, step in STEPS]
    assert queue_due_reminders in names
    assert names.index(queue_due_reminders) == len(names) - 1


def test_the_first_reminder_goes_when_the_window_opens_by_each_channel(
    session: Session, world: World
) -> None:
    patient_id, day = set_up(session, world)
    opening = day - dt.timedelta(days=7)
    assert queue_due_reminders(session, local(opening - dt.timedelta(days=1), 12)) == 0
    assert keys(session, patient_id) == []

    assert queue_due_reminders(session, local(opening, 9)) == 2

    email, sms = reminders(session, patient_id)
    window = f"baseline:{day.isoformat()}"
    assert email.dedupe_key == f"reminder:{patient_id}:{window}:1:email"
    assert sms.dedupe_key == f"reminder:{patient_id}:{window}:1:sms"
    assert (email.channel, email.recipient) == ("email", EMAIL)
    assert (sms.channel, sms.recipient) == ("sms", PHONE)
    for message in (email, sms):
        assert message.status == "queued"
        assert message.expires_at == local(day, 10)  # the window closes at the infusion
        assert message.next_attempt_at <= dt.datetime.now(dt.UTC)  # sent at once
    # The check-in link opens that window's questionnaires, until it closes.
    (link,) = {u for u in URL.findall(email.body) if "opt" not in u} & set(URL.findall(sms.body))
    opened = open_link(session, token=parse_qs(urlsplit(link).query)[LINK_PARAMETER][0])
    assert isinstance(opened, OpenedLink)
    assert (opened.purpose, opened.patient_id) == ("checkin", patient_id)
    assert opened.expires_at == local(day, 10)
    (due,) = [d for d in due_checkins(session, actor=world.system_a, at=local(opening, 9))]
    assert opened.instruments == due.missing
    # Reading the patient's addresses is on the audit trail, as the system.
    audited = session.scalars(
        select(AuditEvent.actor_name).where(
            AuditEvent.action == "queue_reminder", AuditEvent.patient_id == patient_id
        )
    ).all()
    assert audited == ["reminders"]


def test_one_reminder_a_day_while_the_window_is_open_and_at_most_three(
    session: Session, world: World
) -> None:
    patient_id, day = set_up(session, world)
    opening = day - dt.timedelta(days=7)
    passes = [
        local(opening, 8),
        local(opening, 15),
        local(opening, 20, 59),
        local(opening + dt.timedelta(days=1), 9),
        local(opening + dt.timedelta(days=1), 18),
        local(opening + dt.timedelta(days=2), 10),
        local(opening + dt.timedelta(days=3), 10),
        local(opening + dt.timedelta(days=6), 10),
    ]
    assert [queue_due_reminders(session, at) for at in passes] == [2, 0, 0, 2, 0, 2, 0, 0]
    numbers = [int(k.split(":")[-2]) for k in keys(session, patient_id)]
    assert numbers == [1, 1, 2, 2, 3, 3]


def test_the_clinics_own_limit_of_reminders(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world, phone=None)
    settings = session.get(ClinicSettings, world.clinic_a)
    assert settings is not None
    settings.max_reminders = 1
    session.flush()
    opening = day - dt.timedelta(days=7)
    for n in range(4):
        queue_due_reminders(session, local(opening + dt.timedelta(days=n), 12))
    assert [k.split(":")[-2:] for k in keys(session, patient_id)] == [["1", "email"]]


def test_reminder_numbers_count_clinic_days() -> None:
    opens = local(dt.date(2027, 3, 13), 0)  # New York moves its clocks on 14 March 2027
    assert reminder_number(opens, local(dt.date(2027, 3, 13), 23, 59), zone=NY, most=3) == 1
    assert reminder_number(opens, local(dt.date(2027, 3, 14), 0, 1), zone=NY, most=3) == 2
    assert reminder_number(opens, local(dt.date(2027, 3, 20), 9), zone=NY, most=3) == 3
    assert reminder_number(opens, local(dt.date(2027, 3, 12), 23), zone=NY, most=3) is None
    assert due_date_words(local(dt.date(2027, 3, 1), 10), NY) == "Monday 1 March"


def test_no_reminder_in_quiet_hours_the_first_pass_after_them_sends_it(
    session: Session, world: World
) -> None:
    patient_id, day = set_up(session, world)
    opening = day - dt.timedelta(days=7)
    # 21:00 to 08:00 on the clinic's clock (the defaults).
    assert queue_due_reminders(session, local(opening, 0, 1)) == 0
    assert queue_due_reminders(session, local(opening, 7, 59)) == 0
    assert keys(session, patient_id) == []
    assert queue_due_reminders(session, local(opening, 8)) == 2
    assert queue_due_reminders(session, local(opening + dt.timedelta(days=1), 21)) == 0
    assert queue_due_reminders(session, local(opening + dt.timedelta(days=2), 3)) == 0
    assert len(keys(session, patient_id)) == 2


def _next_clock_change(after: dt.date) -> dt.date:
    """The first day after ``after`` on which New York's clocks change."""
    day = after
    while True:
        day += dt.timedelta(days=1)
        if local(day, 12).utcoffset() != local(day - dt.timedelta(days=1), 12).utcoffset():
            return day


@pytest.mark.parametrize("day_after", [0, 1])
def test_quiet_hours_follow_the_clinics_clock_across_a_clock_change(
    session: Session, world: World, day_after: int
) -> None:
    change = _next_clock_change(today() + dt.timedelta(days=2))
    patient_id, day = set_up(session, world, infusion_day=change + dt.timedelta(days=3))
    assert day - dt.timedelta(days=7) < change  # the window is open on the day
    morning = change + dt.timedelta(days=day_after)
    assert local(morning, 8).utcoffset() != local(change - dt.timedelta(days=1), 8).utcoffset()
    # 07:59 there is quiet whatever the offset; an hour's shift would send at 07:00 or 09:00.
    assert queue_due_reminders(session, local(morning, 7, 59)) == 0
    assert queue_due_reminders(session, local(morning, 8)) == 2
    number = (morning - (day - dt.timedelta(days=7))).days + 1
    assert {k.split(":")[-2] for k in keys(session, patient_id)} == {str(min(number, 3))}


def test_no_reminder_once_the_window_has_closed(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world)
    assert queue_due_reminders(session, local(day, 10)) == 0  # closed at the infusion
    assert keys(session, patient_id) == []
    # One queued just before it closed expires with it: the worker cancels it unsent.
    assert queue_due_reminders(session, local(day, 9, 59)) == 2
    claim = claim_due(
        session, now=local(day, 10), worker="test", limit=10, lease=dt.timedelta(minutes=5)
    )
    assert claim.messages == [] and claim.expired == 2
    assert {m.status for m in reminders(session, patient_id)} == {"cancelled"}


@pytest.mark.parametrize(("channel", "left"), [("email", ["sms"]), ("sms", ["email"]), ("all", [])])
def test_no_reminder_on_a_channel_the_patient_opted_out_of(
    session: Session, world: World, channel: str, left: list[str]
) -> None:
    patient_id, day = set_up(session, world)
    record_opt_out(
        session, clinic_id=world.clinic_a, patient_id=patient_id, channel=channel, via="staff"
    )
    before = links(session)
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == len(left)
    assert [m.channel for m in reminders(session, patient_id)] == left
    if not left:
        assert links(session) == before  # nothing issued for nobody


def test_a_patient_who_checked_in_meanwhile_is_not_reminded(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world)
    opening = day - dt.timedelta(days=7)
    assert queue_due_reminders(session, local(opening, 9)) == 2
    check_in(session, world, patient_id, local(opening, 19))
    assert queue_due_reminders(session, local(opening + dt.timedelta(days=1), 9)) == 0
    assert len(keys(session, patient_id)) == 2


def test_a_checkin_in_the_night_means_no_reminder_in_the_morning(
    session: Session, world: World
) -> None:
    """Nothing waits in the outbox for the morning: the night's pass queued nothing, and the
    morning's finds the check-in done."""
    patient_id, day = set_up(session, world)
    night = day - dt.timedelta(days=6)
    assert queue_due_reminders(session, local(night, 2)) == 0
    check_in(session, world, patient_id, local(night, 3))
    assert queue_due_reminders(session, local(night, 8)) == 0
    assert reminders(session, patient_id) == []


def test_a_patient_with_no_email_or_phone_gets_nothing(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world, email=None, phone="  ")
    before = links(session)
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == 0
    assert reminders(session, patient_id) == []
    assert links(session) == before


def test_an_address_that_cannot_be_sent_to_is_left_out(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world, email="not an address", phone="+1 202 555 0123")
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == 1
    ((channel, recipient),) = [(m.channel, m.recipient) for m in reminders(session, patient_id)]
    assert (channel, recipient) == ("sms", "+12025550123")


def test_a_patient_whose_sign_in_is_disabled_gets_nothing(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world)
    user = session.get(User, world.patient_a1.user_id)
    assert user is not None
    user.active = False
    session.flush()
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == 0
    assert reminders(session, patient_id) == []


def test_no_reminder_while_the_clinic_has_reminders_off(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world, reminders_on=False)
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == 0
    assert reminders(session, patient_id) == []
    settings = session.get(ClinicSettings, world.clinic_a)
    assert settings is not None
    settings.reminders_on_since = dt.datetime.now(dt.UTC)
    session.flush()
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == 2


def test_a_second_pass_queues_nothing_and_issues_no_link(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world)
    at = local(day - dt.timedelta(days=7), 9)
    assert queue_due_reminders(session, at) == 2
    issued = links(session)
    assert queue_due_reminders(session, at) == 0
    assert queue_due_reminders(session, at + dt.timedelta(hours=1)) == 0
    assert links(session) == issued
    assert len(keys(session, patient_id)) == len(set(keys(session, patient_id))) == 2


def test_a_reminder_carries_no_clinical_content(session: Session, world: World) -> None:
    patient_id, day = set_up(session, world)
    opening = day - dt.timedelta(days=7)
    # An earlier check-in with a score, which must not leak into the message.
    session.add(
        Assessment(
            clinic_id=world.clinic_a,
            patient_id=patient_id,
            instrument="phq9",
            administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40),
            source="checkin",
            answers={"phq9_9": 3},
            total=27,
            severity="severe",
            flags=["phq9_item9_positive"],
            valid=True,
            scoring_version="test",
        )
    )
    session.flush()
    queue_due_reminders(session, local(opening, 9))
    email, sms = reminders(session, patient_id)
    due = due_date_words(local(day, 10), NY)
    email_links = URL.findall(email.body)
    checkin_link, opt_out_link = email_links
    # Exactly the default wording, filled with the clinic's name, the day and the links.
    values = {
        "clinic_name": "Clinic A",
        "due_date": due,
        "link": checkin_link,
        "opt_out_link": opt_out_link,
    }
    wording = DEFAULT_TEMPLATES[("checkin_reminder", "email")]
    assert email.subject == (wording.subject or "").format_map(values)
    assert email.body == wording.body.format_map(values)
    text = DEFAULT_TEMPLATES[("checkin_reminder", "sms")].body.format_map(values)
    assert sms.body == text and "STOP" in sms.body
    for message in (email, sms):
        words = URL.sub("", f"{message.subject or ''} {message.body}").lower()
        for clinical in ("27", "severe", "phq", "gad", "item", "self-harm", "patient-a1"):
            assert clinical not in words
        assert "Patient A1" not in message.body
    # The opt-out link stops e-mails.
    opened = open_link(session, token=parse_qs(urlsplit(opt_out_link).query)[LINK_PARAMETER][0])
    assert isinstance(opened, OpenedLink) and opened.purpose == "opt_out"


def test_the_clinics_own_wording_with_an_opt_out_link_in_the_text(
    session: Session, world: World
) -> None:
    """A clinic whose text carries ``{opt_out_link}`` gets one that stops texts."""
    save_template(
        session,
        actor=world.admin_a,
        kind="checkin_reminder",
        channel="sms",
        subject=None,
        body="{clinic_name}: check-in due {due_date}. {link} Stop: {opt_out_link} or reply STOP",
    )
    patient_id, day = set_up(session, world)
    assert queue_due_reminders(session, local(day - dt.timedelta(days=7), 9)) == 2
    _, sms = reminders(session, patient_id)
    email_checkin_link = URL.findall(reminders(session, patient_id)[0].body)[0]
    checkin_link, opt_out_link = URL.findall(sms.body)
    assert checkin_link == email_checkin_link  # one check-in link for both messages
    assert sms.body.startswith(f"Clinic A: check-in due {due_date_words(local(day, 10), NY)}.")
    opened = open_link(session, token=parse_qs(urlsplit(opt_out_link).query)[LINK_PARAMETER][0])
    assert isinstance(opened, OpenedLink)
    assert (opened.purpose, opened.channel) == ("opt_out", "sms")
