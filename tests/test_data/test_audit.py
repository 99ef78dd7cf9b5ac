"""The audit trail: every read and write of a patient's records, in the same transaction, with
no patient data in it; and no patient data in Python logging at all."""

from __future__ import annotations

import ast
import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.audit_trail import audit_log
from data.checkin import submit_checkin
from data.infusions import InfusionInput, record_infusion
from data.models import AuditEvent, User
from data.records.alert_review import acknowledge_alert, open_alerts, patient_alerts
from data.records.cohort import cohort_assessments, cohort_infusions
from data.records.patient_lists import clinic_patients
from data.records.patient_record import patient_assessments, patient_infusions, patient_record
from data.records.patients import create_patient
from outcomes import instrument_ids
from outcomes.errors import UnknownInstrumentError
from tests.conftest import ROOT, World

PHQ9_SELF_HARM = {f"phq9_{i}": 2 for i in range(1, 10)} | {"phq9_9": 1, "phq9_10": 2}
PHQ9_SELF_HARM_FLAG = "phq9_item9_positive"
MADRS = {f"madrs_{i}": 3 for i in range(1, 11)}
# A patient no audit row or log line could mention by accident.
NAME = "Wilhelmina Quarterbridge"
DATE_OF_BIRTH = dt.date(1967, 8, 23)
EXTERNAL_ID = "MRN-Q-58213"
INFUSION_NOTE = "felt floaty, vivid memories of grandmother"
ALERT_NOTE = "phoned her at home, safety plan reviewed with sister Ottilie"

READS: dict[str, Callable[..., Any]] = {
    "patient_record": patient_record,
    "patient_assessments": patient_assessments,
    "patient_infusions": patient_infusions,
    "patient_alerts": patient_alerts,
}
# Who may read what (data/access.py): the patient their own records except alerts.
ALLOWED_READERS = [
    (read, reader)
    for read in READS
    for reader in ("patient", "clinician", "system")
    if not (read == "patient_alerts" and reader == "patient")
]


def _reader(world: World, reader: str) -> Actor:
    return {"patient": world.patient_a1, "clinician": world.clinician_a, "system": world.system_a}[
        reader
    ]


def _patient_id(actor: Actor) -> int:
    assert actor.patient_id is not None
    return actor.patient_id


def _last_id(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


def _events_after(session: Session, last_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
        ).all()
    )


def _assert_one_event(
    session: Session, last_id: int, actor: Actor, patient_id: int | None
) -> AuditEvent:
    events = _events_after(session, last_id)
    assert len(events) == 1, [event.action for event in events]
    event = events[0]
    assert event.patient_id == patient_id
    assert (event.actor_id, event.actor_name, event.clinic_id) == (
        actor.user_id,
        actor.username,
        actor.clinic_id,
    )
    assert event.action and event.action == event.action.strip()
    assert event.at.tzinfo is not None
    assert abs(event.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    return event


def _self_harm_alert(session: Session, world: World) -> int:
    stored = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=_patient_id(world.patient_a1),
        instrument="phq9",
        answers=PHQ9_SELF_HARM,
    )
    return stored.alert_ids[0]


# --- reads and writes are recorded -------------------------------------------------------------


@pytest.mark.parametrize(("read", "reader"), ALLOWED_READERS)
def test_every_read_of_one_patient_is_audited_once(
    session: Session, world: World, read: str, reader: str
) -> None:
    actor = _reader(world, reader)
    patient_id = world.patient_a1.patient_id
    last_id = _last_id(session)
    READS[read](session, actor=actor, patient_id=patient_id)
    event = _assert_one_event(session, last_id, actor, patient_id)
    assert event.action.startswith("view_"), event.action


def test_each_kind_of_read_has_its_own_action(session: Session, world: World) -> None:
    actions = {}
    for name, read in READS.items():
        last_id = _last_id(session)
        read(session, actor=world.clinician_a, patient_id=world.patient_a2.patient_id)
        actions[name] = _events_after(session, last_id)[0].action
    assert len(set(actions.values())) == len(READS), actions


def test_writes_are_audited_once_with_their_patient(session: Session, world: World) -> None:
    me, clinician = world.patient_a1, world.clinician_a
    patient_id = me.patient_id
    assert patient_id is not None

    last_id = _last_id(session)
    submit_checkin(
        session, actor=me, patient_id=patient_id, instrument="phq9", answers=PHQ9_SELF_HARM
    )
    assert "phq9" in _assert_one_event(session, last_id, me, patient_id).action

    last_id = _last_id(session)
    record_infusion(
        session,
        actor=clinician,
        patient_id=patient_id,
        infusion=InfusionInput(
            administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
            route="iv",
            dose_mg=35.0,
        ),
    )
    assert "infusion" in _assert_one_event(session, last_id, clinician, patient_id).action

    alert_id = _self_harm_alert(session, world)
    last_id = _last_id(session)
    acknowledge_alert(session, actor=clinician, alert_id=alert_id, note="called the patient")
    assert "alert" in _assert_one_event(session, last_id, clinician, patient_id).action

    last_id = _last_id(session)
    new_patient = create_patient(session, actor=clinician, external_id="MRN-new", name="New One")
    assert "patient" in _assert_one_event(session, last_id, clinician, new_patient).action


def test_an_audit_event_is_part_of_the_callers_transaction(session: Session, world: World) -> None:
    me = world.patient_a1
    before = _last_id(session)
    savepoint = session.begin_nested()
    patient_assessments(session, actor=world.clinician_a, patient_id=_patient_id(me))
    submit_checkin(
        session, actor=me, patient_id=me.patient_id, instrument="phq9", answers=PHQ9_SELF_HARM
    )
    assert len(_events_after(session, before)) == 2
    savepoint.rollback()
    assert _events_after(session, before) == []
    assert _last_id(session) == before


# --- no patient data in the trail --------------------------------------------------------------


def _patient_data(answers: dict[str, int]) -> list[str]:
    """Strings that are patient data and must appear in no audit column nor log line."""
    return [
        NAME,
        *NAME.split(),
        DATE_OF_BIRTH.isoformat(),
        DATE_OF_BIRTH.strftime("%d/%m/%Y"),
        repr(DATE_OF_BIRTH),
        EXTERNAL_ID,
        json.dumps(answers),
        str(answers),
        json.dumps(MADRS),
        INFUSION_NOTE,
        ALERT_NOTE,
        "Ottilie",
        PHQ9_SELF_HARM_FLAG,
    ]


def _exercise_everything(session: Session, world: World) -> int:
    """Create a patient, check in, record, acknowledge and read everything; their id."""
    clinician = world.clinician_a
    patient_id = create_patient(
        session,
        actor=clinician,
        external_id=EXTERNAL_ID,
        name=NAME,
        date_of_birth=DATE_OF_BIRTH,
        assigned_clinician_id=clinician.user_id,
    )
    stored = submit_checkin(
        session,
        actor=clinician,
        patient_id=patient_id,
        instrument="phq9",
        answers=PHQ9_SELF_HARM,
        idempotency_key="form-quarterbridge-1",
    )
    submit_checkin(
        session, actor=clinician, patient_id=patient_id, instrument="madrs", answers=MADRS
    )
    record_infusion(
        session,
        actor=clinician,
        patient_id=patient_id,
        infusion=InfusionInput(
            administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3),
            route="iv",
            dose_mg_per_kg=0.5,
            side_effects=("nausea",),
            side_effects_note=INFUSION_NOTE,
        ),
    )
    open_alerts(session, actor=clinician)
    acknowledge_alert(session, actor=clinician, alert_id=stored.alert_ids[0], note=ALERT_NOTE)
    for read in READS.values():
        read(session, actor=clinician, patient_id=patient_id)
    clinic_patients(session, actor=clinician)
    cohort_assessments(session, actor=world.admin_a, instrument="phq9")
    cohort_infusions(session, actor=world.admin_a)
    audit_log(session, actor=world.admin_a, patient_id=patient_id)
    return patient_id


def test_audit_events_carry_no_patient_data(session: Session, world: World) -> None:
    patient_id = _exercise_everything(session, world)
    rows = session.execute(select(AuditEvent.__table__)).mappings().all()
    assert any(row["patient_id"] == patient_id for row in rows)
    found = [
        f"audit_event {row['id']}.{column} = {value!r} contains {secret!r}"
        for row in rows
        for column, value in row.items()
        for secret in _patient_data(PHQ9_SELF_HARM)
        if secret.lower() in str(value).lower()
    ]
    assert not found, "\n".join(found)


# --- the registry of actions and the one writer ----------------------------------------------

# Every text stored before the actions were a registry (issue 10). Rows already written keep
# their meaning only while each of these stays registered: never rename a stored text.
STORED_BEFORE_THE_REGISTRY = (
    "sign_in",
    "sign_in_single_sign_on",
    "sign_in_failed",
    "sign_out_everywhere",
    "create_user",
    "enable_user",
    "disable_user",
    "reset_password",
    "view_users",
    "view_audit_log",
    "create_clinic",
    "seed_demo",
    "create_patient",
    "view_patient",
    "view_assessments",
    "view_infusions",
    "view_alerts",
    "acknowledge_alert",
    "record_infusion",
    "view_patient_list",
    "search_patients",
    "view_open_alerts",
    "view_cohort_infusions",
    "import_assessments",
    "import_infusions",
    "export_assessments",
    "export_infusions",
    "export_fhir",
    "rescore",
)
PER_INSTRUMENT_BEFORE_THE_REGISTRY = ("submit_{}", "view_cohort_{}", "view_weekly_{}")
PRODUCTION = ("data", "dashboard", "outcomes")


def _production_sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for package in PRODUCTION
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _action_names_used(tree: ast.AST) -> list[str]:
    """The member names of every ``Action.X`` / ``audit.Action.X`` in a module."""
    return [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "Action")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "Action")
        )
    ]


def test_every_action_used_is_registered_documented_and_every_registered_one_used() -> None:
    used: dict[str, set[str]] = {}
    free_strings = []
    for path, source in _production_sources().items():
        tree = ast.parse(source, path)
        for name in _action_names_used(tree):
            used.setdefault(name, set()).add(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if called not in {"record", "record_many"}:
                continue
            for keyword in node.keywords:
                if keyword.arg == "action" and not _action_names_used(keyword.value):
                    free_strings.append(f"{path}:{node.lineno}")
    assert not free_strings, f"audit calls whose action is not an audit.Action: {free_strings}"
    unknown = sorted(set(used) - set(audit.Action.__members__))
    assert not unknown, f"not members of data.audit.Action: {unknown} (in {used})"
    unused = sorted(set(audit.Action.__members__) - set(used))
    assert not unused, f"registered audit actions nothing records: {unused}"
    for action in audit.Action:
        assert len(action.description) >= 15, f"describe {action.name}: what did the actor do?"
        assert re.fullmatch(r"[a-z_]+(\{instrument\}[a-z_]*)?", action.stored), action.stored
    stored = [action.stored for action in audit.Action]
    assert len(set(stored)) == len(stored), "two actions store the same text"


def test_the_texts_of_rows_already_written_stay_registered() -> None:
    registered = audit.registered_actions()
    expected = set(STORED_BEFORE_THE_REGISTRY) | {
        pattern.format(instrument)
        for pattern in PER_INSTRUMENT_BEFORE_THE_REGISTRY
        for instrument in instrument_ids()
    }
    assert expected <= set(registered), sorted(expected - set(registered))
    too_long = [text for text in registered if len(text) > AuditEvent.action.type.length]
    assert not too_long
    assert all(description for description in registered.values())


def test_nothing_but_data_audit_writes_audit_events() -> None:
    """One writer: an event constructed or inserted elsewhere would escape the registry."""
    writes = re.compile(
        r"(?<!class )AuditEvent\(|insert\(\s*AuditEvent|AuditEvent\.(__table|metadata)"
        r"|(?i:insert into audit_event)"
    )
    found = [
        f"{path}: {match.group(0)}"
        for path, source in _production_sources().items()
        if path != "data/audit.py"
        for match in writes.finditer(source)
    ]
    assert not found, found


@pytest.mark.parametrize(
    ("action", "instrument", "error"),
    [
        ("view_patient", None, TypeError),  # a free string, even one that is registered
        (None, None, TypeError),
        (audit.Action.SUBMIT, None, ValueError),  # one per instrument: which one?
        (audit.Action.SUBMIT, "no_such_instrument", UnknownInstrumentError),
        (audit.Action.VIEW_PATIENT, "phq9", ValueError),  # names no instrument
    ],
)
@pytest.mark.parametrize("writer", ["record", "record_many"])
def test_an_unregistered_action_is_refused_and_nothing_is_written(
    session: Session, world: World, writer: str, action: Any, instrument: str | None, error: type
) -> None:
    last_id = _last_id(session)
    patient_id = _patient_id(world.patient_a1)
    with pytest.raises(error):
        if writer == "record":
            audit.record(
                session,
                actor=world.clinician_a,
                action=action,
                patient_id=patient_id,
                instrument=instrument,
            )
        else:
            audit.record_many(
                session,
                actor=world.clinician_a,
                action=action,
                patient_ids=[patient_id],
                instrument=instrument,
            )
    session.flush()
    assert _events_after(session, last_id) == []


def test_an_aggregate_of_an_unknown_instrument_is_refused(session: Session, world: World) -> None:
    """Its action would name an instrument the registry does not have (before the registry,
    the read returned nothing and stored ``view_cohort_`` followed by whatever was asked)."""
    last_id = _last_id(session)
    with pytest.raises(UnknownInstrumentError, match="known instruments are"):
        cohort_assessments(session, actor=world.admin_a, instrument="phq9'; --")
    session.flush()
    assert _events_after(session, last_id) == []


def test_a_bulk_write_stores_what_one_write_stores(session: Session, world: World) -> None:
    actor = world.system_a
    patients = [_patient_id(world.patient_a1), _patient_id(world.patient_a2)]
    last_id = _last_id(session)
    for patient_id in patients:
        audit.record(
            session, actor=actor, action=audit.Action.IMPORT_ASSESSMENTS, patient_id=patient_id
        )
    session.flush()
    one_by_one = _events_after(session, last_id)
    last_id = _last_id(session)
    audit.record_many(
        session, actor=actor, action=audit.Action.IMPORT_ASSESSMENTS, patient_ids=patients
    )
    audit.record_many(session, actor=actor, action=audit.Action.RESCORE, patient_ids=[])
    session.expire_all()
    in_bulk = _events_after(session, last_id)

    def stored(event: AuditEvent) -> tuple[object, ...]:
        return (event.clinic_id, event.actor_id, event.actor_name, event.action, event.patient_id)

    assert [stored(event) for event in in_bulk] == [stored(event) for event in one_by_one]
    assert [stored(event)[3:] for event in in_bulk] == [
        ("import_assessments", patient_id) for patient_id in patients
    ]
    for event in in_bulk:
        assert event.at.tzinfo is not None
        assert abs(event.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_every_event_written_has_a_registered_action(session: Session, world: World) -> None:
    _exercise_everything(session, world)
    registered = audit.registered_actions()
    actions = set(session.scalars(select(AuditEvent.action)).all())
    assert {"submit_phq9", "submit_madrs", "view_cohort_phq9"} <= actions
    assert actions <= set(registered), sorted(actions - set(registered))


# --- the administrator's review ----------------------------------------------------------------


def _event_at(session: Session, last_id: int, when: dt.datetime) -> None:
    (event,) = _events_after(session, last_id)
    event.at = when
    session.flush()


def test_the_administrator_reviews_the_log_by_user_patient_and_date(
    session: Session, world: World
) -> None:
    january = dt.datetime(2020, 1, 10, 12, 0, tzinfo=dt.UTC)
    february = dt.datetime(2020, 2, 10, 12, 0, tzinfo=dt.UTC)
    march = dt.datetime(2020, 3, 10, 12, 0, tzinfo=dt.UTC)
    a1, a2, b1 = (
        world.patient_a1.patient_id,
        world.patient_a2.patient_id,
        world.patient_b1.patient_id,
    )
    for actor, patient_id, when in (
        (world.clinician_a, a1, january),
        (world.clinician_a, a2, february),
        (world.patient_a1, a1, march),
        (world.clinician_b, b1, february),
    ):
        last_id = _last_id(session)
        patient_assessments(session, actor=actor, patient_id=patient_id)
        _event_at(session, last_id, when)
    admin = world.admin_a

    by_user = audit_log(session, actor=admin, user_id=world.clinician_a.user_id)
    assert list(by_user["patient_id"]) == [a2, a1]  # newest first
    assert set(by_user["user"]) == {"clinician-a"}

    by_patient = audit_log(session, actor=admin, patient_id=a1)
    assert list(by_patient["user"]) == ["patient-a1", "clinician-a"]

    by_date = audit_log(session, actor=admin, since=february, until=february)
    assert list(by_date["patient_id"]) == [a2]  # clinic B's event at the same moment is not shown
    february_on = audit_log(
        session, actor=admin, since=dt.datetime(2020, 2, 1, tzinfo=dt.UTC), until=march
    )
    assert list(february_on["patient_id"]) == [a1, a2]

    everything = audit_log(session, actor=admin)
    assert b1 not in set(everything["patient_id"])
    assert "clinician-b" not in set(everything["user"])
    assert audit_log(session, actor=admin, user_id=world.clinician_b.user_id).empty
    assert audit_log(session, actor=admin, patient_id=b1).empty

    admin_b = User(
        clinic_id=world.clinic_b,
        username="admin-b",
        display_name="Admin B",
        role="administrator",
        password_hash="not used",
        failed_logins=0,
        active=True,
    )
    session.add(admin_b)
    session.flush()
    theirs = audit_log(session, actor=Actor(admin_b.id, world.clinic_b, "administrator", "admin-b"))
    assert list(theirs["patient_id"]) == [b1]
    assert audit_log(session, actor=world.system_a, patient_id=a1)["patient_id"].tolist() == [
        a1,
        a1,
    ]


def test_the_review_shows_who_did_what_but_no_patient_data(session: Session, world: World) -> None:
    _exercise_everything(session, world)
    text = audit_log(session, actor=world.admin_a).to_string()
    assert "clinician-a" in text
    found = [secret for secret in _patient_data(PHQ9_SELF_HARM) if secret.lower() in text.lower()]
    assert not found


# --- logging -----------------------------------------------------------------------------------


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, captured by ``caplog`` (levels restored afterwards).

    Requested before ``session``, so that its connection is opened with SQL logging on:
    SQLAlchemy decides that per connection, when it is opened.
    """
    caplog.set_level(logging.DEBUG)
    names = {"sqlalchemy", "sqlalchemy.engine", "sqlalchemy.engine.Engine", "sqlalchemy.pool"}
    names |= {name for name in logging.root.manager.loggerDict if isinstance(name, str)}
    for name in sorted(names):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_patient_data_reaches_python_logging(
    debug_logging: pytest.LogCaptureFixture, session: Session, world: World
) -> None:
    """STYLE.md 11: "Never log SQL parameters"; here they would be patient data."""
    _exercise_everything(session, world)
    me = world.patient_a1
    submit_checkin(
        session, actor=me, patient_id=me.patient_id, instrument="phq9", answers=PHQ9_SELF_HARM
    )
    for read in ("patient_record", "patient_assessments", "patient_infusions"):
        READS[read](session, actor=me, patient_id=me.patient_id)
    session.flush()

    records = debug_logging.records
    # Otherwise the test proves nothing: SQL logging really was on.
    assert any(record.name.startswith("sqlalchemy.engine") for record in records)
    secrets = [
        *_patient_data(PHQ9_SELF_HARM),
        "Patient A1",
        "1980-05-17",
        "datetime.date(1980, 5, 17)",
    ]
    found = []
    for record in records:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format: look at them raw
            text = f"{record.msg} {record.args}"
        text += f" {record.exc_text or ''}"
        for secret in secrets:
            if secret.lower() in text.lower():
                found.append(f"{record.name} {record.levelname}: {secret!r} in {text[:160]!r}")
    assert not found, f"{len(found)} log records carry patient data, e.g.:\n" + "\n".join(
        found[:12]
    )
