"""The crisis panel's settings: numbers, the clinic's hours and its text (issue 12).

The default text says honestly what happens next: the care team sees the answer during
clinic hours, and a patient in danger now calls the crisis line or the emergency number.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from data.access import Actor
from data.cli import app
from data.clinic import (
    DEFAULT_CRISIS_TEXT,
    FORMER_DEFAULT_CRISIS_TEXTS,
    MAX_CLINIC_HOURS,
    MAX_CRISIS_TEXT,
    clinic_config,
    set_crisis_contacts,
)
from data.engine import make_engine, transaction
from data.errors import AccessDenied, InvalidInput
from data.models import AuditEvent, Clinic, ClinicSettings
from tests.conftest import World, fresh_database_url


def _events(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "set_crisis_contacts")
        ).all()
    )


def test_the_default_text_is_honest_and_says_each_thing_once() -> None:
    text = DEFAULT_CRISIS_TEXT
    assert "has been told" not in text and "will contact you" not in text
    assert "Your care team will see your answers during clinic hours." in text
    assert "If you are in danger now, call or text 988" in text and "call 911" in text
    sentences = [s.strip().lower() for s in text.split(".") if s.strip()]
    assert len(sentences) == len(set(sentences))
    assert text.lower().count("you are not alone") == 1


def test_a_clinic_without_settings_gets_the_defaults(session: Session, world: World) -> None:
    config = clinic_config(session, world.clinic_a)
    assert (config.crisis_call_number, config.crisis_text_number, config.emergency_number) == (
        "988",
        "988",
        "911",
    )
    assert config.clinic_hours is None and config.crisis_text == DEFAULT_CRISIS_TEXT
    assert not config.custom_crisis_text


def test_an_administrator_sets_numbers_and_hours_and_the_default_text_follows(
    session: Session, world: World
) -> None:
    set_crisis_contacts(
        session,
        actor=world.admin_a,
        crisis_call_number=" 18002738255 ",
        crisis_text_number="741741",
        emergency_number="112",
        clinic_hours="Monday to Friday, 8 am to 6 pm",
    )
    config = clinic_config(session, world.clinic_a)
    assert (config.crisis_call_number, config.crisis_text_number, config.emergency_number) == (
        "18002738255",
        "741741",
        "112",
    )
    assert config.clinic_hours == "Monday to Friday, 8 am to 6 pm"
    assert "during clinic hours (Monday to Friday, 8 am to 6 pm)" in config.crisis_text
    assert "call 18002738255 or text 741741" in config.crisis_text
    assert "or call 112." in config.crisis_text
    # The other clinic keeps its own (default) settings.
    assert clinic_config(session, world.clinic_b).emergency_number == "911"
    assert _events(session) == ["set_crisis_contacts"]


def test_own_text_is_kept_as_typed_and_an_empty_value_goes_back_to_the_default(
    session: Session, world: World
) -> None:
    own = "Call us on 555 0100.\nOut of hours: 988."
    set_crisis_contacts(session, actor=world.admin_a, crisis_text=own, clinic_hours="9 to 5")
    config = clinic_config(session, world.clinic_a)
    assert config.crisis_text == own and config.custom_crisis_text
    set_crisis_contacts(session, actor=world.system_a, crisis_text="", clinic_hours="")
    config = clinic_config(session, world.clinic_a)
    assert config.crisis_text == DEFAULT_CRISIS_TEXT and config.clinic_hours is None
    assert not config.custom_crisis_text
    assert len(_events(session)) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"crisis_call_number": "98"}, "call number must be 3 to 15 digits"),
        ({"crisis_text_number": "988 123"}, "text number must be 3 to 15 digits"),
        ({"emergency_number": "1234567890123456"}, "emergency number must be 3 to 15 digits"),
        ({"emergency_number": "911;alert(1)"}, "emergency number must be 3 to 15 digits"),
        ({"crisis_call_number": "+1 988"}, "call number must be 3 to 15 digits"),
        ({"crisis_call_number": "٩٨٨"}, "call number must be 3 to 15 digits"),
        ({"clinic_hours": "9 to 5\nweekends closed"}, "clinic hours on one line"),
        ({"clinic_hours": "x" * (MAX_CLINIC_HOURS + 1)}, "at most 200 characters"),
        ({"crisis_text": "y" * (MAX_CRISIS_TEXT + 1)}, "at most 1000 characters"),
        ({"crisis_text": "help\x1b[31m"}, "crisis text as plain text"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    session: Session, world: World, changes: dict[str, str], message: str
) -> None:
    set_crisis_contacts(session, actor=world.admin_a, emergency_number="999")
    with pytest.raises(InvalidInput, match=message):
        # One acceptable change beside the bad one: it is not written either.
        set_crisis_contacts(session, actor=world.admin_a, **{"crisis_text": "Call us.", **changes})
    settings = session.get(ClinicSettings, world.clinic_a)
    assert settings is not None
    assert settings.crisis_text is None and settings.emergency_number == "999"
    assert len(_events(session)) == 1


@pytest.mark.parametrize("who", ["clinician_a", "patient_a1", "clinician_b"])
def test_only_the_administrator_changes_them(session: Session, world: World, who: str) -> None:
    actor: Actor = getattr(world, who)
    with pytest.raises(AccessDenied):
        set_crisis_contacts(session, actor=actor, emergency_number="112")
    assert session.get(ClinicSettings, world.clinic_a) is None
    assert _events(session) == []


def test_a_number_edited_by_hand_in_the_database_never_reaches_a_link(
    session: Session, world: World
) -> None:
    session.add(ClinicSettings(clinic_id=world.clinic_a, crisis_call_number="javascript:x"))
    session.flush()
    assert clinic_config(session, world.clinic_a).crisis_call_number == "988"


def test_the_operator_sets_them_from_the_command_line(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url("sqlite", request, tmp_path)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "--database-url", url], catch_exceptions=False)

    assert run("init", "--clinic-name", "Lakeside").exit_code == 0
    refused = run("set-crisis-contacts", "--emergency", "9-1-1", "--hours", "8 to 6")
    assert refused.exit_code == 1 and "3 to 15 digits" in refused.output
    done = run("set-crisis-contacts", "--emergency", "112", "--hours", "8 am to 6 pm")
    assert done.exit_code == 0, done.output
    assert "112 (emergency)" in done.output and "8 am to 6 pm" in done.output
    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            clinic_id = session.scalar(select(Clinic.id))
            assert clinic_id is not None
            config = clinic_config(session, clinic_id)
            assert (config.emergency_number, config.clinic_hours) == ("112", "8 am to 6 pm")
            assert config.crisis_call_number == "988"
    finally:
        engine.dispose()


def test_a_stored_former_default_is_replaced_by_the_honest_one(
    session: Session, world: World
) -> None:
    """The demo clinic and older databases stored the default text itself, promising "your
    care team has been told about your answer and will contact you"."""
    session.add(
        ClinicSettings(
            clinic_id=world.clinic_a,
            crisis_text=FORMER_DEFAULT_CRISIS_TEXTS[0],
            clinic_hours="9 to 5",
        )
    )
    session.flush()
    config = clinic_config(session, world.clinic_a)
    assert "will contact you" not in config.crisis_text and not config.custom_crisis_text
    assert "during clinic hours (9 to 5)" in config.crisis_text
