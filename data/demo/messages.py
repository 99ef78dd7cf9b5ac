"""The demo clinic's messages: reminders on, an on-call list, and addresses to write to.

So that the embedded default shows reminders and alert notifications happening (issue 14):
reminders were switched on eight weeks before ``today`` (the delivery page compares the weeks
before and after), the on-call list holds two demo clinicians, the staff have fictional
``example.org`` addresses and 555-01xx numbers, and most patients an ``example.org`` e-mail
(:func:`demo_email`). ``example.org`` is reserved for documentation (RFC 2606): nothing sent
to it reaches anyone.

Every address and number goes through the validators of real ones
(:func:`data.notify.queue.normalise_email`, :func:`~data.notify.queue.normalise_phone`). The
rows are inserted directly, as the demo's settings and accounts are: the audit trail of the
demo clinic stays the patients' registrations and the one ``seed_demo`` event. Derived from
``today`` and the patients' numbers alone, never from the seeder's random generators, so
the rest of the clinic is unchanged.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.demo.plan import at
from data.demo.write import bulk_insert
from data.models import ClinicSettings, User
from data.notify.models import OnCallContact
from data.notify.queue import normalise_email, normalise_phone

REMINDERS_ON_WEEKS_AGO: Final = 8
"""Reminders were switched on this many weeks before the demo's ``today``."""

STAFF_CONTACTS: Final[dict[str, tuple[str, str]]] = {
    "demo-clinician": ("morgan.demo@example.org", "+12125550110"),
    "demo-clinician-2": ("robin.example@example.org", "+13125550111"),
    "demo-clinician-3": ("casey.placeholder@example.org", "+14155550112"),
    "demo-admin": ("demo.admin@example.org", "+16175550113"),
}
"""A fictional e-mail and a 555-01xx number for each demo staff account."""

ON_CALL: Final = ("demo-clinician-2", "demo-clinician-3")
"""The on-call list, in escalation order (the patient's own clinician is told anyway)."""


def demo_email(number: int) -> str | None:
    """The demo patient ``DEMO-<number>``'s fictional e-mail, or None for every fourteenth
    patient, who has no phone either (:func:`data.demo.seed.demo_phone`): the delivery page
    lists them as unreachable."""
    if number % 14 == 0:
        return None
    return normalise_email(f"demo-{number:04d}@example.org")


def write_messages(session: Session, *, clinic_id: int, today: dt.date) -> None:
    """Switch the demo clinic's reminders on, give its staff contact details and write its
    on-call list (after :func:`data.demo.staff.write_accounts`)."""
    since = at(today - dt.timedelta(weeks=REMINDERS_ON_WEEKS_AGO), 14 * 60)
    session.execute(
        update(ClinicSettings)
        .where(ClinicSettings.clinic_id == clinic_id)
        .values(reminders_on_since=since)
    )
    users = dict(
        session.execute(select(User.username, User.id).where(User.clinic_id == clinic_id)).all()
    )
    for username, (email, phone) in STAFF_CONTACTS.items():
        session.execute(
            update(User)
            .where(User.id == users[username])
            .values(email=normalise_email(email), phone=normalise_phone(phone))
        )
    names = dict(
        session.execute(
            select(User.username, User.display_name).where(User.clinic_id == clinic_id)
        ).all()
    )
    bulk_insert(
        session,
        OnCallContact,
        [
            {
                "clinic_id": clinic_id,
                "position": position,
                "name": names[username],
                "email": normalise_email(STAFF_CONTACTS[username][0]),
                "phone": normalise_phone(STAFF_CONTACTS[username][1]),
                "user_id": users[username],
                "active": True,
                "created_at": since,
            }
            for position, username in enumerate(ON_CALL, start=1)
        ],
    )
