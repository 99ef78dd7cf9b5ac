"""Opting out of reminders: per channel or all, once (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.notify.opt_outs import opted_out, record_opt_out
from tests.conftest import World


def test_an_opt_out_covers_its_channel_or_all(session: Session, world: World) -> None:
    patient = world.patient_a1.patient_id
    assert patient is not None
    assert not opted_out(session, patient_id=patient, channel="email")
    assert record_opt_out(
        session, clinic_id=world.clinic_a, patient_id=patient, channel="sms", via="STOP"
    )
    assert opted_out(session, patient_id=patient, channel="sms")
    assert not opted_out(session, patient_id=patient, channel="email")
    # Twice is once.
    assert not record_opt_out(
        session, clinic_id=world.clinic_a, patient_id=patient, channel="sms", via="link"
    )
    record_opt_out(session, clinic_id=world.clinic_a, patient_id=patient, channel="all", via="link")
    assert opted_out(session, patient_id=patient, channel="email")
    other = world.patient_a2.patient_id
    assert other is not None and not opted_out(session, patient_id=other, channel="email")


def test_unknown_channels_and_ways_are_refused(session: Session, world: World) -> None:
    patient = world.patient_a1.patient_id
    assert patient is not None
    with pytest.raises(InvalidInput, match="channel"):
        record_opt_out(
            session, clinic_id=world.clinic_a, patient_id=patient, channel="fax", via="link"
        )
    with pytest.raises(InvalidInput, match="way"):
        record_opt_out(
            session, clinic_id=world.clinic_a, patient_id=patient, channel="sms", via="carrier"
        )
