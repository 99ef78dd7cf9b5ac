"""The channels a message can leave by, one module each, and which one sends what.

``OUTCOMES_MESSAGES_TRANSPORT`` picks a row of :data:`TRANSPORTS`: for each channel of a
message (``email``, ``sms``) the sender that carries it. A new channel is a module beside
these (a class with ``name``, ``send(Outgoing) -> Delivery`` and ``close()``, see
:mod:`data.notify.channels.base`), one row in :data:`SENDERS` and its place in a transport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from data.notify.channels.base import Delivery, Outgoing, Sender
from data.notify.channels.email_smtp import SmtpSender
from data.notify.channels.local import LocalSender
from data.notify.channels.sms_gateway import SmsSender
from data.settings import Settings

__all__ = ["SENDERS", "TRANSPORTS", "Delivery", "Outgoing", "Sender", "open_senders"]

SENDERS: Final[dict[str, Callable[[Settings], Sender]]] = {
    "local": lambda _settings: LocalSender(),
    "email_smtp": SmtpSender,
    "sms_gateway": SmsSender,
}
"""Every sender by name."""

TRANSPORTS: Final[dict[str, dict[str, str]]] = {
    # The embedded default: nothing leaves the machine.
    "local": {"email": "local", "sms": "local"},
    # E-mail by SMTP; texts kept in the app (a clinic without an SMS gateway).
    "smtp": {"email": "email_smtp", "sms": "local"},
    "live": {"email": "email_smtp", "sms": "sms_gateway"},
}
"""For each transport setting, the sender of each channel."""


def open_senders(settings: Settings) -> dict[str, Sender]:
    """A sender for each channel, for one worker pass (close each after it)."""
    return {
        channel: SENDERS[name](settings)
        for channel, name in TRANSPORTS[settings.messages_transport].items()
    }
