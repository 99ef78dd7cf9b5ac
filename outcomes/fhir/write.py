"""Write questionnaire administrations as FHIR R4 resources.

An administration travels as a ``QuestionnaireResponse`` (the item answers, which are the
source of truth) and, when the instrument has a sum score, a total-score ``Observation``
``derivedFrom`` it. Several of one patient's administrations travel as a ``collection``
``Bundle`` (:func:`patient_bundle`), led by a ``Patient`` entry with their contact phone
(``telecom``) where one is recorded (:func:`patient_contact`).

PHQ-9 and GAD-7 are written the LOINC way: ``questionnaire`` ``http://loinc.org/q/<panel>``,
the item code as ``linkId``, answers as ``valueCoding`` (``http://loinc.org``, the ``LA``
code, its display) with the ordinal in an ``ordinalValue`` extension, so that a reader that
knows neither LOINC answer codes nor our library can still sum the answers. The other
instruments have no verified LOINC codes (scoring-spec §5), so they are written with our item
keys as ``linkId``, ``valueInteger`` answers and the canonical
``urn:clinic:outcomes:questionnaire:<id>``; their totals use the code system
``urn:clinic:outcomes`` with code ``<id>_total``.

References
----------
.. [1] HL7 FHIR R4 (4.0.1), QuestionnaireResponse.
   https://hl7.org/fhir/R4/questionnaireresponse.html
.. [2] HL7 FHIR R4 (4.0.1), Observation and Bundle. https://hl7.org/fhir/R4/observation.html,
   https://hl7.org/fhir/R4/bundle.html
.. [3] HL7 FHIR R4 (4.0.1), Patient.telecom and ContactPoint.
   https://hl7.org/fhir/R4/patient.html, https://hl7.org/fhir/R4/datatypes.html#ContactPoint
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from outcomes.errors import FhirError
from outcomes.fhir.codes import (
    LOCAL_CODE_SYSTEM,
    LOINC_SYSTEM,
    OBSERVATION_CATEGORY_SYSTEM,
    ORDINAL_VALUE_URL,
    TOTAL_DISPLAY,
    UCUM_SYSTEM,
    UUID_NAMESPACE,
    answer_codes,
    canonical,
)
from outcomes.fhir.validation import validate
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import Rules
from outcomes.scoring import PRORATED, Score, score

__all__ = [
    "Administration",
    "patient_bundle",
    "patient_contact",
    "questionnaire_response",
    "total_observation",
]


class Administration(NamedTuple):
    """One administration to export with :func:`patient_bundle` (a plain tuple works too)."""

    instrument: str
    items: Mapping[str, int | None]
    authored: datetime


def questionnaire_response(
    instrument: str | Instrument,
    items: Mapping[str, int | None],
    *,
    authored: datetime,
    subject: str,
    id: str | None = None,
) -> QuestionnaireResponse:
    """Write one administration as a FHIR R4 ``QuestionnaireResponse``.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    items : Mapping of str to int or None
        Item key to answer. ``None`` and absent keys are unanswered and are left out of the
        resource; keys the instrument does not define are ignored (scoring-spec §1.1).
    authored : datetime
        When the answers were given; must be timezone-aware (a FHIR dateTime with a time must
        carry a zone).
    subject : str
        Reference to the patient, for example ``"Patient/123"``.
    id : str, optional
        Logical id of the resource.

    Returns
    -------
    QuestionnaireResponse
        A validated ``fhir.resources`` model with status ``completed``. PHQ-9 and GAD-7 use
        the LOINC panel canonical ``http://loinc.org/q/<panel>``, LOINC item codes as
        ``linkId`` and answers as LOINC ``valueCoding`` with display and an
        ``ordinalValue`` extension; other instruments use ``urn:clinic:outcomes:
        questionnaire:<id>``, item keys as ``linkId`` and ``valueInteger``. No total is
        written here: the total is derived, and goes in :func:`total_observation`.

    Raises
    ------
    FhirError
        For a naive ``authored``, or an answer that is not a whole number inside the
        instrument's range (there is no answer code to write for it).
    UnknownInstrumentError
        For an unknown instrument id.

    References
    ----------
    .. [1] HL7 FHIR R4 QuestionnaireResponse, https://hl7.org/fhir/R4/questionnaireresponse.html
    .. [2] LOINC 44249-1 (PHQ-9) and 69737-5 (GAD-7) panels and answer list LL358-3.
    """
    spec = get_instrument(instrument)
    _require_aware(authored, "authored")
    answered = []
    for item in spec.items:
        value = items.get(item.key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise FhirError(
                f"{spec.name} {item.key} is {value!r}; answers to write must be whole numbers"
            )
        if not spec.min_value <= value <= spec.max_value:
            raise FhirError(
                f"{spec.name} {item.key} is {value}, outside {spec.min_value}-{spec.max_value}; "
                "correct the answer before exporting it"
            )
        entry: dict[str, Any] = {
            "linkId": item.loinc or item.key,
            "text": item.text or item.short_name,
        }
        if item.loinc is not None:
            code, display = answer_codes(spec, item.key)[value - spec.min_value]
            entry["answer"] = [
                {
                    "valueCoding": {
                        "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": value}],
                        "system": LOINC_SYSTEM,
                        "code": code,
                        "display": display,
                    }
                }
            ]
        else:
            entry["answer"] = [{"valueInteger": value}]
        answered.append(entry)

    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical(spec),
        "status": "completed",
        "subject": {"reference": subject},
        "authored": authored.isoformat(),
    }
    if id is not None:
        resource["id"] = id
    if answered:
        resource["item"] = answered
    return validate(QuestionnaireResponse, resource)


def total_observation(
    instrument: str | Instrument,
    answers: Mapping[str, int | None] | Score,
    *,
    authored: datetime,
    subject: str,
    derived_from: str | None = None,
    id: str | None = None,
    rules: Rules | None = None,
) -> Observation:
    """Write the total score of one administration as a FHIR R4 ``Observation``.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    answers : Mapping of str to int or None, or Score
        The item answers (scored here with :func:`outcomes.scoring.score`), or a
        :class:`~outcomes.scoring.Score` already computed for this instrument.
    authored : datetime
        When the answers were given (``effectiveDateTime``); must be timezone-aware.
    subject : str
        Reference to the patient, for example ``"Patient/123"``.
    derived_from : str, optional
        Reference to the ``QuestionnaireResponse`` the total was computed from (a relative
        reference such as ``"QuestionnaireResponse/1"`` or a Bundle ``urn:uuid:`` fullUrl).
    id : str, optional
        Logical id of the resource.
    rules : Rules, optional
        Rule settings used when ``answers`` are item answers.

    Returns
    -------
    Observation
        A validated model: status ``final``, category ``survey``, code LOINC 44261-6 (PHQ-9)
        or 70274-6 (GAD-7), otherwise ``urn:clinic:outcomes|<id>_total``; ``valueQuantity``
        with UCUM unit ``{score}``. A prorated total carries a ``note`` saying so.

    Raises
    ------
    FhirError
        If the instrument has no total (the C-SSRS screener) or the record is invalid (its
        total is ``None``); the message gives the scoring errors. Also for a naive
        ``authored``.

    References
    ----------
    .. [1] HL7 FHIR R4 Observation, https://hl7.org/fhir/R4/observation.html
    .. [2] LOINC 44261-6 "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]";
       70274-6 "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]".
    """
    spec = get_instrument(instrument)
    _require_aware(authored, "authored")
    if not spec.has_total:
        raise FhirError(
            f"{spec.name} has no total score, so there is no total Observation to write; export "
            "its QuestionnaireResponse alone"
        )
    result = answers if isinstance(answers, Score) else score(spec, answers, rules=rules)
    if result.total is None:
        reasons = "; ".join(result.errors) or "no total was computed"
        raise FhirError(
            f"cannot write a total Observation for an invalid {spec.name} record: {reasons}"
        )

    if spec.loinc_total is not None:
        coding = {
            "system": LOINC_SYSTEM,
            "code": spec.loinc_total,
            "display": TOTAL_DISPLAY.get(spec.loinc_total, f"{spec.name} total score"),
        }
    else:
        coding = {
            "system": LOCAL_CODE_SYSTEM,
            "code": f"{spec.id}_total",
            "display": f"{spec.name} total score",
        }
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": OBSERVATION_CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}
                ]
            }
        ],
        "code": {"coding": [coding], "text": f"{spec.name} total score"},
        "subject": {"reference": subject},
        "effectiveDateTime": authored.isoformat(),
        "valueQuantity": {
            "value": result.total,
            "unit": "{score}",
            "system": UCUM_SYSTEM,
            "code": "{score}",
        },
    }
    if id is not None:
        resource["id"] = id
    if derived_from is not None:
        resource["derivedFrom"] = [{"reference": derived_from}]
    if PRORATED in result.flags:
        resource["note"] = [
            {
                "text": (
                    "Prorated total: missing items were replaced by the mean of the answered "
                    "items (round half up)."
                )
            }
        ]
    return validate(Observation, resource)


def patient_contact(subject: str, *, phone: str) -> Patient:
    """The patient ``subject`` names, as a ``Patient`` resource holding their contact phone.

    Parameters
    ----------
    subject : str
        Reference to the patient, ``"Patient/<id>"``; the id becomes the resource's
        ``identifier`` (not its ``id``: a clinic's patient id may hold characters a FHIR
        ``id`` may not).
    phone : str
        The contact phone as recorded, written as ``telecom`` of ``system`` ``phone`` [3]_.

    Returns
    -------
    Patient
        Validated by ``fhir.resources``; nothing else about the patient (no name, no date
        of birth): the export carries what the clinic's questionnaires need, and the phone.
    """
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "telecom": [{"system": "phone", "value": phone}],
    }
    if subject.startswith("Patient/") and len(subject) > len("Patient/"):
        resource["identifier"] = [{"value": subject.removeprefix("Patient/")}]
    return validate(Patient, resource)


def patient_bundle(
    administrations: Iterable[Administration | tuple[str, Mapping[str, int | None], datetime]],
    *,
    subject: str,
    timestamp: datetime | None = None,
    rules: Rules | None = None,
    phone: str | None = None,
) -> Bundle:
    """Write one patient's administrations as a FHIR ``collection`` Bundle.

    Parameters
    ----------
    administrations : iterable of Administration or (instrument, items, authored)
        The administrations, in the order they should appear.
    subject : str
        Reference to the patient, for example ``"Patient/123"``; used for every resource.
    timestamp : datetime, optional
        When the Bundle was assembled (``Bundle.timestamp``); timezone-aware. Left out by
        default so that the same input always gives the same Bundle.
    rules : Rules, optional
        Rule settings used to compute the totals.
    phone : str, optional
        The patient's contact phone, where one is recorded.

    Returns
    -------
    Bundle
        With a phone, first a ``Patient`` entry (:func:`patient_contact`, fullUrl a UUID5
        of the subject). For each administration a ``QuestionnaireResponse`` entry and,
        when the instrument has a total and the record is valid, a total ``Observation``
        entry whose ``derivedFrom``
        is the response's fullUrl. fullUrls are ``urn:uuid:`` UUIDs derived (UUID5) from
        subject, instrument and authored time, so a re-export gives the same ids. Invalid
        records are exported with their answers only: the answers are the source of truth.

    Raises
    ------
    FhirError
        If two administrations share instrument and authored time (they would have the same
        fullUrl), or an administration cannot be written (see
        :func:`questionnaire_response`).

    References
    ----------
    .. [1] HL7 FHIR R4 Bundle (type ``collection``; fullUrl and resolving ``urn:uuid:``
       references inside a Bundle), https://hl7.org/fhir/R4/bundle.html
    """
    entries: list[dict[str, Any]] = []
    if phone is not None:
        entries.append(
            {
                "fullUrl": uuid.uuid5(UUID_NAMESPACE, subject).urn,
                "resource": patient_contact(subject, phone=phone).model_dump(
                    mode="json", exclude_none=True
                ),
            }
        )
    seen: set[uuid.UUID] = set()
    for instrument, items, authored in administrations:
        spec = get_instrument(instrument)
        _require_aware(authored, "authored")
        response_id = uuid.uuid5(UUID_NAMESPACE, f"{subject}|{spec.id}|{authored.isoformat()}")
        if response_id in seen:
            raise FhirError(
                f"two {spec.name} administrations for {subject} authored at "
                f"{authored.isoformat()}; each administration must be exported once"
            )
        seen.add(response_id)
        response = questionnaire_response(spec, items, authored=authored, subject=subject)
        entries.append(
            {
                "fullUrl": response_id.urn,
                "resource": response.model_dump(mode="json", exclude_none=True),
            }
        )
        result = score(spec, items, rules=rules)
        if spec.has_total and result.total is not None:
            observation = total_observation(
                spec, result, authored=authored, subject=subject, derived_from=response_id.urn
            )
            entries.append(
                {
                    "fullUrl": uuid.uuid5(response_id, "total").urn,
                    "resource": observation.model_dump(mode="json", exclude_none=True),
                }
            )

    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if timestamp is not None:
        _require_aware(timestamp, "timestamp")
        bundle["timestamp"] = timestamp.isoformat()
    if entries:
        bundle["entry"] = entries
    return validate(Bundle, bundle)


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise FhirError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FhirError(
            f"{name} {moment.isoformat()} has no time zone; FHIR requires one whenever a time is "
            "given. Pass an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)"
        )
