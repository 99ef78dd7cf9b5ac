"""The crisis panel (issue 12): the clinic's text kept literal, the numbers tappable, the
settings on the administrator's "Clinic settings" page. Chromium taps nothing here; the links
themselves are checked in a phone-sized browser in test_browser_phone.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import crisis
from dashboard.crisis import dial_links, links_html
from data.access import Actor
from data.clinic import DEFAULT_CRISIS_TEXT, ClinicConfig, clinic_config, set_crisis_contacts
from data.engine import make_engine, transaction
from data.models import ClinicSettings
from outcomes.rules import DEFAULT_RULES
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in

DEFAULTS = ClinicConfig(1, ("phq9",), 7, DEFAULT_CRISIS_TEXT, DEFAULT_RULES)


def _settings(url: str, admin: Actor, **changes: str) -> ClinicConfig:
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        if changes:
            set_crisis_contacts(session, actor=admin, **changes)
        config = clinic_config(session, admin.clinic_id)
    engine.dispose()
    return config


@pytest.fixture
def reset(app_world: AppWorld, monkeypatch: pytest.MonkeyPatch) -> object:
    """Every test starts and ends with the default panel (the world is shared by the module),
    on a Monday at noon: in clinic hours (the panel's words outside them and after a message
    to the care team: test_crisis_hours.py)."""
    monkeypatch.setattr(crisis, "_now", lambda: dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC))
    blank = dict.fromkeys(
        ("crisis_call_number", "crisis_text_number", "emergency_number", "clinic_hours"), ""
    )
    _settings(app_world.url, app_world.admin, crisis_text="", **blank)
    yield None
    _settings(app_world.url, app_world.admin, crisis_text="", **blank)


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_the_default_numbers_are_links_to_call_and_text() -> None:
    assert _hrefs(links_html(DEFAULTS)) == ["tel:988", "sms:988", "tel:911"]
    labels = [label for _, label, _ in dial_links(DEFAULTS)]
    assert labels == ["Call 988", "Text 988", "Call 911 (emergency)"]


@pytest.mark.parametrize(
    "number", ["javascript:alert(1)", '988" onclick="x', "98", "+1988", "٩٨٨", "", "9" * 16]
)
def test_only_digits_ever_reach_a_link(number: str) -> None:
    """The settings are validated on write; a value that is not 3-15 digits anyway (a row
    edited by hand, a future path that forgets) is left out, never put in an href."""
    config = dataclasses.replace(DEFAULTS, emergency_number=number)
    assert _hrefs(links_html(config)) == ["tel:988", "sms:988"]
    assert [label for _, label, _ in dial_links(config)] == ["Call 988", "Text 988"]


def test_a_positive_answer_shows_the_clinics_panel_with_its_hours_and_numbers(
    app: AppTest, app_world: AppWorld, reset: object
) -> None:
    _settings(
        app_world.url,
        app_world.admin,
        clinic_hours="Monday to Friday, 8 am to 6 pm",
        emergency_number="112",
    )
    signed_in(app, new_patient(app_world)).run()
    for radio in app.radio:
        radio.set_value(2 if str(radio.key).endswith(":phq9_9") else 1)
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    assert [h.value for h in app.header] == ["Help is available now"]
    text = app.error[0].value.replace("\\", "")
    assert "Your care team will see your answers during clinic hours (Monday to Friday" in text
    assert "If you are in danger now, call or text 988" in text and "or call 112." in text
    assert "has been told" not in text and "You are not alone" not in text
    links = [h.proto.body for h in app.get("html") if "crisis-links" in h.proto.body]
    assert len(links) == 1 and _hrefs(links[0]) == ["tel:988", "sms:988", "tel:112"]
    assert "Thank you" in app.success[0].value


def test_the_clinics_own_text_is_shown_literally(
    app: AppTest, app_world: AppWorld, reset: object
) -> None:
    own = "Call us on 5550100 **now** :red[today]"
    _settings(app_world.url, app_world.admin, crisis_text=own)
    signed_in(app, new_patient(app_world)).run()
    for radio in app.radio:
        radio.set_value(3 if str(radio.key).endswith(":phq9_9") else 0)
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    shown = app.error[0].value
    assert "**now**" not in shown and ":red[" not in shown
    assert shown.replace("\\", "") == own
    links = [h.proto.body for h in app.get("html") if "crisis-links" in h.proto.body]
    assert "5550100" not in links[0]  # the clinic's text never goes into the links


def test_the_administrator_sets_the_panel_on_the_clinic_settings_page(
    app: AppTest, app_world: AppWorld, reset: object
) -> None:
    signed_in(app, app_world.admin).run()
    app.switch_page("app_pages/admin/clinic.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Clinic settings"

    def field(start: str):  # type: ignore[no-untyped-def]
        return next(f for f in [*app.text_input, *app.text_area] if str(f.label).startswith(start))

    # A refused number: every problem listed, nothing saved.
    field("Emergency number").input("9-1-1")
    field("Clinic hours").input("8 am to 6 pm")
    next(b for b in app.button if b.label == "Save").click().run()
    assert not app.exception, app.exception
    assert "emergency number must be 3 to 15 digits" in app.error[0].value.replace("\\", "")
    assert _settings(app_world.url, app_world.admin).clinic_hours is None

    field("Emergency number").input("112")
    next(b for b in app.button if b.label == "Save").click().run()
    assert not app.exception, app.exception
    assert "Saved" in app.success[0].value
    config = _settings(app_world.url, app_world.admin)
    assert (config.emergency_number, config.clinic_hours) == ("112", "8 am to 6 pm")
    # The preview is the panel a patient sees, with the new settings.
    assert "during clinic hours (8 am to 6 pm)" in app.error[-1].value.replace("\\", "")
    assert "America" in app.markdown[-1].value or "UTC" in app.markdown[-1].value


def test_a_hand_edited_number_in_the_database_is_not_dialled(
    app_world: AppWorld, reset: object
) -> None:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        row = session.get(ClinicSettings, app_world.admin.clinic_id)
        assert row is not None
        row.emergency_number = "911<script>"
    with transaction(engine) as session:
        config = clinic_config(session, app_world.admin.clinic_id)
    engine.dispose()
    assert _hrefs(links_html(config)) == ["tel:988", "sms:988", "tel:911"]
