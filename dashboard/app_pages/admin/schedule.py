"""Measurement schedules: per protocol, when patients are asked to check in (spec §4).

The administrator picks a protocol (or the clinic's default, for every protocol without a
schedule of its own), then says how many infusions make the induction and which points the
schedule has, with their questionnaires and days. The data layer checks the whole schedule
when it is saved (:func:`data.schedule.save_schedule`) and every patient it applies to gets
their "next due" moved at once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import resources, state
from dashboard.plain import literal
from data.errors import AccessDenied, InvalidInput
from data.schedule import protocol_schedules, save_schedule
from outcomes.instruments import get_instrument, instrument_ids
from outcomes.schedule import DEFAULT_SCHEDULE, KIND_LABELS, KINDS, schedule_json

SAVED = "schedule_page_saved"
SETTING_LABELS = {
    "days_before": "Days before the first infusion",
    "hours_before": "Hours before the infusion",
    "every_days": "Every how many days",
    "from_day": "From day (after the last induction infusion)",
    "to_day": "To day",
}

actor = state.require_actor()
if actor.role != "administrator":
    # The page is only in an administrator's menu; the data layer refuses the change anyway.
    st.error("Measurement schedules are set by the clinic's administrator.")
    st.stop()
st.title("Measurement schedules", anchor=False)
saved = st.session_state.pop(SAVED, None)
if isinstance(saved, str):
    st.success(saved)

with resources.session_scope() as session:
    listed = protocol_schedules(session, actor=actor)

st.markdown(
    "Each protocol's check-ins hang on its patients' infusions, recorded and booked: a "
    "baseline before the first, a check-in before each induction infusion, weekly between "
    "infusions, the end of induction (ORKA-1's 14 to 31 days), maintenance every four weeks "
    "and before each booster. A protocol without a schedule of its own uses the clinic's "
    "default."
)
choice = st.selectbox(
    "Protocol",
    ["", *listed.protocols],
    format_func=lambda p: "Clinic default (every other protocol)" if p == "" else p,
    key="schedule_protocol",
)
new_name = st.text_input(
    "Or a new protocol's name", max_chars=200, key="schedule_new_protocol"
).strip()
protocol = new_name or choice
current = listed.stored.get(protocol) or listed.stored.get("") or DEFAULT_SCHEDULE
if protocol not in listed.stored:
    origin = "the clinic's default" if "" in listed.stored else "the standard schedule"
    st.caption(f"No schedule of its own yet: showing {origin}.")
points: dict[str, Any] = {str(p["kind"]): p for p in schedule_json(current)}
defaults: dict[str, Any] = {str(p["kind"]): p for p in schedule_json(DEFAULT_SCHEDULE)}
questionnaires = list(instrument_ids())

with st.form(f"schedule_form_{protocol}"):
    induction = st.number_input(
        "Infusions in the induction",
        min_value=1,
        max_value=20,
        value=current.induction_infusions,
        step=1,
    )
    edited: list[dict[str, Any]] = []
    for kind in KINDS:
        stored = points.get(kind)
        point = stored or defaults[kind]
        st.subheader(KIND_LABELS[kind], anchor=False)
        included = st.checkbox("Include", value=stored is not None, key=f"{kind}_on")
        chosen = st.multiselect(
            "Questionnaires",
            questionnaires,
            default=[i for i in point["instruments"] if i in questionnaires],
            format_func=lambda i: get_instrument(i).name,
            key=f"{kind}_instruments",
        )
        values = {
            name: st.number_input(
                SETTING_LABELS[name],
                min_value=0,
                value=int(point[name]),
                step=1,
                key=f"{kind}_{name}",
            )
            for name in point
            if name in SETTING_LABELS
        }
        if included:
            edited.append({"kind": kind, "instruments": chosen, **values})
    submitted = st.form_submit_button("Save schedule", type="primary")

if submitted:
    try:
        with resources.session_scope(write=True) as session:
            save_schedule(
                session,
                actor=actor,
                protocol=protocol,
                induction_infusions=int(induction),
                points=edited,
            )
    except (InvalidInput, AccessDenied) as refused:
        problems = getattr(refused, "problems", None) or [str(refused)]
        for problem in problems:
            st.error(literal(f"Not saved: {problem}"))
    else:
        st.session_state[SAVED] = (
            "Saved. Patients of this protocol have their next check-in moved now."
        )
        st.rerun()
