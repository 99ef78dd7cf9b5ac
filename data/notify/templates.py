"""The wording of each kind of message, on each channel: the default, or the clinic's own.

A message never carries clinical content (course-and-reporting §4): no score, answer or
diagnosis, only the clinic's name, that something is due or needs review, and a link. So a
template may name only the placeholders of :data:`PLACEHOLDERS` for its kind, checked when a
clinic saves its own (:func:`check_template`) and again when a message is rendered.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.notify.models import MessageTemplate

__all__ = [
    "DEFAULT_TEMPLATES",
    "PLACEHOLDERS",
    "Template",
    "check_template",
    "render_message",
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
