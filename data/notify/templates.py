"""The wording of each kind of message, on each channel: the default, or the clinic's own.

A message never carries clinical content (course-and-reporting §4): no score, answer or
diagnosis, only the clinic's name, that something is due or needs review, and a link. So a
template may name only the placeholders of :data:`PLACEHOLDERS` for its kind, checked when a
clinic saves its own (:func:`check_template`) and again when a message is rendered.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import utcnow
from data.notify.models import MessageTemplate

__all__ = [
    "DEFAULT_TEMPLATES",
    "PLACEHOLDERS",
    "SAMPLE_VALUES",
    "ClinicTemplate",
    "Template",
    "check_template",
    "clinic_templates",
    "preview_template",
    "render_message",
    "reset_template",
    "save_template",
    "template_for",
]


@dataclass(frozen=True)
class Template:
    """A subject (e-mail only) and a body, with ``{placeholder}`` fields."""

    subject: str | None
    body: str


PLACEHOLDERS: Final[dict[str, frozenset[str]]] = {
    "checkin_reminder": frozenset({"clinic_name", "link", "opt_out_link", "due_date"}),
    "invitation": frozenset({"clinic_name", "link"}),
    "safety_alert": frozenset({"clinic_name", "link"}),
    "safety_escalation": frozenset({"clinic_name", "link", "minutes"}),
}
"""What each kind of message may say. Never a patient's name, a score or an answer."""

_STOP = " Reply STOP to stop these texts."

DEFAULT_TEMPLATES: Final[dict[tuple[str, str], Template]] = {
    ("checkin_reminder", "email"): Template(
        "Your check-in with {clinic_name} is due",
        "Hello,\n\nYour check-in with {clinic_name} is due ({due_date}). It takes a few "
        "minutes:\n\n{link}\n\nTo stop these reminders: {opt_out_link}\n",
    ),
    ("checkin_reminder", "sms"): Template(
        None, "{clinic_name}: your check-in is due. {link}" + _STOP
    ),
    ("invitation", "email"): Template(
        "Set up your {clinic_name} account",
        "Hello,\n\n{clinic_name} has invited you to check in online. Set your password "
        "here:\n\n{link}\n",
    ),
    ("invitation", "sms"): Template(None, "{clinic_name}: set up your account: {link}"),
    ("safety_alert", "email"): Template(
        "A patient safety alert needs review",
        "A patient safety alert at {clinic_name} needs review. Sign in to see it:\n\n{link}\n",
    ),
    ("safety_alert", "sms"): Template(
        None, "{clinic_name}: a patient safety alert needs review. Sign in: {link}"
    ),
    ("safety_escalation", "email"): Template(
        "A patient safety alert is still unacknowledged",
        "A patient safety alert at {clinic_name} has not been acknowledged for {minutes} "
        "minutes and needs review now. Sign in to see it:\n\n{link}\n",
    ),
    ("safety_escalation", "sms"): Template(
        None,
        "{clinic_name}: a patient safety alert is unacknowledged after {minutes} min. "
        "Sign in: {link}",
    ),
}


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise InvalidInput([f"the template has a broken placeholder: {error}"]) from None


def check_template(kind: str, channel: str, template: Template) -> Template:
    """``template`` if it is usable for ``kind`` on ``channel``; else InvalidInput naming
    each unknown placeholder (and those the kind allows)."""
    if (kind, channel) not in DEFAULT_TEMPLATES:
        raise InvalidInput([f"there is no message {kind!r} by {channel!r}"])
    allowed = PLACEHOLDERS[kind]
    problems: list[str] = []
    if not template.body.strip():
        problems.append("the message needs a body")
    if channel == "email" and not (template.subject or "").strip():
        problems.append("an e-mail needs a subject")
    for part in (template.subject or "", template.body):
        for name in sorted(_fields(part) - allowed):
            problems.append(
                f"{{{name}}} is not a placeholder of this message; use "
                + ", ".join(f"{{{known}}}" for known in sorted(allowed))
            )
    if kind in ("checkin_reminder",) and "{link}" not in template.body:
        problems.append("the message must carry its {link}")
    if problems:
        raise InvalidInput(problems)
    return template


def template_for(session: Session, *, clinic_id: int, kind: str, channel: str) -> Template:
    """The clinic's own wording of ``kind`` on ``channel``, or the default."""
    own = session.get(MessageTemplate, (clinic_id, kind, channel))
    if own is not None:
        return Template(own.subject, own.body)
    return DEFAULT_TEMPLATES[(kind, channel)]


def render_message(
    session: Session, *, clinic_id: int, kind: str, channel: str, values: dict[str, str]
) -> Template:
    """The subject and body of one message, the placeholders filled from ``values``."""
    template = check_template(
        kind, channel, template_for(session, clinic_id=clinic_id, kind=kind, channel=channel)
    )
    wanted = _fields(template.body) | _fields(template.subject or "")
    missing = wanted - values.keys()
    if missing:
        raise ValueError(f"no value for {sorted(missing)} in a {kind} message")
    return Template(
        None if template.subject is None else template.subject.format_map(values),
        template.body.format_map(values),
    )


# --- a clinic's own wording, as an administrator edits it -----------------------------------

MAX_SUBJECT: Final = 200
"""Characters of an e-mail's subject (the column's length)."""
MAX_EMAIL_BODY: Final = 1_500
"""Characters of an e-mail's body as written: the filled-in links must still fit the outbox's
2,000."""
MAX_SMS_BODY: Final = 320
"""Characters of a text's body as written: two SMS segments with the link filled in."""

SAMPLE_VALUES: Final[dict[str, str]] = {
    "clinic_name": "Your Clinic",
    "link": "https://outcomes.example.org/l/sample-one-time-link",
    "opt_out_link": "https://outcomes.example.org/l/sample-opt-out-link",
    "due_date": "Monday 3 March",
    "minutes": "30",
}
"""What a preview fills each placeholder with (never a real link)."""


@dataclass(frozen=True)
class ClinicTemplate:
    """One kind of message on one channel as the clinic sends it, and whether the wording is
    the clinic's own (``own``) or the default."""

    kind: str
    channel: str
    subject: str | None
    body: str
    own: bool


def _written_problems(channel: str, subject: str | None, body: str) -> list[str]:
    """Lengths and characters: a subject on one line, no control characters but line breaks
    in an e-mail's body, none at all in a text."""
    problems = []
    if channel == "email" and len(subject or "") > MAX_SUBJECT:
        problems.append(f"the subject can have at most {MAX_SUBJECT} characters")
    limit = MAX_EMAIL_BODY if channel == "email" else MAX_SMS_BODY
    if len(body) > limit:
        problems.append(f"the message can have at most {limit} characters (it has {len(body)})")
    if any(unicodedata.category(c) == "Cc" for c in subject or ""):
        problems.append("write the subject on one line, without control characters")
    allowed = "\n" if channel == "email" else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in body):
        where = "" if channel == "email" else " on one line"
        problems.append(f"write the message{where} as plain text, without control characters")
    return problems


def _checked(kind: str, channel: str, subject: str | None, body: str) -> Template:
    """The template as it would be saved, or InvalidInput with every problem found."""
    if not isinstance(body, str) or (subject is not None and not isinstance(subject, str)):
        raise InvalidInput(["the subject and the message must be text"])
    # Windows line ends from a pasted text are line ends, not control characters.
    body = re.sub(r"\r\n?", "\n", body).strip()
    subject = (subject or "").strip() if channel == "email" else None
    problems = _written_problems(channel, subject, body)
    # Spec §4: a reminder says how to stop them (a link in every e-mail, STOP by text).
    if kind == "checkin_reminder" and channel == "email" and "{opt_out_link}" not in body:
        problems.append("a reminder e-mail must carry its {opt_out_link}, to stop reminders")
    if kind == "checkin_reminder" and channel == "sms" and "STOP" not in body:
        problems.append("a reminder text must say how to stop them (e.g. Reply STOP to stop)")
    try:
        check_template(kind, channel, Template(subject, body))
    except InvalidInput as refused:
        problems = [*refused.problems, *problems]
    if problems:
        raise InvalidInput(problems)
    return Template(subject, body)


def clinic_templates(session: Session, *, actor: Actor) -> list[ClinicTemplate]:
    """Every kind of message on every channel as the actor's clinic sends it (administrators
    and the operator). Nothing of a patient: not audited."""
    ensure_role(session, actor, "administrator", "system")
    own = {
        (row.kind, row.channel): row
        for row in session.scalars(
            select(MessageTemplate).where(MessageTemplate.clinic_id == actor.clinic_id)
        )
    }
    rows = []
    for (kind, channel), default in DEFAULT_TEMPLATES.items():
        stored = own.get((kind, channel))
        rows.append(
            ClinicTemplate(kind, channel, default.subject, default.body, own=False)
            if stored is None
            else ClinicTemplate(kind, channel, stored.subject, stored.body, own=True)
        )
    return rows


def save_template(
    session: Session, *, actor: Actor, kind: str, channel: str, subject: str | None, body: str
) -> Template:
    """Store the clinic's own wording of ``kind`` on ``channel`` (an administrator, or the
    operator); the template as stored.

    The placeholders are checked first (:func:`check_template`: only those of the kind, the
    check-in reminder's ``{link}`` present), then lengths and characters; an SMS has no
    subject. Audited with the kind and channel as subject.

    Raises
    ------
    AccessDenied
        The actor does not administer the clinic.
    InvalidInput
        Every problem found; nothing is written.
    """
    ensure_role(session, actor, "administrator", "system")
    template = _checked(kind, channel, subject, body)
    stored = session.get(MessageTemplate, (actor.clinic_id, kind, channel))
    if stored is None:
        stored = MessageTemplate(clinic_id=actor.clinic_id, kind=kind, channel=channel)
        session.add(stored)
    stored.subject = template.subject
    stored.body = template.body
    stored.updated_at = utcnow()
    stored.updated_by_id = actor.user_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.SET_MESSAGE_TEMPLATE,
        subject=f"template {kind} {channel}",
    )
    return template


def reset_template(session: Session, *, actor: Actor, kind: str, channel: str) -> bool:
    """Go back to the default wording of ``kind`` on ``channel``; True if the clinic had its
    own (then audited), False if it used the default already."""
    ensure_role(session, actor, "administrator", "system")
    if (kind, channel) not in DEFAULT_TEMPLATES:
        raise InvalidInput([f"there is no message {kind!r} by {channel!r}"])
    stored = session.get(MessageTemplate, (actor.clinic_id, kind, channel))
    if stored is None:
        return False
    session.delete(stored)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.RESET_MESSAGE_TEMPLATE,
        subject=f"template {kind} {channel}",
    )
    return True


def preview_template(
    kind: str, channel: str, subject: str | None, body: str, *, clinic_name: str
) -> Template:
    """The message as a recipient would read it, filled with :data:`SAMPLE_VALUES` and the
    clinic's name; InvalidInput as :func:`save_template` would raise it. Writes nothing."""
    template = _checked(kind, channel, subject, body)
    values = {**SAMPLE_VALUES, "clinic_name": clinic_name or SAMPLE_VALUES["clinic_name"]}
    return Template(
        None if template.subject is None else template.subject.format_map(values),
        template.body.format_map(values),
    )
