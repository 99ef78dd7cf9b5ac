"""My progress: the patient's own scores over time, in plain language."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, resources, state
from dashboard.plain import describe_change
from data.clinic import clinic_config
from data.records.patient_record import patient_assessments, patient_infusions

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)
    history = patient_assessments(
        session, actor=actor, patient_id=actor.patient_id or 0, instrument="phq9"
    )
    infusions = patient_infusions(session, actor=actor, patient_id=actor.patient_id or 0)

st.title("My progress")
valid = history[history["total"].notna()]
if valid.empty:
    st.info("Your scores will appear here after your first check-in.")
else:
    first, latest = int(valid["total"].iloc[0]), int(valid["total"].iloc[-1])
    st.markdown(describe_change(first, latest, rules=config.rules))
    st.plotly_chart(charts.progress_figure("phq9", valid, infusions), width="stretch")
    st.caption(
        f"{len(valid)} check-ins and {len(infusions)} treatments so far. Dotted lines mark "
        "your treatment days. Lower scores mean fewer symptoms."
    )
