"""The patient's check-in page: unanswered questions pointed out, crisis help at once."""

from __future__ import annotations

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data.engine import make_engine, transaction
from data.models import Assessment, SafetyAlert
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in


def _counts(url: str, patient_id: int) -> tuple[int, int]:
    engine = make_engine(url)
    with transaction(engine) as session:
        assessments = session.scalar(
            select(func.count()).where(Assessment.patient_id == patient_id)
        )
        alerts = session.scalar(select(func.count()).where(SafetyAlert.patient_id == patient_id))
    engine.dispose()
    return int(assessments or 0), int(alerts or 0)


def _answer_all(app: AppTest, *, self_harm: int) -> None:
    for radio in app.radio:
        key = str(radio.key)
        value = self_harm if key.endswith(":phq9_9") else 1
        radio.set_value(value)


def test_unanswered_questions_are_pointed_out_and_nothing_is_saved(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)  # nothing done in this window yet
    before = _counts(app_world.url, patient.patient_id or 0)
    signed_in(app, patient).run()
    app.radio[0].set_value(2)
    app.button[0].click().run()  # the form's submit button (sidebar buttons come later)
    assert not app.exception
    warnings = " ".join(w.value.replace("\\", "") for w in app.warning)
    # Named in words (test_missing_answers.py checks where each message stands).
    assert "PHQ-9, question 2: Feeling down, depressed, or hopeless" in warnings
    assert "GAD-7, question 1: Feeling nervous, anxious, or on edge" in warnings
    assert _counts(app_world.url, patient.patient_id or 0) == before


def test_a_positive_self_harm_answer_shows_the_crisis_panel_and_alerts_the_team(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)
    before_assessments, before_alerts = _counts(app_world.url, patient.patient_id or 0)
    signed_in(app, patient).run()
    labels = [r.label for r in app.radio]
    assert labels[0].startswith("1. Little interest or pleasure")  # every input is labelled
    _answer_all(app, self_harm=2)
    app.button[0].click().run()
    assert not app.exception
    assert "988" in app.error[0].value  # the crisis panel, first thing on the page
    assert "Thank you" in app.success[0].value
    summary = " ".join(m.value for m in app.markdown)
    assert "Mood (PHQ-9):" in summary and "Anxiety (GAD-7):" in summary
    after = _counts(app_world.url, patient.patient_id or 0)
    assert after == (before_assessments + 2, before_alerts + 1)
    # Only the outcome is on the page, so crisis help is in view, not above a fresh form,
    # and no new check-in is offered in this window (issue 12).
    assert len(app.radio) == 0
    assert not [b for b in app.button if b.label == "Start another check-in"]
