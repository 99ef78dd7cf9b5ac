"""Worklist: safety alerts first, then boosters to consider, not responding, lost to
follow-up, check-ins to ask for, overdue."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import resources, state
from dashboard.alert_cards import show_alert_cards
from dashboard.patient_view.identity import patient_labels, patient_phones
from data.clinic import clinic_config, clinic_now
from data.records.alert_review import open_alerts
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

st.title("Worklist", anchor=False)
# The clinic's own date: "overdue" and ages turn over at the clinic's midnight.
today = clinic_now(config.time_zone).date()
mine = patients["assigned_clinician_id"] == actor.user_id
scope = st.radio(
    "Patients",
    ["mine", "clinic"],
    # A clinician with patients of their own starts with them; the huddle switches to all.
    index=0 if mine.any() else 1,
    format_func=lambda v: "My patients" if v == "mine" else "Whole clinic",
    horizontal=True,
    key="worklist_scope",
)
listed = patients[mine] if scope == "mine" else patients
courses = course_outcomes("phq9", scores, infusions, rules=config.rules, today=today)
last_checkin = scores.groupby("patient_id")["administered_at"].max()
items = worklist(
    courses,
    last_checkin=last_checkin,
    open_alerts=alerts,
    today=today,
    patient_ids=pd.Index(listed["patient_id"]),
    cadence_days=config.checkin_cadence_days,
    active_days=config.rules.after_course_days,
    rules=config.rules,
)


def open_patient(patient_id: int) -> None:
    st.session_state[state.SELECTED_PATIENT] = int(patient_id)
    st.switch_page("app_pages/clinician/patient.py")


# Safety alerts are the whole care team's: shown for the whole clinic whichever list is chosen.
show_alert_cards(actor, open_patient=open_patient, today=today, time_zone=config.time_zone)

others = items[(items["reason"] != "safety_alert") & items["patient_id"].isin(listed["patient_id"])]
# Rows name a patient by name, MRN, date of birth and age: a clinic may have several patients
# of one name, and "Open" must lead to the right one. Only the patients listed are labelled.
labels = patient_labels(
    patients[patients["patient_id"].isin(others["patient_id"])], today=today, markdown=True
)
phones = patient_phones(patients[patients["patient_id"].isin(others["patient_id"])])
st.header(f"Needs attention ({len(others)})", anchor=False)
if others.empty:
    st.info("Nothing else needs attention today.")
for reason, group in others.groupby("reason", sort=False):
    st.markdown(f"**{REASON_LABELS[str(reason)]}** ({len(group)})")
    for row in group.itertuples(index=False):
        left, right = st.columns([4, 1])
        phone = phones.get(int(row.patient_id))  # the huddle calls from the list
        left.markdown(
            f"{labels.get(int(row.patient_id), 'Unknown patient')} — {row.detail}"
            + (f" · phone {phone}" if phone else "")
        )
        if right.button("Open", key=f"open_{reason}_{row.patient_id}"):
            open_patient(row.patient_id)
