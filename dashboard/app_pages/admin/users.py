"""Users: create, disable and reset staff accounts, and set where safety alerts reach a staff
member (e-mail, mobile); patients' sign-ins come from their record.

After a change the page reruns at once, so the table and the account picker show the change
(they are read at the top of the page, before the form that changes them); the message of
the change is carried over the rerun in the session state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import resources, state
from dashboard.plain import literal
from data.account_admin import (
    create_user,
    list_users,
    reset_password,
    set_user_active,
    set_user_contact,
)
from data.errors import AccessDenied, InvalidInput
from data.password_policy import STAFF_MIN_PASSWORD_LENGTH

# The message of the change just made, shown once after the rerun that refreshes the table.
DONE = "users_page_done"

actor = state.require_actor()
st.title("Users", anchor=False)

with resources.session_scope() as session:
    users = list_users(session, actor=actor)
done = st.session_state.pop(DONE, None)
if isinstance(done, str):
    st.success(done)
# Usernames and names are shown as plain text only (a data frame's cells, a select box's
# options, st.text), never inside Markdown such as st.success or st.error.
st.dataframe(users, hide_index=True, width="stretch")


def attempt(action: str, run: Callable[[Any], object]) -> None:
    """Run one change in its own transaction; on success rerun so every list shows it."""
    try:
        with resources.session_scope(write=True) as session:
            run(session)
    except (InvalidInput, AccessDenied) as refused:
        st.error(literal(refused))
    else:
        st.session_state[DONE] = action
        st.rerun()


with st.form("create_user", clear_on_submit=True):
    st.header("Create a staff account", anchor=False)
    st.markdown("Patients get their sign-in from their record, on the **Register a patient** page.")
    username = st.text_input("Username")
    display_name = st.text_input("Full name")
    # Patients get their sign-in from their own record, never a free-standing account here.
    role = st.selectbox("Role", ["clinician", "administrator"])
    password = st.text_input(
        f"Temporary password ({STAFF_MIN_PASSWORD_LENGTH}+ characters)", type="password"
    )
    # Rules a person must read: body text, not a grey caption (issue 12, contrast).
    st.markdown(
        "A few unrelated words make a good password. Not accepted: the username, one "
        "character or a short run repeated, a sequence such as 123456, or a commonly used "
        "password."
    )
    if st.form_submit_button("Create", type="primary"):
        attempt(
            "The account was created.",
            lambda s: create_user(
                s,
                actor=actor,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
            ),
        )

st.header("Manage an account", anchor=False)
if not users.empty:
    labels = dict(zip(users["user_id"], users["username"], strict=True))
    chosen = st.selectbox("Account", list(labels), format_func=lambda u: labels[u])
    cols = st.columns(3)
    if cols[0].button("Disable"):
        attempt(
            "Account disabled.",
            lambda s: set_user_active(s, actor=actor, user_id=int(chosen), active=False),
        )
    if cols[1].button("Enable"):
        attempt(
            "Account enabled.",
            lambda s: set_user_active(s, actor=actor, user_id=int(chosen), active=True),
        )
    new_password = cols[2].text_input("New password", type="password", key="new_password")
    if cols[2].button("Reset password"):
        attempt(
            "Password reset; the account's sessions are ended.",
            lambda s: reset_password(
                s, actor=actor, user_id=int(chosen), new_password=new_password
            ),
        )

    roles = dict(zip(users["user_id"], users["role"], strict=True))
    if roles[chosen] != "patient":
        row = users[users["user_id"] == chosen].iloc[0]
        # Keyed by account: choosing another account shows its own details.
        with st.form(f"contact_{chosen}"):
            st.subheader("Where safety alerts reach this person", anchor=False)
            st.markdown(
                "An e-mail address and a mobile number with its country code "
                "(+1 212 555 0143); leave a field empty to remove it."
            )
            email = st.text_input(
                "E-mail", value=row["email"] if isinstance(row["email"], str) else ""
            )
            phone = st.text_input(
                "Mobile number", value=row["phone"] if isinstance(row["phone"], str) else ""
            )
            if st.form_submit_button("Save contact details"):
                attempt(
                    "Contact details saved.",
                    lambda s: set_user_contact(
                        s, actor=actor, user_id=int(chosen), email=email, phone=phone
                    ),
                )
