"""One-tap links: issued signed and hashed, opened, refused with a reason, used once (issue 14).

On SQLite and PostgreSQL (the ``session`` fixture). A check-in link's actor may store that
check-in and nothing else: ``test_links_access.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.errors import AccessDenied, InvalidInput
from data.models import Assessment, AuditEvent, User
from data.notify.links import (
    LINK_PARAMETER,
    IssuedLink,
    OpenedLink,
    RefusedLink,
    issue_link,
    open_link,
    opt_out_by_link,
)
from data.notify.models import AccessLink
from data.notify.opt_outs import opted_out
from tests.conftest import World

SECRET = b"a test key that is long enough for links, 48 chars"
PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
GAD7 = {f"gad7_{i}": 1 for i in range(1, 8)}


def _later(hours: float = 24) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)


def _checkin_link(
    session: Session, world: World, instruments: tuple[str, ...] = ("phq9",)
) -> IssuedLink:
    assert world.patient_a1.patient_id is not None
    return issue_link(
        session,
        clinic_id=world.clinic_a,
        patient_id=world.patient_a1.patient_id,
        purpose="checkin",
        expires_at=_later(),
        instruments=instruments,
        secret=SECRET,
        public_url="https://clinic.example/",
    )


def _opened(session: Session, token: str) -> OpenedLink:
    opened = open_link(session, token=token, secret=SECRET)
    assert isinstance(opened, OpenedLink), opened
    return opened


def _refused(session: Session, token: str) -> str:
    refused = open_link(session, token=token, secret=SECRET)
    assert isinstance(refused, RefusedLink), refused
    return refused.reason


def _submit(session: Session, opened: OpenedLink, instrument: str, answers: dict[str, int]) -> int:
    return submit_checkin(
        session,
        actor=opened.actor,
        patient_id=opened.patient_id,
        instrument=instrument,
        answers=answers,
    ).assessment_id


def test_a_link_is_random_signed_and_stored_only_as_a_hash(session: Session, world: World) -> None:
    link = _checkin_link(session, world)
    assert link.url.startswith("https://clinic.example/?")
    assert parse_qs(urlsplit(link.url).query)[LINK_PARAMETER] == [link.token]
    token, _, signature = link.token.rpartition(".")
    assert len(token) >= 43 and len(signature) == 64
    row = session.get(AccessLink, link.link_id)
    assert row is not None and row.purpose == "checkin"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row.scope) and link.token not in row.token_hash
    other = _checkin_link(session, world)
    assert other.token != link.token


def test_a_forged_or_altered_token_is_refused_before_any_lookup(
    session: Session, world: World
) -> None:
    link = _checkin_link(session, world)
    token, _, signature = link.token.rpartition(".")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B") + "." + signature
    for bad in (altered, token, f"{token}.{'0' * 64}", "", "x" * 500, "é.é"):
        assert _refused(session, bad) == "forged"
    # Signed with another key: forged too.
    assert isinstance(open_link(session, token=link.token, secret=b"another key" * 4), RefusedLink)
    # Rightly signed but never issued (its hash is in no row): unknown.
    unknown = issue_link(
        session,
        clinic_id=world.clinic_a,
        patient_id=world.patient_a1.patient_id or 0,
        purpose="opt_out",
        secret=SECRET,
    )
    session.execute(AccessLink.__table__.delete().where(AccessLink.id == unknown.link_id))
    assert _refused(session, unknown.token) == "unknown"


def test_a_checkin_link_opens_that_checkin_for_that_patient_and_is_audited(
    session: Session, world: World
) -> None:
    link = _checkin_link(session, world, ("phq9", "gad7"))
    opened = _opened(session, link.token)
    assert opened.purpose == "checkin"
    assert opened.patient_id == world.patient_a1.patient_id
    assert opened.instruments == ("phq9", "gad7")
    assert opened.actor.role == "patient" and opened.actor.scope is not None
    assert opened.actor.scope.instruments == ("phq9", "gad7")
    assert opened.actor.user_id == world.patient_a1.user_id
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "open_link")).all()
    assert [(e.patient_id, e.subject) for e in events] == [
        (world.patient_a1.patient_id, f"link {link.link_id}")
    ]


def test_opened_but_not_submitted_it_still_works_and_submitted_it_is_used_once(
    session: Session, world: World
) -> None:
    link = _checkin_link(session, world, ("phq9", "gad7"))
    first = _opened(session, link.token)
    again = _opened(session, link.token)  # opening twice uses nothing
    # Both questionnaires in one transaction (the page's one submit): the link is used up
    # only once both are stored.
    _submit(session, again, "phq9", PHQ9)
    row = session.get(AccessLink, link.link_id)
    assert row is not None and row.used_at is None and row.scope["done"] == ["phq9"]
    _submit(session, again, "gad7", GAD7)
    session.refresh(row)
    assert row.used_at is not None
    stored = session.scalars(
        select(Assessment).where(Assessment.patient_id == first.patient_id)
    ).all()
    assert {a.instrument for a in stored} == {"phq9", "gad7"}
    assert {a.source for a in stored} == {"patient"}
    # Opened again: done, a thank-you rather than an error; and the actor writes nothing more.
    assert _refused(session, link.token) == "done"
    with pytest.raises(AccessDenied, match="used already"):
        _submit(session, first, "phq9", PHQ9)
    submitted = session.scalars(
        select(AuditEvent.actor_name).where(AuditEvent.action.in_(("submit_phq9", "submit_gad7")))
    ).all()
    assert submitted == [f"checkin link {link.link_id}"] * 2


def test_a_link_is_not_for_another_questionnaire_or_the_same_one_twice(
    session: Session, world: World
) -> None:
    link = _checkin_link(session, world, ("phq9", "gad7"))
    opened = _opened(session, link.token)
    with pytest.raises(AccessDenied):
        _submit(session, opened, "qids_sr16", {f"qids_{i}": 1 for i in range(1, 17)})
    _submit(session, opened, "phq9", PHQ9)
    with pytest.raises(AccessDenied):
        _submit(session, opened, "phq9", PHQ9)
    # Reopened, it offers only what is still to answer.
    assert _opened(session, link.token).instruments == ("gad7",)


def test_a_checkin_done_by_signing_in_makes_its_link_done(session: Session, world: World) -> None:
    link = _checkin_link(session, world)
    assert world.patient_a1.patient_id is not None
    submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id,
        instrument="phq9",
        answers=PHQ9,
    )
    assert _refused(session, link.token) == "done"


def test_expired_revoked_and_disabled_links_say_so_and_open_nothing(
    session: Session, world: World
) -> None:
    expired, revoked, disabled = (_checkin_link(session, world) for _ in range(3))
    opened = _opened(session, expired.token)
    rows = {link.link_id: session.get(AccessLink, link.link_id) for link in (expired, revoked)}
    rows[expired.link_id].expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)  # type: ignore[union-attr]
    rows[revoked.link_id].revoked_at = dt.datetime.now(dt.UTC)  # type: ignore[union-attr]
    session.flush()
    assert _refused(session, expired.token) == "expired"
    assert _refused(session, revoked.token) == "revoked"
    # An actor opened before its window closed cannot store after it.
    with pytest.raises(AccessDenied, match="expired"):
        _submit(session, opened, "phq9", PHQ9)
    user = session.get(User, world.patient_a1.user_id)
    assert user is not None
    still_open = _opened(session, disabled.token)
    user.active = False
    session.flush()
    assert _refused(session, disabled.token) == "disabled"
    with pytest.raises(AccessDenied, match="disabled"):
        _submit(session, still_open, "phq9", PHQ9)
    refusals = session.scalars(
        select(AuditEvent.subject).where(AuditEvent.action == "refuse_link")
    ).all()
    assert set(refusals) == {
        f"link {expired.link_id} (expired)",
        f"link {revoked.link_id} (revoked)",
        f"link {disabled.link_id} (disabled)",
    }
    assert (
        session.scalar(select(Assessment.id).where(Assessment.patient_id == opened.patient_id))
        is None
    )


def test_an_opt_out_link_records_the_opt_out_and_can_be_followed_again(
    session: Session, world: World
) -> None:
    patient = world.patient_a1.patient_id
    assert patient is not None
    link = issue_link(
        session,
        clinic_id=world.clinic_a,
        patient_id=patient,
        purpose="opt_out",
        channel="email",
        secret=SECRET,
    )
    assert link.expires_at > _later(24 * 300)  # long-lived
    assert opt_out_by_link(session, token=link.token, secret=SECRET)
    assert opted_out(session, patient_id=patient, channel="email")
    assert not opted_out(session, patient_id=patient, channel="sms")
    assert not opt_out_by_link(session, token=link.token, secret=SECRET)  # again: no change
    events = session.scalars(
        select(AuditEvent.subject).where(AuditEvent.action == "opt_out_by_link")
    ).all()
    assert events == [f"link {link.link_id} (email)"] * 2
    # Even a disabled patient can stop messages.
    user = session.get(User, world.patient_a1.user_id)
    assert user is not None
    user.active = False
    session.flush()
    assert isinstance(open_link(session, token=link.token, secret=SECRET), OpenedLink)
    # A check-in link does not opt out.
    with pytest.raises(AccessDenied):
        opt_out_by_link(session, token=_checkin_link(session, world).token, secret=SECRET)


def test_issuing_checks_its_input(session: Session, world: World) -> None:
    patient = world.patient_a1.patient_id
    assert patient is not None
    for purpose, expires_at, instruments, problem in (
        ("login", None, (), "purpose"),
        ("checkin", None, ("phq9",), "window"),
        ("checkin", _later(), (), "questionnaires"),
        ("invitation", dt.datetime(2020, 1, 1, tzinfo=dt.UTC), (), "future"),
        ("invitation", dt.datetime(2099, 1, 1), (), "time-zone"),
    ):
        with pytest.raises(InvalidInput, match=problem):
            issue_link(
                session,
                clinic_id=world.clinic_a,
                patient_id=patient,
                purpose=purpose,
                expires_at=expires_at,
                instruments=instruments,
                secret=SECRET,
            )


def test_the_app_key_signs_links_when_none_is_given(session: Session, world: World) -> None:
    patient = world.patient_a1.patient_id
    assert patient is not None
    link = issue_link(session, clinic_id=world.clinic_a, patient_id=patient, purpose="invitation")
    assert isinstance(open_link(session, token=link.token), OpenedLink)
    assert _refused(session, link.token) == "forged"  # another key
