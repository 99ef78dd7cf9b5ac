"""The care team sees a corrected check-in beside its correction (issue 12, spec §3)."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.records.patient_record import patient_assessments
from outcomes.instruments import get_instrument
from tests.test_dashboard.conftest import AppWorld, new_patient

ZEROS = {f"phq9_{i}": 0 for i in range(1, 10)}
CRISIS = ZEROS | {"phq9_2": 2, "phq9_9": 3}


def _history(app_world: AppWorld) -> Any:
    """A patient's self-harm answer of 3, corrected to all zero; read by the clinician."""
    patient = new_patient(app_world)
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        first = submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=CRISIS,
        )
        submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=ZEROS,
            corrects=first.assessment_id,
        )
    with transaction(engine) as session:
        history = patient_assessments(
            session,
            actor=app_world.clinician,
            patient_id=patient.patient_id or 0,
            include_superseded=True,
        )
    engine.dispose()
    return history


def _page(history: "Any") -> None:  # noqa: UP037 - the function runs as a script of its own
    from dashboard.corrected_answers import show_corrected_answers
    from outcomes.instruments import get_instrument

    show_corrected_answers(history, get_instrument("phq9"), time_zone="UTC")


def test_the_corrected_answers_are_shown_marked_with_both_answers(app_world: AppWorld) -> None:
    from dashboard.corrected_answers import corrections_table

    history = _history(app_world)
    ((heading, table),) = corrections_table(history, get_instrument("phq9"))
    assert "PHQ-9 answered" in heading and "total 5" in heading
    assert "corrected by the patient at" in heading
    item9 = table[table["Question"].str.startswith("9. ")].iloc[0]
    assert (item9["First answer"], item9["Corrected answer"]) == (3, 0)

    app = AppTest.from_function(_page, args=(history,), default_timeout=30).run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "Corrected by the patient (1)" in text and "both answers are kept" in text
    assert "corrected by the patient at" in text
    assert len(app.dataframe) == 1
