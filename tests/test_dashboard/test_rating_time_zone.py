"""A clinician's rating is entered on the clinic's own clock (issue 11): 09:00 in New York in
January is stored as 14:00 UTC, and the form and its confirmation say which clock."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.clinic import set_clinic_time_zone
from data.engine import make_engine, transaction
from data.models import Assessment
from tests.test_dashboard.conftest import AppWorld, signed_in

ZONE = "America/New_York"


def test_a_rating_is_entered_on_the_clinics_clock(app: AppTest, app_world: AppWorld) -> None:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        set_clinic_time_zone(session, actor=app_world.admin, time_zone=ZONE)
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id
    app.session_state["patient_tab"] = "Clinician rating"  # only the open tab is drawn
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    day = dt.date(2026, 1, 15)
    next(d for d in app.date_input if d.label == f"Date of the rating ({ZONE})").set_value(day)
    next(t for t in app.time_input if t.label == f"Time of the rating ({ZONE})").set_value(
        dt.time(9, 0)
    )
    for radio in [r for r in app.radio if ":madrs_" in str(r.key)]:
        radio.set_value(0 if str(radio.key).endswith(":madrs_10") else 2)
    next(b for b in app.button if b.label == "Save MADRS").click().run()
    assert not app.exception, app.exception
    assert [s.value for s in app.success] == [
        f"MADRS saved for 15 Jan 2026 09:00 ({ZONE}): total 18 (mild)."
    ]
    with transaction(engine) as session:
        stored = session.scalars(
            select(Assessment.administered_at).where(
                Assessment.patient_id == app_world.patient.patient_id,
                Assessment.instrument == "madrs",
            )
        ).all()
    engine.dispose()
    assert [t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t for t in stored] == [
        dt.datetime(2026, 1, 15, 14, 0, tzinfo=dt.UTC)
    ]
