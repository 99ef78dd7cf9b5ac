"""E-mail through an SMTP server (``OUTCOMES_SMTP_*``): host, port, STARTTLS, credentials.

One connection serves a whole worker pass (connecting per message would cost a TLS handshake
each). What the server answers decides what happens to the message:

* accepted: ``sent``, with the message's Message-ID as the provider id;
* a permanent refusal (5xx) of the recipient or of the message: ``bounced``, never retried;
* a temporary refusal (4xx), a refused sender or sign-in, no STARTTLS: ``failed``, tried
  again later (a configuration mistake is fixed by someone, then the message goes);
* no server (refused connection, timeout, dropped line): ``unreachable``, and every later
  message of the pass is answered the same at once instead of waiting for its own timeout.

The Message-ID is the outbox row's own (``<outbox.CLINIC.ID@domain>``), so a message sent a
second time after a killed worker carries the same id and a recipient's mail system can tell.
Neither the password nor a message body is ever logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from data.notify.channels.base import Delivery, Outgoing, without_recipient
from data.settings import Settings

__all__ = ["SmtpSender", "message_id_of"]

log = logging.getLogger(__name__)


def message_id_of(message: Outgoing, from_address: str) -> str:
    """The Message-ID header of an outbox message: the same on every try."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<outbox.{message.clinic_id}.{message.message_id}@{domain}>"


def _said(error: smtplib.SMTPResponseException, recipient: str) -> str:
    text = (
        error.smtp_error.decode("utf-8", "replace")
        if isinstance(error.smtp_error, bytes)
        else str(error.smtp_error)
    )
    return f"SMTP {error.smtp_code}: {without_recipient(text, recipient)}"


class SmtpSender:
    """One SMTP connection for a pass, opened at the first message."""

    name = "email_smtp"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None
        # Set when the server could not be reached: the rest of the pass is answered at once.
        self._down: str | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        smtp = smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        )
        try:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_ca_file))
                smtp.ehlo()
            if settings.smtp_user:
                password = settings.smtp_password
                smtp.login(settings.smtp_user, password.get_secret_value() if password else "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _email(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id_of(message, self._settings.smtp_from)
        email.set_content(message.body)
        return email

    def send(self, message: Outgoing) -> Delivery:
        if self._down is not None:
            return Delivery("unreachable", detail=self._down)
        email = self._email(message)
        fresh = self._smtp is None
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._smtp.send_message(email)
            except smtplib.SMTPServerDisconnected:
                if fresh:
                    raise
                # The server closed a connection left idle between messages: once more, anew.
                self._drop()
                self._smtp = self._connect()
                self._smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()), (0, b""))
            words = without_recipient(text.decode("utf-8", "replace"), message.recipient)
            said = f"SMTP {code}: {words}"
            return Delivery("bounced" if code >= 500 else "failed", detail=said)
        except smtplib.SMTPDataError as error:
            code = error.smtp_code
            return Delivery(
                "bounced" if code >= 500 else "failed", detail=_said(error, message.recipient)
            )
        except smtplib.SMTPSenderRefused as error:
            return Delivery(
                "failed",
                detail=f"the server refused the sender address ({_said(error, message.recipient)})",
            )
        except smtplib.SMTPAuthenticationError as error:
            self._drop()
            return Delivery(
                "failed",
                detail=f"the server refused the sign-in (OUTCOMES_SMTP_USER and "
                f"OUTCOMES_SMTP_PASSWORD; SMTP {error.smtp_code})",
            )
        except smtplib.SMTPNotSupportedError:
            self._drop()
            return Delivery(
                "failed",
                detail="the server does not offer STARTTLS (OUTCOMES_SMTP_STARTTLS is on)",
            )
        except smtplib.SMTPResponseException as error:
            self._drop()
            return Delivery("failed", detail=_said(error, message.recipient))
        except (smtplib.SMTPException, OSError) as error:
            # Refused connection, timeout, TLS failure, a dropped line: no server to talk to.
            self._drop()
            self._down = (
                f"cannot reach the SMTP server {self._settings.smtp_host}:"
                f"{self._settings.smtp_port} ({type(error).__name__}: "
                f"{without_recipient(str(error), message.recipient, 200)})"
            )
            log.warning("%s", self._down)
            return Delivery("unreachable", detail=self._down)
        return Delivery("sent", provider_id=str(email["Message-ID"]))

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self._drop()
