"""The crisis panel says what really happens next (issue 14): outside clinic hours that the
clinic is closed and when the care team will see the answers; in clinic hours that the care
team was sent a message only when one was really queued to someone reachable.

The clinic of these pages keeps the default hours (Monday to Friday, 08:00 to 18:00, UTC);
the panel's clock is set per test (``dashboard.crisis._now``), the rest runs for real.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard import crisis
from data.access import Actor
from data.engine import make_engine, transaction
from data.notify.models import OutboxMessage
from tests.builders import add_user
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in

SUNDAY_NOON = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
FRIDAY_EVENING = dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _self_harm_checkin(app: AppTest, patient: Actor) -> str:
    signed_in(app, patient).run()
    for radio in app.radio:
        radio.set_value(2 if str(radio.key).endswith(":phq9_9") else 1)
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    assert [h.value for h in app.header] == ["Help is available now"]
    return str(app.error[0].value).replace("\\", "")


def _reachable_clinician(app_world: AppWorld) -> Actor:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        user = add_user(
            session, app_world.clinician.clinic_id, f"c-{uuid.uuid4().hex[:8]}", "clinician", "!x"
        )
        user.email = f"{user.username}@clinic.example"
        session.flush()
        actor = Actor(user.id, user.clinic_id, "clinician", user.username)
    engine.dispose()
    return actor


def _queued_to(app_world: AppWorld, clinician: Actor) -> int:
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        found = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.user_id == clinician.user_id)
        ).all()
    engine.dispose()
    return len(found)


@pytest.mark.parametrize(
    ("now", "when"),
    [(SUNDAY_NOON, "08:00 tomorrow"), (FRIDAY_EVENING, "08:00 on Monday 30 November")],
)
def test_outside_clinic_hours_the_panel_says_the_clinic_is_closed(
    app: AppTest,
    app_world: AppWorld,
    monkeypatch: pytest.MonkeyPatch,
    now: dt.datetime,
    when: str,
) -> None:
    monkeypatch.setattr(crisis, "_now", lambda: now)
    # Even with a message queued to the clinician: nobody reads it before the clinic opens.
    patient = new_patient(app_world, clinician=_reachable_clinician(app_world))
    text = _self_harm_checkin(app, patient)
    assert (
        f"Our clinic is closed now; your care team will see your answers when it opens at {when}."
        in text
    )
    assert "If you are in danger now, call or text 988" in text and "or call 911." in text
    assert "sent your care team a message" not in text


def test_in_clinic_hours_the_panel_says_the_care_team_was_sent_a_message(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crisis, "_now", lambda: MONDAY_NOON)
    clinician = _reachable_clinician(app_world)
    text = _self_harm_checkin(app, new_patient(app_world, clinician=clinician))
    assert _queued_to(app_world, clinician) == 1
    assert "We have sent your care team a message about your answers now" in text
    assert "If you are in danger now, call or text 988" in text
    assert "closed" not in text


def test_in_clinic_hours_with_nobody_reachable_nothing_is_promised(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crisis, "_now", lambda: MONDAY_NOON)
    # The world's clinician has no e-mail or phone and the clinic no on-call list.
    text = _self_harm_checkin(app, new_patient(app_world))
    assert "Your care team will see your answers during clinic hours." in text
    assert "sent your care team" not in text and "has been told" not in text
