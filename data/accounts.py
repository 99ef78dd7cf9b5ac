"""Sign-in and sessions: argon2 password hashes, sign-in with lockout and throttles.

* Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)
  and never stored, logged or returned in clear. New passwords follow NIST SP 800-63B
  (:mod:`data.password_policy`): 12 characters for staff, 8 for patients, not the username,
  not a repetition, not a common password.
* Usernames are unique whatever their case, and looked up that way (migration 0005).
* Five failed sign-ins in a row lock an account for 15 minutes. While it is locked, no
  password is checked against its hash (a dummy hash is verified instead, so the time taken is
  the same), every attempt gets the same answer as any other failure, and each one restarts
  the 15 minutes.
* One message for every refusal (unknown username, wrong password, disabled, locked,
  throttled), so it does not reveal which usernames exist or which are locked; an unknown
  username still costs one verification, so the time taken does not tell either.
* An address that keeps failing is throttled, and at most a few verifications run at once
  (:mod:`data.signin_throttle`); both refuse before any argon2 work.

Creating, disabling and resetting accounts is :mod:`data.account_admin`; reading the audit
trail is :mod:`data.audit_trail`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, Engine, func, literal, select
from sqlalchemy.orm import Session

from data import audit, sessions, signin_throttle
from data.access import Actor, verify_actor
from data.engine import transaction
from data.errors import AccessDenied, SignInFailed
from data.models import User, utcnow
from data.password_policy import STAFF_MIN_PASSWORD_LENGTH

MAX_FAILED_SIGN_INS = 5
LOCKOUT = dt.timedelta(minutes=15)
# The shortest password of any account (a patient's); staff need STAFF_MIN_PASSWORD_LENGTH.
MIN_PASSWORD_LENGTH = STAFF_MIN_PASSWORD_LENGTH

# Every refused sign-in reads exactly like this, whatever the cause.
SIGN_IN_REFUSED = (
    "the username or password is not correct. After repeated failed attempts, sign-in pauses "
    "for 15 minutes; if you cannot sign in, ask your clinic's administrator to reset your "
    "password"
)
# Too many sign-ins at once in this process (a flood); nothing about the account is known.
SIGN_IN_BUSY = "too many people are signing in at this moment; please try again in a moment"

_hasher = PasswordHasher()
# Verified against when the username is unknown, the account disabled or locked, so that
# every path costs one argon2 verification and no password is checked against a locked hash.
_DUMMY_HASH = _hasher.hash("no such user: equal-time comparison only")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def same_username(username: str) -> ColumnElement[bool]:
    """``User.username`` equal to ``username`` whatever the case, through the database's own
    lower() on both sides, as the unique index of migration 0005 compares them."""
    return func.lower(User.username) == func.lower(literal(username))


@dataclass(frozen=True)
class _Account:
    """What a sign-in reads of an account before it checks the password."""

    user_id: int
    password_hash: str
    active: bool
    locked_until: dt.datetime | None


@dataclass(frozen=True)
class _Verdict:
    """The password check, made outside any transaction."""

    correct: bool
    new_hash: str | None = None  # a rehash with current parameters, made outside too


def _find(session: Session, username: str) -> _Account | None:
    if not username:
        return None
    row = session.execute(
        select(User.id, User.password_hash, User.active, User.locked_until).where(
            same_username(username)
        )
    ).first()
    return None if row is None else _Account(*row)


def _locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    return locked_until is not None and locked_until > now


def _verify(found: _Account | None, password: str, now: dt.datetime) -> _Verdict:
    """One argon2 verification on every path: the account's hash only when it is usable."""
    usable = found is not None and found.active and not _locked(found.locked_until, now)
    stored = found.password_hash if found is not None and usable else _DUMMY_HASH
    try:
        matched = bool(_hasher.verify(stored, password or ""))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matched = False
    if not (usable and matched):
        return _Verdict(correct=False)
    new_hash = hash_password(password) if _hasher.check_needs_rehash(stored) else None
    return _Verdict(correct=True, new_hash=new_hash)


def _settle(
    session: Session,
    found: _Account | None,
    username: str,
    verdict: _Verdict,
    now: dt.datetime,
) -> Actor | None:
    """The bookkeeping of one attempt (counts, lock, audit, rehash): the actor, or None.

    Reads the account again, locked for update, so that concurrent attempts count every
    failure and a lock that began after the password was checked still holds.
    """
    user = session.get(User, found.user_id, with_for_update=True) if found is not None else None
    if user is None or not user.active:
        audit.record_failed_sign_in(session, user=user)
        return None
    if _locked(user.locked_until, now):
        # A failure during a lockout extends it, right password or not (none was checked).
        user.locked_until = now + LOCKOUT
        audit.record_failed_sign_in(session, user=user)
        return None
    if found is None or user.password_hash != found.password_hash:
        # The password was changed while this attempt was being checked: it proves nothing.
        audit.record_failed_sign_in(session, user=user)
        return None
    if not verdict.correct:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_SIGN_INS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        audit.record_failed_sign_in(session, user=user)
        return None
    user.failed_logins = 0
    user.locked_until = None
    if verdict.new_hash is not None:
        user.password_hash = verdict.new_hash
    actor = sessions.actor_for(session, user)
    audit.record(session, actor=actor, action=audit.Action.SIGN_IN)
    return actor


def sign_in(
    engine: Engine,
    *,
    username: str,
    password: str,
    address: str | None,
    now: dt.datetime | None = None,
) -> Actor:
    """The whole sign-in with a username and password, as the sign-in page runs it.

    1. An address that is throttled is refused at once (:mod:`data.signin_throttle`).
    2. A verification slot is taken (few verifications at once, and a few a second, in the
       process; addresses without recent failures first); if none is free in time the attempt
       is refused as busy. Neither of these touches the database or argon2.
    3. The account is read in a read transaction.
    4. The password is verified (argon2, ~0.1 s) outside any transaction: on SQLite a write
       transaction holds the one write lock of the file, and check-ins would wait behind it.
       It runs on a thread of lower priority than the app's, so that check-ins go first.
    5. The failure count, lock, audit event or rehash are written in a short write
       transaction.

    It takes the engine, not a session, because it needs these separate transactions; it is
    the one function the page and ``bench/load.py --signin-flood`` call.

    Parameters
    ----------
    engine
        The clinic's database.
    username, password
        As typed (the username's case and surrounding spaces do not matter).
    address
        The browser's address as the server saw it (``st.context.ip_address``), for the
        per-address throttle. Behind a reverse proxy this is the proxy's address, shared by
        every user; Streamlit gives None for a connection from this machine (a proxy on the
        same host, ``make run``). None is not throttled per address: one shared count would
        let a stranger's 20 failures stop every user signing in. The proxy must then limit
        sign-in requests per client itself (``docs/records.md``); the account lockout and the
        verification slots apply to every attempt whatever its address.
    now
        The time of the attempt (tests); the current time by default.

    Returns
    -------
    Actor
        The signed-in user.

    Raises
    ------
    SignInFailed
        :data:`SIGN_IN_REFUSED` for every refusal that concerns the account or address,
        :data:`SIGN_IN_BUSY` when no verification slot was free.
    DatabaseUnavailable
        The database could not be used; nothing was decided.
    """
    now = now or utcnow()
    username = (username or "").strip()
    addresses = signin_throttle.ADDRESSES
    if address and addresses.throttled(address):
        raise SignInFailed(SIGN_IN_REFUSED)
    with signin_throttle.SLOTS.slot(clean=not address or addresses.clean(address)) as had_slot:
        if not had_slot:
            if address:
                addresses.failed(address)
            raise SignInFailed(SIGN_IN_BUSY)
        with transaction(engine) as session:
            found = _find(session, username)
        verdict = signin_throttle.below_the_app(lambda: _verify(found, password, now))
    with transaction(engine, write=True) as session:
        actor = _settle(session, found, username, verdict, now)
    if actor is None:
        if address:
            addresses.failed(address)
        raise SignInFailed(SIGN_IN_REFUSED)
    return actor


def authenticate(
    session: Session, *, username: str, password: str, now: dt.datetime | None = None
) -> Actor:
    """The checks of :func:`sign_in` within the caller's transaction, without throttles.

    For the command line and tests. It verifies the password inside the caller's transaction,
    so the app uses :func:`sign_in` instead. The caller commits, so that failures are counted
    even though this raises :class:`SignInFailed` (always :data:`SIGN_IN_REFUSED`).
    """
    now = now or utcnow()
    username = (username or "").strip()
    found = _find(session, username)
    actor = _settle(session, found, username, _verify(found, password, now), now)
    if actor is None:
        raise SignInFailed(SIGN_IN_REFUSED)
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
    wanted = (email or "").strip()
    user = session.scalar(select(User).where(same_username(wanted))) if wanted else None
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    if user is None or not user.active or locked:
        audit.record_failed_sign_in(session, user=user)
        raise SignInFailed(
            "your organisation's account is not linked to an active account at this clinic; "
            "ask the clinic's administrator"
        )
    actor = sessions.actor_for(session, user)
    audit.record(session, actor=actor, action=audit.Action.SIGN_IN_SINGLE_SIGN_ON)
    return actor


def session_still_valid(
    session: Session,
    *,
    actor: Actor,
    signed_in_at: dt.datetime,
    session_id: int | None = None,
) -> bool:
    """False once the account is disabled, changed or signed out everywhere after
    ``signed_in_at``, and for any actor that does not match its user row (forged).

    With ``session_id`` (the sign-in's ``user_session`` row, :mod:`data.sessions`), also
    False once that row is revoked or past its lifetime: signing out in one tab ends the
    other tabs that resumed the same browser session.
    """
    if actor.user_id is None:
        return False
    try:
        verify_actor(session, actor)
    except AccessDenied:
        return False
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        return False
    if session_id is not None and not sessions.is_open(
        session, session_id=session_id, user_id=user.id
    ):
        return False
    return user.sessions_valid_after is None or signed_in_at >= user.sessions_valid_after


def sign_out_everywhere(session: Session, *, actor: Actor) -> None:
    """End every session of the actor's own account: the ones open in this process's memory
    (``sessions_valid_after``) and the ones a browser could resume after a reload (their
    ``user_session`` rows are revoked, :mod:`data.sessions`)."""
    verify_actor(session, actor)
    if actor.user_id is None:
        return
    user = session.get(User, actor.user_id)
    if user is not None:
        now = utcnow()
        user.sessions_valid_after = now
        sessions.revoke_all(session, user_id=user.id, now=now)
        audit.record(session, actor=actor, action=audit.Action.SIGN_OUT_EVERYWHERE)
