"""What every channel takes and answers: one message out, one delivery result back.

A channel (one module beside this one) sends an :class:`Outgoing` and says how it went in a
:class:`Delivery`; it never touches the database. The outbox (:mod:`data.notify.outbox`)
decides what a result means for the message: sent, tried again later, or given up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["Delivery", "Outcome", "Outgoing", "Sender", "without_recipient"]

Outcome = Literal["sent", "failed", "unreachable", "bounced", "opted_out"]
"""``failed``: the server refused for now (tried again, given up after the last try);
``unreachable``: no server answered (tried again while the message lives); ``bounced``: refused
for good (never tried again); ``opted_out``: the recipient unsubscribed (texted STOP)."""


@dataclass(frozen=True)
class Outgoing:
    """One message as a channel sends it. ``recipient`` is validated already (e-mail address,
    or E.164 number)."""

    message_id: int
    clinic_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str


@dataclass(frozen=True)
class Delivery:
    """How one try went. ``detail`` is for the delivery log: a server's code and words, never
    the message's body nor a password, and the recipient's address replaced."""

    outcome: Outcome
    provider_id: str | None = None
    detail: str | None = None


class Sender(Protocol):
    """A channel's connection for one worker pass: ``send`` each message, then ``close``."""

    name: str

    def send(self, message: Outgoing) -> Delivery: ...

    def close(self) -> None: ...


def without_recipient(text: str, recipient: str, limit: int = 300) -> str:
    """``text`` (a server's answer) with the recipient's address left out, cut to ``limit``.

    Servers often quote the address they refuse; the delivery log shows it masked instead.
    """
    cleaned = text.replace(recipient, "<recipient>") if recipient else text
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
