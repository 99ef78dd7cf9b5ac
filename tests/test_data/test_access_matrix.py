"""Every data function × every kind of actor × every kind of target: allowed exactly by the rules.

The function list is found by introspection, not written down: every public function of the
core data modules, and every public function of any other ``data.*`` module that takes a
keyword-only ``actor``. A new function therefore fails :func:`test_access_matrix` until it has a
row in :data:`data.access.ACCESS_RULES` (or, for a function that acts for nobody, in
:data:`data.access.ACCESS_EXEMPT` with a reason) and the calls that exercise it here, in
:data:`CALLS`.

Who may call what is not written here: it is read from ``ACCESS_RULES``, the rules of
``DESIGN.md`` (Roles) as data. This test only knows how to call each function for each kind of
target, and checks that the ``ensure_*`` checks allow exactly the table's grants:

* a patient sees and writes only their own records, and none of the care team's actions
  (infusions, alerts, clinician-rated instruments);
* a clinician sees and writes the records of their own clinic's patients;
* an administrator sees their clinic's aggregates, accounts and audit trail, never one
  patient's records;
* the system actor acts on its own clinic;
* a forged actor (real user id, another role, clinic, name or patient), a disabled account and
  no actor at all are refused everything.

A refused call raises :class:`~data.errors.AccessDenied` and writes nothing. Each case runs in
a savepoint that is rolled back, so an allowed write cannot change the next case. The world is
built once per function and the cases run in a loop with one readable report at the end (some
thousand cases per database would otherwise cost a fixture each).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import io
import pkgutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import data
from data.access import ACCESS_EXEMPT, ACCESS_RULES, EVERY_CALL, Actor, Grant
from data.checkin import submit_checkin
from data.errors import AccessDenied
from data.infusions import InfusionInput, record_infusion
from data.models import Assessment, AuditEvent, Infusion, Patient, SafetyAlert, User
from tests.conftest import World

CORE_MODULES = (
    "data.records.patient_record",
    "data.records.patient_lists",
    "data.records.alert_review",
    "data.records.cohort",
    "data.checkin",
    "data.infusions",
    "data.accounts",
    "data.account_admin",
    "data.audit_trail",
)
PHQ9_SELF_HARM = {f"phq9_{i}": 2 for i in range(1, 10)} | {"phq9_9": 1}
PHQ9_MILD = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
MADRS = {f"madrs_{i}": 2 for i in range(1, 11)}
ABSENT_ID = 987_654_321  # no row has this id: absent records are refused like others' records

# --- discovery ---------------------------------------------------------------------------------


def _takes_keyword_actor(function: Callable[..., Any]) -> bool:
    parameter = inspect.signature(function).parameters.get("actor")
    return parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY


def _takes_actor(function: Callable[..., Any]) -> bool:
    return "actor" in inspect.signature(function).parameters


def _discover() -> tuple[dict[str, Callable[..., Any]], dict[str, str]]:
    """Public data functions by qualified name, and the traceback of every module that failed."""
    functions: dict[str, Callable[..., Any]] = {}
    import_failures: dict[str, str] = {}
    # Every module of data/ and its sub-packages (data.records, data.interchange, data.cli),
    # but not the migrations (Alembic's scripts) nor a __main__ (importing it runs it).
    names = {
        module.name
        for module in pkgutil.walk_packages(data.__path__, prefix="data.")
        if not module.name.startswith("data.migrations") and not module.name.endswith("__main__")
    }
    for name in sorted(names | set(CORE_MODULES)):
        try:
            module = importlib.import_module(name)
        except Exception:
            import_failures[name] = traceback.format_exc()
            continue
        for attribute, value in vars(module).items():
            if attribute.startswith("_") or not inspect.isfunction(value):
                continue
            if value.__module__ != name:  # imported from elsewhere, found under its own module
                continue
            if name in CORE_MODULES or _takes_keyword_actor(value):
                functions[f"{name}.{attribute}"] = value
    return functions, import_failures


FUNCTIONS, IMPORT_FAILURES = _discover()


# --- the world the cases run in ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A patient a call is about (with their account and an open alert), or none."""

    name: str
    patient_id: int | None = None
    clinic_id: int | None = None
    user_id: int | None = None
    alert_id: int | None = None
    infusion_id: int | None = None


@dataclass(frozen=True)
class MatrixWorld:
    world: World
    actors: dict[str, Actor | None]
    targets: dict[str, Target]


@dataclass(frozen=True)
class ActorKind:
    """One kind of caller. Only genuine actors may ever be allowed anything."""

    name: str
    genuine: bool


ACTOR_KINDS = (
    ActorKind("patient", genuine=True),  # patient_a1: own record is patient_a1
    ActorKind("clinician", genuine=True),
    ActorKind("clinician_other_clinic", genuine=True),
    ActorKind("administrator", genuine=True),
    ActorKind("administrator_other_clinic", genuine=True),
    ActorKind("system", genuine=True),
    ActorKind("system_other_clinic", genuine=True),
    ActorKind("forged_patient_as_clinician", genuine=False),
    ActorKind("forged_administrator_as_clinician", genuine=False),
    ActorKind("forged_clinician_of_other_clinic", genuine=False),
    ActorKind("forged_username", genuine=False),
    ActorKind("forged_system_with_account", genuine=False),
    ActorKind("forged_patient_id", genuine=False),
    ActorKind("disabled_clinician", genuine=False),
    ActorKind("disabled_administrator", genuine=False),
    ActorKind("no_actor", genuine=False),
)
PATIENT_TARGETS = ("patient_a1", "patient_a2", "patient_b1", "absent")
NO_TARGET = ("none",)


def _staff(session: Session, clinic_id: int, username: str, role: str, password_hash: str) -> User:
    user = User(
        clinic_id=clinic_id,
        username=username,
        display_name=username,
        role=role,
        password_hash=password_hash,
        failed_logins=0,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def _disabled(session: Session, user: User) -> Actor:
    actor = Actor(user.id, user.clinic_id, user.role, user.username)  # type: ignore[arg-type]
    user.active = False
    session.flush()
    return actor


def _open_alert(session: Session, clinician: Actor, patient_id: int | None) -> int:
    assert patient_id is not None
    stored = submit_checkin(
        session,
        actor=clinician,
        patient_id=patient_id,
        instrument="phq9",
        answers=PHQ9_SELF_HARM,
    )
    return stored.alert_ids[0]


def _infusion_of(session: Session, clinician: Actor, patient_id: int | None) -> int:
    assert patient_id is not None
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)  # not near the calls' own infusions
    return record_infusion(
        session,
        actor=clinician,
        patient_id=patient_id,
        infusion=InfusionInput(administered_at=when, route="iv", dose_mg_per_kg=0.5),
    )


@pytest.fixture
def matrix_world(session: Session, world: World, password_hash: str) -> MatrixWorld:
    admin_b = _staff(session, world.clinic_b, "admin-b", "administrator", password_hash)
    disabled_clinician = _staff(
        session, world.clinic_a, "clinician-a-disabled", "clinician", password_hash
    )
    disabled_admin = _staff(session, world.clinic_a, "admin-a-disabled", "administrator", "x")
    actors: dict[str, Actor | None] = {
        "patient": world.patient_a1,
        "clinician": world.clinician_a,
        "clinician_other_clinic": world.clinician_b,
        "administrator": world.admin_a,
        "administrator_other_clinic": Actor(
            admin_b.id, world.clinic_b, "administrator", admin_b.username
        ),
        "system": world.system_a,
        "system_other_clinic": Actor.system(world.clinic_b),
        "forged_patient_as_clinician": replace(world.patient_a1, role="clinician", patient_id=None),
        "forged_administrator_as_clinician": replace(world.admin_a, role="clinician"),
        "forged_clinician_of_other_clinic": replace(world.clinician_b, clinic_id=world.clinic_a),
        "forged_username": replace(world.clinician_a, username="clinician-b"),
        "forged_system_with_account": replace(world.clinician_a, role="system"),
        "forged_patient_id": replace(world.patient_a1, patient_id=world.patient_a2.patient_id),
        "disabled_clinician": _disabled(session, disabled_clinician),
        "disabled_administrator": _disabled(session, disabled_admin),
        "no_actor": None,
    }
    # Every patient has an e-mail address on record: an invitation is sent to it (issue 14).
    for patient in (world.patient_a1, world.patient_a2, world.patient_b1):
        row = session.get(Patient, patient.patient_id)
        assert row is not None
        row.email = f"{patient.username}@example.org"
    targets = {
        "none": Target("none"),
        "absent": Target(
            "absent",
            patient_id=ABSENT_ID,
            user_id=ABSENT_ID,
            alert_id=ABSENT_ID,
            infusion_id=ABSENT_ID,
        ),
    }
    for name, patient, clinician, clinic_id in (
        ("patient_a1", world.patient_a1, world.clinician_a, world.clinic_a),
        ("patient_a2", world.patient_a2, world.clinician_a, world.clinic_a),
        ("patient_b1", world.patient_b1, world.clinician_b, world.clinic_b),
    ):
        targets[name] = Target(
            name,
            patient_id=patient.patient_id,
            clinic_id=clinic_id,
            user_id=patient.user_id,
            alert_id=_open_alert(session, clinician, patient.patient_id),
            infusion_id=_infusion_of(session, clinician, patient.patient_id),
        )
    return MatrixWorld(world=world, actors=actors, targets=targets)


def relation(actor: Actor, target: Target) -> str:
    """How a genuine actor stands to a target: own, clinic, other, absent or none."""
    if target.name == "none":
        return "none"
    if target.name == "absent":
        return "absent"
    if actor.role == "patient" and actor.patient_id == target.patient_id:
        return "own"
    return "clinic" if actor.clinic_id == target.clinic_id else "other"


# --- the rules ---------------------------------------------------------------------------------

Kwargs = Callable[[MatrixWorld, Target], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """How to call a function for each target, and which case of its access rule that is.

    ``label`` tells two calls of the same case apart in the report.
    """

    targets: tuple[str, ...]
    kwargs: Kwargs
    case: str = EVERY_CALL
    label: str = ""

    def allowed(self, name: str) -> frozenset[Grant]:
        return ACCESS_RULES[name][self.case]


def _patient(_: MatrixWorld, target: Target) -> dict[str, Any]:
    return {"patient_id": target.patient_id}


def _nothing(_: MatrixWorld, __: Target) -> dict[str, Any]:
    return {}


def _checkin(instrument: str, answers: dict[str, int]) -> Kwargs:
    # Dated well before the world's records: the patient's window of today holds their
    # check-in already, and a second one in a window is refused (spec section 3, issue 12).
    return lambda _, target: {
        "patient_id": target.patient_id,
        "instrument": instrument,
        "answers": answers,
        "administered_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=400),
    }


def _infusion(_: MatrixWorld, target: Target) -> dict[str, Any]:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    return {
        "patient_id": target.patient_id,
        "infusion": InfusionInput(administered_at=when, route="iv", dose_mg_per_kg=0.5),
    }


def _export(patient: bool) -> Kwargs:
    def kwargs(_: MatrixWorld, target: Target) -> dict[str, Any]:
        return {"out": io.StringIO(), "patient_id": target.patient_id if patient else None}

    return kwargs


def _on_call_entry(name: str, email: str) -> Any:
    from data.notify.on_call import OnCallEntry

    return OnCallEntry(name=name, email=email)


# A file of another clinic's record names a patient by the clinic's own id, so an import can
# only ever reach the importer's own clinic: the case is "none", with unknown ids registered.
ASSESSMENTS_CSV = (
    "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 10)) + "\n"
    "MRN-patient-a1,phq9,2024-03-01," + ",".join("1" * 9) + "\n"
)
INFUSIONS_CSV = "patient_id,administered_at,route\nMRN-patient-a1,2024-03-01T10:00:00Z,iv\n"


def _import(text: str) -> Kwargs:
    return lambda _, __: {"source": io.StringIO(text), "create_patients": True}


def _fhir_import(_: MatrixWorld, __: Target) -> dict[str, Any]:
    import datetime as dt

    from outcomes.fhir import patient_bundle

    bundle = patient_bundle(
        [("phq9", {f"phq9_{i}": 1 for i in range(1, 10)}, dt.datetime(2024, 3, 1, tzinfo=dt.UTC))],
        subject="Patient/MRN-from-fhir",
    )
    return {"source": bundle.model_dump(mode="json", exclude_none=True), "create_patients": True}


def _administrations(_: MatrixWorld, __: Target) -> dict[str, Any]:
    from data.interchange.pipeline import AdministrationTable

    table = AdministrationTable(
        labels=["row 2"],
        patient=pd.Series(["MRN-patient-a1"]),
        instrument=pd.Series(["phq9"]),
        administered_at=pd.Series(pd.to_datetime(["2024-03-01T12:00:00Z"], utc=True)),
        items={f"phq9_{i}": pd.Series([1], dtype="Int64") for i in range(1, 10)},
    )
    return {"table": table, "create_patients": True}


CALLS: dict[str, tuple[Call, ...]] = {
    # data.records
    "data.records.patient_record.patient_record": (Call(PATIENT_TARGETS, _patient),),
    "data.records.patient_record.patient_assessments": (Call(PATIENT_TARGETS, _patient),),
    "data.records.patient_record.patient_infusions": (Call(PATIENT_TARGETS, _patient),),
    "data.records.patient_record.patient_infusion_log": (Call(PATIENT_TARGETS, _patient),),
    "data.records.alert_review.patient_alerts": (Call(PATIENT_TARGETS, _patient),),
    "data.records.patient_lists.clinic_patients": (Call(NO_TARGET, _nothing),),
    "data.records.patient_lists.patients_without_contact": (Call(NO_TARGET, _nothing),),
    "data.records.cohort.weekly_aggregates": (
        Call(NO_TARGET, lambda _, __: {"instrument": "phq9"}),
    ),
    "data.records.patient_lists.find_patients": (
        Call(NO_TARGET, lambda _, __: {"query": "patient"}),
    ),
    "data.records.alert_review.open_alerts": (Call(NO_TARGET, _nothing),),
    "data.records.worklist_state.worklist_state": (Call(NO_TARGET, _nothing),),
    # Safety alerts reach a person (issue 14)
    "data.records.alert_history.alert_history": (
        Call(PATIENT_TARGETS, lambda _, target: {"alert_id": target.alert_id}),
    ),
    "data.notify.safety.care_team_told": (Call(PATIENT_TARGETS, _patient),),
    "data.records.alert_history.alert_histories": (
        Call(
            NO_TARGET,
            lambda matrix, _: {
                "alert_ids": [t.alert_id for t in matrix.targets.values() if t.alert_id is not None]
            },
        ),
    ),
    "data.records.alert_review.acknowledge_alert": (
        Call(
            PATIENT_TARGETS,
            lambda _, target: {"alert_id": target.alert_id, "note": "called the patient"},
        ),
    ),
    "data.records.patients.create_patient": (
        Call(
            NO_TARGET,
            lambda _, __: {
                "external_id": "MRN-matrix",
                "name": "Matrix Patient",
                "date_of_birth": dt.date(1990, 1, 2),
                "email": "matrix@example.org",
                "preferred_language": "es",
            },
        ),
    ),
    "data.records.cohort.cohort_assessments": (
        Call(NO_TARGET, lambda _, __: {"instrument": "phq9"}),
    ),
    "data.records.cohort.cohort_infusions": (Call(NO_TARGET, _nothing),),
    "data.records.cohort.outcomes_view": (Call(NO_TARGET, lambda _, __: {"instrument": "phq9"}),),
    "data.records.cohort.cohort_courses": (
        Call(NO_TARGET, lambda _, __: {"instrument": "phq9", "protocol": "standard"}),
    ),
    "data.records.cohort.cohort_protocols": (Call(NO_TARGET, _nothing),),
    # data.checkin
    "data.checkin.submit_checkin": (
        Call(PATIENT_TARGETS, _checkin("phq9", PHQ9_MILD), "self-rated instrument", "phq9"),
        Call(
            PATIENT_TARGETS,
            _checkin("phq9", PHQ9_SELF_HARM),
            "self-rated instrument",
            "phq9 item 9",
        ),
        Call(PATIENT_TARGETS, _checkin("madrs", MADRS), "clinician-rated instrument", "madrs"),
    ),
    "data.checkin.correctable_checkins": (Call(PATIENT_TARGETS, _patient),),
    # data.infusions
    "data.infusions.record_infusion": (Call(PATIENT_TARGETS, _infusion),),
    "data.infusions.mark_infusion_entered_in_error": (
        Call(
            PATIENT_TARGETS,
            lambda _, target: {
                "patient_id": target.patient_id,
                "infusion_id": target.infusion_id,
                "reason": "recorded twice",
            },
        ),
    ),
    # data.schedule (issue 14)
    "data.schedule.protocol_schedules": (Call(NO_TARGET, _nothing),),
    "data.schedule.save_schedule": (
        Call(
            NO_TARGET,
            lambda _, __: {
                "protocol": "standard",
                "induction_infusions": 6,
                "points": [{"kind": "baseline", "instruments": ["phq9"]}],
            },
        ),
    ),
    "data.schedule.plan_infusion": (
        Call(
            PATIENT_TARGETS,
            lambda _, target: {
                "patient_id": target.patient_id,
                "planned_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
            },
        ),
    ),
    "data.schedule.cancel_planned_infusion": (
        Call(PATIENT_TARGETS, lambda _, target: {"patient_id": target.patient_id, "planned_id": 0}),
    ),
    "data.schedule.patient_schedule": (
        Call(
            PATIENT_TARGETS,
            lambda _, target: {"patient_id": target.patient_id, "today": dt.date.today()},
        ),
    ),
    "data.schedule.due_checkins": (Call(NO_TARGET, lambda _, __: {"at": dt.datetime.now(dt.UTC)}),),
    # data.accounts (sign-in), data.account_admin, data.audit_trail
    "data.account_admin.create_user": (
        Call(
            NO_TARGET,
            lambda _, __: {
                "username": "matrix-new-user",
                "password": "a long enough password",
                "role": "clinician",
                "display_name": "Matrix User",
            },
        ),
    ),
    "data.account_admin.list_users": (Call(NO_TARGET, _nothing),),
    "data.account_admin.issue_patient_sign_in": (Call(PATIENT_TARGETS, _patient),),
    "data.account_admin.clinic_clinicians": (Call(NO_TARGET, _nothing),),
    "data.records.patients.patient_id_for_mrn": (
        Call(NO_TARGET, lambda _, __: {"external_id": "MRN-patient-a1"}),
    ),
    "data.audit_trail.audit_log": (Call(NO_TARGET, _nothing),),
    "data.account_admin.set_user_active": (
        Call(PATIENT_TARGETS, lambda _, target: {"user_id": target.user_id, "active": False}),
    ),
    "data.account_admin.reset_password": (
        Call(
            PATIENT_TARGETS,
            lambda _, target: {"user_id": target.user_id, "new_password": "a new long password"},
        ),
    ),
    "data.accounts.sign_out_everywhere": (Call(NO_TARGET, _nothing),),
    # data.sessions (a session id of nobody's: one's own is the data tests' subject)
    "data.sessions.start_session": (Call(NO_TARGET, lambda _, __: {"browser": "matrix"}),),
    "data.sessions.touch": (
        Call(NO_TARGET, lambda _, __: {"session_id": ABSENT_ID, "idle_minutes": 30}),
    ),
    "data.sessions.end_session": (Call(NO_TARGET, lambda _, __: {"session_id": ABSENT_ID}),),
    # data.interchange
    "data.interchange.csv_export.ensure_can_export": (
        Call(PATIENT_TARGETS, _patient, "one patient"),
        Call(NO_TARGET, lambda _, __: {"patient_id": None}, "whole clinic"),
    ),
    "data.interchange.csv_export.export_assessments_csv": (
        Call(PATIENT_TARGETS, _export(patient=True), "one patient"),
        Call(NO_TARGET, _export(patient=False), "whole clinic"),
    ),
    "data.interchange.csv_export.export_infusions_csv": (
        Call(PATIENT_TARGETS, _export(patient=True), "one patient"),
        Call(NO_TARGET, _export(patient=False), "whole clinic"),
    ),
    "data.interchange.csv_assessments.import_assessments_csv": (
        Call(NO_TARGET, _import(ASSESSMENTS_CSV)),
    ),
    "data.interchange.csv_infusions.import_infusions_csv": (
        Call(NO_TARGET, _import(INFUSIONS_CSV)),
    ),
    "data.interchange.administrations.store_administrations": (Call(NO_TARGET, _administrations),),
    "data.interchange.csv_assessments.prepare_assessments_csv": (
        Call(NO_TARGET, _import(ASSESSMENTS_CSV)),
    ),
    "data.interchange.csv_infusions.prepare_infusions_csv": (
        Call(NO_TARGET, _import(INFUSIONS_CSV)),
    ),
    "data.interchange.administrations.prepare_administrations": (
        Call(NO_TARGET, _administrations),
    ),
    # data.interchange.fhir_read, fhir_export
    "data.interchange.fhir_read.prepare_fhir_bundle": (Call(NO_TARGET, _fhir_import),),
    "data.interchange.fhir_read.import_fhir_bundle": (Call(NO_TARGET, _fhir_import),),
    "data.interchange.fhir_export.export_fhir_bundle": (
        Call(PATIENT_TARGETS, _patient, "one patient"),
        Call(NO_TARGET, lambda _, __: {"patient_id": None}, "whole clinic"),
    ),
    # data.clinic
    "data.clinic.set_clinic_time_zone": (
        Call(NO_TARGET, lambda _, __: {"time_zone": "America/New_York"}),
    ),
    "data.clinic.set_crisis_contacts": (
        Call(NO_TARGET, lambda _, __: {"crisis_call_number": "988", "clinic_hours": "9 to 5"}),
    ),
    # data.notify (issue 14): message settings, templates, on-call list, delivery log
    "data.notify.settings_admin.message_settings": (Call(NO_TARGET, _nothing),),
    "data.notify.settings_admin.set_message_settings": (
        Call(NO_TARGET, lambda _, __: {"quiet_hours_start": "22:00", "reminders_on": True}),
    ),
    "data.notify.templates.clinic_templates": (Call(NO_TARGET, _nothing),),
    "data.notify.templates.save_template": (
        Call(
            NO_TARGET,
            lambda _, __: {
                "kind": "checkin_reminder",
                "channel": "sms",
                "subject": None,
                "body": "{clinic_name}: check in here {link} Reply STOP to stop.",
            },
        ),
    ),
    "data.notify.templates.reset_template": (
        Call(NO_TARGET, lambda _, __: {"kind": "invitation", "channel": "email"}),
    ),
    "data.notify.on_call.on_call_list": (Call(NO_TARGET, _nothing),),
    "data.notify.on_call.save_on_call_list": (
        Call(
            NO_TARGET,
            lambda _, __: {"entries": [_on_call_entry("Dr On Call", "oncall@example.org")]},
        ),
    ),
    "data.notify.on_call.add_on_call_contact": (
        Call(NO_TARGET, lambda _, __: {"entry": _on_call_entry("Nurse", "nurse@example.org")}),
    ),
    "data.account_admin.set_user_contact": (
        Call(
            PATIENT_TARGETS,
            lambda _, target: {
                "user_id": target.user_id,
                "email": "someone@example.org",
                "phone": "+1 212 555 0143",
            },
        ),
    ),
    "data.notify.delivery_log.delivery_log": (Call(NO_TARGET, _nothing),),
    "data.notify.delivery_log.delivery_counts": (Call(NO_TARGET, _nothing),),
    "data.notify.delivery_log.sent_messages": (Call(NO_TARGET, _nothing),),
    "data.notify.delivery_log.unreachable_patients": (Call(NO_TARGET, _nothing),),
    "data.notify.reminder_effect.reminder_completeness": (Call(NO_TARGET, _nothing),),
    # data.rescore
    "data.rescore.rescore": (Call(NO_TARGET, _nothing),),
    # data.notify.invitations (issue 14)
    "data.notify.invitations.invite_patient": (
        Call(
            PATIENT_TARGETS, lambda _, target: {"patient_id": target.patient_id, "channel": "email"}
        ),
    ),
    # data.access
    "data.access.ensure_can_view_patient": (Call(PATIENT_TARGETS, _patient),),
    "data.access.ensure_can_write_patient": (
        Call(PATIENT_TARGETS, _patient, "default"),
        Call(
            PATIENT_TARGETS,
            lambda _, target: {"patient_id": target.patient_id, "clinician_only": True},
            "clinician_only=True",
        ),
    ),
    # data.notify.health (issue 14, send)
    "data.notify.health.delivery_health": (Call(NO_TARGET, _nothing),),
}
"""How to call each function of :data:`data.access.ACCESS_RULES`: one entry per case of its rule
(or more, told apart by their labels)."""


# --- running one case --------------------------------------------------------------------------

COUNTED = (Assessment, Infusion, SafetyAlert, AuditEvent, User, Patient)


def _row_counts(session: Session) -> dict[str, int]:
    query = select(
        *(select(func.count()).select_from(model).scalar_subquery() for model in COUNTED)
    )
    counts = session.execute(query).one()
    return {model.__tablename__: int(count) for model, count in zip(COUNTED, counts, strict=True)}


def _run_case(
    session: Session, function: Callable[..., Any], actor: Actor | None, kwargs: dict[str, Any]
) -> tuple[str, str]:
    """``("allowed" | "denied" | "error", detail)``; a denial that wrote anything is an error."""
    before = _row_counts(session)
    savepoint = session.begin_nested()
    try:
        function(session, actor=actor, **kwargs)
    except AccessDenied:
        pending = [type(row).__name__ for row in session.new]
        changed = [type(row).__name__ for row in session.dirty if session.is_modified(row)]
        after = _row_counts(session)
        written = {table: after[table] - before[table] for table in after}
        written = {table: count for table, count in written.items() if count}
        if pending or changed or written:
            detail = f"pending {pending}, changed {changed}, new rows {written}"
            return "error", f"AccessDenied, but it wrote: {detail}"
        return "denied", ""
    except Exception as error:
        return "error", f"{type(error).__name__}: {error}"
    else:
        return "allowed", ""
    finally:
        savepoint.rollback()


def _expected(
    kind: ActorKind, actor: Actor | None, target: Target, allowed: frozenset[str]
) -> bool:
    if not kind.genuine or actor is None:
        return False
    return f"{actor.role}:{relation(actor, target)}" in allowed


# --- the tests ---------------------------------------------------------------------------------


def test_every_data_module_imports() -> None:
    report = "\n".join(f"{name}:\n{failure}" for name, failure in IMPORT_FAILURES.items())
    assert not IMPORT_FAILURES, f"data modules that fail to import:\n{report}"


def test_every_public_data_function_has_an_access_rule_or_an_exemption() -> None:
    problems = []
    for name, function in sorted(FUNCTIONS.items()):
        if name in ACCESS_EXEMPT:
            continue
        if not _takes_actor(function):
            problems.append(
                f"{name} takes no actor: give it a keyword-only actor checked by data.access, "
                f"or add it to data.access.ACCESS_EXEMPT with the reason it acts for nobody"
            )
        elif name not in ACCESS_RULES:
            problems.append(f"add an access rule for {name} to data.access.ACCESS_RULES")
        elif name not in CALLS:
            problems.append(f"add the calls that exercise {name}'s access rule to CALLS")
    for name in sorted(set(ACCESS_RULES) | set(ACCESS_EXEMPT) | set(CALLS)):
        if name not in FUNCTIONS:
            problems.append(
                f"{name} has a rule, exemption or calls but no longer exists: remove it"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(n for n in FUNCTIONS if n not in ACCESS_EXEMPT))
def test_access_matrix(session: Session, matrix_world: MatrixWorld, name: str) -> None:
    if name not in ACCESS_RULES:
        pytest.fail(f"add an access rule for {name} to data.access.ACCESS_RULES")
    if name not in CALLS:
        pytest.fail(f"add the calls that exercise {name}'s access rule to CALLS")
    function = FUNCTIONS[name]
    failures = []
    cases = 0
    for call in CALLS[name]:
        label = name if call.case == EVERY_CALL else f"{name}[{call.label or call.case}]"
        allowed = call.allowed(name)
        for kind in ACTOR_KINDS:
            actor = matrix_world.actors[kind.name]
            for target_name in call.targets:
                target = matrix_world.targets[target_name]
                cases += 1
                expected = _expected(kind, actor, target, allowed)
                outcome, detail = _run_case(
                    session, function, actor, call.kwargs(matrix_world, target)
                )
                if outcome == ("allowed" if expected else "denied"):
                    continue
                failures.append(
                    f"{label} as {kind.name} on {target_name}: expected "
                    f"{'to be allowed' if expected else 'AccessDenied'}, got {outcome}"
                    + (f" ({detail})" if detail else "")
                )
    assert cases > 0
    assert not failures, f"{len(failures)} of {cases} cases wrong:\n" + "\n".join(failures)


def test_the_matrix_covers_every_kind_of_actor_and_target() -> None:
    """A guard on the tables themselves: no case of a rule untested, none quietly testing fewer
    cases than the others, and a rule's grants of the kind its calls' targets can match."""
    for name, calls in CALLS.items():
        for call in calls:
            assert call.targets in (PATIENT_TARGETS, NO_TARGET), name
            assert call.case in ACCESS_RULES.get(name, {}), f"{name}: no case {call.case!r}"
            relations = {grant.split(":")[1] for grant in call.allowed(name)}
            if call.targets == NO_TARGET:
                assert relations == {"none"}, f"{name}[{call.case}] names no patient"
            else:
                assert "none" not in relations, f"{name}[{call.case}] names a patient"
    for name, cases in ACCESS_RULES.items():
        exercised = {call.case for call in CALLS.get(name, ())}
        assert set(cases) == exercised, f"{name}: cases {set(cases) - exercised} never called"
        for grants in cases.values():
            assert grants, f"{name}: a case nobody may call is a function nobody needs"
            unknown = {grant.split(":")[0] for grant in grants} - {
                "patient",
                "clinician",
                "administrator",
                "system",
            }
            assert not unknown, f"{name}: unknown role(s) {unknown}"
            # Nobody is ever allowed another clinic's patient or an absent one.
            assert not {g for g in grants if g.endswith((":other", ":absent"))}, name
    for name, reason in ACCESS_EXEMPT.items():
        assert len(reason) > 20, f"{name}: say why it acts for nobody"


def test_a_denial_that_wrote_something_is_reported(session: Session, world: World) -> None:
    """The harness itself: a refusal after a write must not pass as a clean denial."""

    def leaky(session: Session, *, actor: Actor | None) -> None:
        assert actor is not None
        session.add(AuditEvent(clinic_id=actor.clinic_id, actor_name="leak", action="leak"))
        raise AccessDenied()

    def clean(session: Session, *, actor: Actor | None) -> None:
        raise AccessDenied()

    outcome, detail = _run_case(session, leaky, world.clinician_a, {})
    assert outcome == "error"
    assert "AuditEvent" in detail
    assert _run_case(session, clean, world.clinician_a, {}) == ("denied", "")
    assert _row_counts(session)["audit_event"] == 0
