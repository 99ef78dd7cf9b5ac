"""Administering the clinic's accounts: create, disable or re-enable, reset, list.

Administrators (and the operator at the command line) manage the accounts of their own clinic
only. Passwords follow :mod:`data.password_policy` and are stored as argon2 hashes
(:func:`data.accounts.hash_password`); usernames are unique whatever their case, and one used
in another clinic reads "not available" without saying where.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, Role, ensure_role
from data.accounts import hash_password, same_username
from data.errors import AccessDenied, InvalidInput
from data.models import ROLES, User, utcnow
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
    user = User(
        clinic_id=actor.clinic_id,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        failed_logins=0,
        active=True,
    )
    try:
        # A savepoint: an account created at the same moment under the same name (the unique
        # index on lower(username) refuses it) leaves the caller's transaction usable.
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise InvalidInput([USERNAME_NOT_AVAILABLE]) from None
    audit.record(session, actor=actor, action=audit.Action.CREATE_USER)
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
    audit.record(session, actor=actor, action=audit.Action.RESET_PASSWORD)


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
    audit.record(session, actor=actor, action=audit.Action.VIEW_USERS)
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
