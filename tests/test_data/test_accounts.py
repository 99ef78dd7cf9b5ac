"""Accounts: sign-in, lockout, argon2 hashes, ended sessions and their administration.

argon2 is slow on purpose (about 0.1 s per hash or verification here), so these tests count
their hashes: the world's accounts share one hash made once per run, and each test signs in
only as often as its rule needs.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import data.accounts
from data import engine as engine_module
from data import signin_throttle
from data.access import Actor
from data.account_admin import create_user, list_users, reset_password, set_user_active
from data.accounts import (
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    SIGN_IN_BUSY,
    SIGN_IN_REFUSED,
    authenticate,
    session_still_valid,
    sign_in,
    sign_out_everywhere,
)
from data.audit_trail import audit_log
from data.engine import make_engine, transaction
from data.errors import AccessDenied, InvalidInput, SignInFailed
from data.models import AuditEvent, Clinic, Patient, User, utcnow
from data.password_policy import password_problems
from data.schema import upgrade
from tests.builders import add_user
from tests.conftest import PASSWORD, World, fresh_database_url

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
    user = add_user(session, world.clinic_b, "admin-b", "administrator", password_hash)
    return Actor(user.id, world.clinic_b, "administrator", "admin-b")


class CountingHasher:
    """argon2's PasswordHasher, counting verifications (its instances cannot be patched)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verifications = 0
        self.verified_hashes: list[str] = []

    def verify(self, hash: str, password: str) -> bool:
        self.verifications += 1
        self.verified_hashes.append(hash)
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
    locked_at = T0 + dt.timedelta(seconds=MAX_FAILED_SIGN_INS - 1)
    assert _user(session, world.clinician_a).locked_until == locked_at + LOCKOUT

    later = locked_at + LOCKOUT + dt.timedelta(seconds=1)
    actor = authenticate(session, username="clinician-a", password=PASSWORD, now=later)
    assert actor == world.clinician_a
    assert _user(session, world.clinician_a).failed_logins == 0


def _lock(session: Session, actor: Actor, *, at: dt.datetime) -> None:
    for _ in range(MAX_FAILED_SIGN_INS):
        _refusal(session, username=actor.username, password=WRONG, now=at)
    assert _user(session, actor).locked_until == at + LOCKOUT


def test_during_a_lockout_the_right_password_reads_like_any_failure_and_is_not_checked(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, item 2: the right password during a lockout answered "this account is
    locked" while wrong ones got the usual message, so a guesser learnt the password; and
    guesses were still checked against the account's hash."""
    generic = _refusal(session, username="nobody-here", password=WRONG, now=T0)
    _lock(session, world.clinician_a, at=T0)
    hasher = CountingHasher(data.accounts._hasher)
    monkeypatch.setattr(data.accounts, "_hasher", hasher)
    during = T0 + dt.timedelta(minutes=5)
    right = _refusal(session, username="clinician-a", password=PASSWORD, now=during)
    wrong = _refusal(session, username="clinician-a", password=WRONG, now=during)
    assert right == wrong == generic
    real_hash = _user(session, world.clinician_a).password_hash
    assert hasher.verified_hashes == [data.accounts._DUMMY_HASH] * 2
    assert real_hash not in hasher.verified_hashes


def test_failures_during_a_lockout_extend_it(session: Session, world: World) -> None:
    _lock(session, world.clinician_a, at=T0)
    retry = T0 + dt.timedelta(minutes=10)
    _refusal(session, username="clinician-a", password=WRONG, now=retry)
    user = _user(session, world.clinician_a)
    assert user.locked_until == retry + LOCKOUT
    # Past the first lock's end but within the extended one: still refused, and extended.
    _refusal(session, username="clinician-a", password=PASSWORD, now=T0 + LOCKOUT)
    assert user.locked_until == T0 + 2 * LOCKOUT
    assert user.failed_logins == 0
    quiet = T0 + 2 * LOCKOUT + dt.timedelta(seconds=1)
    assert authenticate(session, username="clinician-a", password=PASSWORD, now=quiet)


def test_a_wrong_password_on_a_locked_account_does_not_reveal_the_account_exists(
    session: Session, world: World
) -> None:
    """errors.SignInFailed: "One message for every cause, so it does not reveal which usernames
    exist".

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


@pytest.mark.parametrize(
    ("password", "role", "problem"),
    [
        ("password", "patient", "commonly used"),  # 8 characters: long enough for a patient
        ("iloveyou", "patient", "commonly used"),
        ("Password1234", "clinician", "commonly used"),  # case and spaces do not matter
        ("        ", "patient", "repeated"),  # eight spaces
        ("aaaaaaaaaaaaaaa", "clinician", "repeated"),
        ("abcabcabcabc", "clinician", "repeated"),
        ("monkeymonkey", "administrator", "repeated"),
        ("123456789012", "clinician", "sequence"),
        ("zyxwvutsrqpo", "clinician", "sequence"),
        ("new-clinician", "patient", "username"),  # the username itself
        ("NEW-CLINICIAN and more", "clinician", "username"),  # containing it, any case
        ("short pw", "clinician", "at least 12 characters"),  # staff: 12
        ("seven!!", "patient", "at least 8 characters"),  # patients: 8
    ],
)
def test_weak_passwords_are_refused_after_nist_800_63b(
    session: Session, world: World, password: str, role: str, problem: str
) -> None:
    """NIST SP 800-63B 5.1.1.2: length (12 for staff here, 8 for patients), no context words
    (the username), no repetitive or sequential characters, no known-common passwords."""
    problems = password_problems(password, role=role, username=GOOD_USER["username"])
    assert any(problem in reason for reason in problems), problems
    if role != "patient":  # a patient's sign-in is made from their record, not create_user
        with pytest.raises(InvalidInput) as refused:
            create_user(
                session,
                actor=world.admin_a,
                **(GOOD_USER | {"password": password, "role": role}),  # type: ignore[arg-type]
            )
        assert any(problem in reason for reason in refused.value.problems)


@pytest.mark.parametrize(
    ("password", "role"),
    [
        ("a long enough password", "clinician"),
        ("correct horse battery", "administrator"),
        ("Tr0ub4dor&3-x", "clinician"),
        ("river cat 9", "patient"),  # 11 characters: enough for a patient
    ],
)
def test_good_passwords_are_accepted(
    session: Session, world: World, password: str, role: str
) -> None:
    assert password_problems(password, role=role, username=GOOD_USER["username"]) == []
    if role == "patient":
        reset_password(
            session, actor=world.admin_a, user_id=_user_id(world.patient_a1), new_password=password
        )
        return
    user_id = create_user(
        session,
        actor=world.admin_a,
        **(GOOD_USER | {"password": password, "role": role}),  # type: ignore[arg-type]
    )
    assert session.get(User, user_id) is not None


def test_no_patient_account_is_made_without_a_patient_record(
    session: Session, world: World
) -> None:
    with pytest.raises(InvalidInput, match="created from their patient record"):
        create_user(
            session,
            actor=world.admin_a,
            **(GOOD_USER | {"role": "patient", "password": "river cat 9"}),  # type: ignore[arg-type]
        )


def test_a_password_reset_follows_the_same_policy(session: Session, world: World) -> None:
    target = _user_id(world.clinician_a)
    for weak in ("eleven char", "clinician-a!!!!", "qwertyuiop123"):
        with pytest.raises(InvalidInput):
            reset_password(session, actor=world.admin_a, user_id=target, new_password=weak)
    with pytest.raises(InvalidInput, match="at least 8"):
        reset_password(
            session, actor=world.admin_a, user_id=_user_id(world.patient_a1), new_password="x"
        )


def test_the_common_password_list_is_shipped_with_its_licence_and_read_once() -> None:
    from importlib import resources

    from data import password_policy

    shipped = resources.files("data")
    assert shipped.joinpath(password_policy.COMMON_PASSWORDS_FILE).is_file()
    notice = shipped.joinpath("common-passwords.NOTICE").read_text()
    assert "Django Software Foundation" in notice and "Redistribution and use" in notice
    password_policy._common_passwords.cache_clear()
    password_policy.password_problems("a long enough password", role="clinician")
    password_policy.password_problems("another long password", role="clinician")
    assert password_policy._common_passwords.cache_info().misses == 1
    assert len(password_policy._common_passwords()) == 19_640


def test_the_demo_clinic_takes_no_one_letter_password_but_its_accounts_still_sign_in(
    session: Session,
) -> None:
    """The demo clinic's public password ``demo`` is written as a hash by the seeder; the
    account functions apply the policy there as everywhere (issue 9, item 12)."""
    from data.demo import DEMO_PASSWORD, seed_demo

    summary = seed_demo(session, patients=2, today=dt.date(2026, 3, 2))
    admin = authenticate(session, username="demo-admin", password=DEMO_PASSWORD)
    assert admin.role == "administrator"
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        create_user(session, actor=admin, **(GOOD_USER | {"password": "x"}))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        reset_password(session, actor=admin, user_id=_user_id(admin), new_password="demo")
    assert summary.clinic_id == admin.clinic_id


# --- usernames ---------------------------------------------------------------------------------


def test_sign_in_finds_a_username_whatever_its_case(session: Session, world: World) -> None:
    actor = authenticate(session, username="  CLINICIAN-A ", password=PASSWORD)
    assert actor == world.clinician_a


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


def test_single_sign_on_cannot_reach_another_clinics_account_by_case(
    session: Session, world: World
) -> None:
    """Issue 9, item 12: "Demo-Admin" resolved to another clinic's "demo-admin". With one
    account per name whatever the case, the name resolves to that one account only."""
    from data.accounts import authenticate_single_sign_on

    with pytest.raises(InvalidInput, match="not available"):
        create_user(session, actor=world.admin_a, **(GOOD_USER | {"username": "Clinician-B"}))  # type: ignore[arg-type]
    actor = authenticate_single_sign_on(session, email="Clinician-B")
    assert actor == world.clinician_b


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


# --- the app's sign-in: separate transactions, throttles ---------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def own_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database of its own: :func:`sign_in` commits, so it cannot run in ``session``."""
    url = fresh_database_url(request.param, request, tmp_path_factory.mktemp("sign-in"))
    database = make_engine(url)
    upgrade(database)
    yield database
    database.dispose()


@dataclass(frozen=True)
class Committed:
    engine: Engine
    clinician: Actor
    patient: Actor


@pytest.fixture
def committed(own_database: Engine, password_hash: str) -> Iterator[Committed]:
    """A clinician and a patient committed under fresh names; throttles start empty."""
    tag = uuid.uuid4().hex[:8]
    with transaction(own_database, write=True) as session:
        clinic = Clinic(name=f"Sign-in {tag}")
        session.add(clinic)
        session.flush()
        clinician = add_user(
            session, clinic.id, f"clinician-{tag}", "clinician", password_hash, display_name="C"
        )
        patient_user = add_user(
            session, clinic.id, f"patient-{tag}", "patient", password_hash, display_name="P"
        )
        patient = Patient(
            clinic_id=clinic.id, external_id=f"MRN-{tag}", name="P", user_id=patient_user.id
        )
        session.add(patient)
        session.flush()
        world = Committed(
            own_database,
            Actor(clinician.id, clinic.id, "clinician", clinician.username),
            Actor(patient_user.id, clinic.id, "patient", patient_user.username, patient.id),
        )
    signin_throttle.ADDRESSES.clear()
    yield world
    signin_throttle.ADDRESSES.clear()


def _sign_in_refusal(world: Committed, **kwargs: Any) -> str:
    with pytest.raises(SignInFailed) as refused:
        sign_in(world.engine, **({"address": "203.0.113.9"} | kwargs))
    return str(refused.value)


def _failures(world: Committed) -> int:
    with transaction(world.engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "sign_in_failed")
            )
            or 0
        )


def test_sign_in_gives_the_actor_and_counts_failures_in_its_own_transactions(
    committed: Committed,
) -> None:
    actor = sign_in(
        committed.engine,
        username=committed.patient.username.upper(),
        password=PASSWORD,
        address="203.0.113.9",
    )
    assert actor == committed.patient
    before = _failures(committed)
    refusal = _sign_in_refusal(committed, username=committed.clinician.username, password=WRONG)
    assert refusal == SIGN_IN_REFUSED
    assert _failures(committed) == before + 1  # committed although sign-in raised
    with transaction(committed.engine) as session:
        assert session.get(User, committed.clinician.user_id).failed_logins == 1  # type: ignore[union-attr]


def test_sign_in_checks_the_password_outside_any_write_transaction(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, item 3: the page verified the password (argon2, ~0.1 s) inside a write
    transaction, so on SQLite every sign-in held the file's one write lock and 200 attempts
    made check-ins fail with "records are busy". While a sign-in is verifying, another write
    must go through at once."""
    verifying, finish = threading.Event(), threading.Event()
    real = data.accounts._hasher

    class SlowHasher(CountingHasher):
        def verify(self, hash: str, password: str) -> bool:
            verifying.set()
            finish.wait(10)
            return super().verify(hash, password)

    monkeypatch.setattr(data.accounts, "_hasher", SlowHasher(real))
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 300)
    outcome: list[Actor] = []
    signing_in = threading.Thread(
        target=lambda: outcome.append(
            sign_in(
                committed.engine,
                username=committed.clinician.username,
                password=PASSWORD,
                address="203.0.113.9",
            )
        )
    )
    signing_in.start()
    try:
        assert verifying.wait(10)
        with transaction(committed.engine, write=True) as session:  # a check-in's turn
            session.get(User, committed.patient.user_id).display_name = "P2"  # type: ignore[union-attr]
    finally:
        finish.set()
        signing_in.join(10)
    assert outcome == [committed.clinician]


def test_an_address_that_keeps_failing_is_refused_before_any_work(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-address throttle: after ADDRESS_LIMIT failures an address is refused with the
    usual words, with no argon2 verification and nothing written; other addresses are not."""
    for n in range(signin_throttle.ADDRESS_LIMIT):
        # Unknown names: the per-account lockout never sees these.
        _sign_in_refusal(committed, username=f"guess-{n}", password=WRONG)
    hasher = CountingHasher(data.accounts._hasher)
    monkeypatch.setattr(data.accounts, "_hasher", hasher)
    failures = _failures(committed)
    refusal = _sign_in_refusal(committed, username=committed.clinician.username, password=PASSWORD)
    assert refusal == SIGN_IN_REFUSED
    assert hasher.verifications == 0
    assert _failures(committed) == failures
    actor = sign_in(
        committed.engine,
        username=committed.clinician.username,
        password=PASSWORD,
        address="198.51.100.7",
    )
    assert actor == committed.clinician


def test_a_locked_account_signs_in_through_the_app_after_the_lock_only(
    committed: Committed,
) -> None:
    name = committed.clinician.username
    for _ in range(MAX_FAILED_SIGN_INS):
        _sign_in_refusal(committed, username=name, password=WRONG, now=T0)
    during = T0 + dt.timedelta(minutes=1)
    assert _sign_in_refusal(committed, username=name, password=PASSWORD, now=during) == (
        _sign_in_refusal(committed, username="nobody-here", password=WRONG, now=during)
    )
    after = during + LOCKOUT + dt.timedelta(seconds=1)
    assert sign_in(committed.engine, username=name, password=PASSWORD, address=None, now=after)


def test_when_no_verification_slot_is_free_the_attempt_is_refused_at_once(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most SLOTS verifications at once; a flood waits briefly, then hears "try again"."""
    slots = signin_throttle.VerificationSlots(slots=1, wait=0.05)
    monkeypatch.setattr(signin_throttle, "SLOTS", slots)
    hasher = CountingHasher(data.accounts._hasher)
    monkeypatch.setattr(data.accounts, "_hasher", hasher)
    with slots.slot() as had:
        assert had
        refusal = _sign_in_refusal(
            committed, username=committed.clinician.username, password=PASSWORD
        )
    assert refusal == SIGN_IN_BUSY
    assert "try again" in refusal
    assert hasher.verifications == 0
    assert sign_in(
        committed.engine,
        username=committed.clinician.username,
        password=PASSWORD,
        address="203.0.113.9",
    )


def test_the_address_throttle_forgets_quiet_addresses_and_bounds_its_memory() -> None:
    clock = [1000.0]
    throttle = signin_throttle.AddressThrottle(
        limit=3, window=60, max_addresses=2, clock=lambda: clock[0]
    )
    for _ in range(3):
        assert not throttle.throttled("a")
        throttle.failed("a")
    assert throttle.throttled("a")
    clock[0] += 59
    assert throttle.throttled("a")  # the three failures are still within the window
    clock[0] += 2
    assert not throttle.throttled("a")  # they left it: at most 3 attempts a minute
    throttle.failed("a")
    assert not throttle.throttled("a")
    throttle.failed("a")
    assert throttle.throttled("a")  # two new failures and the refused attempt at 1059
    for _ in range(3):
        throttle.failed("b")
    throttle.failed("c")
    throttle.failed("d")  # a third address: "b", the least recently seen, is forgotten
    assert not throttle.throttled("b")


def test_clean_addresses_go_ahead_of_addresses_with_recent_failures() -> None:
    """A nurse's first attempt waits for the slot; a flooding address's never does, and never
    takes the slot from under a waiting clean attempt."""
    slots = signin_throttle.VerificationSlots(slots=1, wait=5, spacing=0)
    got: list[bool] = []

    def clean_attempt() -> None:
        with slots.slot(clean=True) as had:
            got.append(had)

    with slots.slot(clean=True) as had:
        assert had
        nurse = threading.Thread(target=clean_attempt)
        nurse.start()
        for _ in range(500):
            if slots._clean_waiting:
                break
            threading.Event().wait(0.01)
        assert slots._clean_waiting == 1
        with slots.slot(clean=False) as flood_had:
            assert not flood_had  # busy: refused at once, no wait
    nurse.join(5)
    assert got == [True]
    with slots.slot(clean=False) as had:
        assert had  # a free slot and nobody waiting: any address may use it
    assert (slots.granted, slots.refusals) == (3, 1)


def test_verifications_are_spaced_so_sign_ins_take_a_bounded_share_of_the_cpu() -> None:
    clock = [50.0]
    slots = signin_throttle.VerificationSlots(slots=1, wait=1, spacing=0.25, clock=lambda: clock[0])
    with slots.slot() as had:
        assert had
    clock[0] += 0.1
    assert slots._take(clean=True) == pytest.approx(0.15)  # waits out the spacing


def test_an_unknown_address_is_not_throttled_for_everyone(committed: Committed) -> None:
    """Streamlit gives no address for a connection from this machine (a reverse proxy on the
    same host): one shared count would let a stranger's failures stop every user."""
    for n in range(signin_throttle.ADDRESS_LIMIT + 2):
        _sign_in_refusal(committed, username=f"guess-{n}", password=WRONG, address=None)
    actor = sign_in(
        committed.engine, username=committed.clinician.username, password=PASSWORD, address=None
    )
    assert actor == committed.clinician


def test_passwords_are_verified_below_the_apps_priority(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 at normal priority lifted concurrent check-ins' p95 from ~10 ms to ~120 ms
    (bench/load.py --signin-flood 200); on a lower-priority thread check-ins go first."""
    seen: list[int] = []

    class WhereHasher(CountingHasher):
        def verify(self, hash: str, password: str) -> bool:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return super().verify(hash, password)

    monkeypatch.setattr(data.accounts, "_hasher", WhereHasher(data.accounts._hasher))
    sign_in(
        committed.engine,
        username=committed.clinician.username,
        password=PASSWORD,
        address="203.0.113.9",
    )
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    if sys.platform == "linux":
        assert seen and seen[0] >= signin_throttle.VERIFICATION_NICENESS > mine
    else:  # elsewhere the nice value is the whole process's: it is left alone
        assert seen == [mine]
