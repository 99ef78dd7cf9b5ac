"""Clinic settings: what the crisis panel says and dials, the clinic's hours, its time zone."""

from __future__ import annotations

import streamlit as st

from dashboard import resources, state
from dashboard.crisis import show_crisis_panel
from dashboard.plain import literal
from data.clinic import (
    DEFAULT_CRISIS_CALL_NUMBER,
    DEFAULT_CRISIS_TEXT_NUMBER,
    DEFAULT_EMERGENCY_NUMBER,
    MAX_CLINIC_HOURS,
    MAX_CRISIS_TEXT,
    clinic_config,
    default_crisis_text,
    set_crisis_contacts,
)
from data.errors import AccessDenied, InvalidInput

SAVED = "clinic_settings_saved"

actor = state.require_actor()
if actor.role != "administrator":
    # The page is only in an administrator's menu; the data layer refuses the change anyway.
    st.error("Clinic settings are changed by the clinic's administrator.")
    st.stop()
st.title("Clinic settings", anchor=False)
if st.session_state.pop(SAVED, False):
    st.success("Saved. Patients see the new crisis panel from their next check-in.")

with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)

st.header("Crisis panel", anchor=False)
st.markdown(
    "A patient whose check-in answer shows a risk of self-harm sees this panel at once. Say "
    "honestly what happens next: when your care team reads alerts, and whom to call in danger "
    "now. Numbers are digits only; leave a field empty for the default."
)
with st.form("crisis_settings"):
    call = st.text_input(
        f"Crisis line to call (default {DEFAULT_CRISIS_CALL_NUMBER})",
        value=config.crisis_call_number,
        max_chars=15,
    )
    text = st.text_input(
        f"Crisis line to text (default {DEFAULT_CRISIS_TEXT_NUMBER})",
        value=config.crisis_text_number,
        max_chars=15,
    )
    emergency = st.text_input(
        f"Emergency number (default {DEFAULT_EMERGENCY_NUMBER})",
        value=config.emergency_number,
        max_chars=15,
    )
    hours = st.text_input(
        "Clinic hours: when your care team reads alerts",
        value=config.clinic_hours or "",
        max_chars=MAX_CLINIC_HOURS,
        placeholder="e.g. Monday to Friday, 8 am to 6 pm",
    )
    own_text = st.text_area(
        "The panel's text (leave empty for the default text below)",
        value=config.crisis_text if config.custom_crisis_text else "",
        max_chars=MAX_CRISIS_TEXT,
    )
    st.markdown(
        "**Default text** (with the numbers and hours above): "
        + literal(
            default_crisis_text(
                clinic_hours=config.clinic_hours,
                call_number=config.crisis_call_number,
                text_number=config.crisis_text_number,
                emergency_number=config.emergency_number,
            )
        )
    )
    submitted = st.form_submit_button("Save", type="primary")

if submitted:
    try:
        with resources.session_scope(write=True) as session:
            set_crisis_contacts(
                session,
                actor=actor,
                crisis_call_number=call,
                crisis_text_number=text,
                emergency_number=emergency,
                clinic_hours=hours,
                crisis_text=own_text,
            )
    except (InvalidInput, AccessDenied) as refused:
        problems = refused.problems if isinstance(refused, InvalidInput) else (str(refused),)
        st.error(
            "Nothing was saved. Please correct:\n\n"
            + "\n".join(f"- {literal(problem)}" for problem in problems)
        )
    else:
        st.session_state[SAVED] = True
        st.rerun()

st.header("What a patient sees", anchor=False)
show_crisis_panel(config, bring_into_view=False)

st.header("Time zone", anchor=False)
st.markdown(
    f"Staff enter infusion times in the clinic's time zone, **{literal(config.time_zone)}**. "
    "It is set once by whoever set up the clinic's server (`outcomes set-time-zone`), since "
    "changing it changes how every time typed afterwards is read."
)
