"""Signing in (``data.accounts.authenticate``): the actor it gives, one message for every
refusal, lockout, equal argon2 work on every path, usernames whatever their case, single
sign-on.

argon2 is slow on purpose (about 0.1 s per hash or verification here), so these tests count
their hashes: the world's accounts share one hash made once per run, and each test signs in
only as often as its rule needs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import data.accounts
from data.access import Actor
from data.account_admin import create_user
from data.accounts import LOCKOUT, MAX_FAILED_SIGN_INS, authenticate
from data.errors import InvalidInput, SignInFailed
from data.models import AuditEvent
from tests.conftest import PASSWORD, World
from tests.test_data.builders import GOOD_USER, T0, WRONG, CountingHasher, _user


def _refusal(session: Session, **kwargs: Any) -> str:
    with pytest.raises(SignInFailed) as refused:
        authenticate(session, **kwargs)
    return str(refused.value)


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


# --- usernames and single sign-on --------------------------------------------------------------


def test_sign_in_finds_a_username_whatever_its_case(session: Session, world: World) -> None:
    actor = authenticate(session, username="  CLINICIAN-A ", password=PASSWORD)
    assert actor == world.clinician_a


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
