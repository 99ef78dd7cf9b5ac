"""Account administration (``data.account_admin``): ``create_user`` refusals, usernames
unique whatever their case and reserved names, an administrator's reach (own clinic only,
never their own account), every change in the clinic's audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.access import Actor
from data.account_admin import create_user, list_users, reset_password, set_user_active
from data.audit_trail import audit_log
from data.errors import AccessDenied, InvalidInput
from data.models import AuditEvent, User
from tests.builders import add_user
from tests.conftest import World
from tests.test_data.builders import GOOD_USER, _count, _user, _user_id


def _admin_of_clinic_b(session: Session, world: World, password_hash: str) -> Actor:
    user = add_user(session, world.clinic_b, "admin-b", "administrator", password_hash)
    return Actor(user.id, world.clinic_b, "administrator", "admin-b")


# --- creating users ----------------------------------------------------------------------------

TAKEN = "this username is already taken in your clinic; choose another"
NOT_AVAILABLE = "this username is not available; choose another"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"password": "eleven char"}, "at least 12 characters"),
        ({"password": ""}, "a password is needed"),
        ({"username": "clinician-a"}, TAKEN),
        ({"username": "Clinician-A"}, TAKEN),  # whatever the case
        ({"username": "clinician-b"}, NOT_AVAILABLE),  # another clinic's: not said whose
        ({"username": "CLINICIAN-B"}, NOT_AVAILABLE),
        ({"username": "   "}, "a username of 1 to 150 characters is needed"),
        ({"username": "two\nlines"}, "control characters"),
        ({"display_name": "Dr X\n# heading"}, "on one line"),
        ({"role": "superuser"}, "role must be one of patient, clinician, administrator"),
        ({"role": "system"}, "role must be one of patient, clinician, administrator"),
    ],
)
def test_create_user_refuses_with_a_readable_problem_and_writes_nothing(
    session: Session, world: World, change: dict[str, str], problem: str
) -> None:
    users, events = _count(session, User), _count(session, AuditEvent)
    with pytest.raises(InvalidInput) as refused:
        create_user(session, actor=world.admin_a, **(GOOD_USER | change))  # type: ignore[arg-type]
    assert any(problem in reason for reason in refused.value.problems), refused.value.problems
    assert (_count(session, User), _count(session, AuditEvent)) == (users, events)


def test_create_user_lists_every_problem_at_once(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_user(
            session,
            actor=world.admin_a,
            username="clinician-a",
            password="short",
            role="superuser",  # type: ignore[arg-type]
            display_name="x",
        )
    assert len(refused.value.problems) == 3


def test_no_patient_account_is_made_without_a_patient_record(
    session: Session, world: World
) -> None:
    with pytest.raises(InvalidInput, match="created from their patient record"):
        create_user(
            session,
            actor=world.admin_a,
            **(GOOD_USER | {"role": "patient", "password": "river cat 9"}),  # type: ignore[arg-type]
        )


# --- usernames ---------------------------------------------------------------------------------


def test_the_database_refuses_two_usernames_differing_only_in_case(
    session: Session, world: World, password_hash: str
) -> None:
    """The unique index on lower(username) (migration 0005), below every function."""
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            User(
                clinic_id=world.clinic_b,
                username="Admin-A",
                display_name="Impostor",
                role="administrator",
                password_hash=password_hash,
                failed_logins=0,
                active=True,
            )
        )


@pytest.mark.parametrize(
    "username",
    [
        "command line",
        "Command  Line",
        "system",
        "SYSTEM",
        "(unknown username)",
        "(no email)",
        "seed-demo",
    ],
)
def test_reserved_names_read_like_another_clinics_username(
    session: Session, world: World, username: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_user(session, actor=world.admin_a, **(GOOD_USER | {"username": username}))  # type: ignore[arg-type]
    assert refused.value.problems == (NOT_AVAILABLE,)


def test_the_audit_trails_own_names_are_all_reserved() -> None:
    from data.demo import DEMO_ACTOR_NAME
    from data.password_policy import is_reserved

    for name in (Actor.system(1).username, DEMO_ACTOR_NAME, "(unknown username)"):
        assert is_reserved(name), name


# --- who may manage whom -----------------------------------------------------------------------


def test_an_administrator_cannot_manage_another_clinics_users(
    session: Session, world: World, password_hash: str
) -> None:
    admin_b = _admin_of_clinic_b(session, world, password_hash)
    target = _user(session, world.clinician_a)
    hash_before = target.password_hash
    events = _count(session, AuditEvent)
    with pytest.raises(AccessDenied):
        set_user_active(session, actor=admin_b, user_id=target.id, active=False)
    with pytest.raises(AccessDenied):
        reset_password(session, actor=admin_b, user_id=target.id, new_password="taken over!!")
    assert (target.active, target.password_hash) == (True, hash_before)
    assert _count(session, AuditEvent) == events

    theirs = list_users(session, actor=admin_b)
    assert set(theirs["username"]) == {"admin-b", "clinician-b", "patient-b1"}
    ours = list_users(session, actor=world.admin_a)
    assert "clinician-b" not in set(ours["username"])
    assert "admin-b" not in set(ours["username"])


def test_an_administrator_cannot_disable_their_own_account(session: Session, world: World) -> None:
    events = _count(session, AuditEvent)
    with pytest.raises(InvalidInput) as refused:
        set_user_active(
            session,
            actor=world.admin_a,
            user_id=_user_id(world.admin_a),
            active=False,
        )
    assert "own account" in str(refused.value)
    assert _user(session, world.admin_a).active
    assert _count(session, AuditEvent) == events


def test_account_changes_are_in_the_clinics_audit_trail(session: Session, world: World) -> None:
    set_user_active(
        session,
        actor=world.admin_a,
        user_id=_user_id(world.clinician_a),
        active=False,
    )
    trail = audit_log(session, actor=world.admin_a, user_id=world.admin_a.user_id)
    assert "disable_user" in set(trail["action"])
