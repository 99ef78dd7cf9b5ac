"""Queueing a message: validated, once per key, in the caller's transaction (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.notify.models import OutboxMessage
from data.notify.queue import (
    NewMessage,
    normalise_email,
    normalise_phone,
    queue_message,
    queue_messages,
)
from tests.conftest import World


def _message(world: World, **changes: object) -> NewMessage:
    values: dict[str, object] = {
        "clinic_id": world.clinic_a,
        "kind": "checkin_reminder",
        "channel": "email",
        "recipient": "Pat@Example.org",
        "body": "Your check-in with Clinic A is due: https://clinic.example/c/abc",
        "dedupe_key": "reminder:1:2026-11-30:1",
        "subject": "Your check-in is due",
        "patient_id": world.patient_a1.patient_id,
    }
    values.update(changes)
    return NewMessage(**values)  # type: ignore[arg-type]


def test_a_message_is_queued_once_per_key(session: Session, world: World) -> None:
    first = queue_message(session, _message(world))
    again = queue_message(session, _message(world, body="something else"))
    assert first is not None and again is None
    stored = session.scalars(select(OutboxMessage).where(OutboxMessage.id == first)).one()
    assert (stored.status, stored.attempts, stored.recipient) == ("queued", 0, "Pat@example.org")
    # The same key in another clinic is another message.
    other = queue_message(session, _message(world, clinic_id=world.clinic_b, patient_id=None))
    assert other is not None and other != first


def test_phone_numbers_are_stored_in_e164(session: Session, world: World) -> None:
    queued = queue_message(
        session, _message(world, channel="sms", recipient="(202) 555-0143", subject=None)
    )
    stored = session.get(OutboxMessage, queued)
    assert stored is not None and stored.recipient == "+12025550143"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"recipient": "not an address"}, "not valid"),
        ({"channel": "sms", "recipient": "12"}, "not a valid number"),
        ({"kind": "newsletter"}, "unknown kind"),
        ({"channel": "pigeon"}, "unknown channel"),
        ({"body": "  "}, "body"),
        ({"dedupe_key": ""}, "dedupe key"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_queued(
    session: Session, world: World, changes: dict[str, object], says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        queue_message(session, _message(world, **changes))
    assert session.scalar(select(OutboxMessage.id)) is None


def test_normalisers_say_what_is_wrong() -> None:
    assert normalise_email(" a.b@example.com ") == "a.b@example.com"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    with pytest.raises(InvalidInput, match="not a valid number"):
        normalise_phone("555")


def test_many_messages_in_one_statement_skip_keys_queued_already(
    session: Session, world: World
) -> None:
    first = queue_message(session, _message(world))
    assert first is not None
    batch = [
        _message(world),  # its key is queued already
        _message(world, dedupe_key="reminder:1:2026-11-30:2"),
        _message(
            world,
            dedupe_key="reminder:1:2026-11-30:3",
            channel="sms",
            recipient="+12025550143",
            subject=None,
        ),
    ]
    assert queue_messages(session, batch) == 2
    keys = session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)).all()
    assert keys == ["reminder:1:2026-11-30:1", "reminder:1:2026-11-30:2", "reminder:1:2026-11-30:3"]
    assert queue_messages(session, batch) == 0


def test_one_bad_message_refuses_the_whole_batch(session: Session, world: World) -> None:
    batch = [
        _message(world, dedupe_key="reminder:1:2026-11-30:2"),
        _message(world, dedupe_key="reminder:1:2026-11-30:3", recipient="not an address"),
    ]
    with pytest.raises(InvalidInput, match="not valid"):
        queue_messages(session, batch)
    assert session.scalar(select(OutboxMessage.id)) is None
