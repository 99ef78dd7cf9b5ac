"""Accounts: argon2 password hashes, sign-in with lockout, and their administration.

* Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)
  and never stored, logged or returned in clear.
* Five failed sign-ins lock an account for 15 minutes.
* A sign-in for a username that does not exist still verifies a password against a hash, so
  the time taken does not tell which usernames exist, and the message is the same.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, Role, ensure_role, verify_actor
from data.errors import AccessDenied, InvalidInput, SignInFailed
from data.models import ROLES, AuditEvent, Clinic, Patient, User, utcnow

MAX_FAILED_SIGN_INS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("no such user: equal-time comparison only")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_problems(password: str, *, demo: bool = False) -> list[str]:
    if not isinstance(password, str) or not password:
        return ["a password is needed"]
    if not demo and len(password) < MIN_PASSWORD_LENGTH:
        return [f"a password needs at least {MIN_PASSWORD_LENGTH} characters"]
    return []


def _actor_for(session: Session, user: User) -> Actor:
    """The actor a signed-in user acts as (a patient also carries their own record's id)."""
    patient_id = None
    if user.role == "patient":
        patient_id = session.scalar(select(Patient.id).where(Patient.user_id == user.id))
    return Actor(
        user_id=user.id,
        clinic_id=user.clinic_id,
        role=user.role,  # type: ignore[arg-type]  # checked against ROLES on creation
        username=user.username,
        patient_id=patient_id,
    )


def authenticate(
    session: Session, *, username: str, password: str, now: dt.datetime | None = None
) -> Actor:
    """The actor for a correct username and password; otherwise :class:`SignInFailed`.

    Counts failures; the fifth in a row locks the account for 15 minutes (then even the
    right password is refused until the lock ends). A success resets the count. The caller
    commits, so that failures are counted even though this raises.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username)) if username else None
    stored_hash = user.password_hash if user is not None else _DUMMY_HASH
    correct: bool
    try:
        correct = _hasher.verify(stored_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        correct = False
    if user is None or not user.active:
        _record_failure(session, user, username)
        raise SignInFailed()
    if user.locked_until is not None and user.locked_until > now:
        _record_failure(session, user, username)
        if not correct:
            # The same words as any wrong password: a lockout must not confirm the username.
            raise SignInFailed()
        raise SignInFailed(
            "this account is locked after too many failed sign-ins; try again in 15 minutes "
            "or ask the clinic to reset the password"
        )
    if not correct:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_SIGN_INS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        _record_failure(session, user, username)
        raise SignInFailed()
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    actor = _actor_for(session, user)
    audit.record(session, actor=actor, action="sign_in")
    return actor


def authenticate_single_sign_on(
    session: Session, *, email: str, now: dt.datetime | None = None
) -> Actor:
    """The actor for an identity verified by the clinic's identity provider (OIDC).

    The provider proves who the person is; this clinic decides what they may do: the email
    must be the username of an active, unlocked account here (case does not matter).
    Otherwise :class:`SignInFailed`.
    """
    now = now or utcnow()
    wanted = (email or "").strip().lower()
    user = (
        session.scalar(select(User).where(func.lower(User.username) == wanted)) if wanted else None
    )
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    if user is None or not user.active or locked:
        _record_failure(session, user, wanted or "(no email)")
        raise SignInFailed(
            "your organisation's account is not linked to an active account at this clinic; "
            "ask the clinic's administrator"
        )
    actor = _actor_for(session, user)
    audit.record(session, actor=actor, action="sign_in_single_sign_on")
    return actor


def _record_failure(session: Session, user: User | None, username: str) -> None:
    """Audit a refused sign-in (the caller commits it even though sign-in raises)."""
    session.add(
        AuditEvent(
            clinic_id=user.clinic_id if user is not None else None,
            actor_id=user.id if user is not None else None,
            actor_name=user.username if user is not None else "(unknown username)",
            action="sign_in_failed",
            at=utcnow(),
        )
    )


def session_still_valid(session: Session, *, actor: Actor, signed_in_at: dt.datetime) -> bool:
    """False once the account is disabled, changed or signed out everywhere after
    ``signed_in_at``, and for any actor that does not match its user row (forged)."""
    if actor.user_id is None:
        return False
    try:
        verify_actor(session, actor)
    except AccessDenied:
        return False
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        return False
    return user.sessions_valid_after is None or signed_in_at >= user.sessions_valid_after


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

    Passwords need 8 characters, except in the demo clinic (synthetic records only).
    """
    ensure_role(session, actor, "administrator", "system")
    clinic = session.get(Clinic, actor.clinic_id)
    demo = clinic is not None and clinic.is_demo
    problems = []
    username = (username or "").strip()
    if not username or len(username) > 150:
        problems.append("a username of 1 to 150 characters is needed")
    elif session.scalar(select(func.count()).where(User.username == username)):
        problems.append(f"the username {username!r} is taken")
    if role not in ROLES:
        problems.append(f"role must be one of {', '.join(ROLES)}")
    problems += _password_problems(password, demo=demo)
    if problems:
        raise InvalidInput(problems)
    user = User(
        clinic_id=actor.clinic_id,
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        password_hash=hash_password(password),
        failed_logins=0,
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="create_user")
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
    audit.record(session, actor=actor, action="enable_user" if active else "disable_user")


def reset_password(session: Session, *, actor: Actor, user_id: int, new_password: str) -> None:
    """Set a new password, unlock the account and end its other sessions."""
    user = _own_clinic_user(session, actor, user_id)
    problems = _password_problems(new_password)
    if problems:
        raise InvalidInput(problems)
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    user.sessions_valid_after = utcnow()
    audit.record(session, actor=actor, action="reset_password")


def sign_out_everywhere(session: Session, *, actor: Actor) -> None:
    """End every session of the actor's own account."""
    verify_actor(session, actor)
    if actor.user_id is None:
        return
    user = session.get(User, actor.user_id)
    if user is not None:
        user.sessions_valid_after = utcnow()
        audit.record(session, actor=actor, action="sign_out_everywhere")


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
        )
        .where(User.clinic_id == actor.clinic_id)
        .order_by(User.username)
    ).all()
    audit.record(session, actor=actor, action="view_users")
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
        ],
    )


def audit_log(
    session: Session,
    *,
    actor: Actor,
    user_id: int | None = None,
    patient_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The clinic's audit trail, newest first, filtered by user, patient and time."""
    ensure_role(session, actor, "administrator", "system")
    query = select(
        AuditEvent.at,
        AuditEvent.actor_name,
        AuditEvent.action,
        AuditEvent.patient_id,
    ).where(AuditEvent.clinic_id == actor.clinic_id)
    if user_id is not None:
        query = query.where(AuditEvent.actor_id == user_id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at <= until)
    rows = session.execute(query.order_by(AuditEvent.at.desc()).limit(limit)).all()
    audit.record(session, actor=actor, action="view_audit_log")
    return pd.DataFrame(rows, columns=["at", "user", "action", "patient_id"])
