"""The clinic's on-call list: who a safety alert reaches besides the patient's clinician, and
in which order it escalates (issue 14).

Position 1 is told at once; the next active contact after the clinic's escalation time if
nobody has acknowledged the alert, and so on. An administrator edits the whole list at once,
as the page shows it (add, reorder, edit, deactivate): :func:`save_on_call_list`. A contact
is never deleted, since sent messages and each alert's history name it: one left out of the
list is deactivated and kept after the active ones.

Each contact has a name and at least one way to reach them: an e-mail address (checked and
normalised by :func:`data.notify.queue.normalise_email`) and/or a mobile number (E.164, by
:func:`data.notify.queue.normalise_phone`); it may be linked to a staff account of the
clinic. Staff accounts' own contact details are set with
:func:`data.account_admin.set_user_contact`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import User
from data.notify.models import OnCallContact
from data.notify.queue import normalise_email, normalise_phone

__all__ = [
    "MAX_CONTACTS",
    "OnCallEntry",
    "add_on_call_contact",
    "on_call_list",
    "save_on_call_list",
]

MAX_CONTACTS = 20
"""Active contacts at most: an escalation that reaches the twentieth has failed already."""
_MAX_NAME = 200


@dataclass(frozen=True)
class OnCallEntry:
    """One contact as the page hands it over. ``contact_id`` names an existing contact to
    change (None: a new one); ``user_id`` links a staff account of the clinic."""

    name: str
    email: str | None = None
    phone: str | None = None
    user_id: int | None = None
    active: bool = True
    contact_id: int | None = None


@dataclass(frozen=True)
class OnCallContactRow:
    """A stored contact, in the list's order."""

    contact_id: int
    position: int
    name: str
    email: str | None
    phone: str | None
    user_id: int | None
    active: bool


def on_call_list(session: Session, *, actor: Actor) -> list[OnCallContactRow]:
    """The clinic's on-call contacts, active ones first in escalation order, then the
    inactive (administrators and the operator). Staff contact details, nothing of a patient:
    not audited."""
    ensure_role(session, actor, "administrator", "system")
    rows = session.scalars(
        select(OnCallContact)
        .where(OnCallContact.clinic_id == actor.clinic_id)
        .order_by(OnCallContact.active.desc(), OnCallContact.position, OnCallContact.id)
    )
    return [
        OnCallContactRow(
            row.id, row.position, row.name, row.email, row.phone, row.user_id, row.active
        )
        for row in rows
    ]


def _entry_problems(
    number: int, entry: OnCallEntry, staff: set[int]
) -> tuple[list[str], str | None, str | None]:
    """What is wrong with the ``number``-th entry, and its normalised e-mail and phone."""
    label = f"contact {number}"
    problems = []
    name = entry.name.strip() if isinstance(entry.name, str) else ""
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        problems.append(f"{label} needs a name of 1 to {_MAX_NAME} characters on one line")
    else:
        label = f"contact {number} ({name})"
    email = phone = None
    if isinstance(entry.email, str) and entry.email.strip():
        try:
            email = normalise_email(entry.email)
        except InvalidInput as refused:
            problems += [f"{label}: {problem}" for problem in refused.problems]
    if isinstance(entry.phone, str) and entry.phone.strip():
        try:
            phone = normalise_phone(entry.phone)
        except InvalidInput as refused:
            problems += [
                f"{label}: {problem} (give it with its country code, e.g. +1 555 010 0143)"
                for problem in refused.problems
            ]
    elif email is None and not any(p.startswith(f"{label}:") for p in problems):
        problems.append(f"{label} needs an e-mail address or a mobile number to be reached at")
    if entry.user_id is not None and entry.user_id not in staff:
        problems.append(f"{label}: the linked account is not an active staff account here")
    return problems, email, phone


def save_on_call_list(
    session: Session, *, actor: Actor, entries: Sequence[OnCallEntry]
) -> list[int]:
    """Store the clinic's on-call list as ``entries`` give it, in their order (an
    administrator, or the operator); the contacts' ids in that order.

    Active entries get positions 1, 2, ... in the order given; inactive ones follow. An
    existing contact left out of ``entries`` is deactivated (never deleted: messages and
    alert histories name it). Audited once.

    Raises
    ------
    AccessDenied
        The actor does not administer the clinic.
    InvalidInput
        One problem per bad entry (a missing name, no way to reach them, an invalid address
        or number, an account that is not the clinic's active staff, a contact of another
        list or named twice, more than :data:`MAX_CONTACTS` active); nothing is written.
    """
    ensure_role(session, actor, "administrator", "system")
    existing = {
        row.id: row
        for row in session.scalars(
            select(OnCallContact).where(OnCallContact.clinic_id == actor.clinic_id)
        )
    }
    staff = set(
        session.scalars(
            select(User.id).where(
                User.clinic_id == actor.clinic_id,
                User.role.in_(("clinician", "administrator")),
                User.active,
            )
        )
    )
    problems: list[str] = []
    checked: list[tuple[OnCallEntry, str | None, str | None]] = []
    named: set[int] = set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, OnCallEntry):
            problems.append(f"contact {number} is not a contact")
            continue
        found, email, phone = _entry_problems(number, entry, staff)
        problems += found
        if entry.contact_id is not None:
            if entry.contact_id not in existing:
                problems.append(f"contact {number} is not on this clinic's list")
            elif entry.contact_id in named:
                problems.append(f"contact {number} appears twice in the list")
            named.add(entry.contact_id)
        checked.append((entry, email, phone))
    if sum(1 for entry, _, _ in checked if entry.active) > MAX_CONTACTS:
        problems.append(f"the on-call list can have at most {MAX_CONTACTS} active contacts")
    if problems:
        raise InvalidInput(problems)
    ordered = [item for item in checked if item[0].active] + [
        item for item in checked if not item[0].active
    ]
    ids: dict[int, int] = {}
    for position, (entry, email, phone) in enumerate(ordered, start=1):
        contact = (
            existing[entry.contact_id]
            if entry.contact_id is not None
            else OnCallContact(clinic_id=actor.clinic_id)
        )
        if entry.contact_id is None:
            session.add(contact)
        contact.position = position
        contact.name = entry.name.strip()
        contact.email = email
        contact.phone = phone
        contact.user_id = entry.user_id
        contact.active = entry.active
        session.flush()
        ids[id(entry)] = contact.id
    left_out = [row for contact_id, row in existing.items() if contact_id not in named]
    for position, row in enumerate(left_out, start=len(ordered) + 1):
        row.active = False
        row.position = position
    session.flush()
    audit.record(session, actor=actor, action=audit.Action.SET_ON_CALL_LIST)
    return [ids[id(entry)] for entry, _, _ in checked]


def add_on_call_contact(session: Session, *, actor: Actor, entry: OnCallEntry) -> int:
    """Add one contact at the end of the active list; its id (as :func:`save_on_call_list`)."""
    ensure_role(session, actor, "administrator", "system")
    current = [
        OnCallEntry(
            row.name, row.email, row.phone, row.user_id, row.active, contact_id=row.contact_id
        )
        for row in on_call_list(session, actor=actor)
    ]
    return save_on_call_list(session, actor=actor, entries=[*current, entry])[-1]
