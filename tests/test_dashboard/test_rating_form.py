"""The clinician's rating form (MADRS): nothing pre-selected, nothing stored until every item
is rated or marked not rated, the rating's own date and time, a future time refused. AppTest
on a real SQLite clinic."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.engine import make_engine, transaction
from data.models import Assessment
from tests.test_dashboard.conftest import AppWorld, signed_in


def _madrs_times(app_world: AppWorld) -> list[dt.datetime]:
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        times = list(
            session.scalars(
                select(Assessment.administered_at).where(
                    Assessment.patient_id == app_world.patient.patient_id,
                    Assessment.instrument == "madrs",
                )
            ).all()
        )
    engine.dispose()
    return times


def _rating_page(app: AppTest, app_world: AppWorld) -> AppTest:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id
    app.session_state["patient_tab"] = "Clinician rating"  # only the open tab is drawn
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    return app


def _items(app: AppTest) -> list[object]:
    return [r for r in app.radio if ":madrs_" in str(r.key)]


def _save(app: AppTest) -> None:
    next(b for b in app.button if b.label == "Save MADRS").click().run()
    assert not app.exception, app.exception


def _when(app: AppTest, day: dt.date, at: dt.time) -> None:
    next(d for d in app.date_input if d.label == "Date of the rating (UTC)").set_value(day)
    next(t for t in app.time_input if t.label == "Time of the rating (UTC)").set_value(at)


def _errors(app: AppTest) -> list[str]:
    return [str(e.value) for e in app.error]


def test_nothing_is_preselected_and_an_untouched_save_stores_nothing(
    app: AppTest, app_world: AppWorld
) -> None:
    page = _rating_page(app, app_world)
    items = _items(page)
    assert len(items) == 10
    assert all(r.value is None for r in items)  # type: ignore[attr-defined]
    assert items[9].label == "10. suicidal thoughts"  # type: ignore[attr-defined]
    # MADRS anchors are not licensed for electronic use here: numbers, no descriptions.
    assert list(items[0].options) == ["0", "1", "2", "3", "4", "5", "6", "not rated"]  # type: ignore[attr-defined]
    before = _madrs_times(app_world)
    _save(page)
    assert _madrs_times(app_world) == before
    errors = _errors(page)
    assert errors.count("Not rated yet: choose a rating, or 'not rated'.") == 10
    assert any("Nothing was stored: 10 item(s) not rated yet" in e for e in errors)
    assert "Enter the date and time of the rating (UTC)." in errors
    assert not any("saved" in str(s.value) for s in page.success)


def test_an_item_marked_not_rated_is_stored_as_a_record_without_a_total(
    app: AppTest, app_world: AppWorld
) -> None:
    page = _rating_page(app, app_world)
    for n, radio in enumerate(_items(page), start=1):
        radio.set_value("not rated" if n == 3 else 2)  # type: ignore[attr-defined]
    _when(page, dt.datetime.now(dt.UTC).date(), dt.time(0, 0))
    before = _madrs_times(app_world)
    _save(page)
    assert len(_madrs_times(app_world)) == len(before) + 1
    assert not _errors(page)
    saved = " ".join(str(s.value) for s in page.success)
    assert "1 item(s) not rated, so it has no total" in saved


def test_a_rating_in_the_future_is_refused(app: AppTest, app_world: AppWorld) -> None:
    page = _rating_page(app, app_world)
    for radio in _items(page):
        radio.set_value(1)  # type: ignore[attr-defined]
    _when(page, dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(9, 0))
    before = _madrs_times(app_world)
    _save(page)
    assert _madrs_times(app_world) == before
    assert any("The time of the rating is in the future" in e for e in _errors(page))


def test_a_rating_is_stored_at_the_time_entered_and_the_form_is_cleared(
    app: AppTest, app_world: AppWorld
) -> None:
    page = _rating_page(app, app_world)
    for n, radio in enumerate(_items(page), start=1):
        radio.set_value(3 if n <= 5 else 0 if n == 10 else 2)  # type: ignore[attr-defined]
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    _when(page, day, dt.time(10, 35))
    before = _madrs_times(app_world)
    _save(page)
    after = _madrs_times(app_world)
    assert len(after) == len(before) + 1
    (stored,) = set(after) - set(before)
    assert stored == dt.datetime.combine(day, dt.time(10, 35), tzinfo=dt.UTC)
    saved = [str(s.value) for s in page.success if "MADRS saved" in str(s.value)]
    assert saved == [f"MADRS saved for {day:%d %b %Y} 10:35 (UTC): total 23 (moderate)."]
    assert all(r.value is None for r in _items(page))  # type: ignore[attr-defined]
    assert not _errors(page)


def test_a_positive_self_harm_item_in_a_rating_with_an_item_not_rated_raises_its_alert(
    app: AppTest, app_world: AppWorld
) -> None:
    page = _rating_page(app, app_world)
    for n, radio in enumerate(_items(page), start=1):
        radio.set_value("not rated" if n == 1 else 4 if n == 10 else 2)  # type: ignore[attr-defined]
    _when(page, dt.datetime.now(dt.UTC).date(), dt.time(0, 0))
    before = _madrs_times(app_world)
    _save(page)
    assert len(_madrs_times(app_world)) == len(before) + 1
    saved = " ".join(str(s.value) for s in page.success)
    assert "A safety alert was raised" in saved
