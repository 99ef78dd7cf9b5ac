"""Infusion Outcomes: the entry point routes each role to its own pages."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import look, navigation, resources, state
from dashboard.plain import literal
from data.accounts import session_still_valid, sign_out_everywhere
from data.engine import DAMAGED_MESSAGE, database_damaged, database_unavailable
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
    """Say once that the database is unreachable or damaged; any other error is a bug and
    propagates (to :func:`dashboard.server.show_plain_error`, never a traceback on screen)."""
    global unavailable_shown
    damaged = database_damaged(error)
    if not damaged and not database_unavailable(error):
        raise error
    if not unavailable_shown:
        if damaged:
            st.error(DAMAGED_MESSAGE, icon=":material/report:")
        else:
            st.error(UNAVAILABLE, icon=":material/cloud_off:")
        unavailable_shown = True


st.set_page_config(page_title="Infusion Outcomes", layout="wide")
look.apply_look()  # focus that shows, no Tab stop on a closed sidebar (dashboard/look.py)

IDLE_MINUTES = Settings().session_idle_minutes

# A one-tap link from a message (issue 14) opens its own page, whoever is signed in here:
# without a password, and nothing else of the app.
link = navigation.link_page()
if link is not None:
    try:
        st.navigation([link], position="hidden").run()
    except Exception as error:
        show_unavailable(error)
    st.stop()


@st.fragment(run_every=dt.timedelta(seconds=max(1.0, min(30.0, IDLE_MINUTES * 60 / 4))))
def end_when_idle() -> None:
    """Clear the screen once the idle limit passes, without waiting for the next click.

    Reruns on its own timer (a fragment run is not activity); once the limit has passed it
    reruns the whole app, which signs out and shows the sign-in page instead of the records.
    """
    if state.idle_passed(IDLE_MINUTES):
        st.rerun(scope="app")


# A reload starts with an empty session state: the browser's session cookie may resume it.
actor = state.current_actor() or state.resume(IDLE_MINUTES)
if actor is not None:
    expired = state.idle_expired(IDLE_MINUTES)
    try:
        with resources.session_scope() as session:
            valid = session_still_valid(
                session,
                actor=actor,
                signed_in_at=state.signed_in_at(),
                session_id=state.session_id(),
            )
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
        [st.Page(str(navigation.PAGES / "signin.py"), title="Sign in")],
        position="hidden",
    )
else:
    page = st.navigation(navigation.pages_for(actor.role))
    with st.sidebar:
        end_when_idle()
        # A username is whatever was typed when the account was made: plain text, never Markdown.
        st.text(f"{actor.username} · {actor.role}")
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
        navigation.phone_menu()
# After st.navigation, so that it wins over the page's Material icon: Streamlit fetches a
# Material favicon from a third-party server, an emoji one it draws itself.
st.set_page_config(page_icon="📊")
try:
    page.run()
except AccessDenied as denied:
    # The data layer refused: say so plainly (a page never gets the records).
    st.error(f"Not available: {literal(denied)}")
except Exception as error:
    show_unavailable(error)
finally:
    # After the page, in the main area (a phone's closed sidebar draws nothing): the browser
    # trades the ticket for the cookie once this page's reads are done. Sent while they ran,
    # the claim's write made SQLite refuse the page's audit write ("records cannot be
    # reached") on the first page after signing in.
    if actor is not None:
        state.hand_over_session_cookie()
