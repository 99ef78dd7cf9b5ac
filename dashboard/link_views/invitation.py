"""An invitation link's page: choose a password (the patient password rules), then sign in.

:func:`data.notify.invitations.accept_invitation` checks the rules, makes or updates the
sign-in and uses the link up; the username is shown once here, as a slip from the clinic
would show it.
"""

from __future__ import annotations

import streamlit as st

from dashboard import resources
from dashboard.link_views.common import RESULT, leave_link
from dashboard.plain import literal
from data.engine import DAMAGED_MESSAGE, database_damaged
from data.errors import AccessDenied, InvalidInput
from data.notify.invitations import accept_invitation
from data.notify.links import OpenedLink
from data.password_policy import PATIENT_MIN_PASSWORD_LENGTH


def show_invitation(opened: OpenedLink, token: str) -> None:
    """The password form, or the username to sign in with once the password is set."""
    result = st.session_state.get(RESULT)
    if isinstance(result, dict) and result.get("link_id") == opened.link_id:
        st.title("Your password is set", anchor=False)
        st.success("You can now sign in to check in and see your progress.")
        st.markdown("Your username (write it down; you sign in with it):")
        st.code(str(result.get("username", "")), language=None)
        leave_link()
        return
    st.title("Set your password", anchor=False)
    st.markdown(
        f"Choose a password of at least {PATIENT_MIN_PASSWORD_LENGTH} characters that you do "
        "not use anywhere else. A few unrelated words make a good one."
    )
    with st.form("link_invitation"):
        password = st.text_input("New password", type="password", key="link_password")
        again = st.text_input("The same password again", type="password", key="link_again")
        submitted = st.form_submit_button("Set my password", type="primary")
    if not submitted:
        return
    if password != again:
        st.error("The two passwords are not the same; please type them again.")
        return
    try:
        with resources.session_scope(write=True) as session:
            username = accept_invitation(session, token=token, password=password)
    except InvalidInput as refused:
        st.error(
            "Please choose another password:\n\n"
            + "\n".join(f"- {literal(problem)}" for problem in refused.problems)
        )
        return
    except AccessDenied as denied:
        st.error(literal(denied))
        leave_link()
        return
    except Exception as error:
        if not database_damaged(error):
            st.error(
                "Your password could not be set just now: the clinic's records are "
                "unreachable. Please try again in a moment."
            )
        else:
            st.error(DAMAGED_MESSAGE)
        return
    st.session_state[RESULT] = {"link_id": opened.link_id, "username": username}
    st.rerun()
