"""Users: create accounts, disable them, reset passwords."""

from __future__ import annotations

import streamlit as st

from dashboard import resources, state
from data.accounts import create_user, list_users, reset_password, set_user_active
from data.errors import AccessDenied, InvalidInput

actor = state.require_actor()
st.title("Users")

with resources.session_scope() as session:
    users = list_users(session, actor=actor)
st.dataframe(users, hide_index=True, width="stretch")


def attempt(action: str, run) -> None:  # type: ignore[no-untyped-def]
    try:
        with resources.session_scope(write=True) as session:
            run(session)
    except (InvalidInput, AccessDenied) as refused:
        st.error(str(refused))
    else:
        st.success(action)


with st.form("create_user", clear_on_submit=True):
    st.subheader("Create an account")
    username = st.text_input("Username")
    display_name = st.text_input("Full name")
    role = st.selectbox("Role", ["clinician", "administrator", "patient"])
    password = st.text_input("Temporary password (8+ characters)", type="password")
    if st.form_submit_button("Create", type="primary"):
        attempt(
            f"Account {username} created.",
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
