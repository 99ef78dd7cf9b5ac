"""Check-in reminders: a worker step that queues what is due (course-and-reporting §4, issue 14).

:func:`queue_due_reminders` runs in every worker pass (:data:`data.notify.steps.STEPS`). For
each clinic with reminders on (``reminders_on_since`` set, and reached), every patient whose
measurement window is open and not done (:func:`data.schedule.due_checkins`) gets reminder
``n`` on each channel they have (an e-mail address: e-mail; a phone number: SMS):

* ``n`` is the number of whole days, on the clinic's calendar, since the window opened, plus
  one: the first on the day it opens, then one a day while it is open, never more than the
  clinic's ``max_reminders`` (3 by default). A day missed (no worker ran) is not made up:
  the next pass sends that day's reminder, so a patient never gets two in one day.
* **Quiet hours are skipped, not queued ahead.** A pass in the clinic's quiet hours (its
  clock, so daylight saving time changes nothing) queues nothing for that clinic; the first
  pass after them queues the day's reminder. A reminder therefore never waits in the outbox
  for the morning, and a patient who checks in during the night is simply no longer due at
  that pass: nothing to cancel.
* Each message expires when its window closes (``expires_at``: the worker cancels it unsent
  if it could not go before); no reminder is queued for a closed window, since
  :func:`~data.schedule.due_checkins` lists open windows only.
* A channel the patient opted out of (or all of them) is not queued at all (the worker
  would cancel it anyway); a patient with neither an e-mail address nor a phone number, an
  address or number that cannot be sent to, or a disabled sign-in (their link would be
  refused) gets nothing: the administrator's page counts the unreachable.

The message is the clinic's wording (:func:`data.notify.templates.render_message`, kind
``checkin_reminder``): the clinic's name, the due date in words, a one-tap check-in link
(:class:`data.notify.links.LinkBatch`, that window's questionnaires still missing, expiring
when it closes) and, in an e-mail, an opt-out link. Never a score, an answer or an
instrument's result.

Idempotent and safe with two workers: the dedupe key ``reminder:<patient>:<window key>:<n>:
<channel>`` is queued once per clinic (:func:`data.notify.queue.queue_messages`), and keys
queued already are read first so that a second pass issues no links. Two workers racing on
the same key both issue a link; the loser's is never sent (only its hash is stored, so
nobody can open it) and it expires with the window.

Reading the patients' addresses is audited as the system actor (one ``queue_reminder``
event per patient reminded; :func:`~data.schedule.due_checkins` audits its own read).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.clinic import ClinicConfig, clinic_config
from data.errors import InvalidInput
from data.models import Clinic, ClinicSettings, Patient, User
from data.notify.links import LinkBatch
from data.notify.models import MessageOptOut, OutboxMessage
from data.notify.queue import (
    Channel,
    NewMessage,
    normalise_email,
    normalise_phone,
    queue_messages,
)
from data.notify.templates import PLACEHOLDERS, Template, render_message
from data.schedule import DueCheckin, due_checkins
from data.settings import get_settings
from outcomes.checkin_windows import clinic_date
from outcomes.clinic_time import in_quiet_hours

__all__ = ["KIND", "dedupe_key", "due_date_words", "queue_due_reminders", "reminder_number"]

KIND: Final = "checkin_reminder"
WORKER_NAME: Final = "reminders"
"""The system actor's name in the audit trail."""
_CHUNK: Final = 900  # ids per IN (...) list: under SQLite's oldest bound-parameter limit

log = logging.getLogger(__name__)


def dedupe_key(patient_id: int, window_key: str, number: int, channel: str) -> str:
    """The outbox key of reminder ``number`` of one window to one patient by ``channel``."""
    return f"reminder:{patient_id}:{window_key}:{number}:{channel}"


def reminder_number(opens: dt.datetime, now: dt.datetime, *, zone: str, most: int) -> int | None:
    """Which reminder is due at ``now`` for a window that opened at ``opens``: whole clinic
    days since it opened plus one, at most ``most``; None before it opens or when the clinic
    sends none (``most`` below 1)."""
    days = (clinic_date(now, zone) - clinic_date(opens, zone)).days
    if days < 0 or most < 1:
        return None
    return min(days + 1, most)


def due_date_words(due: dt.datetime, zone: str) -> str:
    """The due day in words on the clinic's calendar: ``Monday 3 March``."""
    day = clinic_date(due, zone)
    return f"{day:%A} {day.day} {day:%B}"


@dataclass(frozen=True)
class _Reachable:
    """A due patient's addresses on the channels they did not opt out of, as entered."""

    patient_id: int
    addresses: tuple[tuple[Channel, str], ...]


def queue_due_reminders(session: Session, now: dt.datetime) -> int:
    """Queue the check-in reminders due at ``now`` in every clinic with reminders on (module
    notes); how many messages were queued.

    A worker step: ``step(session, now) -> int``, run in its own transaction.
    """
    clinics = session.execute(
        select(ClinicSettings.clinic_id, Clinic.name)
        .join(Clinic, Clinic.id == ClinicSettings.clinic_id)
        .where(
            ClinicSettings.reminders_on_since.is_not(None),
            ClinicSettings.reminders_on_since <= now,
        )
        .order_by(ClinicSettings.clinic_id)
    ).all()
    return sum(_clinic_reminders(session, int(c), str(name), now) for c, name in clinics)


def _clinic_reminders(session: Session, clinic_id: int, clinic_name: str, now: dt.datetime) -> int:
    config = clinic_config(session, clinic_id)
    if config.max_reminders < 1 or in_quiet_hours(
        now, zone=config.time_zone, start=config.quiet_hours_start, end=config.quiet_hours_end
    ):
        return 0  # the first pass after the quiet hours queues the day's reminder
    actor = Actor.system(clinic_id, WORKER_NAME)
    due = due_checkins(session, actor=actor, at=now)
    if not due:
        return 0
    reachable = _reachable(session, clinic_id, [d.patient_id for d in due])
    queued_before = _queued_keys(session, clinic_id, now)
    sender = _Sender(session, config, clinic_name)
    reminded: list[int] = []
    for checkin in due:
        patient = reachable.get(checkin.patient_id)
        number = reminder_number(
            checkin.window.opens, now, zone=config.time_zone, most=config.max_reminders
        )
        if patient is None or number is None:
            continue
        todo = [
            (channel, address)
            for channel, raw in patient.addresses
            if dedupe_key(checkin.patient_id, checkin.window.key, number, channel)
            not in queued_before
            # Checked only when a message is to be queued: a second pass checks nothing.
            and (address := _valid(channel, raw)) is not None
        ]
        if todo and sender.send(checkin, number, todo):
            reminded.append(checkin.patient_id)
    queued = sender.store()
    if reminded:
        audit.record_many(
            session, actor=actor, action=audit.Action.QUEUE_REMINDER, patient_ids=reminded
        )
    return queued


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def _reachable(
    session: Session, clinic_id: int, patient_ids: Sequence[int]
) -> dict[int, _Reachable]:
    """The due patients who can be sent a reminder, with each address they have on a channel
    they did not opt out of (as entered: checked when used), their sign-in (if any) not
    disabled."""
    opted: dict[int, set[str]] = {}
    for patient_id, channel in session.execute(
        select(MessageOptOut.patient_id, MessageOptOut.channel).where(
            MessageOptOut.clinic_id == clinic_id
        )
    ):
        opted.setdefault(int(patient_id), set()).add(str(channel))
    found: dict[int, _Reachable] = {}
    for chunk in _chunks(patient_ids):
        rows = session.execute(
            select(Patient.id, Patient.email, Patient.phone)
            .outerjoin(User, User.id == Patient.user_id)
            .where(
                Patient.clinic_id == clinic_id,
                Patient.id.in_(chunk),
                # No sign-in (the link is the way in) or an active one.
                (Patient.user_id.is_(None)) | (User.active.is_(True)),
            )
        )
        for patient_id, email, phone in rows:
            stopped = opted.get(int(patient_id), set())
            if "all" in stopped:
                continue
            pairs: tuple[tuple[Channel, str | None], ...] = (("email", email), ("sms", phone))
            addresses = [
                (channel, raw)
                for channel, raw in pairs
                if channel not in stopped and raw is not None and raw.strip()
            ]
            if addresses:
                found[int(patient_id)] = _Reachable(int(patient_id), tuple(addresses))
    return found


def _valid(channel: str, raw: str | None) -> str | None:
    """The address normalised, or None for none or one that cannot be sent to (logged by
    its patient-free reason only: the address is the patient's)."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_email(raw) if channel == "email" else normalise_phone(raw)
    except InvalidInput:
        log.debug("a reminder was not queued: a patient's %s is not valid", channel)
        return None


def _queued_keys(session: Session, clinic_id: int, now: dt.datetime) -> set[str]:
    """The keys of the clinic's reminders for windows still open (their messages expire when
    the window closes): what this pass must not queue again, read once."""
    return set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.clinic_id == clinic_id,
                OutboxMessage.kind == KIND,
                OutboxMessage.expires_at > now,
            )
        )
    )


def _marker(name: str) -> str:
    # NUL never occurs in a template (refused when saved) nor in a value filled in.
    return f"\x00{name}\x00"


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(_marker(name), value)
    return text


class _Sender:
    """Issues the links and queues the messages of one clinic's pass, stored together at the
    end (:meth:`store`): one statement for the links and one for the messages, where one
    insert each cost a 10,000-patient pass most of its time (profiled)."""

    def __init__(self, session: Session, config: ClinicConfig, clinic_name: str):
        self.session = session
        self.config = config
        self.clinic_name = clinic_name
        # Read once a pass: each link would otherwise read the secret and the settings again.
        self.links = LinkBatch(session, public_url=get_settings().public_url)
        self.messages: list[NewMessage] = []
        self.wordings: dict[str, Template] = {}

    def _link(self, checkin: DueCheckin, purpose: str, channel: str = "all") -> str:
        return self.links.issue(
            clinic_id=self.config.clinic_id,
            patient_id=checkin.patient_id,
            purpose=purpose,
            expires_at=checkin.window.closes if purpose == "checkin" else None,
            instruments=checkin.missing if purpose == "checkin" else (),
            channel=channel,
        )

    def _wording(self, channel: str) -> Template:
        """The clinic's wording on ``channel``, rendered once a pass (one template read, not
        one per message) with a marker in each placeholder that :meth:`_fill` replaces."""
        if channel not in self.wordings:
            self.wordings[channel] = render_message(
                self.session,
                clinic_id=self.config.clinic_id,
                kind=KIND,
                channel=channel,
                values={name: _marker(name) for name in PLACEHOLDERS[KIND]},
            )
        return self.wordings[channel]

    def send(
        self, checkin: DueCheckin, number: int, addresses: Sequence[tuple[Channel, str]]
    ) -> bool:
        """Queue reminder ``number`` to each address (stored by :meth:`store`); whether any
        is to be queued."""
        link = self._link(checkin, "checkin")  # one for the e-mail and the text alike
        values = {
            "clinic_name": self.clinic_name,
            "link": link,
            "due_date": due_date_words(checkin.window.due, self.config.time_zone),
        }
        for channel, address in addresses:
            wording = self._wording(channel)
            if _marker("opt_out_link") in f"{wording.subject}{wording.body}":
                # An opt-out link per channel (a text's default says "reply STOP" instead).
                values["opt_out_link"] = self._link(checkin, "opt_out", channel)
            self.messages.append(
                NewMessage(
                    clinic_id=self.config.clinic_id,
                    kind=KIND,
                    channel=channel,
                    recipient=address,
                    subject=None if wording.subject is None else _fill(wording.subject, values),
                    body=_fill(wording.body, values),
                    dedupe_key=dedupe_key(checkin.patient_id, checkin.window.key, number, channel),
                    patient_id=checkin.patient_id,
                    expires_at=checkin.window.closes,
                )
            )
        return bool(addresses)

    def store(self) -> int:
        """Store the pass's links and messages; how many messages were new (a key another
        worker queued meanwhile is skipped; its link, never sent, expires with the window)."""
        self.links.store()
        return queue_messages(self.session, self.messages, recipients_checked=True)
