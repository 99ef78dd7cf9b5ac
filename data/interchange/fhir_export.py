"""Export questionnaires as one HL7 FHIR R4 Bundle (the import: :mod:`~.fhir_read`).

Writing the resources is :mod:`outcomes.fhir`'s job (:func:`~outcomes.fhir.patient_bundle`); this
module reads a clinic's records for it, with the access rule of every export
(:func:`data.interchange.csv_export.ensure_can_export`) and one audit event per patient. Patients
are referenced as ``Patient/<the clinic's patient id>``, so an export imports into another
clinic unchanged; a patient with a contact phone also gets a ``Patient`` entry holding it
(``telecom``), which the import reads past.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.clinic import clinic_config
from data.errors import InvalidInput
from data.interchange.csv_export import ensure_can_export
from data.interchange.fhir_read import patient_reference
from data.models import Assessment, Patient
from data.records.assessments import counted
from outcomes.errors import FhirError
from outcomes.fhir import patient_bundle

__all__ = ["export_fhir_bundle"]


def export_fhir_bundle(
    session: Session, *, actor: Actor, patient_id: int | None = None
) -> dict[str, Any]:
    """A patient's (or the clinic's) questionnaires as one FHIR ``collection`` Bundle.

    Parameters
    ----------
    session : Session
        The caller's session.
    actor : Actor
        For one patient: their care team, the system, or the patient themself; for the
        clinic: clinicians and the system.
    patient_id : int, optional
        Our id of the patient; the whole clinic by default.

    Returns
    -------
    dict
        The Bundle as JSON-ready data: for each administration a ``QuestionnaireResponse``
        and, when it has a valid total, a total ``Observation`` (see
        :func:`outcomes.fhir.patient_bundle`), with subject ``Patient/<the clinic's patient
        id>``, after a ``Patient`` entry with the patient's contact phone where one is
        recorded. Totals are computed with the clinic's rules. Infusions are not part of it
        (export them as CSV).

    Raises
    ------
    AccessDenied
        If the actor may not read these records.
    InvalidInput
        If a record cannot be written as FHIR (two administrations of one instrument at
        the same moment).

    Notes
    -----
    One audit event ``export_fhir`` per patient exported.
    """
    ensure_can_export(session, actor=actor, patient_id=patient_id)
    rules = clinic_config(session, actor.clinic_id).rules
    query = (
        select(
            Patient.id,
            Patient.external_id,
            Patient.phone,
            Assessment.instrument,
            Assessment.answers,
            Assessment.administered_at,
        )
        .join(Patient, Patient.id == Assessment.patient_id)
        # The latest of each correction chain: a file read back in must count what the
        # app counts (course-and-reporting §3); the corrected answers stay in the records.
        .where(Assessment.clinic_id == actor.clinic_id, counted())
        .order_by(Patient.external_id, Assessment.administered_at, Assessment.instrument)
    )
    if patient_id is not None:
        query = query.where(Assessment.patient_id == patient_id)
    entries: list[Any] = []
    exported = {patient_id} if patient_id is not None else set()
    for (internal_id, external_id, phone), rows in groupby(
        session.execute(query), key=lambda row: (row[0], row[1], row[2])
    ):
        subject = patient_reference(external_id)
        try:
            bundle = patient_bundle(
                [(instrument, answers, at) for _, _, _, instrument, answers, at in rows],
                subject=subject,
                rules=rules,
                phone=phone,
            )
        except FhirError as error:
            # The message names the subject; the operator's terminal gets no patient id.
            raise InvalidInput([str(error).replace(subject, "a patient")]) from None
        entries.extend(bundle.model_dump(mode="json", exclude_none=True).get("entry", []))
        exported.add(internal_id)
    for exported_id in sorted(exported):
        audit.record(session, actor=actor, action=audit.Action.EXPORT_FHIR, patient_id=exported_id)
    result: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        result["entry"] = entries
    return result
