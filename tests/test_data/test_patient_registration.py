"""Issue 12, "Patients are accounts nobody can create": registering a patient (the rules of
``data.patients``, every refusal writing nothing) and the patient's sign-in made from the
record, with which the patient sees their own record only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.account_admin import (
    PATIENT_USERNAME_PREFIX,
    clinic_clinicians,
    issue_patient_sign_in,
    set_user_active,
)
from data.accounts import authenticate
from data.errors import AccessDenied, InvalidInput, SignInFailed
from data.models import AuditEvent, Patient, User
from data.patients import LANGUAGES, email_problem, language_name, language_problem
from data.records.patient_record import patient_assessments, patient_record
from data.records.patients import create_patient, patient_id_for_mrn
from tests.conftest import World

NAME = "Wilhelmina Quarterbridge"
MRN = "MRN-Q-58213"
EMAIL = "w.quarterbridge+reminders@example.org"
PHONE = "(555) 010-0123"
BORN = dt.date(1967, 8, 23)


def _register(session: Session, actor: Actor, **change: object) -> int:
    fields: dict[str, object] = {
        "external_id": MRN,
        "name": NAME,
        "date_of_birth": BORN,
        "phone": PHONE,
        "email": EMAIL,
        "preferred_language": "es",
    }
    return create_patient(session, actor=actor, **(fields | change))  # type: ignore[arg-type]


def _rows(session: Session) -> tuple[int, int, int]:
    session.flush()
    return tuple(  # type: ignore[return-value]
        len(session.scalars(select(model.id)).all()) for model in (Patient, User, AuditEvent)
    )


# --- the rules of a field -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "name@example.org",
        "first.last+tag@mail.example.co.uk",
        "x_y-z%1@sub-domain.example.com",
        "a@xn--bcher-kva.example",
    ],
)
def test_plain_email_addresses_are_accepted(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email",
    [
        "no-at-sign.example.org",
        "two@@example.org",
        "someone@example",  # no dot in the domain
        "name@-example.org",
        "someone@example.c",  # a one-letter top-level domain
        ".name@example.org",
        "name.@example.org",
        "na..me@example.org",
        '"quoted name"@example.org',
        "name@[192.0.2.1]",
        "name@example.org\nBcc: x@example.org",
        "name <name@example.org>",
        "josé@example.org",
        "x" * 65 + "@example.org",
        "name@" + "a" * 250 + ".org",
    ],
)
def test_email_addresses_outside_the_rule_are_refused_without_repeating_them(email: str) -> None:
    problem = email_problem(email, field="the email address")
    assert problem is not None and problem.startswith("the email address ")
    assert email not in problem


def test_languages_are_a_closed_list_of_short_tags_shown_as_words() -> None:
    assert language_problem("es") is None and language_problem(None) is None
    for tag in ("xx", "es-419", "english", "EN"):
        assert language_problem(tag) is not None, tag
    assert language_name("es") == "Spanish (español)"
    assert language_name(None) == ""
    for tag, words in LANGUAGES.items():
        assert 2 <= len(tag) <= 3 and tag.isascii() and tag.islower(), tag
        assert words[0].isupper() and tag not in words.split(), words


# --- registering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["clinician", "administrator"])
def test_clinicians_and_administrators_register_a_patient_with_every_field(
    session: Session, world: World, who: str
) -> None:
    actor = world.clinician_a if who == "clinician" else world.admin_a
    patient_id = _register(
        session,
        actor,
        external_id=f"  {MRN} ",
        email=f" {EMAIL} ",
        preferred_language=" ES ",
        assigned_clinician_id=world.clinician_a.user_id,
    )
    patient = session.get(Patient, patient_id)
    assert patient is not None
    assert (
        patient.clinic_id,
        patient.external_id,
        patient.name,
        patient.date_of_birth,
        patient.phone,
        patient.email,
        patient.preferred_language,
        patient.assigned_clinician_id,
        patient.user_id,
    ) == (world.clinic_a, MRN, NAME, BORN, PHONE, EMAIL, "es", world.clinician_a.user_id, None)
    (event,) = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "create_patient", AuditEvent.patient_id == patient_id
        )
    ).all()
    assert event.actor_id == actor.user_id


def test_email_phone_and_language_are_optional(session: Session, world: World) -> None:
    patient_id = _register(session, world.clinician_a, phone="", email="  ", preferred_language="")
    patient = session.get(Patient, patient_id)
    assert patient is not None
    assert (patient.phone, patient.email, patient.preferred_language) == (None, None, None)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"external_id": "MRN-patient-a1"}, "already registered in the clinic"),
        ({"external_id": ""}, "the clinic's patient id (MRN) is empty"),
        ({"name": "Line\nbreak"}, "the patient's name holds a control character"),
        ({"email": "not an address"}, "the email address is not an email address"),
        ({"preferred_language": "klingon"}, "the preferred language is not one of"),
        ({"phone": "call me"}, "the contact phone holds a letter"),
        ({"date_of_birth": dt.date.today() + dt.timedelta(days=1)}, "in the future"),
        ({"assigned_clinician_id": -1}, "not a clinician of this clinic"),
    ],
)
def test_a_refused_registration_says_why_and_writes_nothing(
    session: Session, world: World, change: dict[str, object], problem: str
) -> None:
    before = _rows(session)
    with pytest.raises(InvalidInput) as refused:
        _register(session, world.clinician_a, **change)
    assert any(problem in reason for reason in refused.value.problems), refused.value.problems
    assert _rows(session) == before
    # Problems name the field, never the value (they may be shown and logged).
    for value in change.values():
        if isinstance(value, str) and value:
            assert all(value not in reason for reason in refused.value.problems)


def test_every_problem_is_listed_at_once(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        _register(
            session,
            world.clinician_a,
            external_id="MRN-patient-a1",
            email="nope",
            preferred_language="xx",
            phone="abc",
        )
    assert len(refused.value.problems) == 4


def test_the_same_mrn_in_another_clinic_is_another_patient(session: Session, world: World) -> None:
    """MRNs are the clinic's own numbers: clinic B's MRN-patient-b1 is free in clinic A."""
    assert _register(session, world.clinician_a, external_id="MRN-patient-b1") > 0


def test_the_assigned_clinician_is_chosen_from_the_clinics_active_clinicians(
    session: Session, world: World
) -> None:
    assert clinic_clinicians(session, actor=world.admin_a) == {
        world.clinician_a.user_id: "Clinician A"
    }
    assert clinic_clinicians(session, actor=world.clinician_b) == {
        world.clinician_b.user_id: "Clinician B"
    }


def test_a_patient_is_found_by_mrn_in_the_actors_clinic_only(
    session: Session, world: World
) -> None:
    a1 = world.patient_a1.patient_id
    assert patient_id_for_mrn(session, actor=world.admin_a, external_id=" MRN-patient-a1 ") == a1
    assert patient_id_for_mrn(session, actor=world.admin_a, external_id="MRN-patient-b1") is None
    assert patient_id_for_mrn(session, actor=world.clinician_a, external_id="") is None


# --- the patient's sign-in -----------------------------------------------------------------------


def test_the_sign_in_made_from_the_record_signs_in_to_that_record_only(
    session: Session, world: World
) -> None:
    patient_id = _register(session, world.admin_a)
    issued = issue_patient_sign_in(session, actor=world.admin_a, patient_id=patient_id)
    assert issued.created
    assert issued.username.startswith(PATIENT_USERNAME_PREFIX)
    assert len(issued.temporary_password) >= 8
    user = session.get(User, issued.user_id)
    patient = session.get(Patient, patient_id)
    assert user is not None and patient is not None
    assert (user.role, user.clinic_id, user.active, patient.user_id) == (
        "patient",
        world.clinic_a,
        True,
        user.id,
    )
    assert issued.temporary_password not in user.password_hash  # only a hash is kept

    me = authenticate(session, username=issued.username, password=issued.temporary_password)
    assert (me.role, me.patient_id, me.clinic_id) == ("patient", patient_id, world.clinic_a)
    assert patient_record(session, actor=me, patient_id=patient_id).name == NAME
    patient_assessments(session, actor=me, patient_id=patient_id)
    for other in (world.patient_a1.patient_id, world.patient_b1.patient_id):
        assert other is not None
        with pytest.raises(AccessDenied):
            patient_record(session, actor=me, patient_id=other)


def test_the_generated_username_and_password_hold_nothing_of_the_patient(
    session: Session, world: World
) -> None:
    patient_id = _register(session, world.clinician_a)
    issued = issue_patient_sign_in(session, actor=world.clinician_a, patient_id=patient_id)
    text = f"{issued.username} {issued.temporary_password}".lower()
    for secret in (*NAME.lower().split(), MRN.lower(), str(BORN.year)):
        assert secret not in text


def test_a_new_temporary_password_replaces_the_old_one_and_keeps_the_username(
    session: Session, world: World
) -> None:
    patient_id = _register(session, world.clinician_a)
    first = issue_patient_sign_in(session, actor=world.clinician_a, patient_id=patient_id)
    again = issue_patient_sign_in(session, actor=world.admin_a, patient_id=patient_id)
    assert (again.created, again.username, again.user_id) == (False, first.username, first.user_id)
    assert again.temporary_password != first.temporary_password
    with pytest.raises(SignInFailed):
        authenticate(session, username=first.username, password=first.temporary_password)
    me = authenticate(session, username=again.username, password=again.temporary_password)
    assert me.patient_id == patient_id
    assert len(session.scalars(select(User).where(User.role == "patient")).all()) == 4


def test_a_disabled_sign_in_is_not_given_a_password(session: Session, world: World) -> None:
    patient_id = world.patient_a1.patient_id
    assert patient_id is not None and world.patient_a1.user_id is not None
    set_user_active(session, actor=world.admin_a, user_id=world.patient_a1.user_id, active=False)
    with pytest.raises(InvalidInput, match="administrator can enable it"):
        issue_patient_sign_in(session, actor=world.clinician_a, patient_id=patient_id)


def test_registration_and_sign_in_refused_together_write_nothing(
    session: Session, world: World
) -> None:
    """The page registers and makes the sign-in in one transaction: a refusal of the record
    leaves neither a record nor an account behind."""
    before = _rows(session)
    with pytest.raises(InvalidInput), session.begin_nested():
        patient_id = _register(session, world.clinician_a, email="bad")
        issue_patient_sign_in(session, actor=world.clinician_a, patient_id=patient_id)
    assert _rows(session) == before


def test_registration_leaves_no_patient_data_in_the_audit_trail(
    session: Session, world: World
) -> None:
    patient_id = _register(session, world.clinician_a)
    issued = issue_patient_sign_in(session, actor=world.clinician_a, patient_id=patient_id)
    rows = session.execute(select(AuditEvent.__table__)).mappings().all()
    mine = [row for row in rows if row["patient_id"] == patient_id]
    assert {row["action"] for row in mine} == {"create_patient", "create_patient_sign_in"}
    assert {row["subject"] for row in mine} == {None, f"account {issued.username}"}
    secrets = [NAME, *NAME.split(), MRN, EMAIL, PHONE, BORN.isoformat(), "es"]
    found = [
        f"{column}={value!r}"
        for row in rows
        for column, value in row.items()
        if isinstance(value, str)
        for secret in secrets
        if secret.lower() in value.lower().split() or (len(secret) > 3 and secret in value)
    ]
    assert not found, found
