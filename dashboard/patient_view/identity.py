"""Which patient the page shows: the search and chooser, and the header naming them.

A patient is always named by name, MRN, date of birth and age (:mod:`dashboard.patient_label`):
a clinic may have several patients of one name, and the page must never open one of them by
default. Their contact phone, where recorded, is a ``tel:`` link (:func:`phone_link`) in the
header, on worklist rows and on alert cards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import resources, state
from dashboard.patient_label import patient_label, patient_label_text
from dashboard.plain import literal
from data.access import Actor
from data.records.patient_lists import find_patients
from data.records.patient_record import PatientRecord

CHOOSE_PROMPT = (
    "Choose a patient: search by name or MRN, then pick them in the list by MRN and date of birth."
)
NO_MATCH = "No patient matches that search. Check the spelling, or search by MRN."


def birth_date(value: object) -> dt.date | None:
    """A date of birth as read into a DataFrame cell (a date, or None/NaN/NaT when unknown)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value if isinstance(value, dt.date) else None


def phone_link(phone: object) -> str:
    """A recorded contact phone as Markdown, ``[(212) 555-0101](tel:2125550101)``; ``""``
    when none is recorded (None, NaN, empty).

    The number is shown as typed, made literal (:func:`dashboard.plain.literal`), and the
    link is built from its digits alone (and a leading ``+``): whatever a stored value held,
    it could neither format the page nor make the link go anywhere but a phone call.
    :mod:`data.patients` already refuses anything but digits, spaces and ``+ - ( ) .``.
    """
    if phone is None or (isinstance(phone, float) and pd.isna(phone)):
        return ""
    typed = str(phone).strip()
    digits = "".join(character for character in typed if character in "0123456789")
    if not digits:
        return ""
    plus = "+" if typed.startswith("+") else ""
    return f"[{literal(typed)}](tel:{plus}{digits})"


def patient_phones(patients: pd.DataFrame) -> dict[int, str]:
    """Each patient's :func:`phone_link` by ``patient_id``, for those with a phone recorded,
    from a frame with ``patient_id`` and ``phone`` (:func:`data.records.patient_lists
    .clinic_patients`)."""
    if "phone" not in patients.columns:
        return {}
    links = {
        int(patient_id): phone_link(phone)
        for patient_id, phone in zip(patients["patient_id"], patients["phone"], strict=True)
    }
    return {patient_id: link for patient_id, link in links.items() if link}


def patient_labels(patients: pd.DataFrame, *, today: dt.date, markdown: bool) -> dict[int, str]:
    """Each patient's label by ``patient_id``, from a frame with ``external_id``, ``name`` and
    ``date_of_birth`` (:mod:`data.records.patient_lists`): Markdown-safe for text the page
    renders as Markdown, plain for select boxes and tables (which show text as typed)."""
    label: Callable[..., str] = patient_label if markdown else patient_label_text
    return {
        int(row.patient_id): label(
            str(row.name), str(row.external_id), birth_date(row.date_of_birth), today=today
        )
        for row in patients.itertuples(index=False)
    }


def choose_patient(actor: Actor) -> int:
    """The patient to show: the one chosen elsewhere (worklist), or one picked from a search.

    With none chosen, the page shows the search and asks to choose, and stops: it never opens
    the first match on its own.
    """
    selected = st.session_state.get(state.SELECTED_PATIENT)
    query = st.text_input("Find a patient (name or MRN)", key="patient_search")
    if query or selected is None:
        # A search, not a list of the whole clinic: the page stays fast for any clinic size.
        with resources.session_scope() as session:
            matches = find_patients(session, actor=actor, query=query)
        if matches.empty:
            st.info(NO_MATCH)
            st.stop()
        labels = patient_labels(matches, today=dt.date.today(), markdown=False)
        ids = list(labels)
        chosen: int | None = st.selectbox(
            "Patient",
            ids,
            # Only a patient already chosen is preselected; otherwise nobody is.
            index=ids.index(selected) if selected in ids else None,
            format_func=lambda p: labels[p],
            placeholder="Choose a patient",
        )
        if chosen is None:
            st.info(CHOOSE_PROMPT)
            st.stop()
        patient_id = int(chosen)
    else:
        patient_id = int(selected)
    st.session_state[state.SELECTED_PATIENT] = patient_id
    return patient_id


def show_header(record: PatientRecord) -> None:
    """Name, MRN, date of birth and age, then the contact phone (a ``tel:`` link, or "not
    recorded"), care team and protocol, as typed or imported: literal text."""
    # The page's second level (under the title "Patient"), without a link-to-heading anchor.
    st.header(
        patient_label(record.name, record.external_id, record.date_of_birth, today=dt.date.today()),
        anchor=False,
    )
    # Text a clinician acts on (the phone to call): the page's own text colour, not a caption.
    st.markdown(
        f"Phone: {phone_link(record.phone) or 'not recorded'} · "
        f"Care team: {literal(record.assigned_clinician or '—')} · protocol: "
        f"{literal(record.protocol or '—')}"
    )
