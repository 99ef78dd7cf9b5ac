"""Infusion Outcomes: the entry point routes each role to its own pages."""

from __future__ import annotations

import streamlit as st

from dashboard import navigation, resources, state
from data.accounts import session_still_valid, sign_out_everywhere
from data.engine import database_unavailable
from data.errors import AccessDenied
from data.settings import Settings

DISCLAIMER = (
    "Clinical decision support, not a diagnosis: scores and outcome markers inform your care "
    "team's judgement and never replace it."
)
UNAVAILABLE = (
    "The clinic's records cannot be reached just now. Nothing you have entered is lost: "
    "please try again in a moment."
)
unavailable_shown = False


def show_unavailable(error: Exception) -> None:
    """Say once that the database is unreachable; any other error is a bug and propagates."""
    global unavailable_shown
    if not database_unavailable(error):
        raise error
    if not unavailable_shown:
        st.error(UNAVAILABLE, icon=":material/cloud_off:")
        unavailable_shown = True


st.set_page_config(page_title="Infusion Outcomes", page_icon=":material/monitoring:", layout="wide")

actor = state.current_actor()
if actor is not None:
    expired = state.idle_expired(Settings().session_idle_minutes)
    try:
        with resources.session_scope() as session:
            valid = session_still_valid(session, actor=actor, signed_in_at=state.signed_in_at())
    except AccessDenied:
        valid = False
    except Exception as error:
        # Cannot check now: the page may still draw what it holds (a patient's unsaved
        # answers); every data function re-checks the actor before it reads or writes.
        show_unavailable(error)
        valid = True
    if expired or not valid:
        state.sign_out(
            "You were signed out after a period of inactivity."
            if expired
            else "Your session has ended. Please sign in again."
        )
        actor = None

if actor is None:
    page = st.navigation(
        [st.Page(str(navigation.PAGES / "signin.py"), title="Sign in", icon=":material/login:")],
        position="hidden",
    )
else:
    page = st.navigation(navigation.pages_for(actor.role))
    with st.sidebar:
        st.markdown(f"**{actor.username}** · {actor.role}")
        if st.button("Sign out", key="sign_out"):
            state.sign_out("You are signed out.")
            st.rerun()
        if st.button("Sign out everywhere", key="sign_out_everywhere"):
            try:
                with resources.session_scope(write=True) as session:
                    sign_out_everywhere(session, actor=actor)
            except Exception as error:
                show_unavailable(error)
            else:
                state.sign_out("You are signed out on every device.")
                st.rerun()
        st.caption(DISCLAIMER)
try:
    page.run()
except AccessDenied as denied:
    # The data layer refused: say so plainly (a page never gets the records).
    st.error(f"Not available: {denied}")
except Exception as error:
    show_unavailable(error)
