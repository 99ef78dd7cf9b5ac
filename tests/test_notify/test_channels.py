"""The channels against real servers: SMTP (aiosmtpd) and a Twilio-shaped gateway (issue 14).

Every message goes through the outbox as the worker sends it (claim, send, record) in the
rolled-back ``session``, on SQLite and PostgreSQL. STARTTLS: a server that requires it, with
a throwaway certificate made by the openssl command line, receives the message over TLS and
the sign-in only over it; a certificate the channel cannot verify, or a server that offers no
STARTTLS, gets nothing sent in clear.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import utcnow
from data.notify.channels import open_senders
from data.notify.models import MessageOptOut, OutboxAttempt, OutboxMessage
from data.notify.outbox import claim_due, record_delivery
from data.notify.queue import NewMessage, queue_message
from data.settings import Settings
from tests.conftest import World, _free_port
from tests.test_notify.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    Certificate,
    SmsTestGateway,
    SmtpTestServer,
)

LEASE = dt.timedelta(minutes=2)
BODY = "Your check-in with Clinic A is due: https://clinic.example/c/abc"


def queue(session: Session, world: World, key: str, **changes: object) -> int:
    values: dict[str, object] = {
        "clinic_id": world.clinic_a,
        "kind": "checkin_reminder",
        "channel": "email",
        "recipient": "pat@example.org",
        "body": BODY,
        "dedupe_key": key,
        "subject": "Your check-in is due",
        "patient_id": world.patient_a1.patient_id,
        "not_before": utcnow() - dt.timedelta(minutes=1),
    }
    values.update(changes)
    queued = queue_message(session, NewMessage(**values))  # type: ignore[arg-type]
    assert queued is not None
    return queued


def text(session: Session, world: World, key: str, **changes: object) -> int:
    values: dict[str, object] = {
        "channel": "sms",
        "recipient": "+12025550143",
        "subject": None,
        "body": "Clinic A: your check-in is due. https://clinic.example/c/abc",
    }
    return queue(session, world, key, **(values | changes))


def send_all(session: Session, settings: Settings, now: dt.datetime | None = None) -> list[str]:
    """What a worker's send does, in the test's session: the outcome of each message."""
    now = now or utcnow()
    senders = open_senders(settings)
    outcomes = []
    try:
        claim = claim_due(session, now=now, worker="test", limit=100, lease=LEASE)
        for claimed in claim.messages:
            delivery = senders[claimed.outgoing.channel].send(claimed.outgoing)
            outcomes.append(
                record_delivery(
                    session,
                    claimed=claimed,
                    delivery=delivery,
                    now=now,
                    worker="test",
                    settings=settings,
                )
            )
    finally:
        for sender in senders.values():
            sender.close()
    session.expire_all()
    return outcomes


def row(session: Session, message_id: int) -> OutboxMessage:
    found = session.get(OutboxMessage, message_id)
    assert found is not None
    return found


def last_detail(session: Session, message_id: int) -> str:
    return str(
        session.scalars(
            select(OutboxAttempt.detail)
            .where(OutboxAttempt.message_id == message_id)
            .order_by(OutboxAttempt.id.desc())
        ).first()
    )


# --- e-mail over SMTP ---------------------------------------------------------------------------


def test_an_email_reaches_the_smtp_server_as_queued(
    session: Session, world: World, smtp_server: SmtpTestServer
) -> None:
    first = queue(session, world, "k:1")
    second = queue(session, world, "k:2", recipient="other@example.org")
    assert send_all(session, smtp_server.settings()) == ["sent", "sent"]
    received = smtp_server.received
    assert [r.rcpt_tos for r in received] == [("pat@example.org",), ("other@example.org",)]
    mail = received[0].message
    assert received[0].mail_from == "clinic@outcomes.test"
    assert (mail["From"], mail["To"], mail["Subject"]) == (
        "clinic@outcomes.test",
        "pat@example.org",
        "Your check-in is due",
    )
    assert mail.get_content().strip() == BODY
    # The Message-ID is the outbox row's own: the same on every try of one message.
    stored = row(session, first)
    assert stored.status == "sent"
    assert (
        stored.provider_id
        == mail["Message-ID"]
        == f"<outbox.{world.clinic_a}.{first}@outcomes.test>"
    )
    assert row(session, second).provider_id == received[1].message_id


# AUTH over a plain connection: the test server has no certificate (see the module's note).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_an_smtp_sign_in_uses_the_configured_credentials(
    session: Session, world: World, smtp_server_with_sign_in: SmtpTestServer
) -> None:
    server = smtp_server_with_sign_in
    message = queue(session, world, "k:auth")
    wrong = server.settings(smtp_user=SMTP_USER, smtp_password="not the password")
    assert send_all(session, wrong) == ["failed"]
    detail = last_detail(session, message)
    assert "refused the sign-in" in detail and "not the password" not in detail
    assert server.received == []
    right = server.settings(smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD)
    later = row(session, message).next_attempt_at
    assert send_all(session, right, later) == ["sent"]
    assert len(server.received) == 1


def test_starttls_required_but_not_offered_sends_nothing_in_clear(
    session: Session, world: World, smtp_server: SmtpTestServer
) -> None:
    message = queue(session, world, "k:tls")
    assert send_all(session, smtp_server.settings(smtp_starttls=True)) == ["failed"]
    assert smtp_server.received == []
    stored = row(session, message)
    assert stored.status == "queued"  # tried again once someone fixes the setting
    assert "does not offer STARTTLS" in str(stored.last_error)


def test_a_permanent_refusal_bounces_and_a_temporary_one_is_retried(
    session: Session, world: World, smtp_server: SmtpTestServer
) -> None:
    bounced = queue(session, world, "k:550", recipient="gone@example.org")
    smtp_server.handler.rcpt_reply = "550 5.1.1 <gone@example.org>: mailbox unavailable"
    assert send_all(session, smtp_server.settings()) == ["bounced"]
    stored = row(session, bounced)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "550" in str(stored.last_error) and "gone@example.org" not in str(stored.last_error)

    later = queue(session, world, "k:451")
    smtp_server.handler.rcpt_reply = "451 4.3.0 try again later"
    assert send_all(session, smtp_server.settings()) == ["failed"]
    assert row(session, later).status == "queued"
    smtp_server.handler.rcpt_reply = None
    assert send_all(session, smtp_server.settings(), row(session, later).next_attempt_at) == [
        "sent"
    ]
    assert [r.rcpt_tos for r in smtp_server.received] == [("pat@example.org",)]


def test_a_refused_message_body_bounces(
    session: Session, world: World, smtp_server: SmtpTestServer
) -> None:
    message = queue(session, world, "k:data")
    smtp_server.handler.data_reply = "554 5.6.0 message refused"
    assert send_all(session, smtp_server.settings()) == ["bounced"]
    assert row(session, message).status == "failed"


def test_an_unreachable_smtp_server_keeps_every_message_queued(
    session: Session, world: World
) -> None:
    ids = [queue(session, world, f"k:{n}") for n in range(3)]
    nobody = Settings(
        messages_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=_free_port(),
        smtp_starttls=False,
        smtp_timeout_seconds=2,
    )
    assert send_all(session, nobody) == ["unreachable"] * 3
    for message in ids:
        assert row(session, message).status == "queued"
        assert "cannot reach the SMTP server" in str(row(session, message).last_error)


# --- texts through the gateway -------------------------------------------------------------------


def test_a_text_is_posted_in_the_shape_of_twilios_messages_api(
    session: Session, world: World, sms_gateway: SmsTestGateway
) -> None:
    message = text(session, world, "k:sms")
    assert send_all(session, sms_gateway.settings()) == ["sent"]
    (request,) = sms_gateway.requests
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC_test_account/Messages.json"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.credentials == ("AC_test_account", "a gateway token")
    assert request.form == {
        "To": "+12025550143",
        "From": "+12025550100",
        "Body": "Clinic A: your check-in is due. https://clinic.example/c/abc",
    }
    assert row(session, message).provider_id == f"SM{1:032d}"


def test_a_stop_from_the_gateway_records_the_opt_out_and_cancels(
    session: Session, world: World, sms_gateway: SmsTestGateway
) -> None:
    message = text(session, world, "k:stop")
    sms_gateway.replies.append(
        (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    )
    assert send_all(session, sms_gateway.settings()) == ["opted_out"]
    assert row(session, message).status == "cancelled"
    opt_out = session.scalars(
        select(MessageOptOut).where(MessageOptOut.patient_id == world.patient_a1.patient_id)
    ).one()
    assert (opt_out.channel, opt_out.via) == ("sms", "STOP")
    # No more texts are even tried.
    text(session, world, "k:after")
    assert send_all(session, sms_gateway.settings()) == []
    assert len(sms_gateway.requests) == 1


def test_gateway_errors_bounce_or_retry_as_they_say(
    session: Session, world: World, sms_gateway: SmsTestGateway
) -> None:
    invalid = text(session, world, "k:invalid")
    sms_gateway.replies.append((400, {"code": 21211, "message": "Invalid 'To' Phone Number"}))
    assert send_all(session, sms_gateway.settings()) == ["bounced"]
    assert row(session, invalid).status == "failed"
    busy = text(session, world, "k:busy")
    sms_gateway.replies.append((503, {"message": "Service unavailable"}))
    assert send_all(session, sms_gateway.settings()) == ["failed"]
    assert row(session, busy).status == "queued"
    assert send_all(session, sms_gateway.settings(), row(session, busy).next_attempt_at) == ["sent"]


def test_an_unreachable_gateway_keeps_texts_queued(session: Session, world: World) -> None:
    message = text(session, world, "k:nogateway")
    nobody = Settings(
        messages_transport="live",
        sms_base_url=f"http://127.0.0.1:{_free_port()}",
        sms_account_sid="AC_x",
        sms_timeout_seconds=2,
    )
    assert send_all(session, nobody) == ["unreachable"]
    assert row(session, message).status == "queued"
    assert "cannot reach the SMS gateway" in str(row(session, message).last_error)


# --- the embedded default -----------------------------------------------------------------------


def test_the_local_transport_keeps_messages_in_the_app(
    session: Session, world: World, smtp_server: SmtpTestServer, sms_gateway: SmsTestGateway
) -> None:
    mail = queue(session, world, "k:local-mail")
    sms = text(session, world, "k:local-sms")
    assert send_all(session, Settings(messages_transport="local")) == ["sent", "sent"]
    assert smtp_server.received == [] and sms_gateway.requests == []
    for message in (mail, sms):
        assert (row(session, message).status, row(session, message).provider_id) == (
            "sent",
            "local",
        )


def test_starttls_delivers_over_tls_with_the_sign_in_inside_it(
    session: Session,
    world: World,
    smtp_server_with_starttls: SmtpTestServer,
    certificate: Certificate,
) -> None:
    server = smtp_server_with_starttls
    message = queue(session, world, "k:starttls")
    trusted = server.settings(
        smtp_starttls=True,
        smtp_ca_file=str(certificate.cert_file),
        smtp_user=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    assert send_all(session, trusted) == ["sent"]
    assert row(session, message).status == "sent"
    assert len(server.received) == 1


def test_a_certificate_that_cannot_be_verified_gets_nothing_sent(
    session: Session, world: World, smtp_server_with_starttls: SmtpTestServer
) -> None:
    """The system's authorities do not know the test's certificate: the channel stops at the
    handshake, before the sign-in and the message, and keeps the message to try again."""
    server = smtp_server_with_starttls
    message = queue(session, world, "k:untrusted")
    untrusted = server.settings(
        smtp_starttls=True, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD
    )
    assert send_all(session, untrusted) != ["sent"]
    assert server.received == []
    stored = row(session, message)
    assert stored.status == "queued" and SMTP_PASSWORD not in str(stored.last_error)
