"""The embedded default's channel: nothing leaves the machine.

Each message is marked sent with the provider ``local`` and stays in the outbox table, where
the demo administrator reads it in the app ("messages sent"). A newcomer sees reminders and
safety notifications happen without configuring a mail server.
"""

from __future__ import annotations

from data.notify.channels.base import Delivery, Outgoing

__all__ = ["LocalSender"]


class LocalSender:
    """Keeps every message in the app's own outbox."""

    name = "local"

    def send(self, message: Outgoing) -> Delivery:
        return Delivery("sent", provider_id="local")

    def close(self) -> None:
        return None
