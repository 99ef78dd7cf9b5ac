"""Register a patient: the record (name, MRN, date of birth, care team, reminder contacts,
language) and, with it, the patient's own sign-in; or a sign-in for a registered patient.

For clinicians and administrators. Every rule is the data layer's (``data.patients``,
``data.records.patients.create_patient``): the page shows its refusals, each naming the field,
and nothing is written on a refusal. The sign-in's username and temporary password are shown
once, in the run that made them, and never again (only the password's hash is kept).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import resources, state
from dashboard.plain import literal
from data.account_admin import (
    PatientSignIn,
    clinic_clinicians,
    issue_patient_sign_in,
)
from data.errors import AccessDenied, InvalidInput
from data.patients import LANGUAGES, PATIENT_ID_RULE, PHONE_RULE
from data.records.patients import UNKNOWN_MRN, create_patient, patient_id_for_mrn

OLDEST_BIRTH_YEAR = 1900

actor = state.require_actor()
st.title("Register a patient", anchor=False)
with resources.session_scope() as session:
    clinicians = clinic_clinicians(session, actor=actor)


def show_sign_in(sign_in: PatientSignIn) -> None:
    """The username and temporary password, once, with what to do with them."""
    with st.container(border=True):
        st.subheader(
            "The patient's sign-in" if sign_in.created else "A new temporary password",
            anchor=False,
        )
        st.markdown(
            "Give these to the patient now, on paper or in person. **The password is shown "
            "only this once**: if it is lost, make a new one below. The patient signs in at "
            "this app's address and then sees only their own check-ins and progress."
        )
        # Generated text of letters, digits and "-" only; st.code shows it literally.
        st.markdown("Username")
        st.code(sign_in.username, language=None)
        st.markdown("Temporary password")
        st.code(sign_in.temporary_password, language=None)


with st.form("register_patient", clear_on_submit=True):
    st.header("The patient's record", anchor=False)
    name = st.text_input("Full name")
    external_id = st.text_input("Patient id (MRN)", help=PATIENT_ID_RULE)
    today = dt.date.today()
    date_of_birth = st.date_input(
        "Date of birth",
        value=None,
        min_value=dt.date(OLDEST_BIRTH_YEAR, 1, 1),
        max_value=today,
        format="YYYY-MM-DD",
    )
    assigned = st.selectbox(
        "Assigned clinician",
        [None, *clinicians],
        format_func=lambda user_id: "Not assigned yet" if user_id is None else clinicians[user_id],
        # A clinician registering a patient usually registers their own.
        index=(1 + list(clinicians).index(actor.user_id)) if actor.user_id in clinicians else 0,
    )
    st.header("Contact for reminders", anchor=False)
    phone = st.text_input("Contact phone (optional)", help=PHONE_RULE)
    email = st.text_input("Email (optional)", help="For reminders, e.g. name@example.org")
    language = st.selectbox(
        "Preferred language",
        [None, *LANGUAGES],
        format_func=lambda tag: "Not given" if tag is None else LANGUAGES[tag],
    )
    with_sign_in = st.checkbox(
        "Make the patient's sign-in now (a username and a temporary password, shown once)",
        value=True,
    )
    submitted = st.form_submit_button("Register", type="primary")

if submitted:
    try:
        with resources.session_scope(write=True) as session:
            patient_id = create_patient(
                session,
                actor=actor,
                external_id=external_id,
                name=name,
                date_of_birth=date_of_birth,
                assigned_clinician_id=assigned,
                phone=phone,
                email=email,
                preferred_language=language,
            )
            # In the same transaction: a refused sign-in leaves no record without one.
            sign_in = (
                issue_patient_sign_in(session, actor=actor, patient_id=patient_id)
                if with_sign_in
                else None
            )
    except (InvalidInput, AccessDenied) as refused:
        problems = getattr(refused, "problems", None) or (str(refused),)
        st.error(
            "The patient was not registered; nothing was saved. Please correct:\n\n"
            + "\n".join(f"- {literal(problem)}" for problem in problems)
        )
    else:
        st.success("The patient is registered.")
        if sign_in is not None:
            show_sign_in(sign_in)

st.header("A sign-in for a registered patient", anchor=False)
st.markdown(
    "For a patient registered without one (or by an import), or who has lost their "
    "password: a new temporary password ends their earlier sign-in. An invitation link sent "
    "by email will replace this once reminders exist."
)
with st.form("patient_sign_in", clear_on_submit=True):
    mrn = st.text_input("Patient id (MRN) of the patient", key="sign_in_mrn")
    issue = st.form_submit_button("Make a sign-in or a new temporary password")
if issue:
    try:
        with resources.session_scope(write=True) as session:
            found = patient_id_for_mrn(session, actor=actor, external_id=mrn)
            issued = (
                None
                if found is None
                else issue_patient_sign_in(session, actor=actor, patient_id=found)
            )
    except (InvalidInput, AccessDenied) as refused:
        st.error(literal(refused))
    else:
        if issued is None:
            st.error(literal(UNKNOWN_MRN))
        else:
            show_sign_in(issued)
