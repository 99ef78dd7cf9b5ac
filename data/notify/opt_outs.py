"""Who asked to hear no more reminders, and on which channel (issue 14).

A patient opts out by the link in every reminder e-mail, by answering STOP to a text (the
gateway reports it), or through the care team. An opt-out covers reminders and invitations to
that patient; it never stops a safety notification to staff. ``channel`` is ``email``,
``sms`` or ``all``. Opting out twice changes nothing; nothing here commits.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.models import utcnow
from data.notify.models import MessageOptOut

__all__ = ["OPT_OUT_CHANNELS", "OPT_OUT_WAYS", "opted_out", "record_opt_out"]

OPT_OUT_CHANNELS: Final = ("email", "sms", "all")
OPT_OUT_WAYS: Final = ("link", "STOP", "staff")


def record_opt_out(
    session: Session, *, clinic_id: int, patient_id: int, channel: str, via: str
) -> bool:
    """Record that the patient wants no more reminders on ``channel``; True if it is new.

    The caller has decided who may do this (the patient's own signed link, the gateway's
    report of a STOP, the care team) and audits it."""
    if channel not in OPT_OUT_CHANNELS:
        raise InvalidInput([f"unknown channel {channel!r} to opt out of"])
    if via not in OPT_OUT_WAYS:
        raise InvalidInput([f"unknown way of opting out {via!r}"])
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(MessageOptOut)
        .values(
            clinic_id=clinic_id,
            patient_id=patient_id,
            channel=channel,
            via=via,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["patient_id", "channel"])
        .returning(MessageOptOut.id)
    )
    return connection.execute(statement).scalar() is not None


def opted_out(session: Session, *, patient_id: int, channel: str) -> bool:
    """Whether the patient opted out of ``channel`` (or of everything)."""
    found = session.scalar(
        select(MessageOptOut.id)
        .where(
            MessageOptOut.patient_id == patient_id,
            MessageOptOut.channel.in_((channel, "all")),
        )
        .limit(1)
    )
    return found is not None
