"""Patients: the one place that writes them.

A patient is registered by a clinician or an administrator in the app (:func:`create_patient`,
below: the "Register a patient" page), by an
import that meets an id it does not know (``--create-patients``), or by the demo clinic's
seeder (:mod:`data.demo`); all write through :func:`register_patients`, which stores the
rows, finds their ids and records one ``create_patient`` audit event each, in the caller's
transaction. Every id, name, phone, email and language follows the one rule of
:mod:`data.patients`, checked here
again as a last guard: callers check first so that they can name the row or field that is
wrong.

:func:`register_patients` decides nothing about access: its callers have checked the actor.
:func:`create_patient` is the app's form: it checks the actor (clinicians, administrators and
the operator) and the fields, then registers one patient. The patient's own sign-in is made
from the record afterwards, in the same transaction if wanted
(:func:`data.account_admin.issue_patient_sign_in`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import Patient, User, utcnow
from data.patients import (
    email_problem,
    language_problem,
    normalize_email,
    normalize_language,
    normalize_phone,
    patient_id_problem,
    patient_name_problem,
    patient_problems,
    phone_problem,
)

__all__ = [
    "MRN_TAKEN",
    "UNKNOWN_MRN",
    "NewPatient",
    "create_patient",
    "patient_id_for_mrn",
    "register_patients",
]

MRN_TAKEN = (
    "a patient with this patient id (MRN) is already registered in the clinic; check the "
    "number (each patient is registered once)"
)
UNKNOWN_MRN = "no patient of your clinic has this patient id (MRN); check the number"

_LOOKUP_CHUNK = 1_000


@dataclass(frozen=True)
class NewPatient:
    """One patient to register in the actor's clinic.

    ``user_id`` links the patient's own sign-in (an account of role ``patient``), made first.
    ``created_at`` is when the clinic first knew the patient, the time of writing by default;
    the demo clinic dates its synthetic patients back into its synthetic history. ``phone``
    is a contact number where one is known (imports know none), as :mod:`data.patients` allows;
    ``email`` and ``preferred_language`` (a tag of :data:`data.patients.LANGUAGES`) are for
    reminders.
    """

    external_id: str
    name: str
    date_of_birth: dt.date | None = None
    assigned_clinician_id: int | None = None
    user_id: int | None = None
    created_at: dt.datetime | None = None
    phone: str | None = None
    email: str | None = None
    preferred_language: str | None = None


def register_patients(
    session: Session, *, actor: Actor, patients: Sequence[NewPatient]
) -> dict[str, int]:
    """Store ``patients`` in the actor's clinic; their ids by the clinic's patient id.

    One multi-row INSERT without ``RETURNING`` (on SQLite, ``RETURNING`` in parameter order
    inserts one row per statement), then the ids are found again by the unique (clinic,
    patient id) pair; then one ``create_patient`` audit event per patient.

    Raises
    ------
    InvalidInput
        An id, name, phone, email or language outside :mod:`data.patients`' rule (nothing is
        written).
    """
    if not patients:
        return {}
    problems = sorted(
        {
            p
            for patient in patients
            for p in patient_problems(
                external_id=patient.external_id,
                name=patient.name,
                phone=patient.phone,
                email=patient.email,
                preferred_language=patient.preferred_language,
            )
        }
    )
    if problems:
        raise InvalidInput(problems)
    now = utcnow()
    session.execute(
        insert(Patient).execution_options(render_nulls=True),
        [
            {
                "clinic_id": actor.clinic_id,
                "external_id": patient.external_id,
                "name": patient.name,
                "date_of_birth": patient.date_of_birth,
                "phone": patient.phone,
                "email": patient.email,
                "preferred_language": patient.preferred_language,
                "assigned_clinician_id": patient.assigned_clinician_id,
                "user_id": patient.user_id,
                "created_at": patient.created_at or now,
            }
            for patient in patients
        ],
    )
    external_ids = [patient.external_id for patient in patients]
    ids: dict[str, int] = {}
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        chunk = external_ids[start : start + _LOOKUP_CHUNK]
        found = session.execute(
            select(Patient.external_id, Patient.id).where(
                Patient.clinic_id == actor.clinic_id, Patient.external_id.in_(chunk)
            )
        )
        ids.update((external_id, patient_id) for external_id, patient_id in found)
    audit.record_many(
        session,
        actor=actor,
        action=audit.Action.CREATE_PATIENT,
        patient_ids=[ids[external_id] for external_id in external_ids],
    )
    # Every patient has a state row from the start (no infusion, nothing due, no alert), so
    # the worklist's reads of patient_state find every patient. A new patient has no course.
    # Imported here: data.course_state reads through data.records.assessments, whose imports
    # (data.interchange) register patients through this module.
    from data.course_state import refresh_patients

    refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=ids.values(), instruments=())
    return ids


def create_patient(
    session: Session,
    *,
    actor: Actor,
    external_id: str,
    name: str,
    date_of_birth: dt.date | None = None,
    assigned_clinician_id: int | None = None,
    phone: str | None = None,
    email: str | None = None,
    preferred_language: str | None = None,
) -> int:
    """Register a patient in the actor's clinic (clinicians, administrators and the system).

    The id, the name, the phone, the email and the language follow :mod:`data.patients` (a
    narrow set of characters for the id, one line of text for the name, digits and
    ``+ - ( ) .`` for the phone, a plain ``name@example.org`` for the email, a tag of the
    closed list :data:`data.patients.LANGUAGES` for the language; all but the id and the name
    are optional, empty meaning none). A patient id (MRN) already in the clinic is refused.
    Every problem is listed at once, naming the field, never the value; on any refusal nothing
    is written.

    Returns
    -------
    int
        The new patient's id.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    problems = []
    external_id = (external_id or "").strip()
    name = (name or "").strip()
    # One rule for every way a patient is created (data.patients); messages name the field,
    # never the value.
    id_problem = patient_id_problem(external_id, field="the clinic's patient id (MRN)")
    if id_problem is not None:
        problems.append(id_problem)
    elif _mrn_taken(session, actor, external_id):
        problems.append(MRN_TAKEN)
    name_problem = patient_name_problem(name, field="the patient's name")
    if name_problem is not None:
        problems.append(name_problem)
    phone = normalize_phone(phone)
    email = normalize_email(email)
    preferred_language = normalize_language(preferred_language)
    for problem in (
        phone_problem(phone, field="the contact phone"),
        email_problem(email, field="the email address"),
        language_problem(preferred_language, field="the preferred language"),
    ):
        if problem is not None:
            problems.append(problem)
    if date_of_birth is not None and date_of_birth > dt.date.today():
        problems.append("the date of birth is in the future")
    if assigned_clinician_id is not None:
        clinician = session.get(User, assigned_clinician_id)
        if (
            clinician is None
            or clinician.clinic_id != actor.clinic_id
            or clinician.role != "clinician"
        ):
            problems.append("the assigned clinician is not a clinician of this clinic")
    if problems:
        raise InvalidInput(problems)
    new = NewPatient(
        external_id,
        name,
        date_of_birth,
        assigned_clinician_id,
        phone=phone,
        email=email,
        preferred_language=preferred_language,
    )
    try:
        # A savepoint: the same MRN registered at the same moment by someone else (the unique
        # (clinic, patient id) constraint refuses it) leaves the caller's transaction usable.
        with session.begin_nested():
            return register_patients(session, actor=actor, patients=[new])[external_id]
    except IntegrityError:
        raise InvalidInput([MRN_TAKEN]) from None


def _mrn_taken(session: Session, actor: Actor, external_id: str) -> bool:
    return (
        session.scalar(
            select(Patient.id).where(
                Patient.clinic_id == actor.clinic_id, Patient.external_id == external_id
            )
        )
        is not None
    )


def patient_id_for_mrn(session: Session, *, actor: Actor, external_id: str) -> int | None:
    """The id of the actor's clinic's patient with this patient id (MRN), or None if the
    clinic has none (another clinic's patient reads the same); for the pages that name a
    patient by MRN (a sign-in for a registered patient). The care team, administrators and
    the operator; audited as a search of the clinic's patients.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    external_id = (external_id or "").strip()
    found = session.scalar(
        select(Patient.id).where(
            Patient.clinic_id == actor.clinic_id, Patient.external_id == external_id
        )
    )
    audit.record(session, actor=actor, action=audit.Action.SEARCH_PATIENTS)
    return None if found is None else int(found)
