"""Sessions that survive a reload: a signed, expiring, revocable token in an HttpOnly cookie.

Streamlit keeps a signed-in user in the memory of one websocket session, which a reload
ends. So a sign-in also starts a row of ``user_session`` in the database (not in the
process: every replica behind the load balancer must find it), and the browser keeps a token
for it in a cookie that scripts cannot read (``HttpOnly``) and other sites cannot send
(``SameSite=Strict``). On a new Streamlit session the app reads the cookie and
:func:`resume`\\ s the user, or shows the sign-in page.

How the token reaches the browser. The Streamlit page cannot set an ``HttpOnly`` cookie: it
talks over a websocket. So :func:`start_session` gives the page a one-time **ticket** (60
seconds), bound to the browser's own random cookie (``io_browser``, :mod:`dashboard.server`),
and the page's script posts it to the server's ``/session/claim`` route, which calls
:func:`claim_ticket` and answers with the cookie. The token is made at that moment: before
it, the row's ``token_hash`` is the hash of a random value nobody kept, so no token exists
that a leaked ticket could have revealed, and a ticket posted by another browser matches no
row.

What is stored. Only SHA-256 hashes of the token and ticket, so a copy of the database signs
nobody in. The cookie's value is the token and an HMAC-SHA-256 of it with the server's secret
(:func:`secret_key`): a value with a bad signature is refused before any database read
(:func:`token_from_cookie`).

When a session ends. A row resumes only while all of these hold (:func:`resume`):

* it is not revoked (sign out, "sign out everywhere", time-out in the app);
* ``expires_at`` (:data:`SESSION_LIFETIME` after sign-in, however active) has not passed;
* it has not sat idle longer than the idle limit since ``last_seen_at``; the app touches
  ``last_seen_at`` at most once every :data:`TOUCH_EVERY` (a write per click would queue
  behind check-ins on SQLite), so a reload may find the limit passed up to that much early;
* the account is active and was not signed out everywhere (``sessions_valid_after``) since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, verify_actor
from data.errors import AccessDenied
from data.models import Patient, User, UserSession, utcnow
from data.settings import DATA_DIR

logger = logging.getLogger("data.sessions")

SESSION_COOKIE = "io_session"
"""The ``HttpOnly``, ``SameSite=Strict`` cookie that holds a signed session token."""
TICKET_LIFETIME = dt.timedelta(seconds=60)
"""How long the page has to exchange its ticket for the cookie."""
SESSION_LIFETIME = dt.timedelta(hours=12)
"""The longest a session lasts however active it is (a clinic's working day and more)."""
TOUCH_EVERY = dt.timedelta(seconds=60)
"""The app records activity in ``last_seen_at`` at most this often per session."""
MIN_SECRET_LENGTH = 32
_TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 characters
_MAX_COOKIE_LENGTH = 200  # a real value is 43 + 1 + 64 characters; longer is not ours
_KEY_FILE_SUFFIX = "-session-key"


class SessionSettings(BaseSettings):
    """``OUTCOMES_SECRET_KEY``: the key that signs session cookies.

    Set it (at least 32 random characters, the same on every replica) wherever the app runs
    on more than one machine. Unset, :func:`secret_key` makes one once and keeps it in a file.
    """

    model_config = SettingsConfigDict(env_prefix="OUTCOMES_", extra="ignore")

    secret_key: SecretStr | None = None


@dataclass(frozen=True)
class Started:
    """A session just started: its row's id (kept by the app) and the page's one-time ticket."""

    session_id: int
    ticket: str


@dataclass(frozen=True)
class Resumed:
    """A session found again from its cookie: who, which row, and since when signed in."""

    actor: Actor
    session_id: int
    signed_in_at: dt.datetime


# --- the cookie's value ----------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ticket_hash(ticket: str, browser: str) -> str:
    # The browser's cookie is part of what is hashed: another browser's ticket matches nothing.
    return _sha256(f"{ticket}\n{browser}")


def _signature(token: str, secret: bytes) -> str:
    return hmac.new(secret, token.encode("utf-8"), hashlib.sha256).hexdigest()


def cookie_value(token: str, *, secret: bytes) -> str:
    """The cookie's value for ``token``: the token, a dot, and its HMAC-SHA-256 in hex."""
    return f"{token}.{_signature(token, secret)}"


def token_from_cookie(value: str | None, *, secret: bytes) -> str | None:
    """The token of a cookie value whose signature is right; None for anything else.

    Needs no database: a forged or damaged cookie costs one HMAC, never a query.
    """
    if not value or len(value) > _MAX_COOKIE_LENGTH or "." not in value:
        return None
    token, _, signature = value.rpartition(".")
    if not token or not hmac.compare_digest(signature, _signature(token, secret)):
        return None
    return token


def _key_file(database_url: str) -> Path:
    """Beside an SQLite database file (every process that opens it shares the key), else in
    the data directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.name + _KEY_FILE_SUFFIX)
    return DATA_DIR / ("outcomes.db" + _KEY_FILE_SUFFIX)  # git-ignored like the database


def secret_key(*, database_url: str) -> bytes:
    """The key that signs session cookies.

    ``OUTCOMES_SECRET_KEY`` when it is set. Otherwise a random key made once and kept in a
    file readable by its owner only: beside the SQLite database file, or for PostgreSQL in
    the data directory (``data/outcomes.db-session-key``). Replicas on other machines do not
    share that file: set ``OUTCOMES_SECRET_KEY`` there, or a session resumes only on the
    machine that signed its cookie (elsewhere the person signs in again; nothing is exposed).

    Raises
    ------
    ValueError
        ``OUTCOMES_SECRET_KEY`` is shorter than :data:`MIN_SECRET_LENGTH` characters.
    """
    configured = SessionSettings().secret_key
    if configured is not None:
        value = configured.get_secret_value()
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"OUTCOMES_SECRET_KEY must be at least {MIN_SECRET_LENGTH} random characters; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value.encode("utf-8")
    path = _key_file(database_url)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48).encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once, one writes and both use its key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    logger.info("made a new key for session cookies in %s", path)
    return key


# --- the rows ---------------------------------------------------------------------------------


def actor_for(session: Session, user: User) -> Actor:
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


def _usable(row: UserSession, user: User | None, *, now: dt.datetime, idle: dt.timedelta) -> bool:
    if row.revoked_at is not None or row.expires_at <= now or now - row.last_seen_at > idle:
        return False
    if user is None or not user.active:
        return False
    return user.sessions_valid_after is None or row.created_at >= user.sessions_valid_after


def start_session(
    session: Session,
    *,
    actor: Actor,
    browser: str,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = SESSION_LIFETIME,
) -> Started:
    """Start the session of a user who has just signed in, in ``browser``.

    Parameters
    ----------
    actor
        The user who signed in (a person's account: the system actor has no browser).
    browser
        The browser's random ``io_browser`` cookie: only a request carrying it can claim
        the ticket.
    now, lifetime
        The time of the sign-in (tests) and how long the session may last at most.

    Returns
    -------
    Started
        The row's id, for the app to end it on sign-out, and the ticket for the page.
    """
    verify_actor(session, actor)
    if actor.user_id is None:
        raise AccessDenied("only a person's account can keep a browser signed in")
    if not browser:
        raise ValueError("a session needs the browser's cookie")
    now = now or utcnow()
    ticket = secrets.token_urlsafe(_TOKEN_BYTES)
    row = UserSession(
        user_id=actor.user_id,
        # Nobody holds a token yet: this is the hash of one that was never kept.
        token_hash=_sha256(secrets.token_urlsafe(_TOKEN_BYTES)),
        ticket_hash=_ticket_hash(ticket, browser),
        ticket_expires_at=now + TICKET_LIFETIME,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return Started(session_id=row.id, ticket=ticket)


def claim_ticket(
    session: Session,
    *,
    ticket: str,
    browser: str | None,
    idle_minutes: float,
    now: dt.datetime | None = None,
) -> str | None:
    """Exchange a page's ticket for the session's token, once; None if it cannot be had.

    Nothing is given for a ticket that is unknown, expired, already used or posted by
    another browser, nor for a session that has ended in the meantime. The returned token
    goes into the cookie (:func:`cookie_value`) and nowhere else; only its hash is kept.
    """
    if not ticket or not browser or len(ticket) > _MAX_COOKIE_LENGTH:
        return None
    now = now or utcnow()
    row = session.scalar(
        select(UserSession)
        .where(UserSession.ticket_hash == _ticket_hash(ticket, browser))
        .with_for_update()
    )
    if row is None:
        return None
    expired = row.ticket_expires_at is None or row.ticket_expires_at <= now
    # Once tried, a ticket is spent, whatever the answer.
    row.ticket_hash = None
    row.ticket_expires_at = None
    user = session.get(User, row.user_id)
    if expired or not _usable(row, user, now=now, idle=dt.timedelta(minutes=idle_minutes)):
        return None
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row.token_hash = _sha256(token)
    return token


def resume(
    session: Session, *, token: str, idle_minutes: float, now: dt.datetime | None = None
) -> Resumed | None:
    """The user of a still-valid session token (from a signature-checked cookie), or None.

    Marks the session as seen now. A session that can no longer be used is revoked, so that
    it is never resumed later either.
    """
    if not token:
        return None
    now = now or utcnow()
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == _sha256(token)).with_for_update()
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not _usable(row, user, now=now, idle=dt.timedelta(minutes=idle_minutes)):
        if row.revoked_at is None:
            row.revoked_at = now
        return None
    row.last_seen_at = now
    actor = actor_for(session, user)
    audit.record(session, actor=actor, action=audit.Action.RESUME_SESSION)
    return Resumed(actor=actor, session_id=row.id, signed_in_at=row.created_at)


def is_open(
    session: Session, *, session_id: int, user_id: int, now: dt.datetime | None = None
) -> bool:
    """Whether session ``session_id`` of ``user_id`` is neither revoked nor past its lifetime.

    The idle limit is not checked here: the app keeps its own, and ``last_seen_at`` is only
    written once a minute (:data:`TOUCH_EVERY`).
    """
    now = now or utcnow()
    row = session.execute(
        select(UserSession.user_id, UserSession.revoked_at, UserSession.expires_at).where(
            UserSession.id == session_id
        )
    ).first()
    return (
        row is not None
        and row.user_id == user_id
        and row.revoked_at is None
        and row.expires_at > now
    )


def touch(
    session: Session,
    *,
    actor: Actor,
    session_id: int,
    idle_minutes: float,
    now: dt.datetime | None = None,
) -> bool:
    """Record activity on the actor's own session; False if it is not theirs or has ended.

    Another user's session id is treated as unknown: nothing is changed or revealed.
    """
    verify_actor(session, actor)
    now = now or utcnow()
    row = session.get(UserSession, session_id)
    if row is None or actor.user_id is None or row.user_id != actor.user_id:
        return False
    user = session.get(User, row.user_id)
    if not _usable(row, user, now=now, idle=dt.timedelta(minutes=idle_minutes)):
        return False
    row.last_seen_at = now
    return True


def end_session(
    session: Session, *, actor: Actor, session_id: int, now: dt.datetime | None = None
) -> None:
    """Sign out: revoke the actor's own session ``session_id`` (another user's is left alone)."""
    verify_actor(session, actor)
    row = session.get(UserSession, session_id)
    if row is None or actor.user_id is None or row.user_id != actor.user_id:
        return
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        row.ticket_hash = None
        row.ticket_expires_at = None
        audit.record(session, actor=actor, action=audit.Action.SIGN_OUT)


def end_session_with_token(session: Session, *, token: str, now: dt.datetime | None = None) -> None:
    """Revoke the session of a signature-checked cookie (the server's ``/session/end``): the
    token itself is the proof, as it is for :func:`resume`."""
    if not token:
        return
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _sha256(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), ticket_hash=None, ticket_expires_at=None)
    )


def revoke_all(session: Session, *, user_id: int, now: dt.datetime | None = None) -> int:
    """Revoke every session of one account ("sign out everywhere"); how many were open.

    Called by :func:`data.accounts.sign_out_everywhere`, which checks and audits; a disabled
    account or a password reset ends sessions through ``sessions_valid_after`` as well.
    """
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), ticket_hash=None, ticket_expires_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
