"""Typed access to the signed-in user in Streamlit's session state.

The actor kept here is never trusted on its own: every data function re-checks it against
the user's row (``data.access.verify_actor``), so a forged session value reads nothing.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import downloads
from data.access import Actor

ACTOR = "actor"
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
FLASH = "flash"
SELECTED_PATIENT = "selected_patient"


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


def sign_in(actor: Actor) -> None:
    st.session_state[ACTOR] = actor
    st.session_state[SIGNED_IN_AT] = now()
    st.session_state[LAST_SEEN] = now()


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
    downloads.forget_browser(browser_id())
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state[FLASH] = message


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
    if current_actor() is not None:
        downloads.mark_signed_in(browser_id(), idle_seconds=idle_minutes * 60)
    return False


def pop_flash() -> str | None:
    message = st.session_state.pop(FLASH, None)
    return message if isinstance(message, str) else None
