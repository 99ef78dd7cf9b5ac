"""Pages take instruments, thresholds and labels from outcomes: a new registry row appears in
every picker, and a clinic's own response rule is the one the pages state."""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.plain import describe_score
from dashboard.summary import summary_html
from data.records.patient_record import PatientRecord
from outcomes import instruments
from outcomes.instruments import Item
from outcomes.rules import DEFAULT_RULES
from outcomes.scoring import score
from tests.test_dashboard.conftest import AppWorld, signed_in

TRIAL = dataclasses.replace(
    instruments.get_instrument("madrs"),
    id="trial_scale",
    name="Trial Rating Scale",
    items=tuple(Item(f"trial_scale_{n}", f"item {n}") for n in range(1, 4)),
    domains=tuple(instruments.Domain(f"trial_scale_{n}", (f"trial_scale_{n}",)) for n in (1, 2, 3)),
    bands=(),
    safety_items=(),
    remission_max_total=3,
    relapse_floor=None,
    topic="Trial",
)


@pytest.fixture
def trial_instrument(monkeypatch: pytest.MonkeyPatch) -> None:
    """A throwaway clinician-rated instrument with a total and a remission rule, registered
    the only way a new instrument is: a row in the registry."""
    registry = instruments.registry
    monkeypatch.setattr(registry, "INSTRUMENTS", (*registry.INSTRUMENTS, TRIAL))
    monkeypatch.setitem(registry._BY_ID, TRIAL.id, TRIAL)


def _options(elements: object, label: str) -> list[str]:
    found = [e for e in elements if e.label == label]  # type: ignore[attr-defined]
    assert found, f"no picker labelled {label!r}"
    return list(found[0].options)


def test_a_new_registry_row_appears_in_every_instrument_picker(
    app: AppTest, app_world: AppWorld, trial_instrument: None
) -> None:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id  # opens nobody else
    app.session_state["patient_tab"] = "Clinician rating"  # only the open tab is drawn
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    assert _options(app.radio, "Instrument") == [
        "PHQ-9",
        "GAD-7",
        "QIDS-SR16",
        "MADRS",
        "Trial Rating Scale",
    ]
    assert _options(app.selectbox, "Rating scale") == ["MADRS", "Trial Rating Scale"]
    # The rater's instructions come from the registry entry too.
    assert any("anchors are defined at 0, 2, 4 and 6" in c.value for c in app.caption)

    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/outcomes.py").run()
    assert not app.exception, app.exception
    assert "Trial Rating Scale" in _options(app.selectbox, "Instrument")


def test_a_new_clinician_rated_instrument_can_be_rated_from_the_patient_page(
    app: AppTest, app_world: AppWorld, trial_instrument: None
) -> None:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id  # opens nobody else
    app.session_state["patient_tab"] = "Clinician rating"  # only the open tab is drawn
    app.switch_page("app_pages/clinician/patient.py").run()
    picker = next(e for e in app.selectbox if e.label == "Rating scale")
    picker.set_value("trial_scale").run()
    assert not app.exception, app.exception
    items = [r.label for r in app.radio if ":trial_scale_" in str(r.key)]
    assert items == ["1. item 1", "2. item 2", "3. item 3"]
    assert any(b.label == "Save Trial Rating Scale" for b in app.button)


def test_the_patient_page_states_the_clinics_response_rule(
    app: AppTest, app_world: AppWorld
) -> None:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id  # opens nobody else
    app.switch_page("app_pages/clinician/patient.py").run()
    change = next(m for m in app.metric if m.label == "Change")
    assert change.proto.help == "Change of the total since baseline: -50% or lower is a response."


def test_the_printed_summary_states_the_clinics_response_rule() -> None:
    record = PatientRecord(
        patient_id=1,
        external_id="MRN-1",
        name="Pat",
        date_of_birth=None,
        assigned_clinician=None,
        protocol=None,
    )
    course = {"status": "not_yet_responded", "baseline_total": 20}
    stricter = DEFAULT_RULES.override(response_min_drop=Fraction(3, 5))
    page = summary_html(record, "PHQ-9", course, 3, today=dt.date(2024, 1, 1), rules=stricter)
    assert "Response (≥ 60% below baseline)" in page
    assert "No response yet" in page
    assert "≥ 50%" in summary_html(record, "PHQ-9", course, 3, today=dt.date(2024, 1, 1))


def test_the_topic_and_severity_words_come_from_the_registry(trial_instrument: None) -> None:
    phq9 = instruments.get_instrument("phq9")
    answers = {key: 2 for key in phq9.item_keys} | {"phq9_9": 0}
    assert describe_score(phq9, score(phq9, answers)) == (
        "Mood (PHQ-9): 16 out of 27 — moderately severe symptoms."
    )
    trial = score(TRIAL, {key: 1 for key in TRIAL.item_keys})
    assert describe_score(TRIAL, trial) == "Trial (Trial Rating Scale): 3 out of 18."
