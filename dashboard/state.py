"""Typed access to the signed-in user in Streamlit's session state, and keeping them signed
in across a reload.

The actor kept here is never trusted on its own: every data function re-checks it against
the user's row (``data.access.verify_actor``), so a forged session value reads nothing.

A reload starts a new Streamlit session with an empty session state. So a sign-in also
starts a session row in the database (:mod:`data.sessions`), and the first signed-in page
hands the browser a one-time ticket that its script trades for an ``HttpOnly`` cookie
(:func:`hand_over_session_cookie`, ``/session/claim`` in :mod:`dashboard.server`). A new
Streamlit session reads that cookie (:func:`resume`) before the sign-in page would be shown.
Signing out, and the idle limit, revoke the row and drop the cookie.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging

import streamlit as st

from dashboard import downloads, resources
from data import sessions
from data.access import Actor
from data.engine import database_damaged, database_unavailable
from data.errors import AccessDenied

logger = logging.getLogger("dashboard.state")

ACTOR = "actor"
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
FLASH = "flash"
SELECTED_PATIENT = "selected_patient"
SESSION_ID = "session_id"  # the user_session row of this sign-in, if the browser keeps one
SESSION_TOUCHED = "session_touched"  # when last_seen_at was last written
SESSION_TICKET = "session_ticket"  # waiting for the page to trade it for the cookie
RESUME_TRIED = "resume_tried"  # the cookie was read once in this Streamlit session
DROP_COOKIE = "drop_session_cookie"  # the sign-in page asks the server to drop the cookie


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def current_actor() -> Actor | None:
    actor = st.session_state.get(ACTOR)
    return actor if isinstance(actor, Actor) else None


def require_actor() -> Actor:
    """The signed-in actor; stops the page if there is none."""
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in.")
        st.stop()
    return actor


def _database_trouble(error: Exception) -> bool:
    return database_unavailable(error) or database_damaged(error)


@functools.lru_cache(maxsize=4)
def _secret(database_url: str) -> bytes:
    return sessions.secret_key(database_url=database_url)


def cookie_secret() -> bytes:
    """The key that signs session cookies (``OUTCOMES_SECRET_KEY`` or the kept one)."""
    return _secret(resources.database_url())


def _session_cookie() -> str | None:
    try:
        value = st.context.cookies.get(sessions.SESSION_COOKIE)
    except Exception:  # no web request behind this run (AppTest, bare mode)
        return None
    return value if isinstance(value, str) and value else None


def sign_in(actor: Actor) -> None:
    """Keep ``actor`` signed in for this Streamlit session, and start a session row that a
    reload of this browser can resume (none without the browser's cookie)."""
    st.session_state[ACTOR] = actor
    st.session_state[SIGNED_IN_AT] = now()
    st.session_state[LAST_SEEN] = now()
    st.session_state[RESUME_TRIED] = True
    browser = browser_id()
    if browser is None:
        return  # cookies blocked: signed in until the next reload, as before
    try:
        with resources.session_scope(write=True) as session:
            started = sessions.start_session(session, actor=actor, browser=browser)
    except Exception as error:
        if not _database_trouble(error):
            raise
        logger.warning("no session row could be started: %s", type(error).__name__)
        return
    st.session_state[SESSION_ID] = started.session_id
    st.session_state[SESSION_TOUCHED] = now()
    st.session_state[SESSION_TICKET] = started.ticket


def resume(idle_minutes: float) -> Actor | None:
    """The user this browser's session cookie still signs in, once per Streamlit session.

    A cookie with a bad signature is refused before any database read. A cookie whose
    session has ended is dropped by the sign-in page.
    """
    if st.session_state.get(RESUME_TRIED):
        return None
    value = _session_cookie()
    if value is None:
        st.session_state[RESUME_TRIED] = True
        return None
    token = sessions.token_from_cookie(value, secret=cookie_secret())
    if token is None:
        st.session_state[RESUME_TRIED] = True
        st.session_state[DROP_COOKIE] = True
        return None
    try:
        with resources.session_scope(write=True) as session:
            resumed = sessions.resume(session, token=token, idle_minutes=idle_minutes)
    except Exception as error:
        if not _database_trouble(error):
            raise
        return None  # tried again on the next run; the sign-in page says what is wrong
    st.session_state[RESUME_TRIED] = True
    if resumed is None:
        st.session_state[DROP_COOKIE] = True
        return None
    st.session_state[ACTOR] = resumed.actor
    st.session_state[SIGNED_IN_AT] = resumed.signed_in_at
    st.session_state[LAST_SEEN] = now()
    st.session_state[SESSION_ID] = resumed.session_id
    st.session_state[SESSION_TOUCHED] = now()
    return resumed.actor


def _post(path: str, body: dict[str, str] | None = None) -> None:
    """A same-origin POST from the page (the session routes of :mod:`dashboard.server`)."""
    options = {
        "method": "POST",
        "credentials": "same-origin",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body or {}),
    }
    # json.dumps of our own values only (a URL-safe ticket); "</" cannot end the script.
    script = f"fetch({json.dumps(path)}, {json.dumps(options)});".replace("</", "<\\/")
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def hand_over_session_cookie() -> None:
    """On the first signed-in page: the script that trades the ticket for the cookie."""
    ticket = st.session_state.pop(SESSION_TICKET, None)
    if isinstance(ticket, str):
        _post("/session/claim", {"ticket": ticket})


def drop_session_cookie() -> None:
    """On the sign-in page after a sign-out: the script that drops the cookie."""
    if st.session_state.pop(DROP_COOKIE, None):
        _post("/session/end")


def browser_id() -> str | None:
    """This browser's random cookie (set by :mod:`dashboard.server`); None without one."""
    try:
        value = st.context.cookies.get(downloads.BROWSER_COOKIE)
    except Exception:  # no web request behind this run (AppTest, bare mode)
        return None
    return value if isinstance(value, str) and value else None


def client_address(*, trust_forwarded_for: bool) -> str | None:
    """The browser's network address, for the per-address sign-in throttle.

    Streamlit's is the TCP peer's (none for a connection from this machine, such as a proxy
    on the same host). Behind a trusted proxy (``OUTCOMES_TRUST_FORWARDED_FOR``) it is the
    last address of ``X-Forwarded-For``, the one the proxy itself wrote.
    """
    try:
        if trust_forwarded_for:
            forwarded = st.context.headers.get("X-Forwarded-For") or ""
            last = forwarded.split(",")[-1].strip()
            if last:
                return last
        address = st.context.ip_address
    except Exception:  # no web request behind this run (AppTest, bare mode)
        return None
    return address or None


def sign_out(message: str | None = None) -> None:
    """End the sign-in: revoke its session row, forget the browser, and have the sign-in
    page drop the cookie (which then also revokes the row if the database was away)."""
    actor = current_actor()
    session_id = st.session_state.get(SESSION_ID)
    if actor is not None and isinstance(session_id, int):
        try:
            with resources.session_scope(write=True) as session:
                sessions.end_session(session, actor=actor, session_id=session_id)
        except AccessDenied:
            pass  # a disabled or changed account: its sessions are over already
        except Exception as error:
            # The database is away: the sign-in page's script drops the cookie, and the
            # server revokes the row by it then (or the idle limit ends it).
            if not _database_trouble(error):
                raise
    downloads.forget_browser(browser_id())
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[RESUME_TRIED] = True
    st.session_state[DROP_COOKIE] = True
    if message:
        st.session_state[FLASH] = message


def session_id() -> int | None:
    """The ``user_session`` row of this sign-in (None when the browser keeps no session)."""
    value = st.session_state.get(SESSION_ID)
    return value if isinstance(value, int) else None


def signed_in_at() -> dt.datetime:
    value = st.session_state.get(SIGNED_IN_AT)
    return value if isinstance(value, dt.datetime) else now()


def idle_passed(idle_minutes: int) -> bool:
    """Whether the session has sat idle longer than ``idle_minutes`` (changes nothing)."""
    last = st.session_state.get(LAST_SEEN)
    return isinstance(last, dt.datetime) and now() - last > dt.timedelta(minutes=idle_minutes)


def idle_expired(idle_minutes: int) -> bool:
    """True if the session sat idle too long; otherwise marks it as seen now.

    While signed in, this browser may also receive prepared files until the idle limit
    (:func:`dashboard.downloads.mark_signed_in`).
    """
    if idle_passed(idle_minutes):
        return True
    st.session_state[LAST_SEEN] = now()
    actor = current_actor()
    if actor is not None:
        downloads.mark_signed_in(browser_id(), idle_seconds=idle_minutes * 60)
        _touch_session(actor, idle_minutes)
    return False


def _touch_session(actor: Actor, idle_minutes: float) -> None:
    """Record activity on the session row, at most once every ``sessions.TOUCH_EVERY``, so
    that a reload after a busy hour is not taken for an idle one."""
    session_id = st.session_state.get(SESSION_ID)
    touched = st.session_state.get(SESSION_TOUCHED)
    if not isinstance(session_id, int):
        return
    if isinstance(touched, dt.datetime) and now() - touched < sessions.TOUCH_EVERY:
        return
    st.session_state[SESSION_TOUCHED] = now()
    try:
        with resources.session_scope(write=True) as session:
            sessions.touch(session, actor=actor, session_id=session_id, idle_minutes=idle_minutes)
    except AccessDenied:
        pass  # the validity check that follows signs this user out
    except Exception as error:
        # The page goes on; the next touch is a minute away.
        if not _database_trouble(error):
            raise


def pop_flash() -> str | None:
    message = st.session_state.pop(FLASH, None)
    return message if isinstance(message, str) else None
