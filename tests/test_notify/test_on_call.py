"""The on-call list and staff contact details (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.account_admin import list_users, set_user_contact
from data.errors import AccessDenied, InvalidInput
from data.models import AuditEvent, User
from data.notify.models import OnCallContact
from data.notify.on_call import (
    MAX_CONTACTS,
    OnCallEntry,
    add_on_call_contact,
    on_call_list,
    save_on_call_list,
)
from tests.conftest import World


def _stored(session: Session, clinic_id: int) -> list[tuple[str, int, bool]]:
    rows = session.scalars(
        select(OnCallContact)
        .where(OnCallContact.clinic_id == clinic_id)
        .order_by(OnCallContact.position)
    )
    return [(row.name, row.position, row.active) for row in rows]


def test_add_reorder_edit_and_deactivate(session: Session, world: World) -> None:
    admin = world.admin_a
    first, second = save_on_call_list(
        session,
        actor=admin,
        entries=[
            OnCallEntry("Dr Ada", email=" Ada@Example.org ", user_id=world.clinician_a.user_id),
            OnCallEntry("Nurse Bo", phone="(212) 555-0143"),
        ],
    )
    rows = on_call_list(session, actor=admin)
    assert [(r.name, r.position, r.email, r.phone) for r in rows] == [
        ("Dr Ada", 1, "Ada@example.org", None),
        ("Nurse Bo", 2, None, "+12125550143"),
    ]
    assert rows[0].user_id == world.clinician_a.user_id
    third = add_on_call_contact(
        session, actor=admin, entry=OnCallEntry("Cy", phone="+442079460123")
    )
    assert _stored(session, world.clinic_a) == [
        ("Dr Ada", 1, True),
        ("Nurse Bo", 2, True),
        ("Cy", 3, True),
    ]
    # Reorder (Cy first), edit Bo's number, and leave Ada out: she is kept, inactive, last.
    ids = save_on_call_list(
        session,
        actor=admin,
        entries=[
            OnCallEntry("Cy", phone="+442079460123", contact_id=third),
            OnCallEntry("Nurse Bo", phone="+1 312 555 0101", contact_id=second),
        ],
    )
    assert ids == [third, second]
    assert _stored(session, world.clinic_a) == [
        ("Cy", 1, True),
        ("Nurse Bo", 2, True),
        ("Dr Ada", 3, False),
    ]
    assert session.get(OnCallContact, second).phone == "+13125550101"  # type: ignore[union-attr]
    # Deactivated explicitly: kept after the active ones, whatever order it was given in.
    save_on_call_list(
        session,
        actor=admin,
        entries=[
            OnCallEntry("Cy", phone="+442079460123", contact_id=third, active=False),
            OnCallEntry("Nurse Bo", phone="+13125550101", contact_id=second),
            OnCallEntry("Dr Ada", email="ada@example.org", contact_id=first),
        ],
    )
    listed = on_call_list(session, actor=admin)
    assert [(r.name, r.active) for r in listed] == [
        ("Nurse Bo", True),
        ("Dr Ada", True),
        ("Cy", False),
    ]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.clinic_id == world.clinic_a)
    ).all()
    assert actions == ["set_on_call_list"] * 4


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (OnCallEntry(""), "needs a name"),
        (OnCallEntry("Tab\tName", email="a@example.org"), "needs a name"),
        (OnCallEntry("Nobody"), "needs an e-mail address or a mobile number"),
        (OnCallEntry("Bad Mail", email="not-an-address"), "is not valid"),
        (OnCallEntry("Bad Phone", phone="12345"), "country code"),
        (OnCallEntry("Stranger", email="s@example.org", user_id=987_654), "staff account"),
        (OnCallEntry("Elsewhere", email="e@example.org", contact_id=987_654), "not on this"),
    ],
)
def test_bad_contacts_are_refused_and_nothing_is_written(
    session: Session, world: World, entry: OnCallEntry, words: str
) -> None:
    good = OnCallEntry("Dr Good", email="good@example.org")
    with pytest.raises(InvalidInput) as refused:
        save_on_call_list(session, actor=world.admin_a, entries=[good, entry])
    assert any(words in problem for problem in refused.value.problems), refused.value.problems
    assert _stored(session, world.clinic_a) == []


def test_a_patient_or_another_clinics_account_cannot_be_linked(
    session: Session, world: World
) -> None:
    for user_id in (world.patient_a1.user_id, world.clinician_b.user_id):
        with pytest.raises(InvalidInput, match="staff account"):
            save_on_call_list(
                session,
                actor=world.admin_a,
                entries=[OnCallEntry("Linked", email="l@example.org", user_id=user_id)],
            )


def test_a_contact_named_twice_or_too_many_are_refused(session: Session, world: World) -> None:
    (only,) = save_on_call_list(
        session, actor=world.admin_a, entries=[OnCallEntry("A", email="a@example.org")]
    )
    twice = OnCallEntry("A", email="a@example.org", contact_id=only)
    with pytest.raises(InvalidInput, match="twice"):
        save_on_call_list(session, actor=world.admin_a, entries=[twice, twice])
    many = [OnCallEntry(f"P{n}", email=f"p{n}@example.org") for n in range(MAX_CONTACTS + 1)]
    with pytest.raises(InvalidInput, match=f"at most {MAX_CONTACTS}"):
        save_on_call_list(session, actor=world.admin_a, entries=many)


def test_another_clinics_contact_is_not_reachable(session: Session, world: World) -> None:
    (theirs,) = save_on_call_list(
        session, actor=world.system_a, entries=[OnCallEntry("A", email="a@example.org")]
    )
    b = Actor.system(world.clinic_b)
    with pytest.raises(InvalidInput, match="not on this clinic's list"):
        save_on_call_list(
            session,
            actor=b,
            entries=[OnCallEntry("Mine", email="m@example.org", contact_id=theirs)],
        )
    assert on_call_list(session, actor=b) == []
    with pytest.raises(AccessDenied):
        on_call_list(session, actor=world.clinician_a)


# --- staff contact details ----------------------------------------------------------------------


def test_staff_contact_details_are_validated_normalised_and_audited(
    session: Session, world: World
) -> None:
    clinician = world.clinician_a.user_id
    assert clinician is not None
    set_user_contact(
        session,
        actor=world.admin_a,
        user_id=clinician,
        email="Clinician.A@Example.org",
        phone="(212) 555-0199",
    )
    user = session.get(User, clinician)
    assert user is not None
    assert (user.email, user.phone) == ("Clinician.A@example.org", "+12125550199")
    users = list_users(session, actor=world.admin_a).set_index("user_id")
    assert users.loc[clinician, "phone"] == "+12125550199"
    with pytest.raises(InvalidInput) as refused:
        set_user_contact(
            session, actor=world.admin_a, user_id=clinician, email="nope@", phone="555"
        )
    assert len(refused.value.problems) == 2
    assert (user.email, user.phone) == ("Clinician.A@example.org", "+12125550199")
    # Cleared with empty values.
    set_user_contact(session, actor=world.admin_a, user_id=clinician, email="", phone=None)
    assert (user.email, user.phone) == (None, None)
    events = session.scalars(
        select(AuditEvent.subject).where(AuditEvent.action == "set_user_contact")
    ).all()
    assert events == ["account clinician-a", "account clinician-a"]


def test_another_clinics_account_is_refused(session: Session, world: World) -> None:
    with pytest.raises(AccessDenied):
        set_user_contact(
            session,
            actor=world.admin_a,
            user_id=world.clinician_b.user_id or 0,
            email="x@example.org",
            phone=None,
        )
