"""The clinic's patients as lists: the worklist's roster, the patients no reminder can reach,
and the patient view's search, and the contact phone the patient view's header shows.

For the care team (clinicians and the operator) of the actor's own clinic; each read is
recorded in the audit trail.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from data import audit
from data.access import Actor, ensure_role
from data.models import Patient, User
from data.records.frames import frame_of


def clinic_patients(
    session: Session, *, actor: Actor, patient_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """The clinic's patients with their care team (clinicians; for the worklist): the assigned
    clinician's name and id (``assigned_clinician_id``, for "my patients").

    ``patient_ids`` narrows the list to those patients (of the actor's clinic only): the
    worklist names the rows it shows, never the whole clinic.

    Each row carries what tells patients of the same name apart (``external_id``, the MRN,
    and ``date_of_birth``): a page names a patient by all of them, never by name alone.
    ``phone`` is their contact phone where one is recorded (None otherwise), for the huddle.
    """
    ensure_role(session, actor, "clinician", "system")
    clinician = aliased(User)
    query = (
        select(
            Patient.id,
            Patient.external_id,
            Patient.name,
            Patient.date_of_birth,
            Patient.phone,
            clinician.display_name,
            Patient.assigned_clinician_id,
            Patient.created_at,
        )
        .outerjoin(clinician, clinician.id == Patient.assigned_clinician_id)
        .where(Patient.clinic_id == actor.clinic_id)
        .order_by(Patient.name)
    )
    if patient_ids is not None:
        query = query.where(Patient.id.in_([int(p) for p in patient_ids]))
    frame = frame_of(
        session,
        query,
        (
            "patient_id",
            "external_id",
            "name",
            "date_of_birth",
            "phone",
            "assigned_clinician",
            "assigned_clinician_id",
            "created_at",
        ),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_PATIENT_LIST)
    return frame


def patients_without_contact(
    session: Session, *, actor: Actor, assigned_to: int | None = None
) -> list[int]:
    """The clinic's patients with neither an e-mail address nor a phone number, by name: no
    reminder, invitation or link can reach them (issue 14). ``assigned_to`` narrows them to
    one clinician's patients. Ids only: the page names the ones it shows
    (:func:`clinic_patients`), as the worklist does."""
    ensure_role(session, actor, "clinician", "system")
    no_email = or_(Patient.email.is_(None), func.trim(Patient.email) == "")
    no_phone = or_(Patient.phone.is_(None), func.trim(Patient.phone) == "")
    query = (
        select(Patient.id)
        .where(Patient.clinic_id == actor.clinic_id, no_email, no_phone)
        .order_by(Patient.name, Patient.id)
    )
    if assigned_to is not None:
        query = query.where(Patient.assigned_clinician_id == assigned_to)
    found = [int(p) for p in session.scalars(query)]
    audit.record(session, actor=actor, action=audit.Action.VIEW_PATIENT_LIST)
    return found


def find_patients(
    session: Session, *, actor: Actor, query: str = "", limit: int = 25
) -> pd.DataFrame:
    """The clinic's patients whose name or clinic id (MRN) contains ``query`` (clinicians).

    At most ``limit`` rows, by name: the patient view's search, whose cost must not grow with
    the size of the clinic. An empty query lists the first patients by name.
    """
    ensure_role(session, actor, "clinician", "system")
    wanted = f"%{(query or '').strip().lower()}%"
    statement = (
        select(Patient.id, Patient.external_id, Patient.name, Patient.date_of_birth)
        .where(Patient.clinic_id == actor.clinic_id)
        .where(func.lower(Patient.name).like(wanted) | func.lower(Patient.external_id).like(wanted))
        .order_by(Patient.name, Patient.id)
        .limit(max(1, min(int(limit), 200)))
    )
    frame = frame_of(session, statement, ("patient_id", "external_id", "name", "date_of_birth"))
    audit.record(session, actor=actor, action=audit.Action.SEARCH_PATIENTS)
    return frame
