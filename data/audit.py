"""The audit trail: who looked at or changed which patient's records, and when.

This module is the one writer of ``audit_event`` rows: :func:`record` (one event),
:func:`record_many` (one event per patient, for imports) and :func:`record_failed_sign_in`
(a refused sign-in, which has no actor). Nothing else constructs or inserts an
:class:`~data.models.AuditEvent` (``tests/test_data/test_audit.py`` checks the source).

An event is written through the caller's session, so it commits or rolls back with the read
or write it records; a read on SQLite writes its events just after it commits, in a write
transaction of their own (:func:`data.engine.writes_after_read` says why), and a read that
failed writes none. Events carry the actor, the action, the patient's id and a ``subject``
saying what the action was done to in words that hold no patient data (``"account
demo-admin"``, ``"alert 12"``; see :func:`subject_of_account`), never patient data; nothing
here is logged.

A page reruns its whole script on every click, and a list read on each run would be
recorded on each run ("view_users" four times in four seconds). A read of the clinic's
administration (:data:`ONCE_PER_VISIT`) is therefore recorded once per visit: :func:`record`
with ``once_within`` skips an event identical to one the same actor recorded within that
time (:data:`VISIT`). This is decided here, below the pages, so that no page can forget it
and every replica of the app agrees (a page's session state lives in one process only).

Actions are a closed set, :class:`Action`: a member's ``stored`` text is what the
``audit_event.action`` column holds and its ``description`` says what happened. A new action
is a new member with its description; a stored text is never renamed, since the rows already
written with it would then mean nothing (no migration rewrites them). Three actions are one per
instrument (``submit_phq9``, ``view_cohort_gad7``, ...): their stored text is a pattern with
``{instrument}``, filled with an id of :data:`outcomes.INSTRUMENTS`, so a new instrument needs
no new action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum

from sqlalchemy import exists, insert, literal, select
from sqlalchemy.orm import Session

from data.access import Actor
from data.engine import writes_after_read
from data.models import AuditEvent, User, utcnow
from outcomes import get_instrument, instrument_ids

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how UTCDateTime's DateTime stores a moment on SQLite

VISIT = dt.timedelta(minutes=10)
"""How long one visit to a page of lists lasts for the audit trail: a read recorded with
``once_within=VISIT`` is not recorded again by the same actor within it. Ten minutes covers
the reruns of one look at a page (each click reruns it within seconds) and is a third of the
default idle sign-out (``OUTCOMES_SESSION_IDLE_MINUTES``, 30), so a later return is a new
event."""
SUBJECT_MAX_LENGTH = 200
"""Longest subject, in characters (the column's length)."""


class Action(Enum):
    """Every action the audit trail records: its stored text and what it means.

    Attributes
    ----------
    stored : str
        The text written to ``audit_event.action`` (at most 80 characters); for an action of
        one instrument, a pattern with ``{instrument}``.
    description : str
        What the actor did, for the administrator's review and the docs.
    """

    # Accounts and sign-in (no patient).
    SIGN_IN = "sign_in", "signed in with a username and password"
    SIGN_IN_SINGLE_SIGN_ON = (
        "sign_in_single_sign_on",
        "signed in through the clinic's identity provider (single sign-on)",
    )
    SIGN_IN_FAILED = (
        "sign_in_failed",
        "a sign-in was refused (wrong password, unknown, disabled or locked account); the "
        "account's name, or '(unknown username)'",
    )
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere", "ended all of their own sign-ins"
    RESUME_SESSION = (
        "resume_session",
        "came back to a signed-in session in the same browser (a reload or a new tab)",
    )
    SIGN_OUT = "sign_out", "signed out of this browser"
    CREATE_USER = "create_user", "created a user account"
    CREATE_PATIENT_SIGN_IN = (
        "create_patient_sign_in",
        "created a patient's sign-in from their record (a username and a temporary password "
        "shown once)",
    )
    ENABLE_USER = "enable_user", "re-enabled a user account"
    DISABLE_USER = "disable_user", "disabled a user account"
    RESET_PASSWORD = "reset_password", "set a new password for a user account"
    VIEW_USERS = (
        "view_users",
        "listed the clinic's user accounts (once per visit: a page's reruns within 10 minutes "
        "are one view)",
    )
    VIEW_AUDIT_LOG = (
        "view_audit_log",
        "read the clinic's audit trail (once per visit: a page's reruns within 10 minutes are "
        "one read)",
    )
    # The clinic (command line and demo).
    CREATE_CLINIC = "create_clinic", "created the clinic (outcomes create-clinic)"
    SEED_DEMO = "seed_demo", "wrote the synthetic demo clinic"
    SET_CLINIC_TIME_ZONE = (
        "set_clinic_time_zone",
        "set the clinic's time zone, in which staff enter infusion times",
    )
    SET_CRISIS_CONTACTS = (
        "set_crisis_contacts",
        "changed the crisis panel's numbers, text or the clinic's hours",
    )
    # One patient's records.
    CREATE_PATIENT = "create_patient", "registered a patient (by hand or by an import)"
    VIEW_PATIENT = "view_patient", "opened a patient's record (name, date of birth, ids)"
    VIEW_ASSESSMENTS = "view_assessments", "read a patient's questionnaire scores and answers"
    VIEW_INFUSIONS = "view_infusions", "read a patient's infusions"
    VIEW_ALERTS = "view_alerts", "read a patient's safety alerts"
    ACKNOWLEDGE_ALERT = "acknowledge_alert", "acknowledged a patient's safety alert"
    VIEW_ALERT_NOTICE = (
        "view_alert_notice",
        "read whether the care team was sent a message about the patient's open safety alert "
        "(the crisis panel's wording; once per visit)",
    )
    VIEW_ALERT_HISTORY = (
        "view_alert_history",
        "read a safety alert's history: who was told, by which channel, escalations and the "
        "acknowledgement (once per visit)",
    )
    RECORD_INFUSION = "record_infusion", "recorded an infusion for a patient"
    # Measurement schedules (issue 14).
    SAVE_SCHEDULE = (
        "save_schedule",
        "saved a protocol's measurement schedule (or the clinic's default one)",
    )
    PLAN_INFUSION = "plan_infusion", "booked a patient's infusion ahead (it moves their schedule)"
    CANCEL_PLANNED_INFUSION = (
        "cancel_planned_infusion",
        "cancelled a patient's planned infusion",
    )
    VIEW_SCHEDULE = (
        "view_schedule",
        "read a patient's measurement schedule, planned infusions and check-ins due",
    )
    VIEW_DUE_CHECKINS = (
        "view_due_checkins",
        "read which of the clinic's patients have a check-in window open (reminders; once an hour)",
    )
    MARK_INFUSION_ENTERED_IN_ERROR = (
        "mark_infusion_entered_in_error",
        "marked a patient's infusion entered in error, with the reason (kept, no longer counted)",
    )
    SUBMIT = (
        "submit_{instrument}",
        "stored a completed questionnaire of this instrument for a patient (a check-in or a "
        "clinician's rating)",
    )
    CORRECT = (
        "correct_{instrument}",
        "stored a patient's correction of their own answers to this instrument (both kept; "
        "the subject names the record corrected)",
    )
    # One-tap links a message carries (issue 14; subject: the link, as "link 12").
    OPEN_LINK = (
        "open_link",
        "opened a one-tap link from a message (a check-in, an invitation or an opt-out), "
        "without a password",
    )
    REFUSE_LINK = (
        "refuse_link",
        "a one-tap link was refused (used, expired, withdrawn, or the patient's sign-in "
        "disabled); the subject says which",
    )
    INVITE_PATIENT = (
        "invite_patient",
        "sent a patient an invitation link to set their password (by e-mail or text)",
    )
    ACCEPT_INVITATION = (
        "accept_invitation",
        "set their own password with an invitation link",
    )
    OPT_OUT_BY_LINK = (
        "opt_out_by_link",
        "asked for no more reminders with the link in a message",
    )
    # The clinic's lists and aggregates (no patient).
    VIEW_PATIENT_LIST = "view_patient_list", "listed the clinic's patients"
    SEARCH_PATIENTS = "search_patients", "searched the clinic's patients"
    VIEW_OPEN_ALERTS = "view_open_alerts", "listed the clinic's open safety alerts"
    VIEW_COHORT = (
        "view_cohort_{instrument}",
        "read every valid total of this instrument in the clinic, for aggregates",
    )
    VIEW_WEEKLY = (
        "view_weekly_{instrument}",
        "read the clinic's weekly aggregate of this instrument's totals",
    )
    VIEW_COHORT_INFUSIONS = (
        "view_cohort_infusions",
        "read every infusion in the clinic, for aggregates",
    )
    # Import, export and rescoring (one event per patient concerned, or one for the clinic).
    IMPORT_ASSESSMENTS = "import_assessments", "imported questionnaires of this patient"
    IMPORT_INFUSIONS = "import_infusions", "imported infusions of this patient"
    EXPORT_ASSESSMENTS = (
        "export_assessments",
        "exported questionnaires as CSV (of this patient, or of the whole clinic)",
    )
    EXPORT_INFUSIONS = (
        "export_infusions",
        "exported infusions as CSV (of this patient, or of the whole clinic)",
    )
    EXPORT_FHIR = (
        "export_fhir",
        "exported records as a FHIR bundle (of this patient, or of the whole clinic)",
    )
    RESCORE = "rescore", "recomputed every stored score of the clinic from its item answers"
    # Messages that leave the building: what an administrator edits and reads (issue 14).
    SET_MESSAGE_SETTINGS = (
        "set_message_settings",
        "changed the clinic's message settings (quiet hours, clinic hours and days, escalation "
        "minutes, most reminders per check-in)",
    )
    REMINDERS_ON = "reminders_on", "switched check-in reminders on for the clinic"
    REMINDERS_OFF = "reminders_off", "switched check-in reminders off for the clinic"
    QUEUE_REMINDER = (
        "queue_reminder",
        "read a patient's e-mail address and phone number to queue a check-in reminder to them "
        "(the worker, as the system)",
    )
    SET_MESSAGE_TEMPLATE = (
        "set_message_template",
        "changed the clinic's wording of one kind of message on one channel (the subject)",
    )
    RESET_MESSAGE_TEMPLATE = (
        "reset_message_template",
        "put one kind of message on one channel back to the default wording (the subject)",
    )
    SET_ON_CALL_LIST = (
        "set_on_call_list",
        "changed the clinic's on-call list (contacts, their order, details or who is active)",
    )
    SET_USER_CONTACT = (
        "set_user_contact",
        "changed the e-mail address or phone number safety alerts reach an account at",
    )
    VIEW_DELIVERY_LOG = (
        "view_delivery_log",
        "read the clinic's delivery log of messages, recipients masked (once per visit)",
    )
    VIEW_SENT_MESSAGES = (
        "view_sent_messages",
        "read the subject and body of the clinic's sent messages, recipients masked and "
        "links hidden (once per visit)",
    )

    def __init__(self, stored: str, description: str) -> None:
        self.stored = stored
        self.description = description

    @property
    def per_instrument(self) -> bool:
        """Whether the action is one per instrument (its stored text names the instrument)."""
        return "{instrument}" in self.stored


def stored_action(action: Action, *, instrument: str | None = None) -> str:
    """The text an event of ``action`` stores; refuses anything but a registered action.

    Raises
    ------
    TypeError
        ``action`` is not an :class:`Action` (a free string, say).
    ValueError
        An action of one instrument without ``instrument``, or another action with one.
    outcomes.errors.UnknownInstrumentError
        ``instrument`` is not an id of :data:`outcomes.INSTRUMENTS`.
    """
    if not isinstance(action, Action):
        raise TypeError(
            f"audit action {action!r} is not registered: use a member of data.audit.Action "
            "(add one, with its description, for a new kind of event)"
        )
    if not action.per_instrument:
        if instrument is not None:
            raise ValueError(f"the audit action {action.name} names no instrument")
        return action.stored
    if instrument is None:
        raise ValueError(f"the audit action {action.name} needs the instrument's id")
    return action.stored.format(instrument=get_instrument(instrument).id)


def registered_actions() -> dict[str, str]:
    """Every text an audit event may store, with its description (one per instrument expanded)."""
    texts: dict[str, str] = {}
    for action in Action:
        if not action.per_instrument:
            texts[action.stored] = action.description
            continue
        for instrument in instrument_ids():
            texts[action.stored.format(instrument=instrument)] = (
                f"{action.description} ({get_instrument(instrument).name})"
            )
    return texts


def subject_of_account(username: str) -> str:
    """The subject of an event about an account: ``"account demo-admin"``.

    A username is the account's name in the audit trail already (``actor_name``); a patient's
    sign-in made from their record has a generated one that holds nothing of the patient
    (:func:`data.account_admin.issue_patient_sign_in`).
    """
    return f"account {username}"


def _checked_subject(subject: str | None) -> str | None:
    """Refuse a subject that is not one short line (it is shown in tables and CSV files)."""
    if subject is None:
        return None
    if not subject.strip() or len(subject) > SUBJECT_MAX_LENGTH or not subject.isprintable():
        raise ValueError(
            f"an audit subject is one line of 1 to {SUBJECT_MAX_LENGTH} printable characters, "
            "such as 'account demo-admin' or 'alert 12', never patient data"
        )
    return subject


def record(
    session: Session,
    *,
    actor: Actor,
    action: Action,
    patient_id: int | None = None,
    instrument: str | None = None,
    subject: str | None = None,
    once_within: dt.timedelta | None = None,
) -> None:
    """Add an audit event: ``actor`` did ``action`` (to ``patient_id``'s records, if any).

    Parameters
    ----------
    instrument : str, optional
        The instrument's id for an action of one instrument (:attr:`Action.per_instrument`),
        and None otherwise.
    subject : str, optional
        What the action was done to, in words without patient data: ``"account demo-admin"``
        (:func:`subject_of_account`), ``"alert 12"``. The patient, where there is one, is
        ``patient_id``.
    once_within : timedelta, optional
        Skip the event if the same actor recorded the same action on the same patient and
        subject within this time (a page's reruns are one visit, :data:`VISIT`); None (the
        default) records every call.
    """
    text = stored_action(action, instrument=instrument)
    subject = _checked_subject(subject)
    now = utcnow()
    event = AuditEvent(
        clinic_id=actor.clinic_id,
        actor_id=actor.user_id,
        actor_name=actor.username,
        action=text,
        patient_id=patient_id,
        subject=subject,
        at=now,
    )
    # A read on SQLite writes its events once it has ended (data.engine.writes_after_read).
    later = writes_after_read(session)
    if once_within is not None and (
        (later is not None and any(_same_event(event, earlier) for earlier in later))
        or _recorded_since(session, actor, text, patient_id, subject, since=now - once_within)
    ):
        return
    if later is None:
        session.add(event)
    else:
        later.append(event)


def _same_event(event: AuditEvent, other: object) -> bool:
    """Whether ``other`` is an event of the same actor, action, patient and subject."""
    return isinstance(other, AuditEvent) and all(
        getattr(event, column) == getattr(other, column)
        for column in ("clinic_id", "actor_id", "actor_name", "action", "patient_id", "subject")
    )


def _recorded_since(
    session: Session,
    actor: Actor,
    text: str,
    patient_id: int | None,
    subject: str | None,
    *,
    since: dt.datetime,
) -> bool:
    """Whether ``actor`` recorded this event (action, patient, subject) at ``since`` or later.

    ``column == None`` is SQL's ``IS NULL``: the system actor has no account, most events no
    patient or subject. The clinic's events by time are indexed (``ix_audit_event_clinic_at``),
    so this reads the last few minutes of one clinic only.
    """
    found = session.scalar(
        select(
            exists().where(
                AuditEvent.clinic_id == actor.clinic_id,
                AuditEvent.at >= since,
                AuditEvent.actor_id == actor.user_id,
                AuditEvent.actor_name == actor.username,
                AuditEvent.action == text,
                AuditEvent.patient_id == patient_id,
                AuditEvent.subject == subject,
            )
        )
    )
    return bool(found)


def record_many(
    session: Session,
    *,
    actor: Actor,
    action: Action,
    patient_ids: Iterable[int],
    instrument: str | None = None,
) -> None:
    """One event per patient of ``patient_ids``, as :func:`record` writes it, in one statement.

    For imports, which may touch thousands of patients: written on the session's connection
    (not added to the session), so an event is not an ORM object with its bookkeeping.
    """
    text = stored_action(action, instrument=instrument)
    ids = list(patient_ids)
    if not ids:
        return
    at = utcnow()
    connection = session.connection()
    same: dict[str, object] = {
        "clinic_id": actor.clinic_id,
        "actor_id": actor.user_id,
        "actor_name": actor.username,
        "action": text,
    }
    if connection.dialect.name == "sqlite":
        # Through the driver, with the values the same in every row written once into the
        # statement, quoted by the dialect, rather than bound for every row (the import's
        # bulk writes do the same, and measured it there: a fifth of the write time).
        driver = connection.connection.driver_connection
        if driver is None:  # pragma: no cover - a live connection always has its driver's
            raise RuntimeError("the database connection is closed")
        same["at"] = at.astimezone(dt.UTC).strftime(_SQLITE_TIME)
        literals = [
            str(literal(value).compile(connection, compile_kwargs={"literal_binds": True}))
            for value in same.values()
        ]
        driver.executemany(
            f"INSERT INTO {AuditEvent.__tablename__} (patient_id, {', '.join(same)}) "
            f"VALUES (?, {', '.join(literals)})",
            [(patient_id,) for patient_id in ids],
        )
        return
    # Core, not the ORM's bulk insert: the same statement without per-row ORM bookkeeping.
    table = AuditEvent.metadata.tables[AuditEvent.__tablename__]
    connection.execute(insert(table), [same | {"patient_id": i, "at": at} for i in ids])


def record_failed_sign_in(session: Session, *, user: User | None) -> None:
    """Add the event of a refused sign-in: there is no actor yet, only the account tried.

    ``user`` is the account whose sign-in was refused, or None for an unknown username: the
    event then names ``(unknown username)``, never the text typed in (it may be a password).
    The caller commits the event even though the sign-in raises.
    """
    session.add(
        AuditEvent(
            clinic_id=user.clinic_id if user is not None else None,
            actor_id=user.id if user is not None else None,
            actor_name=user.username if user is not None else "(unknown username)",
            action=stored_action(Action.SIGN_IN_FAILED),
            at=utcnow(),
        )
    )
