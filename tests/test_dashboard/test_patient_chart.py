"""The patient page's trajectory marks what the care team must see on the time line (issue 11):
each safety alert, open or acknowledged."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.test_dashboard.conftest import AppWorld, signed_in


def _trajectory(app: AppTest) -> dict[str, object]:
    charts = app.get("plotly_chart")
    assert charts, "no chart on the page"
    figure: dict[str, object] = json.loads(charts[0].proto.spec)
    return figure


def _alert_marks(figure: dict[str, object]) -> list[str]:
    layout = figure.get("layout", {})
    assert isinstance(layout, dict)
    names = [str(shape.get("name", "")) for shape in layout.get("shapes", [])]
    return [name for name in names if name.startswith("alert:")]


def test_a_patients_safety_alert_is_marked_on_their_chart(
    app: AppTest, app_world: AppWorld
) -> None:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.other_patient.patient_id
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    assert len(_alert_marks(_trajectory(app))) == len(app_world.alert_ids) == 1


def test_a_patient_without_alerts_has_no_alert_marks(app: AppTest, app_world: AppWorld) -> None:
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    assert _alert_marks(_trajectory(app)) == []


def test_each_response_episode_is_marked_on_the_chart(app: AppTest, app_world: AppWorld) -> None:
    """The patient responded (24 -> 8 within weeks): episode 1 is drawn from the library's
    episodes, the one rule the header and summary use."""
    signed_in(app, app_world.clinician).run()
    app.session_state["selected_patient"] = app_world.patient.patient_id
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception, app.exception
    layout = _trajectory(app).get("layout", {})
    assert isinstance(layout, dict)
    spans = [
        s.get("name") for s in layout.get("shapes", []) if s.get("name", "").startswith("episode:")
    ]
    assert spans == ["episode:1"]
