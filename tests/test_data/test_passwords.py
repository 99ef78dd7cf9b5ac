"""Passwords: stored only as argon2id hashes, and the policy (``data.password_policy``,
NIST SP 800-63B) that ``create_user`` and ``reset_password`` apply."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.account_admin import create_user, list_users, reset_password
from data.accounts import authenticate
from data.errors import InvalidInput
from data.models import AuditEvent, User
from data.password_policy import password_problems
from tests.conftest import World
from tests.test_data.builders import GOOD_USER, _user_id

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


# --- the password policy -----------------------------------------------------------------------


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
