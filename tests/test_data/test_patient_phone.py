"""A contact phone where recorded (issue 11, the morning huddle): stored by the one writer of
patients under one rule, refused when it is not a phone number, returned by the staff's reads
and carried by the FHIR export as ``telecom``; never shown to another patient."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient
from sqlalchemy.orm import Session

from data.access import Actor
from data.checkin import submit_checkin
from data.errors import AccessDenied, InvalidInput
from data.interchange.fhir_export import export_fhir_bundle
from data.interchange.fhir_read import import_fhir_bundle
from data.models import Patient
from data.patients import PHONE_RULE, phone_problem
from data.records.alert_review import open_alerts
from data.records.patient_lists import clinic_patients
from data.records.patient_record import patient_record
from data.records.patients import NewPatient, create_patient, register_patients
from tests.conftest import World
from tests.test_data.builders import _count, _problems

GOOD_PHONES = ["(212) 555-0101", "+1 212 555 0101", "212.555.0101", "5550101", "+44 20 7946 0958"]
HOSTILE_PHONES = [
    "javascript:alert(1)",
    "[call](http://example.com)",
    "<a href=x>5550101</a>",
    "555-0101 ext 2",
    "555-0101\n# heading",
    ":red[555-0101]",
    "555\u202e0101-212",
    "\u0665\u0665\u0665\u0660\u0661\u0660\u0661",  # Arabic-Indic digits
    "1+2125550101",
    "123456",  # too few digits
    "1" * 21,  # too many digits
    "1 " * 20 + "1",  # longer than the column
]


@pytest.mark.parametrize("phone", GOOD_PHONES)
def test_a_clinician_records_a_phone_and_the_staff_reads_return_it(
    session: Session, world: World, phone: str
) -> None:
    patient_id = create_patient(
        session, actor=world.clinician_a, external_id="MRN-77", name="Ann", phone=f" {phone} "
    )
    stored = session.get(Patient, patient_id)
    assert stored is not None and stored.phone == phone  # surrounding spaces dropped
    roster = clinic_patients(session, actor=world.clinician_a).set_index("patient_id")
    assert roster.loc[patient_id, "phone"] == phone
    assert patient_record(session, actor=world.clinician_a, patient_id=patient_id).phone == phone


def test_no_phone_is_stored_as_none(session: Session, world: World) -> None:
    patient_id = create_patient(
        session, actor=world.clinician_a, external_id="MRN-78", name="Bo", phone="   "
    )
    stored = session.get(Patient, patient_id)
    assert stored is not None and stored.phone is None
    roster = clinic_patients(session, actor=world.clinician_a).set_index("patient_id")
    assert roster.loc[patient_id, "phone"] is None
    assert patient_record(session, actor=world.clinician_a, patient_id=patient_id).phone is None


@pytest.mark.parametrize("hostile", HOSTILE_PHONES)
def test_a_phone_that_is_not_a_phone_number_is_refused_and_nothing_stored(
    session: Session, world: World, hostile: str
) -> None:
    patients = _count(session, Patient)
    with pytest.raises(InvalidInput) as refused:
        create_patient(
            session, actor=world.clinician_a, external_id="MRN-79", name="Cy", phone=hostile
        )
    assert "the contact phone" in _problems(refused)
    assert PHONE_RULE in _problems(refused)
    assert hostile.strip() not in _problems(refused)  # the rule, never the value
    # The last guard of the one writer refuses it too (the demo and the importers' path).
    with pytest.raises(InvalidInput):
        register_patients(
            session,
            actor=world.system_a,
            patients=[NewPatient("MRN-79", "Cy", phone=hostile)],
        )
    assert _count(session, Patient) == patients


@pytest.mark.parametrize("hostile", HOSTILE_PHONES)
def test_the_rule_names_each_hostile_phone(hostile: str) -> None:
    assert phone_problem(hostile.strip()) is not None


def test_an_open_alert_carries_the_patients_phone(session: Session, world: World) -> None:
    patient = session.get(Patient, world.patient_a1.patient_id)
    assert patient is not None
    patient.phone = "(212) 555-0102"
    session.flush()
    answers = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 2}
    submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="phq9",
        answers=answers,
    )
    alerts = open_alerts(session, actor=world.clinician_a)
    assert alerts["phone"].tolist() == ["(212) 555-0102"]


@pytest.mark.parametrize("who", ["patient_a1", "patient_a2", "clinician_b", "admin_a"])
def test_no_other_patient_and_no_other_clinic_reads_a_phone(
    session: Session, world: World, who: str
) -> None:
    """A patient's phone is for their care team and themselves (their own record): not
    another patient, not another clinic, not the administrator."""
    actor: Actor = getattr(world, who)
    patient_id = world.patient_a1.patient_id or 0
    patient = session.get(Patient, patient_id)
    assert patient is not None
    patient.phone = "(212) 555-0104"
    session.flush()
    if who == "patient_a1":
        own = patient_record(session, actor=actor, patient_id=patient_id)
        assert own.phone == "(212) 555-0104"
        with pytest.raises(AccessDenied):
            clinic_patients(session, actor=actor)
        return
    with pytest.raises(AccessDenied):
        patient_record(session, actor=actor, patient_id=patient_id)
    if actor.role == "clinician":  # another clinic's clinician: their own clinic's lists
        assert "(212) 555-0104" not in clinic_patients(session, actor=actor)["phone"].tolist()
        assert "(212) 555-0104" not in open_alerts(session, actor=actor)["phone"].tolist()
        return
    with pytest.raises(AccessDenied):
        clinic_patients(session, actor=actor)
    with pytest.raises(AccessDenied):
        open_alerts(session, actor=actor)


def test_the_fhir_export_carries_the_phone_as_telecom(session: Session, world: World) -> None:
    for patient_actor, phone in ((world.patient_a1, "+1 212 555 0103"), (world.patient_a2, None)):
        patient = session.get(Patient, patient_actor.patient_id)
        assert patient is not None
        patient.phone = phone
        submit_checkin(
            session,
            actor=patient_actor,
            patient_id=patient_actor.patient_id or 0,
            instrument="phq9",
            answers={f"phq9_{i}": 1 for i in range(1, 10)},
        )
    session.flush()
    bundle = export_fhir_bundle(session, actor=world.clinician_a)
    patients = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    # Only the patient with a phone gets a Patient entry, and it holds the phone and the MRN.
    assert len(patients) == 1
    resource = FhirPatient.model_validate(patients[0])
    assert resource.telecom is not None
    assert [(t.system, t.value) for t in resource.telecom] == [("phone", "+1 212 555 0103")]
    assert resource.identifier is not None
    assert resource.identifier[0].value == f"MRN-{world.patient_a1.username}"
    # The export still imports (into another clinic): the Patient entry is read past, and
    # no phone travels into the clinic that imports (imports record none).
    result = import_fhir_bundle(
        session, actor=Actor.system(world.clinic_b), source=bundle, create_patients=True
    )
    assert (result.imported, result.patients_created) == (2, 2)
    assert _count(session, Patient, clinic_id=world.clinic_b, phone=None) == 3
