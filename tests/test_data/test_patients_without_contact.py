"""The patients no reminder can reach: neither an e-mail address nor a phone (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import AccessDenied
from data.models import AuditEvent, Patient
from data.records.patient_lists import patients_without_contact
from tests.conftest import World


def _patient(session: Session, world: World, name: str, **contact: str | None) -> int:
    patient = Patient(
        clinic_id=world.clinic_a,
        external_id=f"MRN-{name}",
        name=name,
        assigned_clinician_id=world.clinician_a.user_id,
        **contact,
    )
    session.add(patient)
    session.flush()
    return patient.id


def test_only_patients_with_neither_email_nor_phone_by_name(session: Session, world: World) -> None:
    blank = _patient(session, world, "Blake Blank", email="  ", phone=None)
    mailed = _patient(session, world, "Mel Mail", email="mel@example.org")
    phoned = _patient(session, world, "Phil Phone", phone="+12025550143")
    for existing in (world.patient_a1, world.patient_a2):
        row = session.get(Patient, existing.patient_id)
        assert row is not None
        row.email = "someone@example.org"
    other = session.get(Patient, world.patient_b1.patient_id)
    assert other is not None and not other.email and not other.phone
    found = patients_without_contact(session, actor=world.clinician_a)
    assert found == [blank]
    assert mailed not in found and phoned not in found
    # "My patients": the clinician's own only.
    unassigned = _patient(session, world, "Una Unassigned")
    session.get(Patient, unassigned).assigned_clinician_id = None  # type: ignore[union-attr]
    session.flush()
    assert patients_without_contact(session, actor=world.clinician_a) == [blank, unassigned]
    assert patients_without_contact(
        session, actor=world.clinician_a, assigned_to=world.clinician_a.user_id
    ) == [blank]
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "view_patient_list"))


@pytest.mark.parametrize("who", ["admin_a", "patient_a1"])
def test_administrators_and_patients_are_refused(session: Session, world: World, who: str) -> None:
    with pytest.raises(AccessDenied):
        patients_without_contact(session, actor=getattr(world, who))
