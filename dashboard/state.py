"""Typed access to the signed-in user in Streamlit's session state.

The actor kept here is never trusted on its own: every data function re-checks it against
the user's row (``data.access.verify_actor``), so a forged session value reads nothing.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

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


def sign_out(message: str | None = None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state[FLASH] = message


def signed_in_at() -> dt.datetime:
    value = st.session_state.get(SIGNED_IN_AT)
    return value if isinstance(value, dt.datetime) else now()


def idle_expired(idle_minutes: int) -> bool:
    """True if the session sat idle too long; otherwise marks it as seen now."""
    last = st.session_state.get(LAST_SEEN)
    if isinstance(last, dt.datetime) and now() - last > dt.timedelta(minutes=idle_minutes):
        return True
    st.session_state[LAST_SEEN] = now()
    return False


def pop_flash() -> str | None:
    message = st.session_state.pop(FLASH, None)
    return message if isinstance(message, str) else None
