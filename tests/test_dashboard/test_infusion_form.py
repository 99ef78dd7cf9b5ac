"""The infusion form and log on the patient page (issue 11), run by AppTest on a real clinic.

Each test records on its own day (a few days back), so that no two tests' infusions are within
6 hours of each other in this module's shared clinic. Enter not submitting is a browser matter
(tests/test_dashboard/test_browser.py).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.clinic import set_clinic_time_zone
from data.engine import make_engine, transaction
from data.models import Infusion
from tests.test_dashboard.conftest import AppWorld, signed_in

ZONE = "America/New_York"
PAGE = "app_pages/clinician/patient.py"


@pytest.fixture(scope="module", autouse=True)
def clinic_in_new_york(app_world: AppWorld) -> Iterator[None]:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        set_clinic_time_zone(
            session, actor=Actor.system(app_world.clinician.clinic_id), time_zone=ZONE
        )
    engine.dispose()
    yield


def _stored(app_world: AppWorld) -> list[Infusion]:
    engine = make_engine(app_world.url)
    try:
        with transaction(engine) as session:
            rows = session.scalars(
                select(Infusion)
                .where(Infusion.patient_id == app_world.patient.patient_id)
                .order_by(Infusion.id)
            ).all()
            session.expunge_all()
            return list(rows)
    finally:
        engine.dispose()


def _open(app: AppTest, app_world: AppWorld) -> AppTest:
    signed_in(app, app_world.clinician)
    app.session_state["selected_patient"] = app_world.patient.patient_id
    app.session_state["patient_tab"] = "Record infusion"  # only the open tab is drawn
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def _number(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in app.number_input if w.label == label)


def _fill(app: AppTest, *, days_ago: int, values: dict[str, float | int]) -> None:
    day = dt.datetime.now(zoneinfo.ZoneInfo(ZONE)).date() - dt.timedelta(days=days_ago)
    next(w for w in app.date_input if w.label == "Date").set_value(day)
    next(w for w in app.time_input if w.label == f"Time ({ZONE})").set_value(dt.time(9, 30))
    for label, value in values.items():
        _number(app, label).set_value(value)
    app.run()
    assert not app.exception, app.exception


def _record(app: AppTest, label: str = "Record infusion") -> None:
    next(b for b in app.button if b.label == label).click().run()
    assert not app.exception, app.exception


def test_the_time_label_names_the_clinics_zone_and_defaults_to_now(
    app: AppTest, app_world: AppWorld
) -> None:
    _open(app, app_world)
    time = next(w for w in app.time_input if w.label.startswith("Time ("))
    assert time.label == f"Time ({ZONE})"
    now = dt.datetime.now(zoneinfo.ZoneInfo(ZONE))
    shown = dt.datetime.combine(now.date(), time.value, tzinfo=now.tzinfo)
    assert abs(shown - now) < dt.timedelta(minutes=5)  # not 15:00


def test_a_negative_heart_rate_is_shown_at_its_field_and_the_values_stay(
    app: AppTest, app_world: AppWorld
) -> None:
    """Issue 11: a negative heart rate made Record silently do nothing."""
    before = len(_stored(app_world))
    _open(app, app_world)
    _fill(app, days_ago=2, values={"Dose given (mg), required": 35.0, "Heart rate before": -5})
    _record(app)
    assert len(_stored(app_world)) == before
    column = next(
        c for c in app.columns if any(w.label == "Heart rate before" for w in c.number_input)
    )
    assert [e.value.replace("\\", "") for e in column.error] == [
        "Heart rate before of -5 beats/min is outside the plausible range 30–200 beats/min; "
        "check the entry"
    ]
    assert any("Nothing was recorded" in e.value for e in app.error)
    assert _number(app, "Heart rate before").value == -5
    assert _number(app, "Dose given (mg), required").value == 35.0


def test_the_dose_is_required(app: AppTest, app_world: AppWorld) -> None:
    before = len(_stored(app_world))
    _open(app, app_world)
    _fill(app, days_ago=3, values={"Heart rate before": 72})
    _record(app)
    assert len(_stored(app_world)) == before
    column = next(
        c
        for c in app.columns
        if any(w.label == "Dose given (mg), required" for w in c.number_input)
    )
    assert [e.value.replace("\\", "") for e in column.error] == [
        "The dose is required: enter the dose given in mg"
    ]
    assert _number(app, "Heart rate before").value == 72


def test_a_recorded_infusion_is_confirmed_cleared_and_a_second_one_asks_first(
    app: AppTest, app_world: AppWorld
) -> None:
    before = len(_stored(app_world))
    _open(app, app_world)
    values = {"Dose given (mg), required": 35.0, "Weight today (kg)": 70.0}
    _fill(app, days_ago=4, values=values)
    assert any("0.50 mg/kg" in m.value for m in app.markdown)
    _record(app)
    stored = _stored(app_world)
    assert len(stored) == before + 1
    day = dt.datetime.now(zoneinfo.ZoneInfo(ZONE)).date() - dt.timedelta(days=4)
    local = dt.datetime.combine(day, dt.time(9, 30), tzinfo=zoneinfo.ZoneInfo(ZONE))
    assert stored[-1].administered_at == local.astimezone(dt.UTC)
    assert (stored[-1].dose_mg, stored[-1].weight_kg, stored[-1].dose_mg_per_kg) == (35, 70, 0.5)
    assert any(s.value.startswith("Infusion recorded:") for s in app.success)
    assert _number(app, "Dose given (mg), required").value is None  # the form is cleared

    _fill(app, days_ago=4, values=values)  # the same infusion again
    _record(app)
    assert len(_stored(app_world)) == before + 1
    question = app.warning[-1].value
    assert f"{local:%d %b %Y}, 09:30 ({ZONE})" in question
    assert any(b.label == "Yes, record a second infusion" for b in app.button)
    _record(app, "No, do not record it")
    assert len(_stored(app_world)) == before + 1
    assert _number(app, "Dose given (mg), required").value is None

    _fill(app, days_ago=4, values=values)
    _record(app)
    _record(app, "Yes, record a second infusion")
    assert len(_stored(app_world)) == before + 2


def test_the_log_shows_what_was_recorded_and_marks_entered_in_error(
    app: AppTest, app_world: AppWorld
) -> None:
    _open(app, app_world)
    _fill(
        app,
        days_ago=6,
        values={
            "Dose given (mg), required": 40.0,
            "Lowest SpO2 (%)": 96,
            "Sedation (MOAA/S 0-5)": 4,
        },
    )
    next(w for w in app.text_input if w.label == "Other side effects or notes").input(
        "ginger ale helped"
    ).run()
    _record(app)
    app.session_state["patient_tab"] = "Infusion log"
    app.run()
    log = app.dataframe[0].value
    assert not log.isin(["<NA>", "None", "nan", "<NA>/<NA>"]).any().any()
    assert not log.apply(lambda col: col.astype(str).str.contains("<NA>|None")).any().any()
    day = dt.datetime.now(zoneinfo.ZoneInfo(ZONE)).date() - dt.timedelta(days=6)
    latest = log[log[f"date and time ({ZONE})"] == f"{day:%Y-%m-%d} 09:30"].iloc[-1]
    assert latest["notes"] == "ginger ale helped"
    assert (latest["lowest SpO2"], latest["sedation (MOAA/S)"]) == ("96%", "4")
    assert latest["recorded by"] == "Clinician"
    assert latest["BP before"] == "" and latest["duration"] == ""
    counted = int((log["#"] != "").sum())

    stored = _stored(app_world)[-1]
    choice = next(w for w in app.selectbox if w.label == "Infusion")
    choice.set_value(stored.id).run()
    next(w for w in app.text_input if w.label == "Reason (required)").input("wrong patient").run()
    _record(app, "Mark entered in error")
    assert any("marked entered in error" in s.value for s in app.success)
    log = app.dataframe[0].value
    marked = log[log["status"] != ""]
    assert len(marked) == 1 and marked.iloc[0]["#"] == ""
    assert marked.iloc[0]["status"].startswith("ENTERED IN ERROR: wrong patient (Clinician, ")
    assert int((log["#"] != "").sum()) == counted - 1  # numbered no longer
