"""The administrator's schedules page and the clinician's bookings (issue 14, spec §4)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.engine import make_engine, transaction
from data.notify.models import MeasurementSchedule, PlannedInfusion
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in

PATIENT_PAGE = "app_pages/clinician/patient.py"


def _stored_schedule(url: str, protocol: str) -> tuple[int, list[dict[str, object]]] | None:
    engine = make_engine(url)
    with transaction(engine) as session:
        row = session.execute(
            select(MeasurementSchedule.induction_infusions, MeasurementSchedule.points).where(
                MeasurementSchedule.protocol == protocol
            )
        ).one_or_none()
    engine.dispose()
    return None if row is None else (int(row[0]), list(row[1]))


def _bookings(url: str, patient_id: int) -> list[tuple[dt.datetime, bool]]:
    engine = make_engine(url)
    with transaction(engine) as session:
        rows = session.execute(
            select(PlannedInfusion.planned_at, PlannedInfusion.cancelled_at.is_not(None))
            .where(PlannedInfusion.patient_id == patient_id)
            .order_by(PlannedInfusion.id)
        ).all()
    engine.dispose()
    return [(at, bool(cancelled)) for at, cancelled in rows]


def test_an_administrator_saves_a_protocols_schedule_and_bad_days_are_refused(
    app: AppTest, app_world: AppWorld
) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/schedule.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Measurement schedules"
    app.text_input(key="schedule_new_protocol").input("accelerated").run()
    app.number_input(key="maintenance_every_days").set_value(3)
    next(b for b in app.button if b.label == "Save schedule").click().run()
    assert not app.exception, app.exception
    assert any("must be a whole number from 7 to 365" in e.value for e in app.error), [
        e.value for e in app.error
    ]
    assert _stored_schedule(app_world.url, "accelerated") is None

    app.number_input(key="maintenance_every_days").set_value(21)
    app.checkbox(key="before_booster_on").uncheck()
    app.number_input[0].set_value(4)  # infusions in the induction
    next(b for b in app.button if b.label == "Save schedule").click().run()
    assert not app.exception, app.exception
    assert any("Saved" in s.value for s in app.success)
    stored = _stored_schedule(app_world.url, "accelerated")
    assert stored is not None
    induction, points = stored
    assert induction == 4
    kinds = {str(p["kind"]): p for p in points}
    assert "before_booster" not in kinds and kinds["maintenance"]["every_days"] == 21


def test_a_clinician_books_and_cancels_an_infusion_on_the_patient_page(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)
    patient_id = patient.patient_id or 0
    signed_in(app, app_world.clinician)
    app.session_state["patient_tab"] = "Infusion log"  # only the open tab is drawn
    app.session_state["selected_patient"] = patient_id
    app.run()
    app.switch_page(PATIENT_PAGE).run()
    assert not app.exception, app.exception
    texts = " ".join(m.value for m in app.markdown) + " ".join(c.value for c in app.caption)
    assert "No infusion booked" in texts
    day = dt.date.today() + dt.timedelta(days=9)
    app.date_input(key="plan_day").set_value(day)
    next(b for b in app.button if b.label == "Book infusion").click().run()
    assert not app.exception, app.exception
    booked = _bookings(app_world.url, patient_id)
    assert len(booked) == 1 and not booked[0][1]
    assert any("Infusion booked" in s.value for s in app.success)
    # The check-ins it makes due: the baseline in the 7 days before it.
    shown = " ".join(m.value for m in app.markdown)
    assert f"Baseline: from {day - dt.timedelta(days=7):%a %d %b}" in shown
    # The same day again is refused, plainly.
    app.date_input(key="plan_day").set_value(day)
    next(b for b in app.button if b.label == "Book infusion").click().run()
    assert any("already planned" in e.value for e in app.error)
    next(b for b in app.button if b.label == "Cancel").click().run()
    assert not app.exception, app.exception
    assert _bookings(app_world.url, patient_id)[0][1] is True
