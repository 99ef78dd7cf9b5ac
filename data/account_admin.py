"""Administering the clinic's accounts: create, disable or re-enable, reset, list; and a
patient's sign-in, made from their record.

Administrators (and the operator at the command line) manage the accounts of their own clinic
only. Passwords follow :mod:`data.password_policy` and are stored as argon2 hashes
(:func:`data.accounts.hash_password`); usernames are unique whatever their case, and one used
in another clinic reads "not available" without saying where.

A patient's account is never made on its own (it could sign in to nothing): it is made from
the patient's record by :func:`issue_patient_sign_in`, by the care team or an administrator,
with a generated username and a temporary password that are shown once and stored only as a
hash. Every change is audited with its subject, ``"account <username>"`` (and, for a patient's
account, the patient's id).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, Role, ensure_role
from data.accounts import hash_password, same_username
from data.errors import AccessDenied, InvalidInput
from data.models import ROLES, Patient, User, utcnow
from data.password_policy import (
    is_reserved,
    password_problems,
    username_problems,
)

# A username in use in the administrator's own clinic (the list of accounts shows it anyway).
USERNAME_TAKEN = "this username is already taken in your clinic; choose another"
# A username in use elsewhere or reserved: the same words for both, so that an administrator
# cannot learn which names other clinics use.
USERNAME_NOT_AVAILABLE = "this username is not available; choose another"


def _username_problems(session: Session, *, actor: Actor, username: str) -> list[str]:
    """Why ``username`` cannot be a new account's, without revealing other clinics' names."""
    problems = username_problems(username)
    if problems:
        return problems
    if is_reserved(username):
        return [USERNAME_NOT_AVAILABLE]
    owner = session.scalar(select(User.clinic_id).where(same_username(username)).limit(1))
    if owner is None:
        return []
    if owner == actor.clinic_id:
        # The name is not repeated: messages are shown in Markdown elements (st.error).
        return [USERNAME_TAKEN]
    return [USERNAME_NOT_AVAILABLE]


def _new_account(actor: Actor, username: str, display_name: str, role: str, password: str) -> User:
    """A new, active account of the actor's clinic, its password hashed (not yet added)."""
    return User(
        clinic_id=actor.clinic_id,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        failed_logins=0,
        active=True,
    )


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    role: Role,
    display_name: str,
) -> int:
    """Create an account in the actor's clinic (administrators and the system only).

    The password follows :func:`data.password_policy.password_problems` in every clinic, the
    demo clinic included (its seeded accounts' public password is written as a hash by
    :mod:`data.demo`, not through here). A username must be unused whatever its case; one used
    in another clinic, or reserved, is "not available" without saying which.
    """
    ensure_role(session, actor, "administrator", "system")
    username = (username or "").strip()
    display_name = (display_name or "").strip() or username
    problems = _username_problems(session, actor=actor, username=username)
    if len(display_name) > 200 or any(c in display_name for c in "\r\n\t\x00"):
        problems.append("a full name of at most 200 characters on one line is needed")
    if role not in ROLES:
        problems.append(f"role must be one of {', '.join(ROLES)}")
    elif role == "patient":
        # A patient account without a patient record could sign in to nothing; a patient's
        # sign-in is made with (and tied to) their record.
        problems.append("a patient's sign-in is created from their patient record, not here")
    problems += password_problems(password, role=role, username=username)
    if problems:
        raise InvalidInput(problems)
    user = _new_account(actor, username, display_name, role, password)
    try:
        # A savepoint: an account created at the same moment under the same name (the unique
        # index on lower(username) refuses it) leaves the caller's transaction usable.
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise InvalidInput([USERNAME_NOT_AVAILABLE]) from None
    audit.record(
        session,
        actor=actor,
        action=audit.Action.CREATE_USER,
        subject=audit.subject_of_account(username),
    )
    return user.id


def _own_clinic_user(session: Session, actor: Actor, user_id: int) -> User:
    ensure_role(session, actor, "administrator", "system")
    user = session.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise AccessDenied("no such account in your clinic")
    return user


def set_user_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> None:
    """Disable (or re-enable) an account; a disabled account's sessions end at once."""
    user = _own_clinic_user(session, actor, user_id)
    if user.id == actor.user_id and not active:
        raise InvalidInput(["you cannot disable your own account"])
    user.active = active
    if not active:
        user.sessions_valid_after = utcnow()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.ENABLE_USER if active else audit.Action.DISABLE_USER,
        patient_id=_patient_of(session, user),
        subject=audit.subject_of_account(user.username),
    )


def reset_password(session: Session, *, actor: Actor, user_id: int, new_password: str) -> None:
    """Set a new password, unlock the account and end its other sessions."""
    user = _own_clinic_user(session, actor, user_id)
    problems = password_problems(new_password, role=user.role, username=user.username)
    if problems:
        raise InvalidInput(problems)
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    user.sessions_valid_after = utcnow()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.RESET_PASSWORD,
        patient_id=_patient_of(session, user),
        subject=audit.subject_of_account(user.username),
    )


def clinic_clinicians(session: Session, *, actor: Actor) -> dict[int, str]:
    """The clinic's active clinicians, full name by account id (sorted by name), for the
    assigned-clinician choice when registering a patient.

    Staff names only, nothing of a patient: not audited (the list of accounts, with more in
    it, is :func:`list_users`).
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    rows = session.execute(
        select(User.id, User.display_name)
        .where(User.clinic_id == actor.clinic_id, User.role == "clinician", User.active)
        .order_by(User.display_name, User.id)
    ).all()
    return {int(user_id): str(name) for user_id, name in rows}


def _patient_of(session: Session, user: User) -> int | None:
    """The id of the patient whose sign-in ``user`` is (None for staff)."""
    if user.role != "patient":
        return None
    return session.scalar(select(Patient.id).where(Patient.user_id == user.id))


def list_users(session: Session, *, actor: Actor) -> pd.DataFrame:
    """The clinic's accounts (no password hashes), for administrators."""
    ensure_role(session, actor, "administrator", "system")
    rows = session.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            User.role,
            User.active,
            User.locked_until,
            User.created_at,
            User.email,
            User.phone,
        )
        .where(User.clinic_id == actor.clinic_id)
        .order_by(User.username)
    ).all()
    # Once per visit: the page reruns on every click (data.audit, VISIT).
    audit.record(session, actor=actor, action=audit.Action.VIEW_USERS, once_within=audit.VISIT)
    return pd.DataFrame(
        rows,
        columns=[
            "user_id",
            "username",
            "display_name",
            "role",
            "active",
            "locked_until",
            "created_at",
            "email",
            "phone",
        ],
    )


def set_user_contact(
    session: Session, *, actor: Actor, user_id: int, email: str | None, phone: str | None
) -> None:
    """Set where safety alerts reach an account's holder (administrators and the operator).

    ``email`` is checked and normalised by :func:`data.notify.queue.normalise_email`,
    ``phone`` put in E.164 by :func:`data.notify.queue.normalise_phone` (a national number
    is read as a US one); an empty or None value clears it. The Users page offers staff
    accounts; a patient's own contact details are on their record (:mod:`data.patients`).

    Raises
    ------
    AccessDenied
        Not an administrator, or no such account in the clinic.
    InvalidInput
        An invalid address or number (each said); nothing is written.
    """
    from data.notify.queue import normalise_email, normalise_phone

    user = _own_clinic_user(session, actor, user_id)
    problems: list[str] = []
    values: dict[str, str | None] = {}
    for column, value, normalise in (
        ("email", email, normalise_email),
        ("phone", phone, normalise_phone),
    ):
        if value is not None and not isinstance(value, str):
            problems.append(f"the {column} must be text")
            continue
        if not (value or "").strip():
            values[column] = None
            continue
        try:
            values[column] = normalise(value or "")
        except InvalidInput as refused:
            problems += refused.problems
    if problems:
        raise InvalidInput(problems)
    if (user.email, user.phone) == (values["email"], values["phone"]):
        return
    user.email, user.phone = values["email"], values["phone"]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.SET_USER_CONTACT,
        patient_id=_patient_of(session, user),
        subject=audit.subject_of_account(user.username),
    )


# --- a patient's sign-in, from their record ------------------------------------------------------

# Letters and digits that cannot be misread for one another when read out or copied by hand
# (no 0/o, 1/l/i): a patient types these from a slip of paper or a phone call.
_UNAMBIGUOUS = "23456789abcdefghjkmnpqrstuvwxyz"
PATIENT_USERNAME_PREFIX = "pt-"
_USERNAME_CHARACTERS = 6
_PASSWORD_GROUPS = 3
_PASSWORD_GROUP_LENGTH = 4


@dataclass(frozen=True)
class PatientSignIn:
    """A patient's sign-in as handed to them once: never stored in clear, never shown again.

    ``created`` is False when the patient had a sign-in already and was given a new temporary
    password for it (the old one no longer works, and its sessions are ended).
    """

    user_id: int
    username: str
    temporary_password: str
    created: bool


def _generated_username(session: Session, actor: Actor) -> str:
    """``pt-`` and 6 unambiguous characters (31**6, about 887 million), unused in any clinic.

    Generated, not typed, so that a patient's username never holds their name or record
    number: it appears in the audit trail as the account's name.
    """
    while True:
        username = PATIENT_USERNAME_PREFIX + "".join(
            secrets.choice(_UNAMBIGUOUS) for _ in range(_USERNAME_CHARACTERS)
        )
        if not _username_problems(session, actor=actor, username=username):
            return username


def _temporary_password(username: str) -> str:
    """Three groups of four unambiguous characters, ``k7mq-x2rt-9cvp`` (about 59 bits),
    drawn again in the rare case the password policy refuses one."""
    while True:
        password = "-".join(
            "".join(secrets.choice(_UNAMBIGUOUS) for _ in range(_PASSWORD_GROUP_LENGTH))
            for _ in range(_PASSWORD_GROUPS)
        )
        if not password_problems(password, role="patient", username=username):
            return password


def issue_patient_sign_in(session: Session, *, actor: Actor, patient_id: int) -> PatientSignIn:
    """Make the sign-in of a patient of the clinic from their record, or give it a new
    temporary password (the care team, administrators and the operator).

    The account gets a generated username (:data:`PATIENT_USERNAME_PREFIX` and six
    characters), the patient's name as its full name and a generated temporary password,
    and is linked to the record through ``patient.user_id``: signed in, the patient sees their
    own record only (:func:`data.access.verify_actor`). A patient who has a sign-in already
    keeps its username and gets a new temporary password, which ends its sessions, as
    :func:`reset_password` does.

    Returns
    -------
    PatientSignIn
        The username and the temporary password, to hand to the patient now: only the
        password's argon2 hash is kept.

    Raises
    ------
    AccessDenied
        Not a clinician, administrator or the operator, or no such patient in the clinic.
    InvalidInput
        The patient's sign-in is disabled: an administrator re-enables it first.

    Notes
    -----
    The temporary password is not forced to change at first sign-in: the schema has no flag
    for it yet. An invitation link sent by email replaces it once reminders exist (issue 14).
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    # Locked for the rest of the transaction on PostgreSQL (SQLite's write transactions are
    # serial already): two people issuing the same patient's sign-in at once make one account.
    patient = (
        session.get(Patient, patient_id, with_for_update=True)
        if isinstance(patient_id, int)
        else None
    )
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise AccessDenied("no such patient in your clinic")
    user = session.get(User, patient.user_id) if patient.user_id is not None else None
    if user is not None:
        if not user.active:
            raise InvalidInput(
                [
                    "this patient's sign-in is disabled; an administrator can enable it on "
                    "the Users page first"
                ]
            )
        password = _temporary_password(user.username)
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.sessions_valid_after = utcnow()
        audit.record(
            session,
            actor=actor,
            action=audit.Action.RESET_PASSWORD,
            patient_id=patient.id,
            subject=audit.subject_of_account(user.username),
        )
        return PatientSignIn(user.id, user.username, password, created=False)
    username = _generated_username(session, actor)
    password = _temporary_password(username)
    user = _new_account(actor, username, patient.name, "patient", password)
    try:
        # A savepoint: the same username drawn at the same moment elsewhere (unique index)
        # leaves the caller's transaction usable.
        with session.begin_nested():
            session.add(user)
            session.flush()
            patient.user_id = user.id
    except IntegrityError:
        raise InvalidInput(["the sign-in could not be made just now; please try again"]) from None
    audit.record(
        session,
        actor=actor,
        action=audit.Action.CREATE_PATIENT_SIGN_IN,
        patient_id=patient.id,
        subject=audit.subject_of_account(username),
    )
    return PatientSignIn(user.id, username, password, created=True)
