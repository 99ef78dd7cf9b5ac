"""Texts through an SMS gateway over HTTPS, in the shape of Twilio's Messages API.

``POST {base}/2010-04-01/Accounts/{sid}/Messages.json`` with the form fields ``To``,
``From`` and ``Body``, HTTP basic authentication ``sid:token`` (``OUTCOMES_SMS_*``). What the
gateway answers decides what happens to the message:

* 2xx: ``sent``, with the gateway's message ``sid`` as the provider id;
* error 21610 (the recipient texted STOP to our number): ``opted_out``; the outbox records
  the patient's opt-out and cancels the message;
* any other 4xx but 401, 403 and 429 (an invalid or unreachable number, ...): ``bounced``;
* 401/403 (credentials), 429 (too many requests), 5xx: ``failed``, tried again later;
* no answer (refused connection, timeout): ``unreachable``, and the rest of the pass is
  answered the same at once.

Only the standard library (urllib): one request per text needs no client library. Neither
the token nor a message body is ever logged.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from data.notify.channels.base import Delivery, Outgoing, without_recipient
from data.settings import Settings

__all__ = ["UNSUBSCRIBED", "SmsSender", "messages_url"]

log = logging.getLogger(__name__)

UNSUBSCRIBED = 21610
"""Twilio's error for a recipient who answered STOP: "Attempt to send to unsubscribed
recipient" (https://www.twilio.com/docs/api/errors/21610)."""

_RETRY_STATUSES = frozenset({401, 403, 408, 429})


def messages_url(settings: Settings) -> str:
    """Where a text is posted: the Messages resource of the configured account."""
    sid = urllib.parse.quote(settings.sms_account_sid, safe="")
    return f"{settings.sms_base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"


def _answer(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class SmsSender:
    """Posts each text to the gateway."""

    name = "sms_gateway"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = messages_url(settings)
        token = settings.sms_auth_token.get_secret_value() if settings.sms_auth_token else ""
        pair = f"{settings.sms_account_sid}:{token}".encode()
        self._authorization = "Basic " + base64.b64encode(pair).decode("ascii")
        self._down: str | None = None

    def send(self, message: Outgoing) -> Delivery:
        if self._down is not None:
            return Delivery("unreachable", detail=self._down)
        form = urllib.parse.urlencode(
            {"To": message.recipient, "From": self._settings.sms_from, "Body": message.body}
        ).encode()
        request = urllib.request.Request(
            self._url,
            data=form,
            method="POST",
            headers={
                "Authorization": self._authorization,
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(
                request, timeout=self._settings.sms_timeout_seconds
            ) as response:
                answer = _answer(response.read())
        except urllib.error.HTTPError as error:
            return self._refused(error.code, _answer(error.read()), message.recipient)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            self._down = (
                f"cannot reach the SMS gateway {urllib.parse.urlsplit(self._url).netloc} "
                f"({type(reason).__name__})"
            )
            log.warning("%s", self._down)
            return Delivery("unreachable", detail=self._down)
        sid = answer.get("sid")
        return Delivery("sent", provider_id=str(sid) if sid else None)

    def _refused(self, status: int, answer: dict[str, Any], recipient: str) -> Delivery:
        code = answer.get("code")
        words = without_recipient(str(answer.get("message") or ""), recipient)
        detail = f"gateway HTTP {status}" + (f", error {code}" if code else "")
        detail += f": {words}" if words else ""
        if code == UNSUBSCRIBED:
            return Delivery("opted_out", detail=detail)
        if status in _RETRY_STATUSES or status >= 500:
            return Delivery("failed", detail=detail)
        return Delivery("bounced", detail=detail)

    def close(self) -> None:
        return None
