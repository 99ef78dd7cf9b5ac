"""Store a questionnaire: answers, score, safety alerts and audit event in one transaction.

The one writer here is what the patient's check-in page, the clinician's MADRS form and
the importers all call; :func:`correctable_checkins` tells the page what the writer would
let the patient correct, by the same rule. Neither commits: the caller's transaction holds
all of it, so a crash leaves either everything or nothing.

A patient's own check-ins follow course-and-reporting §3 (issue 12), here in the writer and
not only on the page: one check-in per instrument per window
(:mod:`outcomes.checkin_windows`), and a correction of their latest one within
``correction_hours`` stored as a new record naming the one it corrects, which is marked
superseded. Both are kept; only the latest of a chain counts (readers skip superseded rows,
:func:`data.records.assessments.counted`). A correction never touches an alert: alerts raised
by the corrected answers stay open until a clinician acknowledges them, and the correction's
own flags raise their own. Answers that raise a safety alert are never refused by these rules:
they are stored as a check-in of their own and the care team is alerted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_view_patient, ensure_can_write_patient
from data.clinic import SCORING_VERSION, ClinicConfig, clinic_config, clinic_moment
from data.course_state import refresh_patients
from data.errors import AccessDenied, InvalidInput
from data.models import Assessment, Patient, SafetyAlert, utcnow
from data.notify.links import mark_link_checkin
from data.records.alerts import NewAlert, write_alerts
from data.records.assessments import counted, insert_unless_stored
from data.schedule_store import patient_windows
from outcomes import Score, get_instrument, score
from outcomes.checkin_windows import WindowStatus, clinic_date, correction_open
from outcomes.errors import UnknownInstrumentError
from outcomes.instruments import Instrument
from outcomes.instruments.safety import safety_alert_kinds
from outcomes.rules import Rules
from outcomes.schedule import schedule_status

_DAYS_2 = dt.timedelta(days=2)
_KEY_LENGTH: int = Assessment.__table__.c.idempotency_key.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CheckinResult:
    """What was stored (or found stored already, for a repeated submission)."""

    assessment_id: int
    score: Score
    alert_ids: tuple[int, ...]
    duplicate: bool


def _clean_answers(instrument: Instrument, answers: Mapping[str, object]) -> dict[str, object]:
    # Keep only the instrument's own items; scoring has already refused bad values.
    return {key: answers.get(key) for key in instrument.item_keys if answers.get(key) is not None}


def _existing(session: Session, clinic_id: int, key: str) -> Assessment | None:
    return session.scalar(
        select(Assessment).where(
            Assessment.clinic_id == clinic_id, Assessment.idempotency_key == key
        )
    )


def _result_of(session: Session, stored: Assessment) -> CheckinResult:
    alert_ids = session.scalars(
        select(SafetyAlert.id)
        .where(SafetyAlert.assessment_id == stored.id)
        .order_by(SafetyAlert.id)
    ).all()
    return CheckinResult(
        assessment_id=stored.id,
        score=Score(
            total=stored.total,
            severity=stored.severity,
            flags=tuple(stored.flags),
            valid=stored.valid,
        ),
        alert_ids=tuple(alert_ids),
        duplicate=True,
    )


def _only_unanswered(definition: Instrument, answers: Mapping[str, object], rules: Rules) -> bool:
    """Whether a record's only fault is unanswered items: it scores once any number of items
    may be missing, and at least one item is answered."""
    answered = [key for key in definition.item_keys if answers.get(key) is not None]
    if not answered:
        return False
    lenient = rules.override(definition.id, max_missing=len(definition.item_keys) - 1)
    return score(definition, answers, rules=lenient).valid


def _replay(
    session: Session, *, actor: Actor, key: str | None, patient_id: int, instrument: str
) -> CheckinResult | None:
    """The stored result of this very form (its key), if it was stored already: a repeated
    submission is answered with it, before any rule that the first one itself now trips."""
    if key is None:
        return None
    stored = _existing(session, actor.clinic_id, key)
    if stored is None or stored.patient_id != patient_id or stored.instrument != instrument:
        return None
    return _result_of(session, stored)


# Corrections take no window of their own: the check-in they correct holds it.
_ORIGINALS = (Assessment.patient_id == bindparam("patient_id"), Assessment.corrects_id.is_(None))
# The patient's row locked: one check-in of theirs at a time (the rule reads what another
# submission of theirs may be writing; on SQLite the write transaction holds the whole
# database already). Built once, values bound at each check-in (profiled, issue 13).
_LOCK_PATIENT = (
    select(Patient.id).where(Patient.id == bindparam("patient_id")).with_for_update(of=Patient)
)
# The instrument's check-ins in a stretch of days: a range of the patient-instrument-time
# index, so the cost does not grow with the patient's history.
_CHECKINS_BETWEEN = select(Assessment.administered_at).where(
    *_ORIGINALS,
    Assessment.instrument == bindparam("instrument"),
    Assessment.administered_at >= bindparam("lower"),
    Assessment.administered_at < bindparam("upper"),
)
_FIRST_CHECKIN = select(func.min(Assessment.administered_at)).where(*_ORIGINALS)
# Before any check-in, and after every one (the bounds of an open-ended stretch).
_LONG_AGO = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
_FAR_AHEAD = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _refuse_second_in_window(
    session: Session,
    *,
    config: ClinicConfig,
    patient_id: int,
    definition: Instrument,
    when: dt.datetime,
    flags: tuple[str, ...],
) -> None:
    """Refuse a patient's check-in when one of the instrument is stored in the window (or the
    stretch between windows) of ``when``'s clinic date already (course-and-reporting §3), on
    the patient's measurement schedule (§4: their protocol's, over their recorded and
    planned infusions)."""
    session.execute(_LOCK_PATIENT, {"patient_id": patient_id}).one()
    zone = config.time_zone
    today = clinic_date(when, zone)
    found = patient_windows(
        session,
        clinic_id=config.clinic_id,
        patient_id=patient_id,
        time_zone=zone,
        rules=config.rules,
        today=today,
    )
    # No infusion given or booked: the weekly cadence from the first check-in meanwhile.
    first = None if found.infused else session.scalar(_FIRST_CHECKIN, {"patient_id": patient_id})

    def status_with(days: list[dt.date]) -> WindowStatus:
        return schedule_status(
            found.windows,
            instrument=definition.id,
            today=today,
            checkins=days,
            infused=found.infused,
            first_checkin=None if first is None else clinic_date(first, zone),
            cadence_days=config.checkin_cadence_days,
            rules=config.rules,
        )

    # The stretch of days first, then only this instrument's check-ins in it (a range of
    # the patient-instrument-time index, with a day's margin for the clock), so the cost does
    # not grow with the patient's history.
    stretch = status_with([])
    upper = (
        _FAR_AHEAD
        if stretch.stretch_end is None
        else clinic_moment(stretch.stretch_end + _DAYS_2, dt.time(), zone)
    )
    lower = (
        _LONG_AGO
        if stretch.stretch_start is None
        else clinic_moment(stretch.stretch_start - _DAYS_2, dt.time(), zone)
    )
    moments = session.scalars(
        _CHECKINS_BETWEEN,
        {"patient_id": patient_id, "instrument": definition.id, "lower": lower, "upper": upper},
    )
    status = status_with([clinic_date(moment, zone) for moment in moments])
    if status.done:
        nxt = status.next_window
        when_next = (
            "the next one is due before your next infusion"
            if nxt is None
            else f"the next one opens on {nxt.opens:%A %d %B} (due {nxt.due:%A %d %B})"
        )
        raise InvalidInput(
            [
                f"you have already done the {definition.name} check-in for now; {when_next}. "
                f'To change your answers, use "Correct my answers" within '
                f"{config.rules.correction_hours} hours of your check-in"
            ],
            flags=flags,
        )


def _chain_start(session: Session, earlier: Assessment) -> Assessment:
    """The first check-in of a correction chain (corrections are counted from it)."""
    first = earlier
    while first.corrects_id is not None:
        found = session.get(Assessment, first.corrects_id)
        if found is None:  # pragma: no cover - the foreign key keeps the chain whole
            break
        first = found
    return first


def _latest_counted(session: Session, patient_id: int, instrument: str) -> int | None:
    """The id of the patient's latest counted record of ``instrument`` (the only one a
    correction may name)."""
    return session.scalar(
        select(Assessment.id)
        .where(
            Assessment.patient_id == patient_id,
            Assessment.instrument == instrument,
            counted(),
        )
        .order_by(Assessment.administered_at.desc(), Assessment.id.desc())
        .limit(1)
    )


def _correction_refusal(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    instrument: str,
    earlier: Assessment | None,
    rules: Rules,
    now: dt.datetime,
) -> str | None:
    """Why ``actor`` (a patient) may not correct ``earlier`` now; None when they may.

    The one rule of what may be corrected (course-and-reporting §3), for the writer
    (:func:`_check_correction`) and the page's offer (:func:`correctable_checkins`) alike:
    the patient's own latest check-in of the instrument, entered by them, within
    ``correction_hours`` of when the first answers of its correction chain were stored.
    """
    if (
        earlier is None
        or earlier.clinic_id != actor.clinic_id
        or earlier.patient_id != patient_id
        or earlier.instrument != instrument
        or earlier.entered_by_id != actor.user_id
    ):
        return "these answers cannot be corrected here; start from your latest check-in"
    latest = _latest_counted(session, patient_id, instrument)
    if earlier.superseded_at is not None or latest != earlier.id:
        return "these answers were corrected or replaced already; only the latest can be corrected"
    stored_at = _chain_start(session, earlier).created_at
    if not correction_open(stored_at=stored_at, now=now, rules=rules):
        return (
            f"answers can be corrected for {rules.correction_hours} hours after a "
            "check-in, and that time has passed; tell your care team if something is wrong"
        )
    return None


def _check_correction(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    definition: Instrument,
    corrects: int,
    rules: Rules,
    flags: tuple[str, ...],
) -> Assessment:
    """The check-in ``corrects`` names, if the patient may correct it now; else refuse."""
    if actor.role != "patient":
        raise AccessDenied("only the patient can correct their own answers")
    earlier = session.get(Assessment, corrects)
    refusal = _correction_refusal(
        session,
        actor=actor,
        patient_id=patient_id,
        instrument=definition.id,
        earlier=earlier,
        rules=rules,
        now=utcnow(),
    )
    if refusal is not None or earlier is None:
        raise InvalidInput([refusal or "these answers cannot be corrected here"], flags=flags)
    return earlier


def correctable_checkins(
    session: Session, *, actor: Actor, patient_id: int, now: dt.datetime | None = None
) -> dict[str, int]:
    """The patient's check-ins that ``actor`` may correct now, by instrument id.

    For each of the clinic's check-in questionnaires, the id of the patient's latest one if
    :func:`submit_checkin` would accept ``corrects=`` that id now (the same rule, read the
    same way): so the check-in page offers "Correct my answers" exactly when the writer will
    store the correction. Only the patient may correct, so for anyone else it is empty.

    Parameters
    ----------
    now : datetime, optional
        The moment to judge the ``correction_hours`` at (time-zone aware); now by default.
        The writer judges at the moment it stores.
    """
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    audit.record(session, actor=actor, action=audit.Action.VIEW_ASSESSMENTS, patient_id=patient_id)
    if actor.role != "patient":
        return {}
    config = clinic_config(session, actor.clinic_id)
    found: dict[str, int] = {}
    for instrument in config.checkin_instruments:
        latest = _latest_counted(session, patient_id, instrument)
        if latest is None:
            continue
        refusal = _correction_refusal(
            session,
            actor=actor,
            patient_id=patient_id,
            instrument=instrument,
            earlier=session.get(Assessment, latest),
            rules=config.rules,
            now=now or utcnow(),
        )
        if refusal is None:
            found[instrument] = latest
    return found


def submit_checkin(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    instrument: str,
    answers: Mapping[str, object],
    idempotency_key: str | None = None,
    administered_at: dt.datetime | None = None,
    source: str | None = None,
    keep_incomplete: bool = False,
    corrects: int | None = None,
) -> CheckinResult:
    """Score and store one administration of ``instrument`` for a patient.

    Parameters
    ----------
    session : Session
        The caller's session; this function never commits.
    actor : Actor
        The patient (their own check-in), or a clinician or the system of the same clinic.
    patient_id : int
        Whose answers these are.
    instrument : str
        Instrument id; clinician-rated instruments (MADRS, C-SSRS) need a clinician.
    answers : Mapping[str, object]
        Item key to answer, as the form gave them.
    idempotency_key : str, optional
        The form's own id: a second submission with the same key stores nothing more and
        returns the first one's result (``duplicate=True``).
    administered_at : datetime, optional
        When the questionnaire was answered (time-zone aware); now by default.
    source : str, optional
        ``"patient"``, ``"clinician"`` or ``"import"``; by default from the actor's role.
    keep_incomplete : bool, default False
        Store a record whose only fault is unanswered items as it is, invalid (no total, no
        band), with its safety flags and alerts: a clinician's rating with items explicitly
        "not rated" is a record of what was rated (issue 11). Any other fault still refuses
        it, as does a record with no answer at all.
    corrects : int, optional
        The id of the patient's own latest check-in of ``instrument`` that these answers
        correct, within ``rules.correction_hours`` of when the first of its chain was stored
        (course-and-reporting §3). The new record names it (``corrects_id``) and it is marked
        superseded (``superseded_at``); both are kept, and its safety alerts stay as they are.
        Only the patient may correct; a correction takes no window of its own.

    Returns
    -------
    CheckinResult

    Raises
    ------
    AccessDenied
        The actor may not record answers for this patient.
    InvalidInput
        An unknown instrument, an unusable ``idempotency_key`` (empty, longer than 100
        characters, or with a NUL character), or answers that are not a valid record: the
        readable reasons from :func:`outcomes.score` are in ``problems`` and nothing is
        written. Also a patient's second check-in of an instrument in one window, and a
        correction that is not of their latest check-in or comes too late, unless its answers
        raise a safety alert (then they are stored as a check-in of their own and alerted).
        ``flags`` carries any safety flag, so the page can show crisis help at once.

    Notes
    -----
    A positive self-harm item (or a C-SSRS risk level) always creates a safety alert, in the
    same transaction as the answers. A repeated submission of one form (its
    ``idempotency_key``) returns the stored result, even where the window rule would refuse a
    new check-in.

    .. versionchanged:: issue 12
       One check-in per instrument per window for a patient's own check-ins; ``corrects``.
    """
    try:
        definition = get_instrument(instrument)
    except UnknownInstrumentError as error:
        raise InvalidInput([str(error)]) from None
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str)
        or not 0 < len(idempotency_key) <= _KEY_LENGTH
        or "\x00" in idempotency_key
    ):
        # PostgreSQL would refuse it with a DataError (too long, NUL) after the checks.
        raise InvalidInput(
            [f"the form's id must be 1 to {_KEY_LENGTH} characters without NUL; reload the form"]
        )
    ensure_can_write_patient(
        session,
        actor=actor,
        patient_id=patient_id,
        clinician_only=definition.rater == "clinician",
        checkin=definition.id if corrects is None else None,
    )
    when = administered_at or utcnow()
    if when.tzinfo is None:
        raise InvalidInput(["the time of the check-in needs a time zone"])
    if when > utcnow() + dt.timedelta(minutes=5):
        raise InvalidInput(["the check-in time is in the future"])
    config = clinic_config(session, actor.clinic_id)
    result = score(definition, answers, rules=config.rules)
    if not result.valid and not (
        keep_incomplete and _only_unanswered(definition, answers, config.rules)
    ):
        raise InvalidInput(result.errors, flags=result.flags)

    earlier: Assessment | None = None
    if corrects is not None or actor.role == "patient":
        try:
            if corrects is not None:
                # One patient's check-ins one at a time (as in the window check).
                session.execute(
                    select(Patient.id).where(Patient.id == patient_id).with_for_update()
                )
                earlier = _check_correction(
                    session,
                    actor=actor,
                    patient_id=patient_id,
                    definition=definition,
                    corrects=corrects,
                    rules=config.rules,
                    flags=result.flags,
                )
            else:
                _refuse_second_in_window(
                    session,
                    config=config,
                    patient_id=patient_id,
                    definition=definition,
                    when=when,
                    flags=result.flags,
                )
        except InvalidInput:
            # The same form sent again (a double submit, a retry) is answered with what was
            # stored, although the first submission now fills the window (or the chain).
            replay = _replay(
                session,
                actor=actor,
                key=idempotency_key,
                patient_id=patient_id,
                instrument=definition.id,
            )
            if replay is not None:
                return replay
            if not safety_alert_kinds(definition, result.flags):
                raise
            # Safety first: answers that raise a safety alert are never turned away. The rule
            # of one check-in per window exists so a later form cannot hide a crisis, not to
            # stop one being reported (a second tab, or a correction after its 24 hours).
            # They are stored as a check-in of their own, and the care team is alerted.
            earlier = None

    assessment_id = insert_unless_stored(
        session,
        clinic_id=actor.clinic_id,
        patient_id=patient_id,
        instrument=definition.id,
        administered_at=when,
        source=source or ("patient" if actor.role == "patient" else "clinician"),
        answers=_clean_answers(definition, answers),
        total=result.total,
        severity=result.severity,
        flags=list(result.flags),
        valid=result.valid,
        scoring_version=SCORING_VERSION,
        idempotency_key=idempotency_key,
        entered_by_id=actor.user_id,
        created_at=utcnow(),
        corrects_id=earlier.id if earlier is not None else None,
    )
    if assessment_id is None:  # the form was stored already (a double submit, a retry)
        stored = _existing(session, actor.clinic_id, idempotency_key or "")
        if stored is None:  # pragma: no cover - a conflict is always with a stored row
            raise RuntimeError("the form's key conflicted with no stored record")
        if stored.patient_id != patient_id or stored.instrument != definition.id:
            raise InvalidInput(["this form was already used for another record"])
        return _result_of(session, stored)
    if actor.scope is not None:
        # A one-tap link's check-in: the link is used up in this transaction, with the answers.
        mark_link_checkin(session, link_id=actor.scope.link_id, instrument=definition.id)
    if earlier is not None:
        session.execute(
            update(Assessment)
            .where(Assessment.id == earlier.id, Assessment.superseded_at.is_(None))
            .values(superseded_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )

    alert_ids = write_alerts(
        session,
        [
            NewAlert(
                clinic_id=actor.clinic_id,
                patient_id=patient_id,
                assessment_id=assessment_id,
                kind=kind,
                created_at=utcnow(),
            )
            for kind in safety_alert_kinds(definition, result.flags)
        ],
        return_ids=True,
    )
    audit.record(
        session,
        actor=actor,
        action=audit.Action.SUBMIT if earlier is None else audit.Action.CORRECT,
        instrument=definition.id,
        patient_id=patient_id,
        subject=None if earlier is None else f"assessment {earlier.id}",
    )
    # Last, so the clinic's data version (bumped here) stays locked only until the commit.
    # The check-in changes its own instrument's course and the patient's state (last
    # check-in, next due, any alert it raised).
    refresh_patients(
        session,
        clinic_id=actor.clinic_id,
        patient_ids=(patient_id,),
        instruments=(definition.id,),
        config=config,
    )
    session.flush()
    return CheckinResult(
        assessment_id=assessment_id,
        score=result,
        alert_ids=alert_ids,
        duplicate=False,
    )
