"""Issue 12, "Audit log": entries say what was done to what (``audit_event.subject``) without
patient data, a page's reruns are one view, and the administrator filters by MRN."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.account_admin import (
    create_user,
    issue_patient_sign_in,
    list_users,
    reset_password,
    set_user_active,
)
from data.audit_trail import AUDIT_LOG_COLUMNS, audit_log
from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.models import AuditEvent
from data.records.alert_review import acknowledge_alert
from tests.conftest import World
from tests.test_data.builders import GOOD_USER

PHQ9_SELF_HARM = {f"phq9_{i}": 2 for i in range(1, 10)}


def _last_id(session: Session) -> int:
    session.flush()
    return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


def _new_events(session: Session, last_id: int) -> list[AuditEvent]:
    session.flush()
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
        ).all()
    )


def _what(events: list[AuditEvent]) -> list[tuple[str, str | None, int | None]]:
    return [(event.action, event.subject, event.patient_id) for event in events]


# --- subjects -----------------------------------------------------------------------------------


def test_account_changes_name_the_account(session: Session, world: World) -> None:
    admin = world.admin_a
    last = _last_id(session)
    user_id = create_user(session, actor=admin, **GOOD_USER)  # type: ignore[arg-type]
    username = GOOD_USER["username"]
    set_user_active(session, actor=admin, user_id=user_id, active=False)
    set_user_active(session, actor=admin, user_id=user_id, active=True)
    reset_password(session, actor=admin, user_id=user_id, new_password="a new long password")
    assert _what(_new_events(session, last)) == [
        ("create_user", f"account {username}", None),
        ("disable_user", f"account {username}", None),
        ("enable_user", f"account {username}", None),
        ("reset_password", f"account {username}", None),
    ]


def test_a_patients_account_names_the_account_and_the_patient(
    session: Session, world: World
) -> None:
    me = world.patient_a1
    assert me.user_id is not None and me.patient_id is not None
    last = _last_id(session)
    reset_password(
        session, actor=world.admin_a, user_id=me.user_id, new_password="a new long password"
    )
    issued = issue_patient_sign_in(session, actor=world.clinician_a, patient_id=me.patient_id)
    assert _what(_new_events(session, last)) == [
        ("reset_password", "account patient-a1", me.patient_id),
        ("reset_password", f"account {issued.username}", me.patient_id),
    ]


def test_an_acknowledged_alert_is_named_by_its_number(session: Session, world: World) -> None:
    me = world.patient_a1
    stored = submit_checkin(
        session, actor=me, patient_id=me.patient_id, instrument="phq9", answers=PHQ9_SELF_HARM
    )
    (alert_id,) = stored.alert_ids
    last = _last_id(session)
    acknowledge_alert(session, actor=world.clinician_a, alert_id=alert_id, note="called her")
    assert _what(_new_events(session, last)) == [
        ("acknowledge_alert", f"alert {alert_id}", me.patient_id)
    ]


@pytest.mark.parametrize("subject", ["", "   ", "two\nlines", "x" * 201, "tab\there"])
def test_a_subject_is_one_short_line(session: Session, world: World, subject: str) -> None:
    last = _last_id(session)
    with pytest.raises(ValueError, match="one line"):
        audit.record(session, actor=world.admin_a, action=audit.Action.CREATE_USER, subject=subject)
    assert _new_events(session, last) == []


def test_the_log_shows_the_subject(session: Session, world: World) -> None:
    create_user(session, actor=world.admin_a, **GOOD_USER)  # type: ignore[arg-type]
    log = audit_log(session, actor=world.admin_a)
    assert tuple(log.columns) == AUDIT_LOG_COLUMNS
    created = log[log["action"] == "create_user"]
    assert list(created["subject"]) == [f"account {GOOD_USER['username']}"]


# --- one event per visit ------------------------------------------------------------------------


def _age(session: Session, last_id: int, by: dt.timedelta) -> None:
    """Move the events written after ``last_id`` back in time by ``by``."""
    for event in _new_events(session, last_id):
        event.at = event.at - by
    session.flush()


def test_the_users_list_is_one_view_per_visit_not_per_rerun(
    session: Session, world: World, password_hash: str
) -> None:
    """``view_users`` was logged four times in four seconds: one page visit, four reruns."""
    last = _last_id(session)
    for _ in range(4):
        list_users(session, actor=world.admin_a)
    assert [e.action for e in _new_events(session, last)] == ["view_users"]

    # The operator is someone else: their own view is recorded.
    list_users(session, actor=world.system_a)
    assert [e.actor_name for e in _new_events(session, last)] == ["admin-a", "command line"]

    # Back after the visit has ended: a new view.
    _age(session, last, audit.VISIT + dt.timedelta(seconds=1))
    middle = _last_id(session)
    list_users(session, actor=world.admin_a)
    list_users(session, actor=world.admin_a)
    assert [e.action for e in _new_events(session, middle)] == ["view_users"]


def test_the_audit_log_read_is_one_event_per_visit(session: Session, world: World) -> None:
    last = _last_id(session)
    for _ in range(3):
        audit_log(session, actor=world.admin_a)
    audit_log(session, actor=world.admin_a, mrn="MRN-patient-a1")
    assert [e.action for e in _new_events(session, last)] == ["view_audit_log"]


def test_other_actions_are_still_recorded_every_time(session: Session, world: World) -> None:
    """Only the administration's list reads are once per visit: changes never are."""
    last = _last_id(session)
    for _ in range(2):
        audit.record(session, actor=world.admin_a, action=audit.Action.CREATE_USER, subject="x")
    assert len(_new_events(session, last)) == 2


# --- filtering by MRN ---------------------------------------------------------------------------


def test_the_administrator_filters_by_mrn_in_their_own_clinic(
    session: Session, world: World
) -> None:
    a1, a2 = world.patient_a1.patient_id, world.patient_a2.patient_id
    for patient in (world.patient_a1, world.patient_a2):
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=patient.patient_id,
            instrument="phq9",
            answers=PHQ9_SELF_HARM,
        )
    log = audit_log(session, actor=world.admin_a, mrn=" MRN-patient-a1 ")
    assert len(log) > 0 and set(log["patient_id"]) == {a1}
    assert set(audit_log(session, actor=world.admin_a, mrn="MRN-patient-a2")["patient_id"]) == {a2}
    assert len(audit_log(session, actor=world.admin_a, mrn="")) >= 2  # empty: everyone
    # MRN is never shown in the log itself: it is patient data.
    assert "MRN-patient-a1" not in log.to_string()


@pytest.mark.parametrize("mrn", ["MRN-nobody", "MRN-patient-b1"])
def test_an_mrn_of_no_patient_of_the_clinic_is_refused_plainly(
    session: Session, world: World, mrn: str
) -> None:
    """Another clinic's patient reads exactly like no patient at all."""
    with pytest.raises(InvalidInput) as refused:
        audit_log(session, actor=world.admin_a, mrn=mrn)
    assert refused.value.problems == (
        "no patient of your clinic has this patient id (MRN); check the number, or clear the "
        "box to see every patient",
    )


def test_the_operator_of_another_clinic_cannot_reach_a_patient_by_mrn(
    session: Session, world: World
) -> None:
    with pytest.raises(InvalidInput):
        audit_log(session, actor=Actor.system(world.clinic_b), mrn="MRN-patient-a1")
