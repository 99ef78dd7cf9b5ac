"""The crisis panel: the clinic's words, and its crisis and emergency numbers to tap.

Shown at once when a check-in's answer raises a safety flag. The clinic's text is supplied text
(:func:`dashboard.plain.literal`); only numbers of digits alone go into ``tel:`` and ``sms:``
links, so a setting can never become a link to anything else.

The words say what really happens next (:func:`data.clinic.crisis_text_at`): outside clinic
hours that the clinic is closed and when the care team will see the answers; inside them,
that the care team has been sent a message only when one really was queued to someone
(:func:`data.notify.safety.care_team_told`). The administrator's preview shows the panel as
a patient sees it in clinic hours.
"""

from __future__ import annotations

import datetime as dt
import re

import streamlit as st

from dashboard import resources, scroll, state
from dashboard.plain import literal
from data.clinic import ClinicConfig, crisis_text_at
from data.notify.safety import care_team_told

PANEL_KEY = "crisis_panel"
"""The panel's container key: Streamlit gives it the CSS class ``st-key-crisis_panel``."""

_DIGITS = re.compile(r"[0-9]{3,15}")

# Links drawn as large buttons: at least 48 px high (WCAG 2.5.5 asks 44), one per line on a
# phone, white on the theme's dark blue (9:1) and on a dark red for the emergency number (7:1).
_STYLE = """<style>
.crisis-links { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 0.25rem 0 0.5rem; }
.crisis-links a { flex: 1 1 14rem; display: flex; align-items: center; justify-content: center;
  min-height: 3rem; padding: 0.5rem 1rem; border-radius: 0.5rem; font-size: 1.125rem;
  font-weight: 600; text-decoration: none; color: #ffffff; background: #1f4e79; }
.crisis-links a.emergency { background: #a4161a; }
.crisis-links a:focus-visible { outline: 3px solid #111111; outline-offset: 3px; }
</style>"""


def dial_links(config: ClinicConfig) -> list[tuple[str, str, bool]]:
    """``(href, label, emergency)`` of each number to tap; numbers not of 3–15 digits alone
    are left out (the settings are validated on write; this keeps a link safe regardless)."""
    links = [
        ("tel", config.crisis_call_number, f"Call {config.crisis_call_number}", False),
        ("sms", config.crisis_text_number, f"Text {config.crisis_text_number}", False),
        ("tel", config.emergency_number, f"Call {config.emergency_number} (emergency)", True),
    ]
    return [
        (f"{scheme}:{number}", label, emergency)
        for scheme, number, label, emergency in links
        if isinstance(number, str) and _DIGITS.fullmatch(number)
    ]


def links_html(config: ClinicConfig) -> str:
    """The panel's links as HTML: digits and fixed words only, nothing the clinic typed."""
    anchors = "".join(
        f'<a href="{href}" class="{"emergency" if emergency else "crisis"}">{label}</a>'
        for href, label, emergency in dial_links(config)
    )
    return f'{_STYLE}<nav class="crisis-links" aria-label="Crisis lines">{anchors}</nav>'


def _now() -> dt.datetime:
    """Now (a test sets the clock here to see the panel in and out of clinic hours)."""
    return dt.datetime.now(dt.UTC)


def _care_team_told() -> bool:
    """Whether the signed-in patient's care team was sent a message about an open alert.

    No while the records are unreachable: the panel never claims a message it cannot see.
    """
    actor = state.current_actor()
    if actor is None or actor.role != "patient" or actor.patient_id is None:
        return False
    try:
        with resources.session_scope() as session:
            return care_team_told(session, actor=actor, patient_id=actor.patient_id)
    except Exception:  # the crisis panel must show, whatever the records' state
        return False


def panel_text(config: ClinicConfig, *, live: bool) -> str:
    """The panel's words: what happens now for a patient (``live``), else the preview's."""
    if not live:
        return config.crisis_text
    return crisis_text_at(config, now=_now(), care_team_told=_care_team_told())


def show_crisis_panel(config: ClinicConfig, *, bring_into_view: bool = True) -> None:
    """Draw the crisis panel: a heading, the clinic's text (literal) and the numbers to tap.

    Parameters
    ----------
    config
        The clinic's settings (:func:`data.clinic.clinic_config`).
    bring_into_view
        A patient's check-in: scroll the page so the panel is in view, and say what happens
        now (clinic closed, care team sent a message). The preview on the administrator's
        settings page leaves the page where it is and shows the clinic-hours wording.
    """
    text = panel_text(config, live=bring_into_view)
    with st.container(border=True, key=PANEL_KEY):
        st.header("Help is available now", anchor=False)
        st.error(literal(text), icon=":material/emergency:")
        st.html(links_html(config))
    if bring_into_view:
        # A phone may be scrolled far down the form: crisis help must be in view at once.
        scroll.bring_into_view(f".st-key-{PANEL_KEY}", block="nearest")
