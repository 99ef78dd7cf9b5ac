"""Sign in with a username and password (argon2-verified in ``data``, throttled there).

The browser's address goes to the per-address throttle of :func:`data.accounts.sign_in`:
the TCP peer's, or behind the trusted reverse proxy of docs/deployment.md the one it writes
into ``X-Forwarded-For`` (:func:`dashboard.state.client_address`). Without either (a proxy on
the same machine that is not trusted) there is no per-address limit; the per-account lockout
and the app-wide verification slots still hold.
"""

from __future__ import annotations

import streamlit as st

from dashboard import resources, state
from data.accounts import authenticate_single_sign_on, sign_in
from data.bootstrap import demo_signins
from data.engine import DAMAGED_MESSAGE, database_damaged
from data.errors import SignInFailed
from data.settings import Settings

st.title("Infusion Outcomes")
st.caption(
    "Measurement-based care for ketamine treatment. Clinical decision support, not a diagnosis."
)
flash = state.pop_flash()
if flash:
    st.info(flash)
# After a sign-out or an ended session: the browser's session cookie is dropped too.
state.drop_session_cookie()

with resources.session_scope() as session:
    demo = demo_signins(session)
if demo:
    st.warning(
        "This is the **demo clinic**: every patient and score here is synthetic. "
        "Sign in with one of these accounts:"
    )
    # A data frame shows its cells as plain text, never as Markdown.
    st.dataframe(
        {
            "username": [s.username for s in demo],
            "password": [s.password for s in demo],
            "role": [s.role for s in demo],
            "what to try": [s.what_to_try for s in demo],
        },
        hide_index=True,
    )


def single_sign_on_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:
        return False


if single_sign_on_configured():
    if st.user.is_logged_in:
        try:
            with resources.session_scope(write=True) as session:
                try:
                    actor = authenticate_single_sign_on(session, email=str(st.user.email))
                except SignInFailed as failure:
                    refused: SignInFailed | None = failure
                else:
                    refused = None
        except Exception as error:
            st.error(
                DAMAGED_MESSAGE
                if database_damaged(error)
                else "The clinic's records cannot be reached right now. Please try again."
            )
        else:
            if refused is not None:
                st.error(str(refused))
                if st.button("Use another organisation account"):
                    st.logout()
            else:
                state.sign_in(actor)
                st.rerun()
    else:
        if st.button("Sign in with your organisation", type="primary"):
            st.login()
        st.caption("Or with a clinic username and password:")

with st.form("sign_in"):
    username = st.text_input("Username", key="username", autocomplete="username")
    password = st.text_input(
        "Password", key="password", type="password", autocomplete="current-password"
    )
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    try:
        # The password is checked outside any transaction; only the bookkeeping is written
        # (data.accounts.sign_in), so a flood of sign-ins does not hold up check-ins.
        try:
            actor = sign_in(
                resources.engine(),
                username=username,
                password=password,
                address=state.client_address(trust_forwarded_for=Settings().trust_forwarded_for),
            )
        except SignInFailed as failure:
            refused = failure
        else:
            refused = None
    except Exception as error:
        st.error(
            DAMAGED_MESSAGE
            if database_damaged(error)
            else "The clinic's records cannot be reached right now. Please try again shortly."
        )
    else:
        if refused is not None:
            st.error(str(refused))
        else:
            state.sign_in(actor)
            st.rerun()
