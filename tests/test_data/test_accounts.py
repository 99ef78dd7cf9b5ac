"""Accounts: sign-in, lockout, argon2 hashes, ended sessions and their administration.

argon2 is slow on purpose (about 0.1 s per hash or verification here), so these tests count
their hashes: the world's accounts share one hash made once per run, and each test signs in
only as often as its rule needs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import data.accounts
from data.access import Actor
from data.accounts import (
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    audit_log,
    authenticate,
    create_user,
    list_users,
    reset_password,
    session_still_valid,
    set_user_active,
    sign_out_everywhere,
)
from data.errors import AccessDenied, InvalidInput, SignInFailed
from data.models import AuditEvent, Clinic, User, utcnow
from tests.conftest import PASSWORD, World

WRONG = "not the password at all"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _refusal(session: Session, **kwargs: Any) -> str:
    with pytest.raises(SignInFailed) as refused:
        authenticate(session, **kwargs)
    return str(refused.value)


def _user_id(actor: Actor) -> int:
    assert actor.user_id is not None
    return actor.user_id


def _user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    assert user is not None
    return user


def _admin_of_clinic_b(session: Session, world: World, password_hash: str) -> Actor:
    user = User(
        clinic_id=world.clinic_b,
        username="admin-b",
        display_name="Admin B",
        role="administrator",
        password_hash=password_hash,
        failed_logins=0,
        active=True,
    )
    session.add(user)
    session.flush()
    return Actor(user.id, world.clinic_b, "administrator", "admin-b")


class CountingHasher:
    """argon2's PasswordHasher, counting verifications (its instances cannot be patched)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verifications = 0

    def verify(self, hash: str, password: str) -> bool:
        self.verifications += 1
        return bool(self.real.verify(hash, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


# --- signing in --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["patient_a1", "clinician_a", "admin_a"])
def test_the_right_password_gives_the_actor_with_role_clinic_and_patient(
    session: Session, world: World, who: str
) -> None:
    expected: Actor = getattr(world, who)
    actor = authenticate(session, username=expected.username, password=PASSWORD)
    assert actor == expected  # user id, clinic, role, username and (for a patient) patient id
    assert (actor.patient_id is not None) == (actor.role == "patient")


def test_a_wrong_password_reads_exactly_like_an_unknown_username(
    session: Session, world: World
) -> None:
    wrong_password = _refusal(session, username="clinician-a", password=WRONG)
    unknown_user = _refusal(session, username="nobody-here", password=WRONG)
    empty_user = _refusal(session, username="", password=PASSWORD)
    assert wrong_password == unknown_user == empty_user
    assert "clinician-a" not in wrong_password


def test_a_disabled_account_is_refused_with_the_same_message(
    session: Session, world: World
) -> None:
    unknown_user = _refusal(session, username="nobody-here", password=PASSWORD)
    _user(session, world.clinician_a).active = False
    assert _refusal(session, username="clinician-a", password=PASSWORD) == unknown_user


def test_five_failures_lock_the_account_for_fifteen_minutes(session: Session, world: World) -> None:
    generic = _refusal(session, username="nobody-here", password=WRONG, now=T0)
    for attempt in range(MAX_FAILED_SIGN_INS):
        now = T0 + dt.timedelta(seconds=attempt)
        assert _refusal(session, username="clinician-a", password=WRONG, now=now) == generic
    assert MAX_FAILED_SIGN_INS == 5
    assert dt.timedelta(minutes=15) == LOCKOUT

    locked = _refusal(
        session, username="clinician-a", password=PASSWORD, now=T0 + dt.timedelta(minutes=14)
    )
    assert locked != generic
    assert "locked" in locked
    assert "15 minutes" in locked

    later = T0 + dt.timedelta(seconds=MAX_FAILED_SIGN_INS - 1) + LOCKOUT + dt.timedelta(seconds=1)
    actor = authenticate(session, username="clinician-a", password=PASSWORD, now=later)
    assert actor == world.clinician_a
    assert _user(session, world.clinician_a).failed_logins == 0


def test_a_wrong_password_on_a_locked_account_does_not_reveal_the_account_exists(
    session: Session, world: World
) -> None:
    """errors.SignInFailed: "One message for every cause, so it does not reveal which usernames
    exist; ``locked_until`` is set only for the account's own, correct-password attempt."

    A guesser who tries six wrong passwords must see the same six messages for a real
    username as for an invented one; otherwise the lockout message enumerates accounts.
    """
    invented = _refusal(session, username="nobody-here", password=WRONG, now=T0)
    real = [
        _refusal(session, username="clinician-a", password=WRONG, now=T0)
        for _ in range(MAX_FAILED_SIGN_INS + 1)
    ]
    assert real == [invented] * (MAX_FAILED_SIGN_INS + 1)


def test_a_success_resets_the_count_of_failures(session: Session, world: World) -> None:
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        _refusal(session, username="clinician-a", password=WRONG, now=T0)
    authenticate(session, username="clinician-a", password=PASSWORD, now=T0)
    assert _user(session, world.clinician_a).failed_logins == 0
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        _refusal(session, username="clinician-a", password=WRONG, now=T0)
    # Four more failures after the success: not five in a row, so still not locked.
    assert authenticate(session, username="clinician-a", password=PASSWORD, now=T0)
    assert _user(session, world.clinician_a).locked_until is None


def test_every_sign_in_path_costs_exactly_one_argon2_verification(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal work on every path, so the time taken does not tell which usernames exist."""
    hasher = CountingHasher(data.accounts._hasher)
    monkeypatch.setattr(data.accounts, "_hasher", hasher)
    _user(session, world.admin_a).active = False
    _user(session, world.clinician_b).locked_until = T0 + dt.timedelta(minutes=10)
    paths: list[tuple[str, str, str]] = [
        ("unknown username", "nobody-here", WRONG),
        ("empty username", "", WRONG),
        ("wrong password", "clinician-a", WRONG),
        ("disabled account", "admin-a", PASSWORD),
        ("locked account", "clinician-b", PASSWORD),
    ]
    for path, username, password in paths:
        before = hasher.verifications
        _refusal(session, username=username, password=password, now=T0)
        assert hasher.verifications - before == 1, path
    before = hasher.verifications
    authenticate(session, username="patient-a1", password=PASSWORD, now=T0)
    assert hasher.verifications - before == 1, "right password"


# --- hashes ------------------------------------------------------------------------------------


def test_passwords_are_stored_only_as_argon2id_hashes(session: Session, world: World) -> None:
    first, second = "Tr0ub4dor&3-first", "Tr0ub4dor&3-second"
    user_id = create_user(
        session,
        actor=world.admin_a,
        username="new-clinician",
        password=first,
        role="clinician",
        display_name="New Clinician",
    )
    user = session.get(User, user_id)
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert first not in user.password_hash
    reset_password(session, actor=world.admin_a, user_id=user_id, new_password=second)
    assert user.password_hash.startswith("$argon2id$")
    assert second not in user.password_hash
    assert authenticate(session, username="new-clinician", password=second).user_id == user_id

    users = list_users(session, actor=world.admin_a)
    assert not [column for column in users.columns if "password" in column or "hash" in column]
    text = users.to_string() + " ".join(
        str(value) for row in session.execute(select(AuditEvent.__table__)) for value in row
    )
    assert first not in text
    assert second not in text
    assert "$argon2" not in text


# --- ended sessions ----------------------------------------------------------------------------


def _signed_in_a_moment_ago() -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=1)


def test_a_session_ends_when_the_account_is_disabled(session: Session, world: World) -> None:
    signed_in_at = _signed_in_a_moment_ago()
    actor = world.clinician_a
    assert session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    set_user_active(session, actor=world.admin_a, user_id=_user_id(actor), active=False)
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    # Enabling the account again does not bring back the session that was ended.
    set_user_active(session, actor=world.admin_a, user_id=_user_id(actor), active=True)
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    assert session_still_valid(session, actor=actor, signed_in_at=utcnow())


def test_a_session_ends_when_the_password_is_reset(session: Session, world: World) -> None:
    signed_in_at = _signed_in_a_moment_ago()
    actor = world.patient_a1
    assert session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    reset_password(
        session,
        actor=world.admin_a,
        user_id=_user_id(actor),
        new_password="a brand new password",
    )
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)


def test_signing_out_everywhere_ends_earlier_sessions_only(session: Session, world: World) -> None:
    signed_in_at = _signed_in_a_moment_ago()
    actor = world.clinician_a
    sign_out_everywhere(session, actor=actor)
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    assert session_still_valid(session, actor=actor, signed_in_at=utcnow())
    assert session_still_valid(session, actor=world.patient_a1, signed_in_at=signed_in_at)


def test_a_password_reset_unlocks_the_account(session: Session, world: World) -> None:
    _user(session, world.clinician_a).locked_until = utcnow() + dt.timedelta(minutes=10)
    reset_password(
        session,
        actor=world.admin_a,
        user_id=_user_id(world.clinician_a),
        new_password="a brand new password",
    )
    actor = authenticate(session, username="clinician-a", password="a brand new password")
    assert actor == world.clinician_a


# --- administration ----------------------------------------------------------------------------

GOOD_USER = {
    "username": "new-clinician",
    "password": "a long enough password",
    "role": "clinician",
    "display_name": "New Clinician",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"password": "short"}, "at least 8 characters"),
        ({"password": ""}, "a password is needed"),
        ({"username": "clinician-a"}, "'clinician-a' is taken"),
        ({"username": "clinician-b"}, "'clinician-b' is taken"),  # unique across clinics
        ({"username": "   "}, "a username of 1 to 150 characters is needed"),
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


def test_short_passwords_only_in_the_demo_clinic(session: Session, world: World) -> None:
    """Policy is decided in ``data`` from ``Clinic.is_demo``, never by the caller: a real
    clinic refuses a one-letter password; the demo clinic (synthetic records, password
    ``demo``) accepts it."""
    users = _count(session, User)
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        create_user(session, actor=world.admin_a, **(GOOD_USER | {"password": "x"}))  # type: ignore[arg-type]
    assert _count(session, User) == users
    session.get(Clinic, world.clinic_a).is_demo = True  # type: ignore[union-attr]
    create_user(session, actor=world.admin_a, **(GOOD_USER | {"password": "x"}))  # type: ignore[arg-type]
    assert _count(session, User) == users + 1


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


def test_single_sign_on_maps_a_verified_email_to_an_active_account(
    session: Session, world: World
) -> None:
    """OIDC proves who the person is; the clinic's own account decides what they may do."""
    from data.accounts import authenticate_single_sign_on

    user = _user(session, world.clinician_a)
    user.username = "Robin.Clinician@clinic.example"
    actor = authenticate_single_sign_on(session, email="robin.clinician@CLINIC.example")
    assert (actor.user_id, actor.role, actor.clinic_id) == (user.id, "clinician", world.clinic_a)
    with pytest.raises(SignInFailed, match="not linked"):
        authenticate_single_sign_on(session, email="stranger@elsewhere.example")
    user.active = False
    with pytest.raises(SignInFailed, match="not linked"):
        authenticate_single_sign_on(session, email="robin.clinician@clinic.example")
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "sign_in_single_sign_on" in actions and actions.count("sign_in_failed") == 2
