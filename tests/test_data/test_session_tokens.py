"""Sessions that survive a reload (issue 12, "A reload signs you out"): a signed, expiring,
revocable token, on SQLite and PostgreSQL.

Every way a cookie or a ticket must fail is a test here: a tampered signature, the absolute
lifetime, the idle limit, sign out, sign out everywhere, a disabled account, another
browser's ticket, a ticket used twice or too late.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data import sessions
from data.access import Actor
from data.account_admin import set_user_active
from data.accounts import sign_out_everywhere
from data.models import UserSession, utcnow
from tests.conftest import World
from tests.test_data.builders import _user_id

SECRET = b"a test key that is long enough to sign with, 48 chars"
IDLE = 30.0  # minutes
BROWSER = "browser-of-the-person-who-signed-in"


def _signed_in(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> tuple[int, str]:
    """Sign in as the page does: start, then claim the ticket; the row's id and the cookie."""
    at = at or utcnow()
    started = sessions.start_session(session, actor=actor, browser=BROWSER, now=at)
    token = sessions.claim_ticket(
        session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE, now=at
    )
    assert token is not None
    return started.session_id, sessions.cookie_value(token, secret=SECRET)


def _resume(
    session: Session, cookie: str, *, at: dt.datetime | None = None, idle: float = IDLE
) -> sessions.Resumed | None:
    token = sessions.token_from_cookie(cookie, secret=SECRET)
    if token is None:
        return None
    return sessions.resume(session, token=token, idle_minutes=idle, now=at)


@pytest.mark.parametrize("who", ["clinician_a", "patient_a1", "admin_a"])
def test_a_reload_finds_the_signed_in_user_again(session: Session, world: World, who: str) -> None:
    actor: Actor = getattr(world, who)
    signed_in = utcnow()
    session_id, cookie = _signed_in(session, actor, at=signed_in)
    later = signed_in + dt.timedelta(minutes=10)
    resumed = _resume(session, cookie, at=later)
    assert resumed is not None
    assert resumed.actor == actor  # a patient's own record id included
    assert resumed.session_id == session_id
    assert resumed.signed_in_at == signed_in
    assert session.get(UserSession, session_id).last_seen_at == later  # type: ignore[union-attr]


def test_only_hashes_are_stored(session: Session, world: World) -> None:
    started = sessions.start_session(session, actor=world.clinician_a, browser=BROWSER)
    token = sessions.claim_ticket(
        session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE
    )
    assert token is not None
    row = session.get(UserSession, started.session_id)
    assert row is not None
    stored = (row.token_hash, row.ticket_hash)
    assert token not in stored and started.ticket not in stored
    assert len(row.token_hash) == 64


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-1] + ("0" if value[-1] != "0" else "1"),  # signature changed
        lambda value: ("y" if value[0] == "x" else "x") + value[1:],  # token changed
        lambda value: value.rpartition(".")[0],  # no signature
        lambda value: value + "." + "0" * 64,  # another dot and signature
        lambda value: "",
        lambda value: "." * 300,
    ],
    ids=["signature", "token", "unsigned", "doubled", "empty", "long"],
)
def test_a_tampered_cookie_is_refused_without_the_database(
    session: Session, world: World, tamper
) -> None:  # type: ignore[no-untyped-def]
    _, cookie = _signed_in(session, world.clinician_a)
    # token_from_cookie takes no database session: a refusal here cannot have read anything.
    assert sessions.token_from_cookie(tamper(cookie), secret=SECRET) is None
    assert _resume(session, cookie) is not None  # the genuine cookie still works


def test_a_cookie_signed_with_another_key_is_refused(session: Session, world: World) -> None:
    _, cookie = _signed_in(session, world.clinician_a)
    assert sessions.token_from_cookie(cookie, secret=SECRET + b"!") is None


def test_a_session_ends_at_its_lifetime_however_active(session: Session, world: World) -> None:
    start = utcnow()
    session_id, cookie = _signed_in(session, world.clinician_a, at=start)
    # Active every 20 minutes for the whole day: still over after 12 hours.
    at = start
    while at < start + sessions.SESSION_LIFETIME - dt.timedelta(minutes=20):
        at += dt.timedelta(minutes=20)
        assert sessions.touch(
            session, actor=world.clinician_a, session_id=session_id, idle_minutes=IDLE, now=at
        )
    assert _resume(session, cookie, at=start + sessions.SESSION_LIFETIME) is None


def test_a_session_ends_after_the_idle_limit(session: Session, world: World) -> None:
    start = utcnow()
    _, cookie = _signed_in(session, world.clinician_a, at=start)
    assert _resume(session, cookie, at=start + dt.timedelta(minutes=IDLE - 1)) is not None
    # Idle since that resume: one minute past the limit.
    assert _resume(session, cookie, at=start + dt.timedelta(minutes=2 * IDLE)) is None
    # Ended for good: it does not come back within a longer limit either.
    assert _resume(session, cookie, at=start + dt.timedelta(minutes=2 * IDLE), idle=600) is None


def test_activity_keeps_a_session_from_idling(session: Session, world: World) -> None:
    start = utcnow()
    session_id, cookie = _signed_in(session, world.patient_a1, at=start)
    for minutes in (20, 40, 60):
        assert sessions.touch(
            session,
            actor=world.patient_a1,
            session_id=session_id,
            idle_minutes=IDLE,
            now=start + dt.timedelta(minutes=minutes),
        )
    assert _resume(session, cookie, at=start + dt.timedelta(minutes=80)) is not None


def test_signing_out_ends_the_session(session: Session, world: World) -> None:
    session_id, cookie = _signed_in(session, world.clinician_a)
    sessions.end_session(session, actor=world.clinician_a, session_id=session_id)
    assert _resume(session, cookie) is None
    assert not sessions.touch(
        session, actor=world.clinician_a, session_id=session_id, idle_minutes=IDLE
    )


def test_the_cookie_alone_can_end_its_session(session: Session, world: World) -> None:
    _, cookie = _signed_in(session, world.clinician_a)
    token = sessions.token_from_cookie(cookie, secret=SECRET)
    assert token is not None
    sessions.end_session_with_token(session, token=token)
    assert _resume(session, cookie) is None


def test_another_users_session_cannot_be_ended_or_touched(session: Session, world: World) -> None:
    session_id, cookie = _signed_in(session, world.clinician_a)
    sessions.end_session(session, actor=world.patient_a1, session_id=session_id)
    assert not sessions.touch(
        session, actor=world.patient_a1, session_id=session_id, idle_minutes=IDLE
    )
    assert _resume(session, cookie) is not None


def test_signing_out_everywhere_revokes_every_session(session: Session, world: World) -> None:
    first_id, first = _signed_in(session, world.clinician_a)
    _, second = _signed_in(session, world.clinician_a)
    _, someone_else = _signed_in(session, world.patient_a1)
    sign_out_everywhere(session, actor=world.clinician_a)
    assert _resume(session, first) is None and _resume(session, second) is None
    assert session.get(UserSession, first_id).revoked_at is not None  # type: ignore[union-attr]
    assert _resume(session, someone_else) is not None
    # A new sign-in afterwards works as usual.
    _, fresh = _signed_in(session, world.clinician_a, at=utcnow() + dt.timedelta(seconds=1))
    assert _resume(session, fresh) is not None


def test_a_disabled_account_is_not_resumed(session: Session, world: World) -> None:
    _, cookie = _signed_in(session, world.patient_a1)
    set_user_active(session, actor=world.admin_a, user_id=_user_id(world.patient_a1), active=False)
    assert _resume(session, cookie) is None
    # Enabling the account again does not bring the session back.
    set_user_active(session, actor=world.admin_a, user_id=_user_id(world.patient_a1), active=True)
    assert _resume(session, cookie) is None


def test_another_browsers_ticket_gives_nothing(session: Session, world: World) -> None:
    started = sessions.start_session(session, actor=world.clinician_a, browser=BROWSER)
    # The patient's browser posts the clinician's ticket (seen over a shoulder, say).
    stolen = sessions.claim_ticket(
        session, ticket=started.ticket, browser="the-patients-browser", idle_minutes=IDLE
    )
    assert stolen is None
    assert (
        sessions.claim_ticket(session, ticket=started.ticket, browser=None, idle_minutes=IDLE)
        is None
    )
    # The browser that signed in still gets its cookie.
    assert (
        sessions.claim_ticket(session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE)
        is not None
    )


def test_a_ticket_is_used_once(session: Session, world: World) -> None:
    started = sessions.start_session(session, actor=world.patient_a1, browser=BROWSER)
    first = sessions.claim_ticket(
        session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE
    )
    again = sessions.claim_ticket(
        session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE
    )
    assert first is not None and again is None
    assert _resume(session, sessions.cookie_value(first, secret=SECRET)) is not None


def test_an_expired_ticket_gives_nothing(session: Session, world: World) -> None:
    start = utcnow()
    started = sessions.start_session(session, actor=world.clinician_a, browser=BROWSER, now=start)
    late = start + sessions.TICKET_LIFETIME + dt.timedelta(seconds=1)
    assert (
        sessions.claim_ticket(
            session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE, now=late
        )
        is None
    )
    # Spent by the late try: not claimable afterwards either.
    assert (
        sessions.claim_ticket(
            session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE, now=start
        )
        is None
    )


def test_a_ticket_of_a_session_signed_out_meanwhile_gives_nothing(
    session: Session, world: World
) -> None:
    started = sessions.start_session(session, actor=world.clinician_a, browser=BROWSER)
    sessions.end_session(session, actor=world.clinician_a, session_id=started.session_id)
    assert (
        sessions.claim_ticket(session, ticket=started.ticket, browser=BROWSER, idle_minutes=IDLE)
        is None
    )


def test_the_operator_has_no_browser_session(session: Session, world: World) -> None:
    from data.errors import AccessDenied

    with pytest.raises(AccessDenied):
        sessions.start_session(session, actor=world.system_a, browser=BROWSER)
    assert session.scalar(select(UserSession.id)) is None


def test_the_key_is_made_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTCOMES_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    key = sessions.secret_key(database_url=url)
    assert len(key) >= sessions.MIN_SECRET_LENGTH
    assert sessions.secret_key(database_url=url) == key  # the same for every process
    path = tmp_path / "clinic.db-session-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_configured_key_wins_and_a_short_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", "k" * 40)
    assert sessions.secret_key(database_url=url) == b"k" * 40
    assert not (tmp_path / "clinic.db-session-key").exists()
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="at least 32"):
        sessions.secret_key(database_url=url)


def test_signing_out_in_one_tab_ends_the_others(session: Session, world: World) -> None:
    """Tabs that resumed one browser session share its row: when it is revoked, the check
    each page makes before drawing (``session_still_valid``) fails in every tab."""
    from data.accounts import session_still_valid

    signed_in = utcnow()
    session_id, cookie = _signed_in(session, world.clinician_a, at=signed_in)
    other_tab = _resume(session, cookie)
    assert other_tab is not None

    def valid() -> bool:
        return session_still_valid(
            session, actor=world.clinician_a, signed_in_at=signed_in, session_id=session_id
        )

    assert valid()
    sessions.end_session(session, actor=world.clinician_a, session_id=session_id)
    assert not valid()
    # Another user's session id is not this user's session.
    patient_session, _ = _signed_in(session, world.patient_a1)
    assert not session_still_valid(
        session, actor=world.clinician_a, signed_in_at=signed_in, session_id=patient_session
    )


def test_a_session_past_its_lifetime_fails_the_page_check(session: Session, world: World) -> None:
    start = utcnow() - sessions.SESSION_LIFETIME - dt.timedelta(seconds=1)
    session_id, _ = _signed_in(session, world.clinician_a, at=start)
    assert not sessions.is_open(session, session_id=session_id, user_id=_user_id(world.clinician_a))
