"""Which patient the page shows: the search and chooser, and the header naming them."""

from __future__ import annotations

import streamlit as st

from dashboard import resources, state
from dashboard.plain import literal
from data.access import Actor
from data.records.patient_lists import find_patients
from data.records.patient_record import PatientRecord


def choose_patient(actor: Actor) -> int:
    """The patient to show: the one chosen elsewhere (worklist), or one found by a search."""
    selected = st.session_state.get(state.SELECTED_PATIENT)
    query = st.text_input("Find a patient (name or MRN)", key="patient_search")
    if query or selected is None:
        # A search, not a list of the whole clinic: the page stays fast for any clinic size.
        with resources.session_scope() as session:
            matches = find_patients(session, actor=actor, query=query)
        if matches.empty:
            st.info("No patient matches that search.")
            st.stop()
        ids = [int(p) for p in matches["patient_id"]]
        labels = dict(zip(ids, matches["name"] + " · " + matches["external_id"], strict=True))
        patient_id: int = st.selectbox(
            "Patient",
            ids,
            index=ids.index(selected) if selected in ids else 0,
            format_func=lambda p: labels[p],
        )
    else:
        patient_id = int(selected)
    st.session_state[state.SELECTED_PATIENT] = patient_id
    return patient_id


def show_header(record: PatientRecord) -> None:
    """Name, MRN, date of birth, care team and protocol, as typed or imported: literal text."""
    st.subheader(f"{literal(record.name)} · {literal(record.external_id)}")
    st.caption(
        f"Born {record.date_of_birth or 'unknown'} · care team: "
        f"{literal(record.assigned_clinician or '—')} · protocol: "
        f"{literal(record.protocol or '—')}"
    )
