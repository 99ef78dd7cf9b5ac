"""The parts every link page shares: leaving for the sign-in page, and a link that does not
open (used, expired, withdrawn, forged, a disabled sign-in) said plainly, never as an error
page."""

from __future__ import annotations

import streamlit as st

from data.notify.links import LINK_PARAMETER, RefusedLink

OPENED = "link_opened"  # token -> what it opened, once per Streamlit session
RESULT = "link_result"  # what the link's form stored, for its thank-you page

_AFTER: dict[str, str] = {
    "done": "Sign in to see your progress and your answers.",
    "used": "Sign in with your username and the password you chose.",
    "expired": (
        "The check-in or invitation it was for has closed. You will get a new link when your "
        "next check-in is due, or you can sign in to check in."
    ),
    "revoked": "The clinic has sent a newer link: please use that one, or sign in.",
    "disabled": "Please contact the clinic.",
    "forged": "If you copied it, check that nothing is missing; or sign in instead.",
    "unknown": "If you copied it, check that nothing is missing; or sign in instead.",
}


def leave_link(label: str = "Sign in", *, key: str = "link_sign_in") -> None:
    """A button to the normal sign-in page: the link's address and state are forgotten."""
    if st.button(label, key=key, type="primary"):
        st.query_params.pop(LINK_PARAMETER, None)
        for name in (OPENED, RESULT):
            st.session_state.pop(name, None)
        st.rerun()


def show_refused(refused: RefusedLink) -> None:
    """The plain page of a link that does not open: what happened and what to do now."""
    if refused.reason == "done":
        st.title("Check-in done", anchor=False)
        st.success(refused.message)
    else:
        st.title("This link does not open", anchor=False)
        if refused.reason in ("forged", "unknown", "disabled"):
            st.error(refused.message)
        else:
            st.warning(refused.message)
    st.markdown(_AFTER[refused.reason])
    leave_link()
