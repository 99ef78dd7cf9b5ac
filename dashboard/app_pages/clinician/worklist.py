"""Worklist: safety alerts first, then patients losing response, not responding, overdue."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import resources, state
from dashboard.plain import alert_label, literal
from data.clinic import clinic_config
from data.errors import AccessDenied, InvalidInput
from data.records.alert_review import acknowledge_alert, open_alerts
from data.records.cohort import cohort_assessments, cohort_infusions
from data.records.patient_lists import clinic_patients
from outcomes.course import course_outcomes
from outcomes.worklist import REASON_LABELS, worklist

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)
    patients = clinic_patients(session, actor=actor)
    alerts = open_alerts(session, actor=actor)
    scores = cohort_assessments(session, actor=actor, instrument="phq9")
    infusions = cohort_infusions(session, actor=actor)

st.title("Worklist")
today = dt.date.today()
courses = course_outcomes("phq9", scores, infusions, rules=config.rules)
last_checkin = scores.groupby("patient_id")["administered_at"].max()
items = worklist(
    courses,
    last_checkin=last_checkin,
    open_alerts=alerts,
    today=today,
    patient_ids=pd.Index(patients["patient_id"]),
    cadence_days=config.checkin_cadence_days,
    active_days=config.rules.after_course_days,
)
names = patients.set_index("patient_id")["name"]


def open_patient(patient_id: int) -> None:
    st.session_state[state.SELECTED_PATIENT] = int(patient_id)
    st.switch_page("app_pages/clinician/patient.py")


st.subheader(f"Safety alerts ({len(alerts)})")
if alerts.empty:
    st.success("No unacknowledged safety alerts.")
for alert in alerts.itertuples(index=False):
    with st.container(border=True):
        when = pd.Timestamp(alert.created_at).strftime("%d %b %Y %H:%M UTC")
        # The name is as imported or typed: literal text, so it cannot forge an "all clear".
        st.markdown(
            f":red[**{literal(names.get(alert.patient_id, 'patient'))}**] — "
            f"{alert_label(str(alert.kind))} · total {alert.total} · {when}"
        )
        note = st.text_input(
            "What was done (required)",
            key=f"ack_note_{alert.alert_id}",
            placeholder="e.g. called patient, safety plan reviewed",
        )
        left, right = st.columns(2)
        if left.button("Acknowledge", key=f"ack_{alert.alert_id}", type="primary"):
            try:
                with resources.session_scope(write=True) as session:
                    acknowledge_alert(session, actor=actor, alert_id=int(alert.alert_id), note=note)
            except (InvalidInput, AccessDenied) as refused:
                st.error(str(refused))
            else:
                st.rerun()
        if right.button("Open patient", key=f"open_alert_{alert.alert_id}"):
            open_patient(alert.patient_id)

others = items[items["reason"] != "safety_alert"]
st.subheader(f"Needs attention ({len(others)})")
if others.empty:
    st.info("Nothing else needs attention today.")
for reason, group in others.groupby("reason", sort=False):
    st.markdown(f"**{REASON_LABELS[str(reason)]}** ({len(group)})")
    for row in group.itertuples(index=False):
        left, right = st.columns([4, 1])
        left.markdown(f"{literal(names.get(row.patient_id, row.patient_id))} — {row.detail}")
        if right.button("Open", key=f"open_{reason}_{row.patient_id}"):
            open_patient(row.patient_id)
