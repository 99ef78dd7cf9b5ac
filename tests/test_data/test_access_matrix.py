"""Every data function × every kind of actor × every kind of target: allowed exactly by the rules.

The function list is found by introspection, not written down: every public function of the
core data modules, and every public function of any other ``data.*`` module that takes a
keyword-only ``actor``. A new function therefore fails :func:`test_access_matrix` until it has a
row in :data:`RULES` (or, for a function that acts for nobody, in :data:`EXEMPT` with a reason).

The rules are those of ``DESIGN.md`` (Roles) and ``data/access.py``:

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
from data.access import Actor
from data.checkin import submit_checkin
from data.errors import AccessDenied
from data.infusions import InfusionInput
from data.models import Assessment, AuditEvent, Infusion, Patient, SafetyAlert, User
from tests.conftest import World

CORE_MODULES = ("data.repository", "data.checkin", "data.infusions", "data.accounts")
PHQ9_SELF_HARM = {f"phq9_{i}": 2 for i in range(1, 10)} | {"phq9_9": 1}
PHQ9_MILD = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
MADRS = {f"madrs_{i}": 2 for i in range(1, 11)}
ABSENT_ID = 987_654_321  # no row has this id: absent records are refused like others' records

# Public functions that act for nobody, so no access rule applies.
EXEMPT: dict[str, str] = {
    "data.accounts.authenticate": "the sign-in itself: there is no actor yet",
    "data.accounts.authenticate_single_sign_on": (
        "the single sign-on itself: the identity provider has verified the email, and there "
        "is no actor yet (tested in test_accounts.py)"
    ),
    "data.accounts.hash_password": "pure function of its argument; reads and writes nothing",
    "data.accounts.sign_in": (
        "the app's sign-in itself (authenticate in separate transactions, throttled): there "
        "is no actor yet (tested in test_accounts.py)"
    ),
    "data.accounts.session_still_valid": (
        "answers whether the actor's own sign-in is still valid; reads nothing of a patient "
        "and writes nothing (tested in test_accounts.py)"
    ),
    "data.checkin.safety_alert_kinds": "pure function of an instrument and its flags",
    "data.infusions.problems_with": "pure validation of an InfusionInput; no database",
    "data.infusions.side_effect_label": "pure formatting of a side-effect code",
    "data.infusions.side_effect_labels": "pure formatting of side-effect codes",
    "data.audit.record": (
        "adds the audit event for a decision its caller (a checked data function) has "
        "already made; pages never call it (its events are tested in test_audit.py)"
    ),
    "data.audit.record_many": (
        "adds the audit events of an import its caller (a checked data function) has already "
        "allowed; pages never call it (tested in test_audit.py)"
    ),
}


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
    names = {f"data.{module.name}" for module in pkgutil.iter_modules(data.__path__)}
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
    targets = {
        "none": Target("none"),
        "absent": Target("absent", patient_id=ABSENT_ID, user_id=ABSENT_ID, alert_id=ABSENT_ID),
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
class Rule:
    """How to call a function for a target, and which ``role:relation`` pairs it allows."""

    targets: tuple[str, ...]
    kwargs: Kwargs
    allowed: frozenset[str]
    variant: str = ""


OWN_OR_CARE_TEAM = frozenset({"patient:own", "clinician:clinic", "system:clinic"})
CARE_TEAM = frozenset({"clinician:clinic", "system:clinic"})
ACCOUNT_MANAGERS = frozenset({"administrator:clinic", "system:clinic"})
CLINIC_STAFF = frozenset({"clinician:none", "system:none"})
AGGREGATE_READERS = frozenset({"clinician:none", "administrator:none", "system:none"})
ADMINISTRATION = frozenset({"administrator:none", "system:none"})
EVERY_SIGNED_IN_USER = frozenset(
    {"patient:none", "clinician:none", "administrator:none", "system:none"}
)


def _patient(_: MatrixWorld, target: Target) -> dict[str, Any]:
    return {"patient_id": target.patient_id}


def _nothing(_: MatrixWorld, __: Target) -> dict[str, Any]:
    return {}


def _checkin(instrument: str, answers: dict[str, int]) -> Kwargs:
    return lambda _, target: {
        "patient_id": target.patient_id,
        "instrument": instrument,
        "answers": answers,
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
    from data.csv_io import AdministrationTable

    table = AdministrationTable(
        labels=["row 2"],
        patient=pd.Series(["MRN-patient-a1"]),
        instrument=pd.Series(["phq9"]),
        administered_at=pd.Series(pd.to_datetime(["2024-03-01T12:00:00Z"], utc=True)),
        items={f"phq9_{i}": pd.Series([1], dtype="Int64") for i in range(1, 10)},
    )
    return {"table": table, "create_patients": True}


RULES: dict[str, tuple[Rule, ...]] = {
    # data.repository
    "data.repository.patient_record": (Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM),),
    "data.repository.patient_assessments": (Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM),),
    "data.repository.patient_infusions": (Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM),),
    "data.repository.patient_alerts": (Rule(PATIENT_TARGETS, _patient, CARE_TEAM),),
    "data.repository.clinic_patients": (Rule(NO_TARGET, _nothing, CLINIC_STAFF),),
    "data.repository.weekly_aggregates": (
        Rule(NO_TARGET, lambda _, __: {"instrument": "phq9"}, AGGREGATE_READERS),
    ),
    "data.repository.find_patients": (
        Rule(NO_TARGET, lambda _, __: {"query": "patient"}, CLINIC_STAFF),
    ),
    "data.repository.open_alerts": (Rule(NO_TARGET, _nothing, CLINIC_STAFF),),
    "data.repository.acknowledge_alert": (
        Rule(
            PATIENT_TARGETS,
            lambda _, target: {"alert_id": target.alert_id, "note": "called the patient"},
            CARE_TEAM,
        ),
    ),
    "data.repository.create_patient": (
        Rule(
            NO_TARGET,
            lambda _, __: {
                "external_id": "MRN-matrix",
                "name": "Matrix Patient",
                "date_of_birth": dt.date(1990, 1, 2),
            },
            CLINIC_STAFF,
        ),
    ),
    "data.repository.cohort_assessments": (
        Rule(NO_TARGET, lambda _, __: {"instrument": "phq9"}, AGGREGATE_READERS),
    ),
    "data.repository.cohort_infusions": (Rule(NO_TARGET, _nothing, AGGREGATE_READERS),),
    # data.checkin
    "data.checkin.submit_checkin": (
        Rule(PATIENT_TARGETS, _checkin("phq9", PHQ9_MILD), OWN_OR_CARE_TEAM, "phq9"),
        Rule(PATIENT_TARGETS, _checkin("phq9", PHQ9_SELF_HARM), OWN_OR_CARE_TEAM, "phq9 item 9"),
        Rule(PATIENT_TARGETS, _checkin("madrs", MADRS), CARE_TEAM, "madrs (clinician-rated)"),
    ),
    # data.infusions
    "data.infusions.record_infusion": (Rule(PATIENT_TARGETS, _infusion, CARE_TEAM),),
    # data.accounts
    "data.accounts.create_user": (
        Rule(
            NO_TARGET,
            lambda _, __: {
                "username": "matrix-new-user",
                "password": "a long enough password",
                "role": "clinician",
                "display_name": "Matrix User",
            },
            ADMINISTRATION,
        ),
    ),
    "data.accounts.list_users": (Rule(NO_TARGET, _nothing, ADMINISTRATION),),
    "data.accounts.audit_log": (Rule(NO_TARGET, _nothing, ADMINISTRATION),),
    "data.accounts.set_user_active": (
        Rule(
            PATIENT_TARGETS,
            lambda _, target: {"user_id": target.user_id, "active": False},
            ACCOUNT_MANAGERS,
        ),
    ),
    "data.accounts.reset_password": (
        Rule(
            PATIENT_TARGETS,
            lambda _, target: {"user_id": target.user_id, "new_password": "a new long password"},
            ACCOUNT_MANAGERS,
        ),
    ),
    "data.accounts.sign_out_everywhere": (Rule(NO_TARGET, _nothing, EVERY_SIGNED_IN_USER),),
    # data.csv_io: a patient's export as their record; the clinic's as the clinic's records
    "data.csv_io.ensure_can_export": (
        Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM, "one patient"),
        Rule(NO_TARGET, lambda _, __: {"patient_id": None}, CLINIC_STAFF, "whole clinic"),
    ),
    "data.csv_io.export_assessments_csv": (
        Rule(PATIENT_TARGETS, _export(patient=True), OWN_OR_CARE_TEAM, "one patient"),
        Rule(NO_TARGET, _export(patient=False), CLINIC_STAFF, "whole clinic"),
    ),
    "data.csv_io.export_infusions_csv": (
        Rule(PATIENT_TARGETS, _export(patient=True), OWN_OR_CARE_TEAM, "one patient"),
        Rule(NO_TARGET, _export(patient=False), CLINIC_STAFF, "whole clinic"),
    ),
    "data.csv_io.import_assessments_csv": (
        Rule(NO_TARGET, _import(ASSESSMENTS_CSV), CLINIC_STAFF),
    ),
    "data.csv_io.import_infusions_csv": (Rule(NO_TARGET, _import(INFUSIONS_CSV), CLINIC_STAFF),),
    "data.csv_io.store_administrations": (Rule(NO_TARGET, _administrations, CLINIC_STAFF),),
    # the first half of an import (read and check; nothing written): the import's rules
    "data.csv_io.prepare_assessments_csv": (
        Rule(NO_TARGET, _import(ASSESSMENTS_CSV), CLINIC_STAFF),
    ),
    "data.csv_io.prepare_infusions_csv": (Rule(NO_TARGET, _import(INFUSIONS_CSV), CLINIC_STAFF),),
    "data.csv_io.prepare_administrations": (Rule(NO_TARGET, _administrations, CLINIC_STAFF),),
    "data.fhir_io.prepare_fhir_bundle": (Rule(NO_TARGET, _fhir_import, CLINIC_STAFF),),
    # data.fhir_io: the same rules as the CSV import and export
    "data.fhir_io.import_fhir_bundle": (Rule(NO_TARGET, _fhir_import, CLINIC_STAFF),),
    "data.fhir_io.export_fhir_bundle": (
        Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM, "one patient"),
        Rule(NO_TARGET, lambda _, __: {"patient_id": None}, CLINIC_STAFF, "whole clinic"),
    ),
    # data.rescore: recomputing every stored score is the clinic's administration
    "data.rescore.rescore": (Rule(NO_TARGET, _nothing, ADMINISTRATION),),
    # data.access: the checks themselves, callable by any data module
    "data.access.ensure_can_view_patient": (Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM),),
    "data.access.ensure_can_write_patient": (
        Rule(PATIENT_TARGETS, _patient, OWN_OR_CARE_TEAM),
        Rule(
            PATIENT_TARGETS,
            lambda _, target: {"patient_id": target.patient_id, "clinician_only": True},
            CARE_TEAM,
            "clinician_only",
        ),
    ),
}


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


def _expected(kind: ActorKind, actor: Actor | None, target: Target, rule: Rule) -> bool:
    if not kind.genuine or actor is None:
        return False
    return f"{actor.role}:{relation(actor, target)}" in rule.allowed


# --- the tests ---------------------------------------------------------------------------------


def test_every_data_module_imports() -> None:
    report = "\n".join(f"{name}:\n{failure}" for name, failure in IMPORT_FAILURES.items())
    assert not IMPORT_FAILURES, f"data modules that fail to import:\n{report}"


def test_every_public_data_function_has_an_access_rule_or_an_exemption() -> None:
    problems = []
    for name, function in sorted(FUNCTIONS.items()):
        if name in EXEMPT:
            continue
        if not _takes_actor(function):
            problems.append(
                f"{name} takes no actor: give it a keyword-only actor checked by data.access, "
                f"or add it to EXEMPT with the reason it acts for nobody"
            )
        elif name not in RULES:
            problems.append(f"add an access rule for {name}")
    for name in sorted(set(RULES) | set(EXEMPT)):
        if name not in FUNCTIONS:
            problems.append(f"{name} has a rule or exemption but no longer exists: remove it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(n for n in FUNCTIONS if n not in EXEMPT))
def test_access_matrix(session: Session, matrix_world: MatrixWorld, name: str) -> None:
    if name not in RULES:
        pytest.fail(f"add an access rule for {name}")
    function = FUNCTIONS[name]
    failures = []
    cases = 0
    for rule in RULES[name]:
        label = f"{name}[{rule.variant}]" if rule.variant else name
        for kind in ACTOR_KINDS:
            actor = matrix_world.actors[kind.name]
            for target_name in rule.targets:
                target = matrix_world.targets[target_name]
                cases += 1
                expected = _expected(kind, actor, target, rule)
                outcome, detail = _run_case(
                    session, function, actor, rule.kwargs(matrix_world, target)
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
    """A guard on the table itself: no rule may quietly test fewer cases than the others."""
    for name, rules in RULES.items():
        for rule in rules:
            assert rule.targets in (PATIENT_TARGETS, NO_TARGET), name
            unknown = {pair.split(":")[0] for pair in rule.allowed} - {
                "patient",
                "clinician",
                "administrator",
                "system",
            }
            assert not unknown, f"{name}: unknown role(s) {unknown}"
            # Nobody is ever allowed another clinic's patient or an absent one.
            assert not {p for p in rule.allowed if p.endswith((":other", ":absent"))}, name


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
