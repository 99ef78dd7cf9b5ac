"""Who may see and change what, decided below the user interface.

Every data function that touches patient data (:mod:`data.records` and others) calls an
``ensure_*`` function here first, so a page that forgets a check still cannot read another
patient's rows (the pattern of datasette's ``ensure_permission``). The rules (``DESIGN.md``,
Roles):

* a **patient** sees and writes only their own records;
* a **clinician** sees and writes the records of their own clinic's patients;
* an **administrator** sees their clinic's aggregates, accounts and audit trail, never an
  individual patient's answers;
* the **system** actor is the operator at the command line (import, export, rescore, backup),
  acting on one clinic. The app never creates it.

An :class:`Actor` is re-checked against its user row on every call: a disabled account, a
changed role or a forged actor is refused even mid-session.

:data:`ACCESS_RULES` states the same rules as data, one row per public data function: which
roles may call it, and on which records. The ``ensure_*`` checks enforce them;
``tests/test_data/test_access_matrix.py`` calls every function as every kind of actor on every
kind of record and fails unless exactly the rows' grants are allowed, and fails for a public
data function with no row here (or in :data:`ACCESS_EXEMPT`, with the reason it acts for
nobody). A new data function therefore comes with its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from data.errors import AccessDenied
from data.models import Patient, User, utcnow
from data.notify.models import AccessLink

Role = Literal["patient", "clinician", "administrator", "system"]

Grant = Literal[
    "patient:own",
    "patient:none",
    "clinician:clinic",
    "clinician:none",
    "administrator:clinic",
    "administrator:none",
    "system:clinic",
    "system:none",
]
"""Who may make a call: ``role:relation``, the actor's role and how the call's record stands
to the actor.

* ``own``: the patient the call is about is the actor (a patient's own record);
* ``clinic``: a patient (or a patient's account) of the actor's own clinic;
* ``none``: the call names no patient; it acts on the actor's own clinic as a whole.

Another clinic's patient, and one that does not exist, are granted to nobody: there is no
grant to write for them. Neither is anything granted to a forged, disabled or missing actor.
"""

OWN_OR_CARE_TEAM: Final[frozenset[Grant]] = frozenset(
    {"patient:own", "clinician:clinic", "system:clinic"}
)
"""A patient's own record, or a patient of the clinic for its care team (and the operator)."""
CARE_TEAM: Final[frozenset[Grant]] = frozenset({"clinician:clinic", "system:clinic"})
"""A patient of the clinic, for its care team only: never the patient themselves."""
ACCOUNT_MANAGERS: Final[frozenset[Grant]] = frozenset({"administrator:clinic", "system:clinic"})
"""An account of the clinic, for its administrators."""
CLINIC_STAFF: Final[frozenset[Grant]] = frozenset({"clinician:none", "system:none"})
"""The clinic's patients as a whole (lists, imports, a whole-clinic export): the care team."""
AGGREGATE_READERS: Final[frozenset[Grant]] = frozenset(
    {"clinician:none", "administrator:none", "system:none"}
)
"""The clinic's aggregates (pseudonymised for administrators)."""
ADMINISTRATION: Final[frozenset[Grant]] = frozenset({"administrator:none", "system:none"})
"""The clinic's administration: accounts, audit trail, rescoring."""
EVERY_SIGNED_IN_USER: Final[frozenset[Grant]] = frozenset(
    {"patient:none", "clinician:none", "administrator:none", "system:none"}
)
"""Anyone signed in, about themselves only."""

EVERY_CALL: Final = "every call"
"""The case of a function whose every call has the same rule."""

ACCESS_RULES: Final[dict[str, dict[str, frozenset[Grant]]]] = {
    # data.records: one patient's records (patient_record, alert_review)
    "data.records.patient_record.patient_record": {EVERY_CALL: OWN_OR_CARE_TEAM},
    "data.records.patient_record.patient_assessments": {EVERY_CALL: OWN_OR_CARE_TEAM},
    "data.records.patient_record.patient_infusions": {EVERY_CALL: OWN_OR_CARE_TEAM},
    "data.records.patient_record.patient_infusion_log": {EVERY_CALL: OWN_OR_CARE_TEAM},
    "data.records.alert_review.patient_alerts": {EVERY_CALL: CARE_TEAM},
    "data.records.alert_review.acknowledge_alert": {EVERY_CALL: CARE_TEAM},
    # data.records: the clinic's lists and aggregates (patient_lists, patients, cohort)
    "data.records.patient_lists.clinic_patients": {EVERY_CALL: CLINIC_STAFF},
    "data.records.patient_lists.find_patients": {EVERY_CALL: CLINIC_STAFF},
    "data.records.patient_lists.patients_without_contact": {EVERY_CALL: CLINIC_STAFF},
    "data.records.alert_review.open_alerts": {EVERY_CALL: CLINIC_STAFF},
    "data.records.worklist_state.worklist_state": {EVERY_CALL: CLINIC_STAFF},
    # Registering a patient (the "Register a patient" page): the care team and the clinic's
    # administrators (front desk work); the record is then the care team's to read.
    "data.records.patients.create_patient": {
        EVERY_CALL: frozenset({"clinician:none", "administrator:none", "system:none"})
    },
    "data.records.cohort.weekly_aggregates": {EVERY_CALL: AGGREGATE_READERS},
    "data.records.cohort.cohort_assessments": {EVERY_CALL: AGGREGATE_READERS},
    "data.records.cohort.cohort_infusions": {EVERY_CALL: AGGREGATE_READERS},
    "data.records.cohort.outcomes_view": {EVERY_CALL: AGGREGATE_READERS},
    "data.records.cohort.cohort_courses": {EVERY_CALL: AGGREGATE_READERS},
    "data.records.cohort.cohort_protocols": {EVERY_CALL: AGGREGATE_READERS},
    # data.checkin: a patient fills in their own self-rated questionnaires, never a
    # clinician-rated one (MADRS)
    "data.checkin.submit_checkin": {
        "self-rated instrument": OWN_OR_CARE_TEAM,
        "clinician-rated instrument": CARE_TEAM,
    },
    "data.checkin.correctable_checkins": {EVERY_CALL: OWN_OR_CARE_TEAM},
    # data.infusions: the care team's record
    "data.infusions.record_infusion": {EVERY_CALL: CARE_TEAM},
    "data.infusions.mark_infusion_entered_in_error": {EVERY_CALL: CARE_TEAM},
    # data.accounts (sign-in), data.account_admin, data.audit_trail
    "data.account_admin.create_user": {EVERY_CALL: ADMINISTRATION},
    "data.account_admin.list_users": {EVERY_CALL: ADMINISTRATION},
    "data.audit_trail.audit_log": {EVERY_CALL: ADMINISTRATION},
    "data.account_admin.set_user_active": {EVERY_CALL: ACCOUNT_MANAGERS},
    "data.account_admin.reset_password": {EVERY_CALL: ACCOUNT_MANAGERS},
    "data.records.patients.patient_id_for_mrn": {
        EVERY_CALL: frozenset({"clinician:none", "administrator:none", "system:none"})
    },
    "data.account_admin.clinic_clinicians": {
        EVERY_CALL: frozenset({"clinician:none", "administrator:none", "system:none"})
    },
    # A patient's sign-in, made from their record: whoever registers patients
    "data.account_admin.issue_patient_sign_in": {
        EVERY_CALL: frozenset({"clinician:clinic", "administrator:clinic", "system:clinic"})
    },
    "data.accounts.sign_out_everywhere": {EVERY_CALL: EVERY_SIGNED_IN_USER},
    # data.sessions: a person's own browser sessions (the operator has no browser)
    "data.sessions.start_session": {
        EVERY_CALL: frozenset({"patient:none", "clinician:none", "administrator:none"})
    },
    "data.sessions.touch": {EVERY_CALL: EVERY_SIGNED_IN_USER},
    "data.sessions.end_session": {EVERY_CALL: EVERY_SIGNED_IN_USER},
    # data.interchange: a patient's export as their record; the clinic's as the clinic's records
    "data.interchange.csv_export.ensure_can_export": {
        "one patient": OWN_OR_CARE_TEAM,
        "whole clinic": CLINIC_STAFF,
    },
    "data.interchange.csv_export.export_assessments_csv": {
        "one patient": OWN_OR_CARE_TEAM,
        "whole clinic": CLINIC_STAFF,
    },
    "data.interchange.csv_export.export_infusions_csv": {
        "one patient": OWN_OR_CARE_TEAM,
        "whole clinic": CLINIC_STAFF,
    },
    # data.interchange: an import reaches only the importer's clinic (a file names patients by the
    # clinic's own ids), so it names no patient; its first half (read and check, nothing
    # written) has the import's rule
    "data.interchange.csv_assessments.import_assessments_csv": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.csv_infusions.import_infusions_csv": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.administrations.store_administrations": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.csv_assessments.prepare_assessments_csv": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.csv_infusions.prepare_infusions_csv": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.administrations.prepare_administrations": {EVERY_CALL: CLINIC_STAFF},
    # data.interchange.fhir_read, fhir_export: the same rules as the CSV import and export
    "data.interchange.fhir_read.prepare_fhir_bundle": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.fhir_read.import_fhir_bundle": {EVERY_CALL: CLINIC_STAFF},
    "data.interchange.fhir_export.export_fhir_bundle": {
        "one patient": OWN_OR_CARE_TEAM,
        "whole clinic": CLINIC_STAFF,
    },
    # data.schedule (issue 14): schedules are the clinic's administration; bookings are the
    # care team's; a patient's windows are theirs and their care team's; the clinic's open
    # windows (reminders) are the care team's and the worker's
    "data.schedule.protocol_schedules": {EVERY_CALL: ADMINISTRATION},
    "data.schedule.save_schedule": {EVERY_CALL: ADMINISTRATION},
    "data.schedule.plan_infusion": {EVERY_CALL: CARE_TEAM},
    "data.schedule.cancel_planned_infusion": {EVERY_CALL: CARE_TEAM},
    "data.schedule.patient_schedule": {EVERY_CALL: OWN_OR_CARE_TEAM},
    "data.schedule.due_checkins": {EVERY_CALL: CLINIC_STAFF},
    # data.clinic: the clinic's own settings are its administration
    "data.clinic.set_clinic_time_zone": {EVERY_CALL: ADMINISTRATION},
    "data.clinic.set_crisis_contacts": {EVERY_CALL: ADMINISTRATION},
    # data.notify (issue 14): what an administrator edits and reads about messages; the
    # on-call list and staff contacts are staff details, the delivery log masks recipients
    "data.notify.settings_admin.message_settings": {EVERY_CALL: ADMINISTRATION},
    "data.notify.settings_admin.set_message_settings": {EVERY_CALL: ADMINISTRATION},
    "data.notify.templates.clinic_templates": {EVERY_CALL: ADMINISTRATION},
    "data.notify.templates.save_template": {EVERY_CALL: ADMINISTRATION},
    "data.notify.templates.reset_template": {EVERY_CALL: ADMINISTRATION},
    "data.notify.on_call.on_call_list": {EVERY_CALL: ADMINISTRATION},
    "data.notify.on_call.save_on_call_list": {EVERY_CALL: ADMINISTRATION},
    "data.notify.on_call.add_on_call_contact": {EVERY_CALL: ADMINISTRATION},
    "data.account_admin.set_user_contact": {EVERY_CALL: ACCOUNT_MANAGERS},
    "data.notify.delivery_log.delivery_log": {EVERY_CALL: ADMINISTRATION},
    "data.notify.delivery_log.delivery_counts": {EVERY_CALL: ADMINISTRATION},
    "data.notify.delivery_log.sent_messages": {EVERY_CALL: ADMINISTRATION},
    "data.notify.delivery_log.unreachable_patients": {EVERY_CALL: AGGREGATE_READERS},
    "data.notify.reminder_effect.reminder_completeness": {EVERY_CALL: AGGREGATE_READERS},
    # data.rescore: recomputing every stored score is the clinic's administration
    "data.rescore.rescore": {EVERY_CALL: ADMINISTRATION},
    # data.notify.invitations (issue 14): whoever registers patients invites them to set a
    # password, as they issue a sign-in (a one-tap link opens nothing of the record)
    "data.notify.invitations.invite_patient": {
        EVERY_CALL: frozenset({"clinician:clinic", "administrator:clinic", "system:clinic"})
    },
    # Safety alerts reach a person (issue 14): one alert's history is its patient's care
    # team's; whether the care team was sent a message is also the patient's own (the
    # crisis panel says so)
    "data.records.alert_history.alert_history": {EVERY_CALL: CARE_TEAM},
    "data.records.alert_history.alert_histories": {EVERY_CALL: CLINIC_STAFF},
    "data.notify.safety.care_team_told": {EVERY_CALL: OWN_OR_CARE_TEAM},
    # data.notify.health (issue 14, send): whether messages are leaving, for the
    # administration (counts and server answers, no patient data)
    "data.notify.health.delivery_health": {EVERY_CALL: ADMINISTRATION},
    # data.access: the checks themselves, callable by any data module
    "data.access.ensure_can_view_patient": {EVERY_CALL: OWN_OR_CARE_TEAM},
    "data.access.ensure_can_write_patient": {
        "default": OWN_OR_CARE_TEAM,
        "clinician_only=True": CARE_TEAM,
    },
}
"""Who may call each public data function: qualified name -> case -> grants.

A function whose calls differ in who may make them (one patient or the whole clinic, a
self-rated or a clinician-rated instrument) has one case for each; any other has the one case
:data:`EVERY_CALL`.
"""

ACCESS_EXEMPT: Final[dict[str, str]] = {
    "data.accounts.authenticate": "the sign-in itself: there is no actor yet",
    "data.accounts.authenticate_single_sign_on": (
        "the single sign-on itself: the identity provider has verified the email, and there "
        "is no actor yet (tested in test_sign_in.py)"
    ),
    "data.accounts.hash_password": "pure function of its argument; reads and writes nothing",
    "data.accounts.same_username": "builds a SQL condition on the username; runs no query",
    "data.accounts.sign_in": (
        "the app's sign-in itself (authenticate in separate transactions, throttled): there "
        "is no actor yet (tested in test_sign_in_throttle.py)"
    ),
    "data.accounts.session_still_valid": (
        "answers whether the actor's own sign-in is still valid; reads nothing of a patient "
        "and writes nothing (tested in test_sessions.py)"
    ),
    "data.infusions.problems_with": "pure validation of an InfusionInput; no database",
    "data.infusions.field_problems": "pure validation of an InfusionInput; no database",
    "data.infusions.recording_problems": "pure validation of an InfusionInput; no database",
    "data.infusions.with_dose_per_kg": "pure arithmetic on an InfusionInput; no database",
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
    "data.records.patients.register_patients": (
        "the one writer of patients, for callers that have checked the actor already "
        "(create_patient beside it, the importers, the demo seeder); pages never call it "
        "(tested in test_record_writers.py)"
    ),
}
"""Public data functions that act for nobody, so no access rule applies: name -> reason."""


@dataclass(frozen=True)
class LinkScope:
    """What a one-tap link lets its holder do (:mod:`data.notify.links`): ``purpose``
    (``checkin``, ``invitation``, ``opt_out``), the link's row and, for a check-in, its
    questionnaires. Re-checked against the link's row on every call, never trusted."""

    purpose: str
    link_id: int
    instruments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a data function runs.

    ``scope`` is set for the holder of a one-tap link (no password): a patient actor that
    may submit that link's check-in and nothing else (:func:`ensure_can_write_patient` with
    ``checkin=``). Every other check refuses it: history, progress, corrections and every
    other patient need a full sign-in.
    """

    user_id: int | None
    clinic_id: int
    role: Role
    username: str
    patient_id: int | None = None
    scope: LinkScope | None = None

    @classmethod
    def system(cls, clinic_id: int, name: str = "command line") -> Actor:
        """The operator at the command line, acting on one clinic."""
        return cls(user_id=None, clinic_id=clinic_id, role="system", username=name)


SCOPED_REFUSAL: Final = (
    "a check-in link opens that check-in only; please sign in to see your records"
)

# Built once, the user bound at each check: every data function runs it (profiled, issue 13).
_USER_AND_OWN_RECORD = (
    select(User, Patient)
    .outerjoin(Patient, Patient.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)


def verify_actor(session: Session, actor: Actor) -> Patient | None:
    """Refuse an actor whose user row no longer matches it (disabled, moved, re-roled).

    Returns a patient actor's own patient record (None for anyone else).
    """
    if not isinstance(actor, Actor):
        raise AccessDenied("no signed-in user")
    if actor.scope is not None:
        # A link's holder gave no password: only its own check-in (ensure_can_write_patient).
        raise AccessDenied(SCOPED_REFUSAL)
    if actor.role == "system":
        if actor.user_id is not None:
            raise AccessDenied("the system actor has no user account")
        return None
    if actor.user_id is None:
        raise AccessDenied("no signed-in user")
    # The user and, for a patient, their own record in one round trip; the record is
    # returned, so a patient's access check to their own records needs no query of its own.
    found = session.execute(_USER_AND_OWN_RECORD, {"user_id": actor.user_id}).first()
    user, own = found if found is not None else (None, None)
    if (
        user is None
        or not user.active
        or user.role != actor.role
        or user.clinic_id != actor.clinic_id
        or user.username != actor.username
    ):
        raise AccessDenied("this sign-in is no longer valid; please sign in again")
    if actor.role != "patient":
        return None
    if own is None or own.id != actor.patient_id:
        raise AccessDenied("this sign-in is no longer valid; please sign in again")
    return own


def ensure_role(session: Session, actor: Actor, *roles: Role) -> None:
    """Refuse unless the (verified) actor has one of ``roles``."""
    verify_actor(session, actor)
    if actor.role not in roles:
        raise AccessDenied(f"this needs the role of {' or '.join(roles)}")


def ensure_can_view_patient(session: Session, *, actor: Actor, patient_id: int) -> Patient:
    """The patient's row, if ``actor`` may see this patient's records; else AccessDenied."""
    own = verify_actor(session, actor)
    if own is not None and own.id == patient_id:
        patient: Patient | None = own
    else:
        patient = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise AccessDenied()
    if actor.role == "patient" and patient.id != actor.patient_id:
        raise AccessDenied()
    if actor.role == "administrator":
        raise AccessDenied("administrators see aggregates, not individual patients' records")
    return patient


def ensure_can_write_patient(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    clinician_only: bool = False,
    checkin: str | None = None,
) -> Patient:
    """As :func:`ensure_can_view_patient`; ``clinician_only`` also refuses the patient.

    ``checkin`` is the instrument of a new check-in (not a correction): the one write a
    one-tap link's actor may make, for that link's patient and questionnaires, while the
    link is open (:func:`verify_link_actor`).
    """
    if isinstance(actor, Actor) and actor.scope is not None:
        if checkin is None or clinician_only:
            raise AccessDenied(SCOPED_REFUSAL)
        return verify_link_actor(session, actor, patient_id=patient_id, instrument=checkin)
    patient = ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    if clinician_only and actor.role == "patient":
        raise AccessDenied("only the care team can record this")
    return patient


def verify_link_actor(
    session: Session, actor: Actor, *, patient_id: int, instrument: str
) -> Patient:
    """The patient's row if ``actor``'s check-in link may store ``instrument`` for them now.

    The link's row decides, not the actor (which a page keeps in its session state): it must
    be a check-in link of this patient and clinic, for this questionnaire, neither used,
    revoked nor expired, with the questionnaire not yet stored through it; and the patient's
    sign-in, if they have one, must not be disabled. Locks the row (PostgreSQL) so that two
    submissions of one link at once store one check-in.
    """
    scope = actor.scope
    if scope is None or scope.purpose != "checkin" or actor.role != "patient":
        raise AccessDenied(SCOPED_REFUSAL)
    link = session.get(AccessLink, scope.link_id, with_for_update=True)
    if link is None or link.purpose != "checkin":
        raise AccessDenied("this link is not valid")
    if (
        link.patient_id != patient_id
        or link.patient_id != actor.patient_id
        or link.clinic_id != actor.clinic_id
    ):
        raise AccessDenied(SCOPED_REFUSAL)
    if link.revoked_at is not None:
        raise AccessDenied("this link has been withdrawn by the clinic")
    if link.used_at is not None:
        raise AccessDenied("this check-in link has been used already")
    if link.expires_at <= utcnow():
        raise AccessDenied("this check-in link has expired: its check-in window has closed")
    wanted = tuple(link.scope.get("instruments", ()))
    done = tuple(link.scope.get("done", ()))
    if instrument not in wanted or instrument not in scope.instruments or instrument in done:
        raise AccessDenied(SCOPED_REFUSAL)
    patient = session.get(Patient, patient_id)
    if patient is None or patient.clinic_id != link.clinic_id:
        raise AccessDenied()
    if patient.user_id is not None:
        user = session.get(User, patient.user_id)
        if user is None or not user.active or user.id != actor.user_id:
            raise AccessDenied("this patient's sign-in is disabled; please ask the clinic")
    elif actor.user_id is not None:
        raise AccessDenied(SCOPED_REFUSAL)
    return patient
