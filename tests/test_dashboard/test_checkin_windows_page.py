"""The check-in page and its windows (issue 12): no "Start another check-in", next due after
the window, "Correct my answers" that keeps both, only what is not done yet offered."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.clinic import clinic_now
from data.engine import make_engine, transaction
from data.models import Assessment, SafetyAlert
from data.schedule import plan_infusion
from tests.test_dashboard.conftest import APP, AppWorld, new_patient, signed_in


def _rows(url: str, patient_id: int) -> list[tuple[int, str, int | None, bool, dict[str, int]]]:
    """(id, instrument, corrects_id, superseded, answers) of the patient's check-ins."""
    engine = make_engine(url)
    with transaction(engine) as session:
        rows = session.execute(
            select(
                Assessment.id,
                Assessment.instrument,
                Assessment.corrects_id,
                Assessment.superseded_at.is_not(None),
                Assessment.answers,
            )
            .where(Assessment.patient_id == patient_id)
            .order_by(Assessment.id)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _open_alerts(url: str, patient_id: int) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        found = session.scalars(
            select(SafetyAlert.id).where(
                SafetyAlert.patient_id == patient_id, SafetyAlert.acknowledged_at.is_(None)
            )
        ).all()
    engine.dispose()
    return len(found)


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [i.value for i in app.info]
    return " ".join(parts + [s.value for s in app.success] + [e.value for e in app.error])


def test_after_a_check_in_the_page_offers_a_correction_not_another_check_in(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)
    patient_id = patient.patient_id or 0
    # The schedule hangs on infusions (spec §4): the first one is booked in ten days, so
    # today is before its baseline window (the 7 days before it).
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        plan_infusion(
            session,
            actor=app_world.clinician,
            patient_id=patient_id,
            planned_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
        )
    engine.dispose()
    signed_in(app, patient).run()
    for radio in app.radio:
        radio.set_value(3 if str(radio.key).endswith(":phq9_9") else 1)
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception
    labels = [b.label for b in app.button]
    assert "Start another check-in" not in labels and "Correct my answers" in labels
    # Next due is the next schedule point after this stretch: the baseline, due on the day
    # of the first infusion, never tomorrow.
    next_due = clinic_now("UTC").date() + dt.timedelta(days=10)
    assert f"due on **{next_due:%A %d %B}**" in _texts(app)
    assert len(app.radio) == 0

    # Back on the page later: nothing to fill in until the next window opens.
    again = signed_in(AppTest.from_file(APP, default_timeout=60), patient).run()
    assert "You have done your check-in for now" in _texts(again)
    assert len(again.radio) == 0
    next(b for b in again.button if b.label == "Correct my answers").click().run()
    assert not again.exception
    # The form opens with the earlier answers, and says plainly that both are kept.
    answers = {str(r.key).rsplit(":", 1)[1]: r.value for r in again.radio}
    assert answers["phq9_9"] == 3 and answers["phq9_1"] == 1 and answers["gad7_1"] == 1
    assert "Both are kept" in _texts(again)
    for radio in again.radio:
        if str(radio.key).split(":")[1] == "phq9":
            radio.set_value(0)
    next(b for b in again.button if b.label == "Save my corrected answers").click().run()
    assert not again.exception
    assert "corrected answers are saved" in _texts(again)
    # Crisis help stays: the corrected answers had raised it, and the alert stays open.
    assert "you are not alone" in again.error[0].value  # crisis help stays on screen
    assert _open_alerts(app_world.url, patient_id) == 1

    rows = _rows(app_world.url, patient_id)
    phq9 = [row for row in rows if row[1] == "phq9"]
    gad7 = [row for row in rows if row[1] == "gad7"]
    assert len(gad7) == 1  # unchanged: no correction stored for it
    (first, corrected) = phq9
    assert first[3] is True and first[4]["phq9_9"] == 3  # kept, superseded
    assert corrected[2] == first[0] and corrected[3] is False
    assert set(corrected[4].values()) == {0}

    # The clinician's worklist: the alert first, with the answer that raised it (3), not
    # only the corrected latest score of 0.
    worklist = signed_in(AppTest.from_file(APP, default_timeout=60), app_world.clinician).run()
    assert not worklist.exception
    assert worklist.header[0].value.startswith("Safety alerts (")
    cards = " ".join(m.value for m in worklist.markdown).replace("\\-", "-")
    assert f"MRN-{patient.username}" in cards
    assert "positive: 3, nearly every day" in cards


def test_only_the_questionnaires_not_done_in_this_window_are_offered(
    app: AppTest, app_world: AppWorld
) -> None:
    """The second patient's PHQ-9 is stored in today's window; their GAD-7 is not."""
    signed_in(app, app_world.other_patient).run()
    assert not app.exception
    keys = {str(r.key).split(":")[1] for r in app.radio}
    assert keys == {"gad7"}
    assert "Already done for now: PHQ-9" in _texts(app)
    # Headings go h1 (the page) then h2 (each questionnaire), no level skipped.
    assert [h.value for h in app.header] == ["GAD-7"] and not app.subheader
