"""Forms that rerun only themselves (issue 13, ``st.fragment``), run by AppTest on a real
SQLite clinic.

In the browser a click or a key press in a fragment reruns that fragment alone. AppTest runs
the whole script for every interaction, so :func:`fragment_run` asks for what the browser
asks for: a run of the named fragment only (Streamlit's ``RerunData.fragment_id_queue``, with
the fragment's id from its ``key``). Whether a run read the patient's records is counted in
the audit trail, where every read of them leaves an event.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest, local_script_runner

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import Assessment, AuditEvent, Infusion
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in

PATIENT_PAGE = "app_pages/clinician/patient.py"


@contextmanager
def fragment_run(app: AppTest, key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within this block, an AppTest run is a run of fragment ``key`` alone, as the browser
    asks for after a click in it.

    AppTest keeps its fragments between runs (``_fragment_storage``); Streamlit's own
    ``resolve_target`` turns the key into the fragment's id, as ``st.rerun(key)`` does.
    """
    ids = app._fragment_storage.resolve_target(key)
    with monkeypatch.context() as patch:
        patch.setattr(
            local_script_runner,
            "RerunData",
            functools.partial(local_script_runner.RerunData, fragment_id_queue=ids),
        )
        yield


def _reads(app_world: AppWorld, actor: Actor) -> int:
    """How many reads of patient records ``actor`` made (audit events of views)."""
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count()).where(
                AuditEvent.actor_id == actor.user_id, AuditEvent.action.like("view_%")
            )
        )
    engine.dispose()
    return int(count or 0)


def _count(app_world: AppWorld, model: type, patient_id: int) -> int:
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(model).where(model.patient_id == patient_id)  # type: ignore[attr-defined]
        )
    engine.dispose()
    return int(count or 0)


def _texts(app: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "warning", "success", "error", "info")
        for e in getattr(app, kind)
    )


def test_a_check_in_sent_with_answers_missing_reruns_only_the_form(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = new_patient(app_world)
    signed_in(app, patient).run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Weekly check-in"]
    read = _reads(app_world, patient)
    with fragment_run(app, "checkin_form", monkeypatch):
        next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    # Only the form was drawn again, its questions marked; the page around it was not run.
    assert app.title.len == 0
    assert "Nothing is saved yet. Please answer these 16 questions" in _texts(app)
    assert _reads(app_world, patient) == read
    assert _count(app_world, Assessment, patient.patient_id or 0) == 0


def test_a_stored_check_in_reruns_the_page_which_shows_it(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = new_patient(app_world)
    signed_in(app, patient).run()
    read = _reads(app_world, patient)
    with fragment_run(app, "checkin_form", monkeypatch):
        for radio in app.radio:
            radio.set_value(1)
        next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    assert _count(app_world, Assessment, patient.patient_id or 0) == 2  # PHQ-9 and GAD-7
    # The stored check-in reran the whole page: it read the records again and shows the
    # outcome, the next check-in and the offer to correct.
    assert _reads(app_world, patient) > read
    assert [t.value for t in app.title] == ["Weekly check-in"]
    texts = _texts(app)
    assert "Your answers are saved" in texts
    assert "Your next check-in is due" in texts  # on a date, or before the first infusion
    assert any(b.label == "Correct my answers" for b in app.button)


def _patient_page(app: AppTest, app_world: AppWorld, tab: str) -> AppTest:
    signed_in(app, app_world.clinician)
    app.session_state["patient_tab"] = tab  # only the open tab is drawn
    app.session_state["selected_patient"] = app_world.other_patient.patient_id
    app.run()
    app.switch_page(PATIENT_PAGE).run()
    assert not app.exception, app.exception
    return app


def test_a_rating_saved_with_items_not_rated_reruns_only_the_form(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _patient_page(app, app_world, "Clinician rating")
    read = _reads(app_world, app_world.clinician)
    with fragment_run(page, "rating_form", monkeypatch):
        next(b for b in page.button if b.label == "Save MADRS").click().run()
    assert not page.exception, page.exception
    errors = [str(e.value) for e in page.error]
    assert any("Nothing was stored: 10 item(s) not rated yet" in e for e in errors)
    # The patient's chart, summary and log were not drawn again, nor their records read.
    assert page.title.len == 0 and not page.get("plotly_chart")
    assert _reads(app_world, app_world.clinician) == read


def test_a_stored_rating_reruns_the_page(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _patient_page(app, app_world, "Clinician rating")
    patient_id = app_world.other_patient.patient_id or 0
    before = _count(app_world, Assessment, patient_id)
    read = _reads(app_world, app_world.clinician)
    with fragment_run(page, "rating_form", monkeypatch):
        items = [r for r in page.radio if ":madrs_" in str(r.key)]
        for radio in items:
            radio.set_value(1)
        next(d for d in page.date_input if d.label.startswith("Date of the rating")).set_value(
            dt.date.today() - dt.timedelta(days=1)
        )
        next(t for t in page.time_input if t.label.startswith("Time of the rating")).set_value(
            dt.time(10, 0)
        )
        next(b for b in page.button if b.label == "Save MADRS").click().run()
    assert not page.exception, page.exception
    assert _count(app_world, Assessment, patient_id) == before + 1
    assert _reads(app_world, app_world.clinician) > read
    assert [t.value for t in page.title] == ["Patient"]
    assert any("MADRS saved for" in str(s.value) for s in page.success)


def test_typing_in_the_infusion_form_reruns_only_the_form_and_a_record_reruns_the_page(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _patient_page(app, app_world, "Record infusion")
    patient_id = app_world.other_patient.patient_id or 0
    infusions = _count(app_world, Infusion, patient_id)
    read = _reads(app_world, app_world.clinician)
    with fragment_run(page, "infusion_form", monkeypatch):
        next(n for n in page.number_input if n.label.startswith("Dose given")).set_value(35).run()
        assert not page.exception, page.exception
        assert page.title.len == 0
        assert _reads(app_world, app_world.clinician) == read
        next(n for n in page.number_input if n.label.startswith("Weight today")).set_value(70).run()
        # The live mg/kg, from the fragment alone.
        assert any("0.50 mg/kg" in str(m.value) for m in page.markdown)
        assert _reads(app_world, app_world.clinician) == read
        next(d for d in page.date_input if d.label == "Date").set_value(
            dt.date.today() - dt.timedelta(days=3)
        )
        next(t for t in page.time_input if t.label.startswith("Time (")).set_value(dt.time(9, 0))
        next(b for b in page.button if b.label == "Record infusion").click().run()
    assert not page.exception, page.exception
    assert _count(app_world, Infusion, patient_id) == infusions + 1
    # Recorded: the whole page ran again and read the records, its log showing the infusion.
    assert _reads(app_world, app_world.clinician) > read
    assert [t.value for t in page.title] == ["Patient"]
    page.session_state["patient_tab"] = "Infusion log"
    page.run()
    assert len(page.dataframe[0].value) == infusions + 1


def _views(app_world: AppWorld, actor: Actor, action: str) -> int:
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count()).where(
                AuditEvent.actor_id == actor.user_id, AuditEvent.action == action
            )
        )
    engine.dispose()
    return int(count or 0)


def test_only_the_open_tab_is_drawn_and_opening_another_reruns_only_the_tabs(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _patient_page(app, app_world, "Symptoms")
    # The forms and the log of the hidden tabs are neither run nor sent.
    assert not page.number_input and not page.dataframe
    assert not any(b.label == "Save MADRS" for b in page.button)
    assert len(page.get("plotly_chart")) == 2  # the trajectory and the Symptoms heatmap
    clinician = app_world.clinician
    assessments = _views(app_world, clinician, "view_assessments")
    infusions = _views(app_world, clinician, "view_infusions")
    with fragment_run(page, "patient_tabs", monkeypatch):
        page.session_state["patient_tab"] = "Infusion log"
        page.run()
    assert not page.exception, page.exception
    # The log's own read only: the page above the tabs (title, chart) was not run again.
    assert page.title.len == 0 and len(page.dataframe) == 1
    assert _views(app_world, clinician, "view_infusions") == infusions + 1
    assert _views(app_world, clinician, "view_assessments") == assessments


def test_a_form_sent_after_signing_out_everywhere_stores_nothing(
    app: AppTest, app_world: AppWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of the form alone skips the entry script's check of the sign-in: the form checks
    it before storing, and the page's run signs the patient out."""
    from data.accounts import sign_out_everywhere

    patient = new_patient(app_world)
    signed_in(app, patient).run()
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        sign_out_everywhere(session, actor=patient)  # from another device
    engine.dispose()
    with fragment_run(app, "checkin_form", monkeypatch):
        for radio in app.radio:
            radio.set_value(1)
        next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    assert _count(app_world, Assessment, patient.patient_id or 0) == 0
    assert "actor" not in app.session_state
