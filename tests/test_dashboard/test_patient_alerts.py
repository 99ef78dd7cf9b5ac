"""Alerts that close the loop: each alert on the patient page with its answer level and age,
acknowledged there with a note, then in the history (who, when, what was done); the worklist's
cards most urgent first, paged, with a confirmation. AppTest on a real SQLite clinic."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.plain import literal
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import SafetyAlert, User
from tests.test_dashboard.conftest import AppWorld, signed_in

NOTE = "Phoned; safety plan reviewed with the patient"


def _texts(app: AppTest) -> str:
    parts = [e.value for e in app.markdown] + [e.value for e in app.error]
    parts += [e.value for e in app.success] + [e.value for e in app.subheader]
    parts += [e.value for e in app.caption]
    return "\n".join(str(p) for p in parts)


def _open_patient_page(app: AppTest, app_world: AppWorld, patient_id: int) -> AppTest:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = patient_id
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    return app


def _note_field(app: AppTest, key_prefix: str) -> object:
    return next(t for t in app.text_input if str(t.key).startswith(key_prefix))


def test_an_alert_is_acknowledged_on_the_patient_page_and_shown_in_its_history(
    app: AppTest, app_world: AppWorld
) -> None:
    patient_id = app_world.other_patient.patient_id or 0
    page = _open_patient_page(app, app_world, patient_id)
    texts = _texts(page)
    assert "Safety alerts (1 open)" in texts
    # The answer level of the self-harm item, when and how long open.
    assert (
        "PHQ-9 item 9 (thoughts of death or self-harm) positive: 2, more than half the days"
        in texts
    )
    assert re.search(r"raised \d\d \w{3} \d{4} \d\d:\d\d UTC · \*\*open \d+ min\*\*", texts)
    assert "unacknowledged safety alert(s): see the worklist" not in texts

    # No note: a clear message, nothing stored.
    next(b for b in page.button if b.label == "Acknowledge").click().run()
    assert not page.exception, page.exception
    assert any("say what was done" in e.value for e in page.error)
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        alert = session.get(SafetyAlert, app_world.alert_ids[0])
        assert alert is not None and alert.acknowledged_at is None

    _note_field(page, "patient_ack_note").set_value(NOTE)  # type: ignore[attr-defined]
    next(b for b in page.button if b.label == "Acknowledge").click().run()
    assert not page.exception, page.exception
    assert any("Alert acknowledged" in s.value for s in page.success)
    texts = _texts(page)
    assert "Safety alerts (0 open)" in texts
    with transaction(engine) as session:
        clinician = session.scalar(select(User).where(User.id == app_world.clinician.user_id))
        alert = session.get(SafetyAlert, app_world.alert_ids[0])
        assert clinician is not None and alert is not None
        assert alert.note == NOTE
        shown_name = clinician.display_name
    engine.dispose()
    card = next(e for e in page.expander if e.label.startswith("Alert history"))
    history = "\n".join(str(m.value) for m in card.markdown)
    assert f"by {shown_name}" in history
    assert "acknowledged " in history and "UTC" in history
    assert f"What was done: {literal(NOTE)}" in history
    assert "item 9 (thoughts of death or self-harm) positive: 2" in history


@pytest.fixture
def many_alerts(app_world: AppWorld) -> Iterator[list[int]]:
    """25 more open alerts of one patient: 24 answered 1 (oldest first), one answered 3."""
    engine = make_engine(app_world.url)
    now = dt.datetime.now(dt.UTC)
    ids: list[int] = []
    with transaction(engine, write=True) as session:
        # Alone in the queue, whatever other tests of this module left open; put back after.
        others = session.scalars(
            select(SafetyAlert).where(SafetyAlert.acknowledged_at.is_(None))
        ).all()
        set_aside = [alert.id for alert in others]
        for alert in others:
            alert.acknowledged_at = now
        for n, level in enumerate([1] * 24 + [3]):
            answers = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": level}
            # Entered by the care team as the patient's answers: the patient's own would be
            # one per window (issue 12).
            stored = submit_checkin(
                session,
                actor=app_world.clinician,
                patient_id=app_world.patient.patient_id or 0,
                instrument="phq9",
                answers=answers,
                source="patient",
            )
            alert = session.get(SafetyAlert, stored.alert_ids[0])
            assert alert is not None
            alert.created_at = now - dt.timedelta(hours=100 - n)
            ids.append(alert.id)
    yield ids
    with transaction(engine, write=True) as session:
        for alert_id in ids:
            alert = session.get(SafetyAlert, alert_id)
            if alert is not None and alert.acknowledged_at is None:
                alert.acknowledged_at = now
                alert.note = "test cleanup"
        for alert_id in set_aside:
            alert = session.get(SafetyAlert, alert_id)
            if alert is not None:
                alert.acknowledged_at = None
    engine.dispose()


def _card_script() -> None:
    import streamlit as st

    from dashboard import state
    from dashboard.alert_cards import show_alert_cards

    st.session_state.setdefault("opened", None)
    show_alert_cards(
        state.require_actor(),
        open_patient=lambda p: st.session_state.__setitem__("opened", p),
    )


def test_worklist_cards_are_most_urgent_first_paged_and_confirm_an_acknowledgement(
    app_world: AppWorld, many_alerts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", app_world.url)
    cards = signed_in(AppTest.from_function(_card_script, default_timeout=60), app_world.clinician)
    cards.run()
    assert not cards.exception, cards.exception
    assert cards.header[0].value == "Safety alerts (25)"
    assert any("Showing 1–20 of 25, most urgent first" in c.value for c in cards.caption)
    notes = [t for t in cards.text_input if str(t.key).startswith("ack_note_")]
    assert len(notes) == 20  # one page of forms, not 25
    card_lines = [m.value for m in cards.markdown if "raised" in str(m.value)]
    # "Nearly every day" is the most urgent though it is the newest; then the oldest.
    assert "item 9 (thoughts of death or self-harm) positive: 3, nearly every day" in card_lines[0]
    assert "Patient · MRN MRN\\-patient · born 1985-01-02" in card_lines[0]
    assert "open 76 h" in card_lines[0] or "open 3 days" in card_lines[0]
    assert "open 4 days" in card_lines[1]  # the oldest answered 1 (100 h)
    assert [str(t.key) for t in notes][:2] == [
        f"ack_note_{many_alerts[24]}",
        f"ack_note_{many_alerts[0]}",
    ]

    next(b for b in cards.button if b.label == "Next alerts").click().run()
    assert not cards.exception, cards.exception
    assert any("Showing 21–25 of 25" in c.value for c in cards.caption)
    assert len([t for t in cards.text_input if str(t.key).startswith("ack_note_")]) == 5

    next(t for t in cards.text_input if t.key == f"ack_note_{many_alerts[23]}").set_value(
        "called the patient"
    )
    button = next(
        b
        for b in cards.button
        if b.label == "Acknowledge" and str(b.form_id).endswith(str(many_alerts[23]))
    )
    button.click().run()
    assert not cards.exception, cards.exception
    assert any("Alert acknowledged" in s.value for s in cards.success)
    assert cards.header[0].value == "Safety alerts (24)"


def test_the_worklist_page_shows_one_page_of_alert_cards(
    app: AppTest, app_world: AppWorld, many_alerts: list[int]
) -> None:
    """The worklist itself, not only the card module: hundreds of alerts are not hundreds of
    open forms."""
    signed_in(app, app_world.clinician).run()
    app.switch_page("app_pages/clinician/worklist.py").run()
    assert not app.exception, app.exception
    heading = next(h.value for h in app.header if h.value.startswith("Safety alerts ("))
    total = int(heading.removeprefix("Safety alerts (").removesuffix(")"))
    assert total >= len(many_alerts) > 20
    assert any(f"Showing 1–20 of {total}, most urgent first" in c.value for c in app.caption)
    assert len([t for t in app.text_input if str(t.key).startswith("ack_note_")]) == 20


def test_alert_times_read_on_the_clinics_clock() -> None:
    """A New York clinic reads an alert raised at 14:02 UTC in January as 09:02 EST."""
    from dashboard.alert_cards import when_text

    raised = dt.datetime(2026, 1, 15, 14, 2, tzinfo=dt.UTC)
    assert when_text(raised, "America/New_York") == "15 Jan 2026 09:02 EST"
    assert when_text(raised) == "15 Jan 2026 14:02 UTC"
