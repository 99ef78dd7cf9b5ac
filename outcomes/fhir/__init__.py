"""Read and write questionnaire administrations as HL7 FHIR R4 resources.

An administration travels as a ``QuestionnaireResponse`` (the item answers, which are the
source of truth) and, when the instrument has a sum score, a total-score ``Observation``
``derivedFrom`` it. Several of one patient's administrations travel as a ``collection``
``Bundle``.

Modules
-------
``read``
    :func:`parse_questionnaire_response`, :func:`parse_bundle` and :class:`ParsedResponse`:
    which instrument and item each response item is, whatever way the sender coded it; totals
    are recomputed, never trusted.
``answers``
    How one answer (a LOINC answer code, an ordinal extension, an integer) becomes a number.
``write``
    :func:`questionnaire_response`, :func:`total_observation`, :func:`patient_bundle` and
    :class:`Administration`.
``codes``
    Code systems, Questionnaire canonicals, answer codes and the linkId/code lookup tables.
``validation``
    Validation with ``fhir.resources`` (R4B models for R4 content) and errors that name places.

A new instrument needs nothing here: its item, total and panel LOINC codes (when verified) are
fields of its registry entry (:mod:`outcomes.instruments`), and without them it is written and
read with our own canonical and item keys.
"""

from outcomes.fhir.read import ParsedResponse, parse_bundle, parse_questionnaire_response
from outcomes.fhir.write import (
    Administration,
    patient_bundle,
    questionnaire_response,
    total_observation,
)

__all__ = [
    "Administration",
    "ParsedResponse",
    "parse_bundle",
    "parse_questionnaire_response",
    "patient_bundle",
    "questionnaire_response",
    "total_observation",
]
