"""Who may see and change what, decided below the user interface.

Every function of :mod:`data.repository` that touches patient data calls one of the
``ensure_*`` functions here first, so a page that forgets a check still cannot read another
patient's rows (the pattern of datasette's ``ensure_permission``). The rules (``DESIGN.md``,
Roles):

* a **patient** sees and writes only their own records;
* a **clinician** sees and writes the records of their own clinic's patients;
* an **administrator** sees their clinic's aggregates, accounts and audit trail, never an
  individual patient's answers;
* the **system** actor is the operator at the command line (import, export, rescore, backup),
  acting on one clinic. The app never creates it.

An :class:`Actor` is re-checked against its user row on every call: a disabled account, a
changed role or a forged actor is refused even mid-session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import AccessDenied
from data.models import Patient, User

Role = Literal["patient", "clinician", "administrator", "system"]


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a data function runs."""

    user_id: int | None
    clinic_id: int
    role: Role
    username: str
    patient_id: int | None = None

    @classmethod
    def system(cls, clinic_id: int, name: str = "command line") -> Actor:
        """The operator at the command line, acting on one clinic."""
        return cls(user_id=None, clinic_id=clinic_id, role="system", username=name)


def verify_actor(session: Session, actor: Actor) -> Patient | None:
    """Refuse an actor whose user row no longer matches it (disabled, moved, re-roled).

    Returns a patient actor's own patient record (None for anyone else).
    """
    if not isinstance(actor, Actor):
        raise AccessDenied("no signed-in user")
    if actor.role == "system":
        if actor.user_id is not None:
            raise AccessDenied("the system actor has no user account")
        return None
    if actor.user_id is None:
        raise AccessDenied("no signed-in user")
    # The user and, for a patient, their own record in one round trip; the record is
    # returned, so a patient's access check to their own records needs no query of its own.
    found = session.execute(
        select(User, Patient)
        .outerjoin(Patient, Patient.user_id == User.id)
        .where(User.id == actor.user_id)
    ).first()
    user, own = found if found is not None else (None, None)
    if (
        user is None
        or not user.active
        or user.role != actor.role
        or user.clinic_id != actor.clinic_id
        or user.username != actor.username
    ):
        raise AccessDenied("this sign-in is no longer valid; please sign in again")
    if actor.role != "patient":
        return None
    if own is None or own.id != actor.patient_id:
        raise AccessDenied("this sign-in is no longer valid; please sign in again")
    return own


def ensure_role(session: Session, actor: Actor, *roles: Role) -> None:
    """Refuse unless the (verified) actor has one of ``roles``."""
    verify_actor(session, actor)
    if actor.role not in roles:
        raise AccessDenied(f"this needs the role of {' or '.join(roles)}")


def ensure_can_view_patient(session: Session, *, actor: Actor, patient_id: int) -> Patient:
    """The patient's row, if ``actor`` may see this patient's records; else AccessDenied."""
    own = verify_actor(session, actor)
    if own is not None and own.id == patient_id:
        patient: Patient | None = own
    else:
        patient = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise AccessDenied()
    if actor.role == "patient" and patient.id != actor.patient_id:
        raise AccessDenied()
    if actor.role == "administrator":
        raise AccessDenied("administrators see aggregates, not individual patients' records")
    return patient


def ensure_can_write_patient(
    session: Session, *, actor: Actor, patient_id: int, clinician_only: bool = False
) -> Patient:
    """As :func:`ensure_can_view_patient`; ``clinician_only`` also refuses the patient."""
    patient = ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    if clinician_only and actor.role == "patient":
        raise AccessDenied("only the care team can record this")
    return patient
