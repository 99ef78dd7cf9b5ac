"""Parts of a page that rerun on their own (``st.fragment``), and how they rerun.

Streamlit reruns a page's whole script on every click and key press that changes a widget.
A form drawn in a fragment reruns only itself: a press of its button that stores nothing
(answers missing) redraws the form and its marks without reading the patient's records
again or redrawing their charts. What is stored reruns the whole page
(``st.rerun(scope="app")``), so every part that shows the new record shows it.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard import resources, state
from data.access import Actor
from data.accounts import session_still_valid
from data.engine import database_unavailable
from data.errors import AccessDenied
from data.settings import Settings


def rerun_fragment() -> None:
    """Rerun the fragment this is called from, or the whole page when it runs as part of one.

    A fragment-scoped rerun is allowed only in a run of the fragment alone (a click in it);
    in a run of the whole page (the first draw, or Streamlit's AppTest, which runs the whole
    script for every interaction) Streamlit refuses it, and the page reruns instead, which
    draws the same thing.
    """
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun(scope="app")


def ensure_signed_in(actor: Actor) -> None:
    """Before a fragment writes: rerun the whole page if this sign-in has ended meanwhile.

    A run of a fragment alone skips the entry script, which checks on every run of the page
    that the session is neither idle too long nor ended (signed out everywhere, the account
    disabled). The page's run then signs the user out, and nothing is stored. Counts as
    activity, as a run of the page does. When the records cannot be reached just now, the
    write that follows says so.
    """
    if state.idle_expired(Settings().session_idle_minutes):
        st.rerun(scope="app")
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
        if not database_unavailable(error):
            raise
        valid = True
    if not valid:
        st.rerun(scope="app")
