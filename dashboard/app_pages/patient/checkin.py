"""Weekly check-in: the clinic's questionnaires, the scores in plain words, crisis help."""

from __future__ import annotations

import datetime as dt
import uuid

import streamlit as st

from dashboard import forms, resources, scroll, state
from dashboard.crisis import show_crisis_panel
from dashboard.plain import describe_score, literal
from data.checkin import submit_checkin
from data.clinic import clinic_config
from data.engine import DAMAGED_MESSAGE, database_damaged, database_unavailable
from data.errors import AccessDenied, InvalidInput
from data.records.patient_record import patient_assessments, patient_infusions
from outcomes.instruments import get_instrument
from outcomes.worklist import next_checkin_due

FORM_ID = "checkin_form_id"
CONFIG = "checkin_clinic_config"  # the clinic's settings (no patient data), for an outage

actor = state.require_actor()
patient_id = actor.patient_id or 0
try:
    with resources.session_scope() as session:
        config = clinic_config(session, actor.clinic_id)
        infusions = patient_infusions(session, actor=actor, patient_id=patient_id)
        history = patient_assessments(session, actor=actor, patient_id=patient_id)
    st.session_state[CONFIG] = config
except Exception as error:
    # The records are unreachable: draw the form again from the clinic's last settings, so
    # that answers already given stay on screen (Streamlit forgets widgets it does not draw).
    if not database_unavailable(error) or CONFIG not in st.session_state:
        raise
    config = st.session_state[CONFIG]
    infusions = history = None

st.title("Weekly check-in")


def crisis_panel() -> None:
    show_crisis_panel(config)


def due_date() -> dt.date:
    first = infusions["administered_at"].min() if len(infusions) else None
    last = history["administered_at"].max() if len(history) else None
    return next_checkin_due(
        first_infusion=first.date() if first is not None else None,
        last_checkin=last.date() if last is not None else None,
        today=dt.date.today(),
        cadence_days=config.checkin_cadence_days,
    )


due = due_date() if infusions is not None else None


def show_due() -> None:
    if due is None:
        return  # unknown while the records are unreachable
    if due <= dt.date.today():
        st.info(f"A check-in is due now (since {due:%A %d %B}).")
    else:
        st.info(f"Your next check-in is due on **{due:%A %d %B}**.")


result = st.session_state.get("checkin_result")
if result is not None:
    # Only the outcome, on a short page: crisis help must be the first thing in view, not
    # above a fresh form the browser has scrolled past.
    scroll.open_at_top()
    if result["safety"]:
        crisis_panel()
    st.success("Thank you. Your answers are saved and your care team can see them.")
    for line in result["lines"]:
        st.markdown(f"- {line}")
    show_due()
    if st.button("Start another check-in"):
        del st.session_state["checkin_result"]
        st.rerun()
    st.stop()

show_due()

form_id = st.session_state.setdefault(FORM_ID, uuid.uuid4().hex)
instruments = [get_instrument(i) for i in config.checkin_instruments]
missing = forms.still_unanswered(st.session_state.get("checkin_missing", {}), form_key=form_id)
first_missing = forms.first_with_unanswered(instruments, missing)
with st.form("checkin"):
    st.caption("Answer about the last two weeks. Every question needs an answer.")
    all_answers = {}
    for instrument in instruments:
        st.subheader(instrument.name)
        all_answers[instrument.id] = forms.render(
            instrument,
            key_prefix=f"{form_id}:{instrument.id}",
            missing=missing.get(instrument.id, ()),
            scroll_here=instrument.id == first_missing,
        )
    forms.show_unanswered_summary(instruments, missing)
    submitted = st.form_submit_button("Submit check-in", type="primary")

if submitted:
    missing = {i.id: forms.unanswered_keys(i, all_answers[i.id]) for i in instruments}
    st.session_state["checkin_missing"] = {k: keys for k, keys in missing.items() if keys}
    if any(missing.values()):
        st.rerun()  # draw the form again with each unanswered question marked
    else:
        try:
            with resources.session_scope(write=True) as session:
                results = [
                    (
                        instrument,
                        submit_checkin(
                            session,
                            actor=actor,
                            patient_id=patient_id,
                            instrument=instrument.id,
                            answers=all_answers[instrument.id],
                            idempotency_key=f"{form_id}:{instrument.id}",
                        ),
                    )
                    for instrument in instruments
                ]
        except InvalidInput as refused:
            if refused.flags:
                crisis_panel()
            st.error("Your answers could not be saved: " + literal("; ".join(refused.problems)))
        except AccessDenied as denied:
            st.error(literal(denied))
        except Exception as error:
            if database_damaged(error):
                st.error(DAMAGED_MESSAGE)
                st.stop()
            st.error(
                "Your check-in could not be saved just now: the clinic's records are "
                "unreachable. Your answers are still here; please press Submit again in a "
                "moment."
            )
        else:
            st.session_state["checkin_result"] = {
                "safety": any(r.alert_ids for _, r in results),
                "lines": [describe_score(i, r.score) for i, r in results],
            }
            del st.session_state[FORM_ID]  # a fresh form (and idempotency key) next time
            st.rerun()
