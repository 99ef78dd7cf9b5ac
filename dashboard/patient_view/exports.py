"""The patient's files: exports and the printable summary, prepared on request."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard import downloads, resources, state
from dashboard.patient_label import file_name_part
from dashboard.plain import literal
from dashboard.summary import summary_html
from data.access import Actor
from data.clinic import ClinicConfig
from data.interchange.csv_export import export_assessments_csv, export_infusions_csv
from data.interchange.fhir_export import export_fhir_bundle
from data.records.patient_record import PatientRecord, patient_record
from outcomes.episodes import Episode

EXPORT_FILES = {
    "assessments": ("assessments.csv", "text/csv"),
    "infusions": ("infusions.csv", "text/csv"),
    "fhir": ("fhir.json", "application/fhir+json"),
    "summary": ("summary.html", "text/html"),
}
CHOICES = {
    "assessments": "Questionnaires (CSV)",
    "infusions": "Infusions (CSV)",
    "fhir": "Everything (FHIR Bundle)",
    "summary": "Printable one-page summary (HTML)",
}


def export_file_name(record: PatientRecord, wanted: str) -> str:
    """``Casey-Example_MRN-00123_1980-02-03-assessments.csv``: whose file it is (name, MRN and
    date of birth, as a patient is named everywhere) and what it holds."""
    whose = file_name_part(record.name, record.external_id, record.date_of_birth)
    return f"{whose}-{EXPORT_FILES[wanted][0]}"


def _export_file(
    wanted: str,
    *,
    actor: Actor,
    patient_id: int,
    instrument_name: str,
    course: Mapping[str, Any] | None,
    infusion_count: int,
    config: ClinicConfig,
    episodes: Sequence[Episode] = (),
) -> str:
    """The chosen file's text; the data layer checks access and records the export, and
    both are committed before the file exists anywhere."""
    out = io.StringIO()
    with resources.session_scope() as session:
        if wanted == "assessments":
            export_assessments_csv(session, actor=actor, out=out, patient_id=patient_id)
        elif wanted == "infusions":
            export_infusions_csv(session, actor=actor, out=out, patient_id=patient_id)
        elif wanted == "fhir":
            json.dump(
                export_fhir_bundle(session, actor=actor, patient_id=patient_id), out, indent=2
            )
        else:
            # Read (and audited) again in this transaction: the summary is a view of the record.
            printed = patient_record(session, actor=actor, patient_id=patient_id)
            out.write(
                summary_html(
                    printed,
                    instrument_name,
                    course,
                    infusion_count,
                    rules=config.rules,
                    episodes=episodes,
                )
            )
    return out.getvalue()


def show_exports(
    *,
    actor: Actor,
    record: PatientRecord,
    patient_id: int,
    instrument_name: str,
    course: Mapping[str, Any] | None,
    infusion_count: int,
    config: ClinicConfig,
    episodes: Sequence[Episode] = (),
) -> None:
    """Choose a file, prepare it, and offer its one-time download link."""
    st.caption(
        "Each file is prepared on request, recorded in the audit log, and can be downloaded "
        "once, by you, within two minutes. CSV files use the import format; spreadsheet "
        "formulas in text cells are neutralised."
    )
    wanted = st.selectbox(
        "File", list(CHOICES), format_func=lambda c: CHOICES[c], key="export_choice"
    )
    if st.button("Prepare download", key="prepare_export"):
        browser = state.browser_id()
        if not downloads.is_signed_in(browser):
            # Nothing is exported, or recorded as exported, for a browser that cannot take it.
            st.error(downloads.NO_SIGNED_IN_BROWSER)
        else:
            mime = EXPORT_FILES[wanted][1]
            try:
                link = downloads.prepare(
                    browser,
                    _export_file(
                        wanted,
                        actor=actor,
                        patient_id=patient_id,
                        instrument_name=instrument_name,
                        course=course,
                        infusion_count=infusion_count,
                        config=config,
                        episodes=episodes,
                    ),
                    file_name=export_file_name(record, wanted),
                    mime=mime,
                )
            except ValueError as refused:  # signed out in another tab meanwhile
                st.error(literal(refused))
            else:
                st.session_state["prepared_download"] = (patient_id, CHOICES[wanted], link)
    prepared = st.session_state.get("prepared_download")
    if prepared and prepared[0] == patient_id:
        st.link_button(f"Download {prepared[1]}", prepared[2], type="primary")
