"""Users: create accounts, disable them, reset passwords."""

from __future__ import annotations

import streamlit as st

from dashboard import resources, state
from dashboard.plain import literal
from data.account_admin import create_user, list_users, reset_password, set_user_active
from data.errors import AccessDenied, InvalidInput
from data.password_policy import STAFF_MIN_PASSWORD_LENGTH

actor = state.require_actor()
st.title("Users")

with resources.session_scope() as session:
    users = list_users(session, actor=actor)
# Usernames and names are shown as plain text only (a data frame's cells, a select box's
# options, st.text), never inside Markdown such as st.success or st.error.
st.dataframe(users, hide_index=True, width="stretch")


def attempt(action: str, run) -> None:  # type: ignore[no-untyped-def]
    try:
        with resources.session_scope(write=True) as session:
            run(session)
    except (InvalidInput, AccessDenied) as refused:
        st.error(literal(refused))
    else:
        st.success(action)


with st.form("create_user", clear_on_submit=True):
    st.subheader("Create an account")
    username = st.text_input("Username")
    display_name = st.text_input("Full name")
    # Patients get their sign-in from their own record, never a free-standing account here.
    role = st.selectbox("Role", ["clinician", "administrator"])
    password = st.text_input(
        f"Temporary password ({STAFF_MIN_PASSWORD_LENGTH}+ characters)", type="password"
    )
    st.caption(
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

st.subheader("Manage an account")
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
