"""The patient view's exports: audited, in the import format, and a printable summary."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.summary import summary_html
from data.engine import make_engine, transaction
from data.models import AuditEvent
from data.records.patient_record import PatientRecord
from tests.test_dashboard.conftest import AppWorld, signed_in


def test_no_export_is_made_for_a_browser_that_cannot_receive_it(
    app: AppTest, app_world: AppWorld
) -> None:
    """AppTest has no browser (no cookie): the page says what to do and exports nothing.

    The whole flow, from preparing to the one download, runs in Chromium
    (test_browser_security.py)."""
    signed_in(app, app_world.clinician)
    app.session_state["selected_patient"] = app_world.patient.patient_id
    app.session_state["patient_tab"] = "Export"  # only the open tab is drawn
    app.run()
    app.switch_page("app_pages/clinician/patient.py").run()
    app.button(key="prepare_export").click().run()
    assert not app.exception
    assert any("allow this site's cookie" in e.value for e in app.error)
    assert "prepared_download" not in app.session_state
    engine = make_engine(app_world.url)
    with transaction(engine) as session:
        actions = set(
            session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.patient_id == app_world.patient.patient_id,
                    AuditEvent.actor_id == app_world.clinician.user_id,
                )
            )
        )
    engine.dispose()
    assert not {"export_assessments", "export_infusions"} & actions


def test_summary_escapes_what_it_prints() -> None:
    record = PatientRecord(1, "MRN-<1>", "Ann <script>", dt.date(1980, 1, 2), "Dr A", None)
    page = summary_html(
        record,
        "PHQ-9",
        {"status": "responding", "baseline_total": 18},
        6,
        today=dt.date(2026, 11, 22),
    )
    assert "<script>" not in page and "Ann &lt;script&gt;" in page
    assert "Responding" in page and "not a\\ndiagnosis" not in page
    assert "Clinical decision support, not a" in page


def test_the_summary_names_the_patient_by_name_mrn_birth_date_and_age() -> None:
    """Patients share names: the printed page names them as every screen does (issue 11)."""
    record = PatientRecord(1, "00123", "Casey Example", dt.date(1980, 2, 3), "Dr A", None)
    page = summary_html(record, "PHQ-9", None, 0, today=dt.date(2026, 11, 22))
    label = "Casey Example · MRN 00123 · born 1980-02-03 (46)"
    assert f"<title>{label}: course summary</title>" in page
    assert f"<h1>{label}</h1>" in page
