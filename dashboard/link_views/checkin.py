"""A check-in link's page: that check-in's questionnaires and nothing else, then a thank-you.

The form is the check-in page's own (:mod:`dashboard.forms`: the questions, the marks of
unanswered ones, the summary above the button). The answers are stored by
:func:`data.checkin.submit_checkin` as the link's actor, which may store only this check-in
and uses the link up in the same transaction; no history or score is shown here: that needs
a full sign-in.
"""

from __future__ import annotations

import uuid

import streamlit as st

from dashboard import forms, resources
from dashboard.crisis import show_crisis_panel
from dashboard.link_views.common import RESULT, leave_link
from dashboard.plain import literal
from data.checkin import submit_checkin
from data.clinic import ClinicConfig
from data.engine import DAMAGED_MESSAGE, database_damaged
from data.errors import AccessDenied, InvalidInput
from data.notify.links import OpenedLink
from outcomes.instruments import Instrument, get_instrument

FORM_ID = "link_checkin_form_id"
MISSING = "link_checkin_missing"


def show_link_checkin(opened: OpenedLink, config: ClinicConfig) -> None:
    """The link's check-in form, or its thank-you once stored."""
    result = st.session_state.get(RESULT)
    if isinstance(result, dict) and result.get("link_id") == opened.link_id:
        show_thank_you(config, safety=bool(result.get("safety")))
        return
    st.title("Your check-in", anchor=False)
    instruments = [get_instrument(i) for i in opened.instruments]
    st.markdown(
        "Answer about the last two weeks. Every question needs an answer. This link opens "
        "this check-in only; sign in to see your progress."
    )
    form_id = st.session_state.setdefault(FORM_ID, uuid.uuid4().hex)
    missing = forms.still_unanswered(st.session_state.get(MISSING, {}), form_key=form_id)
    first_missing = forms.first_with_unanswered(instruments, missing)
    with st.form("link_checkin"):
        all_answers = {}
        for instrument in instruments:
            st.header(instrument.name, anchor=False)
            all_answers[instrument.id] = forms.render(
                instrument,
                key_prefix=f"{form_id}:{instrument.id}",
                missing=missing.get(instrument.id, ()),
                scroll_here=instrument.id == first_missing,
            )
        forms.show_unanswered_summary(instruments, missing)
        submitted = st.form_submit_button("Submit check-in", type="primary")
    if not submitted:
        return
    missing = {i.id: forms.unanswered_keys(i, all_answers[i.id]) for i in instruments}
    st.session_state[MISSING] = {k: keys for k, keys in missing.items() if keys}
    if any(missing.values()):
        st.rerun()  # the form again, each unanswered question marked
    save(opened, config, instruments, form_id, all_answers)


def save(
    opened: OpenedLink,
    config: ClinicConfig,
    instruments: list[Instrument],
    form_id: str,
    all_answers: dict[str, dict[str, int | None]],
) -> None:
    """Store every questionnaire in one transaction (the link is used up with them)."""
    try:
        with resources.session_scope(write=True) as session:
            results = [
                submit_checkin(
                    session,
                    actor=opened.actor,
                    patient_id=opened.patient_id,
                    instrument=instrument.id,
                    answers=all_answers[instrument.id],
                    idempotency_key=f"{form_id}:{instrument.id}",
                )
                for instrument in instruments
            ]
    except InvalidInput as refused:
        if refused.flags:
            show_crisis_panel(config)
        st.error("Your answers could not be saved: " + literal("; ".join(refused.problems)))
        return
    except AccessDenied as denied:
        st.error(f"Your answers could not be saved: {literal(denied)}.")
        leave_link()
        return
    except Exception as error:
        if database_damaged(error):
            st.error(DAMAGED_MESSAGE)
            return
        st.error(
            "Your check-in could not be saved just now: the clinic's records are unreachable. "
            "Your answers are still here; please press Submit again in a moment."
        )
        return
    st.session_state[RESULT] = {
        "link_id": opened.link_id,
        "safety": any(r.alert_ids for r in results),
    }
    st.session_state.pop(FORM_ID, None)
    st.session_state.pop(MISSING, None)
    st.rerun()


def show_thank_you(config: ClinicConfig, *, safety: bool) -> None:
    """After the answers are stored: crisis help first if they raised an alert, then thanks."""
    if safety:
        show_crisis_panel(config)
    st.title("Thank you", anchor=False)
    st.success("Your answers are saved and your care team can see them.")
    st.markdown(
        "Sign in to see your progress over time. No sign-in yet? Ask the clinic to invite you."
    )
    leave_link()
