"""Tests for :mod:`outcomes.fhir`: reading and writing FHIR R4 QuestionnaireResponse,
Observation and Bundle resources.

Fixtures in ``tests/reference/fhir/`` are written by hand to the shapes real systems emit
(no patient data; identifiers are invented):

* ``lhc_forms_phq9.json``: LHC-Forms output for LOINC 44249-1. ``linkId`` is the item code
  path (``"/44250-9"``), answers are ``valueCoding`` with ``system``, ``code`` and ``display``,
  the calculated total ``/44261-6`` is a ``valueDecimal``, and item 10 is answered with
  LA6575-0 "Very difficult".
* ``sdc_gad7_groups.json``: an SDC-style GAD-7 in nested groups, every coding carrying the
  ``ordinalValue`` extension, one answer coded only in a local code system (so only the
  ordinal gives its value), the total as ``valueQuantity``, and a questionnaire canonical that
  does not name the LOINC panel (the instrument comes from the item codes).
* ``ehr_phq9_value_integer.json``: an EHR flowsheet export with bare LOINC ``linkId`` and
  ``valueInteger`` answers; item 5 is unanswered and the sender's total (10) is the plain
  sum of the answered items, where the spec prorates to 11.
* ``form_builder_phq9_item_code.json``: a form-builder export with opaque ``linkId`` (``q1``,
  ``Xk8pQ2``) and the LOINC codes in the non-standard ``item.code``, codes without ``system``,
  a PHQ-2 total and unrelated items mixed in.
* ``searchset_bundle.json``: a server's ``searchset`` Bundle holding a PHQ-9 and a GAD-7
  response (the GAD-7 ordinals in the older ``iso21090-CO-value`` extension), a total
  Observation, an included Patient and an OperationOutcome.

LOINC codes are those of ``shared/clinical/scoring-spec.md`` §5. PHQ-9 item 10 answer codes
follow LOINC's answer list order (LA6572-7, LA6573-5, LA6575-0, LA6574-3), as in the LOINC
derived answerOption lists of the MII PRO implementation guide PHQ-9 Questionnaire.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.errors import FhirError, UnknownInstrumentError
from outcomes.fhir import (
    Administration,
    ParsedResponse,
    parse_bundle,
    parse_questionnaire_response,
    patient_bundle,
    questionnaire_response,
    total_observation,
)
from outcomes.fhir.codes import ORDINAL_VALUE_URL
from outcomes.instruments import INSTRUMENTS, Instrument, get_instrument
from outcomes.scoring import score

FIXTURES = Path(__file__).resolve().parents[1] / "reference" / "fhir"
LOINC = "http://loinc.org"
AUTHORED = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
SUBJECT = "Patient/pat-1"

PHQ9_CODES = (
    "44250-9",
    "44255-8",
    "44259-0",
    "44254-1",
    "44251-7",
    "44258-2",
    "44252-5",
    "44253-3",
    "44260-8",
)
GAD7_CODES = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")
ANSWER_CODES = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def as_json(model: QuestionnaireResponse | Observation | Bundle) -> dict[str, Any]:
    """The resource as a receiver sees it: serialised to JSON text and parsed back."""
    data: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
    return data


def full_items(instrument: Instrument, items: Mapping[str, int | None]) -> dict[str, int | None]:
    return {key: items.get(key) for key in instrument.item_keys}


def all_answered(instrument: Instrument, value: int) -> dict[str, int | None]:
    return dict.fromkeys(instrument.item_keys, value)


def phq9_response(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A minimal R4 PHQ-9 QuestionnaireResponse holding the given items."""
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "authored": "2024-03-01T09:30:00-05:00",
        "subject": {"reference": SUBJECT},
        "item": list(items),
    }
    resource.update(fields)
    return resource


def coded(link_id: str, value: int, **coding: Any) -> dict[str, Any]:
    """An item answered with a LOINC answer code (``coding`` overrides or adds fields)."""
    answer = {"system": LOINC, "code": ANSWER_CODES[value], **coding}
    return {"linkId": link_id, "answer": [{"valueCoding": answer}]}


def valued(link_id: str, **value: Any) -> dict[str, Any]:
    return {"linkId": link_id, "answer": [value]}


# --------------------------------------------------------------------------------------------
# Round trips: parse(build(x)) gives x back, for every instrument
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
@pytest.mark.parametrize("fill", ["min", "max", "none"])
def test_round_trip_each_instrument(instrument: Instrument, fill: str) -> None:
    """Every instrument survives build -> JSON -> parse with instrument, answers, time, subject."""
    if fill == "none":
        items: dict[str, int | None] = dict.fromkeys(instrument.item_keys)
    else:
        value = instrument.min_value if fill == "min" else instrument.max_value
        items = all_answered(instrument, value)

    built = questionnaire_response(
        instrument.id, items, authored=AUTHORED, subject=SUBJECT, id="r1"
    )
    parsed = parse_questionnaire_response(as_json(built))

    assert parsed.instrument == instrument.id
    assert parsed.items == items
    assert parsed.authored == AUTHORED
    assert parsed.authored is not None and parsed.authored.utcoffset() == timedelta(hours=-5)
    assert parsed.authored_date == date(2024, 3, 1)
    assert parsed.subject == SUBJECT
    assert parsed.id == "r1"
    assert parsed.status == "completed"
    assert parsed.reported_total is None
    assert parsed.score == score(instrument.id, items)
    assert parsed.total_mismatch is False


def _answers(instrument: Instrument) -> st.SearchStrategy[dict[str, int | None]]:
    values = st.none() | st.integers(instrument.min_value, instrument.max_value)
    return st.fixed_dictionaries(dict.fromkeys(instrument.item_keys, values))


_ROUND_TRIP_CASES = st.sampled_from(INSTRUMENTS).flatmap(
    lambda instrument: st.tuples(st.just(instrument), _answers(instrument))
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    case=_ROUND_TRIP_CASES,
    authored=st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
        ),
    ),
    subject=st.from_regex(r"Patient/[A-Za-z0-9\-.]{1,20}", fullmatch=True),
)
def test_round_trip_property(
    case: tuple[Instrument, dict[str, int | None]], authored: datetime, subject: str
) -> None:
    """Any in-range answers (with any gaps), any aware time and any patient id round-trip."""
    instrument, items = case
    built = questionnaire_response(instrument, items, authored=authored, subject=subject)
    parsed = parse_questionnaire_response(as_json(built))
    assert (parsed.instrument, parsed.items, parsed.authored, parsed.subject) == (
        instrument.id,
        items,
        authored,
        subject,
    )
    assert parsed.authored_date == authored.date()


def test_parse_accepts_model_dump_as_well_as_json() -> None:
    items = all_answered(get_instrument("gad7"), 2)
    built = questionnaire_response("gad7", items, authored=AUTHORED, subject=SUBJECT)
    parsed = parse_questionnaire_response(built.model_dump(mode="json", exclude_none=True))
    assert parsed.items == items


# --------------------------------------------------------------------------------------------
# What is written
# --------------------------------------------------------------------------------------------


def test_phq9_is_written_the_loinc_way() -> None:
    """LOINC 44249-1 canonical, item codes as linkId, LA answer codes with ordinalValue."""
    items = {f"phq9_{n}": (n - 1) % 4 for n in range(1, 10)} | {"phq9_10": 2}
    data = as_json(questionnaire_response("phq9", items, authored=AUTHORED, subject=SUBJECT))

    assert data["questionnaire"] == "http://loinc.org/q/44249-1"
    assert data["status"] == "completed"
    assert data["subject"] == {"reference": SUBJECT}
    assert data["authored"] == "2024-03-01T09:30:00-05:00"
    assert [item["linkId"] for item in data["item"]] == [*PHQ9_CODES, "69722-7"]
    first = data["item"][1]["answer"][0]["valueCoding"]
    assert first == {
        "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": 1}],
        "system": LOINC,
        "code": "LA6569-3",
        "display": "Several days",
    }
    assert data["item"][0]["text"] == "Little interest or pleasure in doing things"
    item10 = data["item"][9]["answer"][0]["valueCoding"]
    assert (item10["code"], item10["display"]) == ("LA6575-0", "Very difficult")
    # The total is derived and belongs in the Observation, not in the response.
    assert all(item["linkId"] != "44261-6" for item in data["item"])


@pytest.mark.parametrize(
    ("value", "code", "display"),
    [
        (0, "LA6572-7", "Not difficult at all"),
        (1, "LA6573-5", "Somewhat difficult"),
        (2, "LA6575-0", "Very difficult"),
        (3, "LA6574-3", "Extremely difficult"),
    ],
)
def test_phq9_item10_answer_codes(value: int, code: str, display: str) -> None:
    """Item 10 has its own LOINC answers, in LOINC's order (LA6575-0 before LA6574-3)."""
    data = as_json(
        questionnaire_response("phq9", {"phq9_10": value}, authored=AUTHORED, subject=SUBJECT)
    )
    coding = data["item"][0]["answer"][0]["valueCoding"]
    assert (coding["code"], coding["display"]) == (code, display)
    del coding["extension"]  # the code alone must give the value back
    assert parse_questionnaire_response(data).items["phq9_10"] == value


def test_instrument_without_loinc_codes_uses_item_keys_and_value_integer() -> None:
    items = {"qids_1": 2, "qids_12": 0}
    data = as_json(questionnaire_response("qids_sr16", items, authored=AUTHORED, subject=SUBJECT))
    assert data["questionnaire"] == "urn:clinic:outcomes:questionnaire:qids_sr16"
    assert data["item"] == [
        {"linkId": "qids_1", "text": "sleep-onset insomnia", "answer": [{"valueInteger": 2}]},
        {
            "linkId": "qids_12",
            "text": "thoughts of death or suicide",
            "answer": [{"valueInteger": 0}],
        },
    ]


def test_unanswered_items_are_left_out() -> None:
    data = as_json(
        questionnaire_response(
            "gad7", {"gad7_1": 1, "gad7_2": None}, authored=AUTHORED, subject=SUBJECT
        )
    )
    assert [item["linkId"] for item in data["item"]] == ["69725-0"]


@pytest.mark.parametrize(
    ("items", "authored", "message"),
    [
        ({"phq9_1": 4}, AUTHORED, r"phq9_1 is 4, outside 0-3"),
        ({"phq9_1": -1}, AUTHORED, r"phq9_1 is -1, outside 0-3"),
        ({"phq9_1": True}, AUTHORED, r"phq9_1 is True; answers to write must be whole numbers"),
        ({"phq9_1": 1.0}, AUTHORED, r"phq9_1 is 1\.0; answers to write must be whole numbers"),
        ({"phq9_1": "2"}, AUTHORED, r"phq9_1 is '2'; answers to write must be whole numbers"),
        ({"phq9_1": 1}, datetime(2024, 3, 1, 9, 30), r"authored .* has no time zone"),
    ],
)
def test_building_refuses_what_cannot_be_written(
    items: dict[str, Any], authored: datetime, message: str
) -> None:
    with pytest.raises(FhirError, match=message):
        questionnaire_response("phq9", items, authored=authored, subject=SUBJECT)


def test_building_an_unknown_instrument_names_the_known_ones() -> None:
    with pytest.raises(UnknownInstrumentError, match="known instruments are: phq9, gad7"):
        questionnaire_response("bdi2", {}, authored=AUTHORED, subject=SUBJECT)


# --------------------------------------------------------------------------------------------
# Total Observation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "system", "code"),
    [
        ("phq9", LOINC, "44261-6"),
        ("gad7", LOINC, "70274-6"),
        ("qids_sr16", "urn:clinic:outcomes", "qids_sr16_total"),
        ("madrs", "urn:clinic:outcomes", "madrs_total"),
        ("pcl5", "urn:clinic:outcomes", "pcl5_total"),
    ],
)
def test_total_observation_codes_and_value(instrument: str, system: str, code: str) -> None:
    spec = get_instrument(instrument)
    items = all_answered(spec, 1)
    expected = score(instrument, items).total
    observation = total_observation(
        instrument,
        items,
        authored=AUTHORED,
        subject=SUBJECT,
        derived_from="QuestionnaireResponse/r1",
        id="o1",
    )
    data = as_json(observation)

    assert data["resourceType"] == "Observation"
    assert data["id"] == "o1"
    assert data["status"] == "final"
    assert data["category"][0]["coding"][0]["code"] == "survey"
    assert data["category"][0]["coding"][0]["system"] == (
        "http://terminology.hl7.org/CodeSystem/observation-category"
    )
    assert data["code"]["coding"][0]["system"] == system
    assert data["code"]["coding"][0]["code"] == code
    assert data["valueQuantity"]["value"] == expected
    assert data["valueQuantity"]["code"] == "{score}"
    assert data["subject"] == {"reference": SUBJECT}
    assert data["effectiveDateTime"] == "2024-03-01T09:30:00-05:00"
    assert data["derivedFrom"] == [{"reference": "QuestionnaireResponse/r1"}]
    assert "note" not in data
    Observation.model_validate(data)


def test_total_observation_accepts_a_score_and_notes_proration() -> None:
    """Two missing PHQ-9 items are prorated (spec §2.1); the Observation says so."""
    items = {f"phq9_{n}": 2 for n in range(1, 8)}
    result = score("phq9", items)
    assert result.total == 18 and "prorated" in result.flags
    data = as_json(total_observation("phq9", result, authored=AUTHORED, subject=SUBJECT))
    assert data["valueQuantity"]["value"] == 18
    assert "Prorated" in data["note"][0]["text"]
    assert "derivedFrom" not in data


def test_total_observation_refuses_an_invalid_record() -> None:
    """Three missing PHQ-9 items make the record invalid (spec §2.1): there is no total."""
    items = {f"phq9_{n}": 1 for n in range(1, 7)}
    with pytest.raises(FhirError, match=r"invalid PHQ-9 record: .*missing"):
        total_observation("phq9", items, authored=AUTHORED, subject=SUBJECT)


def test_total_observation_refuses_an_instrument_without_total() -> None:
    with pytest.raises(FhirError, match="has no total score"):
        total_observation(
            "cssrs_screen",
            {"cssrs_1": 0, "cssrs_2": 0, "cssrs_6": 0},
            authored=AUTHORED,
            subject=SUBJECT,
        )


# --------------------------------------------------------------------------------------------
# Bundles
# --------------------------------------------------------------------------------------------


def test_patient_bundle_round_trip() -> None:
    """QuestionnaireResponse + total Observation per administration; parse_bundle reads back."""
    phq9 = get_instrument("phq9")
    administrations = [
        Administration("phq9", all_answered(phq9, 2), AUTHORED),
        ("gad7", {"gad7_1": 1}, AUTHORED + timedelta(days=7)),  # invalid: 6 of 7 missing
        ("cssrs_screen", {"cssrs_1": 1, "cssrs_2": 0, "cssrs_6": 0}, AUTHORED),
    ]
    bundle = patient_bundle(administrations, subject=SUBJECT)
    data = as_json(bundle)
    Bundle.model_validate(data)

    assert data["type"] == "collection"
    assert "timestamp" not in data
    kinds = [entry["resource"]["resourceType"] for entry in data["entry"]]
    # Only the valid PHQ-9 has a total; the invalid GAD-7 and the C-SSRS travel as answers only.
    assert kinds == [
        "QuestionnaireResponse",
        "Observation",
        "QuestionnaireResponse",
        "QuestionnaireResponse",
    ]
    response_url = data["entry"][0]["fullUrl"]
    assert response_url.startswith("urn:uuid:")
    observation = data["entry"][1]["resource"]
    assert observation["derivedFrom"] == [{"reference": response_url}]
    assert observation["valueQuantity"]["value"] == 18
    assert len({entry["fullUrl"] for entry in data["entry"]}) == 4

    parsed = parse_bundle(data)
    assert [(p.instrument, p.authored, p.subject) for p in parsed] == [
        (instrument, authored, SUBJECT) for instrument, _, authored in administrations
    ]
    assert [p.items for p in parsed] == [
        full_items(get_instrument(instrument), items) for instrument, items, _ in administrations
    ]


def test_patient_bundle_is_deterministic() -> None:
    """The same administrations give the same Bundle (fullUrls are UUID5, not random)."""
    administrations = [("phq9", {"phq9_1": 1}, AUTHORED)]
    first = as_json(patient_bundle(administrations, subject=SUBJECT))
    second = as_json(patient_bundle(administrations, subject=SUBJECT))
    assert first == second
    other = as_json(patient_bundle(administrations, subject="Patient/someone-else"))
    assert other["entry"][0]["fullUrl"] != first["entry"][0]["fullUrl"]


def test_patient_bundle_timestamp_and_empty() -> None:
    stamp = datetime(2024, 8, 1, 12, 0, tzinfo=UTC)
    data = as_json(patient_bundle([], subject=SUBJECT, timestamp=stamp))
    assert data == {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": "2024-08-01T12:00:00Z",
    }
    assert parse_bundle(data) == []


def test_patient_bundle_leads_with_a_patient_holding_the_phone_as_telecom() -> None:
    """Issue 11: the patient's contact phone travels as ``Patient.telecom`` (system phone),
    valid for fhir.resources; the questionnaires read back as before, the Patient skipped."""
    administrations = [("phq9", all_answered(get_instrument("phq9"), 1), AUTHORED)]
    data = as_json(patient_bundle(administrations, subject=SUBJECT, phone="+1 (212) 555-0106"))
    Bundle.model_validate(data)
    kinds = [entry["resource"]["resourceType"] for entry in data["entry"]]
    assert kinds == ["Patient", "QuestionnaireResponse", "Observation"]
    patient = Patient.model_validate(data["entry"][0]["resource"])
    assert patient.telecom is not None and patient.identifier is not None
    assert [(t.system, t.value) for t in patient.telecom] == [("phone", "+1 (212) 555-0106")]
    assert [i.value for i in patient.identifier] == [SUBJECT.removeprefix("Patient/")]
    assert data["entry"][0]["fullUrl"].startswith("urn:uuid:")
    assert len({entry["fullUrl"] for entry in data["entry"]}) == 3
    assert [p.subject for p in parse_bundle(data)] == [SUBJECT]
    # Without a phone, no Patient entry: the Bundle is what it was.
    without = as_json(patient_bundle(administrations, subject=SUBJECT))
    assert without["entry"] == data["entry"][1:]


def test_patient_bundle_refuses_a_duplicate_administration() -> None:
    administrations = [("phq9", {"phq9_1": 1}, AUTHORED), ("phq9", {"phq9_1": 2}, AUTHORED)]
    with pytest.raises(FhirError, match=r"two PHQ-9 administrations .* exported once"):
        patient_bundle(administrations, subject=SUBJECT)


# --------------------------------------------------------------------------------------------
# Real-shaped examples
# --------------------------------------------------------------------------------------------


def _phq9(values: list[int | None], item10: int | None = None) -> dict[str, int | None]:
    return {f"phq9_{n}": v for n, v in enumerate(values, start=1)} | {"phq9_10": item10}


def _gad7(values: list[int | None]) -> dict[str, int | None]:
    return {f"gad7_{n}": v for n, v in enumerate(values, start=1)}


@pytest.mark.parametrize(
    ("fixture", "instrument", "items", "authored", "subject", "reported", "total", "mismatch"),
    [
        pytest.param(
            "lhc_forms_phq9.json",
            "phq9",
            _phq9([1, 2, 1, 0, 1, 2, 1, 0, 1], item10=2),
            datetime(2024, 5, 14, 15, 2, 11, 508000, tzinfo=UTC),
            "Patient/pat-1001",
            9,
            9,
            False,
            id="lhc-forms",
        ),
        pytest.param(
            "sdc_gad7_groups.json",
            "gad7",
            _gad7([1, 1, 2, 1, 0, 1, 2]),
            datetime(2024, 6, 3, 10, 45, tzinfo=timezone(timedelta(hours=2))),
            "Patient/pat-1002",
            8,
            8,
            False,
            id="sdc-groups-ordinal",
        ),
        pytest.param(
            "ehr_phq9_value_integer.json",
            "phq9",
            _phq9([2, 2, 1, 1, None, 2, 1, 1, 0]),
            datetime(2024, 4, 22, 8, 17, tzinfo=timezone(timedelta(hours=-5))),
            "Patient/eXz1ab2Cd3",
            10,
            11,  # 10 * 9 / 8 = 11.25 -> 11 (spec §1.4 proration)
            True,
            id="ehr-value-integer",
        ),
        pytest.param(
            "form_builder_phq9_item_code.json",
            "phq9",
            _phq9([0, 0, 1, 0, 0, 0, 1, 0, 0]),
            datetime(2024, 7, 9, 19, 22, 41, 3000, tzinfo=UTC),
            "Patient/4f2b9c1a",
            2,
            2,
            False,
            id="item-code-opaque-linkid",
        ),
    ],
)
def test_real_shaped_examples(
    fixture: str,
    instrument: str,
    items: dict[str, int | None],
    authored: datetime,
    subject: str,
    reported: int,
    total: int,
    mismatch: bool,
) -> None:
    resource = load(fixture)
    before = copy.deepcopy(resource)
    parsed = parse_questionnaire_response(resource)

    assert resource == before  # the caller's mapping is not modified
    assert parsed.instrument == instrument
    assert parsed.items == items
    assert parsed.authored == authored
    assert parsed.subject == subject
    assert parsed.reported_total == reported
    assert parsed.total == total
    assert parsed.total_mismatch is mismatch


def test_real_shaped_bundle() -> None:
    """Only the two QuestionnaireResponses are read; Observation, Patient, outcome skipped."""
    parsed = parse_bundle(load("searchset_bundle.json"))
    assert [(p.instrument, p.id, p.subject) for p in parsed] == [
        ("phq9", "qr-201", "Patient/pat-1003"),
        ("gad7", "qr-202", "Patient/pat-1003"),
    ]
    assert parsed[0].items == _phq9([3, 3, 2, 2, 2, 3, 2, 1, 1])
    assert parsed[0].total == 19
    assert "phq9_item9_positive" in parsed[0].score.flags
    assert parsed[1].items == _gad7([2, 2, 2, 1, 1, 2, 1])  # iso21090-CO-value ordinals
    assert parsed[1].total == 11


def test_bundle_skips_unknown_resource_types() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "SomethingNew", "whatever": 1}},
            {"fullUrl": "urn:uuid:0f3d0b53-2d3b-4b8e-9a57-9c1b6d0f2a11"},
            {"resource": phq9_response(coded("44250-9", 1))},
        ],
    }
    assert [p.items["phq9_1"] for p in parse_bundle(bundle)] == [1]


# --------------------------------------------------------------------------------------------
# Ways of identifying items and reading answers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        coded("44250-9", 2),
        coded("/44250-9", 2),
        coded("/44249-1/44250-9", 2),
        coded("phq9_1", 2),
        coded("q1", 2) | {"code": [{"system": LOINC, "code": "44250-9"}]},
        coded("q1", 2) | {"code": [{"code": "44250-9", "display": "Little interest"}]},
        coded("44250-9", 2) | {"code": [{"system": LOINC, "code": "44250-9"}]},
        {"linkId": "44250-9", "answer": [{"valueCoding": {"code": "LA6570-1"}}]},
        valued("44250-9", valueInteger=2),
        valued("44250-9", valueDecimal=2),
        valued("44250-9", valueDecimal=2.0),
        # The ordinal wins over the answer code (SDC ordinalValue).
        coded("44250-9", 0, extension=[{"url": ORDINAL_VALUE_URL, "valueDecimal": 2}]),
        coded(
            "44250-9",
            3,
            extension=[
                {"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 2}
            ],
        ),
        coded(
            "44250-9",
            1,
            extension=[
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
                    "valueDecimal": 2,
                }
            ],
        ),
        # A local code, readable only through its ordinal.
        {
            "linkId": "44250-9",
            "answer": [
                {
                    "valueCoding": {
                        "system": "http://clinic.example.org/answers",
                        "code": "more-than-half",
                        "extension": [{"url": ORDINAL_VALUE_URL, "valueInteger": 2}],
                    }
                }
            ],
        },
        # The ordinal on the answer element rather than on the coding.
        {
            "linkId": "44250-9",
            "answer": [
                {
                    "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": 2}],
                    "valueCoding": {"system": "http://clinic.example.org/answers", "code": "x"},
                }
            ],
        },
        # Nested in a group, and under another item's answer.
        {"linkId": "group", "item": [{"linkId": "inner", "item": [coded("44250-9", 2)]}]},
        {
            "linkId": "screen",
            "answer": [{"valueBoolean": True, "item": [coded("44250-9", 2)]}],
        },
    ],
)
def test_item_1_is_read_as_two(item: dict[str, Any]) -> None:
    parsed = parse_questionnaire_response(phq9_response(item))
    assert parsed.items["phq9_1"] == 2
    assert parsed.items["phq9_2"] is None


@pytest.mark.parametrize(
    "total_item",
    [
        valued("44261-6", valueInteger=5),
        valued("/44261-6", valueDecimal=5),
        valued("44261-6", valueQuantity={"value": 5, "unit": "{score}"}),
        valued("total", valueInteger=5) | {"code": [{"system": LOINC, "code": "44261-6"}]},
        valued("phq9_total", valueInteger=5),
    ],
)
def test_reported_total_is_read(total_item: dict[str, Any]) -> None:
    parsed = parse_questionnaire_response(phq9_response(total_item))
    assert parsed.reported_total == 5


@pytest.mark.parametrize(("reported", "mismatch"), [(9, False), (10, True), (0, True)])
def test_reported_total_is_checked_not_trusted(reported: int, mismatch: bool) -> None:
    """All nine items answered 1 sum to 9 (spec §2.1); a different reported total is flagged."""
    items = [coded(code, 1) for code in PHQ9_CODES]
    parsed = parse_questionnaire_response(
        phq9_response(*items, valued("44261-6", valueInteger=reported))
    )
    assert parsed.total == 9
    assert parsed.reported_total == reported
    assert parsed.total_mismatch is mismatch


def test_reported_total_on_an_invalid_record_is_a_mismatch() -> None:
    """Three missing PHQ-9 items: no valid total (spec §2.1), so any reported total disagrees."""
    items = [coded(code, 1) for code in PHQ9_CODES[:6]]
    parsed = parse_questionnaire_response(phq9_response(*items, valued("44261-6", valueInteger=6)))
    assert parsed.total is None and not parsed.score.valid
    assert parsed.total_mismatch is True


def test_instrument_from_items_when_questionnaire_is_opaque() -> None:
    parsed = parse_questionnaire_response(
        phq9_response(coded("69725-0", 3), questionnaire="Questionnaire/gad-7-clinic|3")
    )
    assert parsed.instrument == "gad7"
    assert parsed.items["gad7_1"] == 3


@pytest.mark.parametrize(
    ("questionnaire", "instrument"),
    [
        ("http://loinc.org/q/44249-1", "phq9"),
        ("http://loinc.org/q/69737-5|2.72", "gad7"),
        ("Questionnaire/44249-1-x", "phq9"),
        ("https://fhir.example.org/Questionnaire/69737-5", "gad7"),
        ("urn:clinic:outcomes:questionnaire:madrs", "madrs"),
        ("urn:clinic:outcomes:questionnaire:pcl5|1", "pcl5"),
    ],
)
def test_instrument_from_questionnaire_alone(questionnaire: str, instrument: str) -> None:
    """With no items at all, the canonical alone names the instrument; every item is missing."""
    resource = phq9_response(questionnaire=questionnaire)
    del resource["item"]
    parsed = parse_questionnaire_response(resource)
    assert parsed.instrument == instrument
    assert set(parsed.items.values()) == {None}


def test_unrelated_items_are_ignored() -> None:
    parsed = parse_questionnaire_response(
        phq9_response(
            valued("comment", valueString="felt better after the second infusion"),
            valued("55758-7", valueInteger=4),  # PHQ-2 total: not ours
            coded("44255-8", 1),
        )
    )
    assert parsed.items["phq9_2"] == 1


def test_unanswered_items_are_missing() -> None:
    parsed = parse_questionnaire_response(
        phq9_response({"linkId": "44250-9"}, {"linkId": "44255-8", "answer": []})
    )
    assert parsed.items["phq9_1"] is None and parsed.items["phq9_2"] is None


def test_out_of_range_answers_are_passed_to_scoring() -> None:
    """valueInteger 7 is readable; scoring then makes the record invalid (spec §1.2)."""
    parsed = parse_questionnaire_response(phq9_response(valued("44250-9", valueInteger=7)))
    assert parsed.items["phq9_1"] == 7
    assert parsed.score.valid is False


@pytest.mark.parametrize(
    ("authored", "expected", "expected_date"),
    [
        (
            "2024-03-01T09:30:00Z",
            datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
            date(2024, 3, 1),
        ),
        (
            "2024-03-01T23:30:00-05:00",
            datetime(2024, 3, 2, 4, 30, tzinfo=UTC),
            date(2024, 3, 1),  # the local date, not the UTC one
        ),
        ("2024-03-01", None, date(2024, 3, 1)),
    ],
)
def test_authored(authored: str, expected: datetime | None, expected_date: date) -> None:
    parsed = parse_questionnaire_response(phq9_response(authored=authored))
    assert parsed.authored == expected
    assert parsed.authored is None or parsed.authored.tzinfo is not None
    assert parsed.authored_date == expected_date


def test_no_authored_no_subject() -> None:
    resource = phq9_response(coded("44250-9", 1))
    del resource["authored"], resource["subject"]
    parsed = parse_questionnaire_response(resource)
    assert (parsed.authored, parsed.authored_date, parsed.subject) == (None, None, None)


def test_status_is_kept() -> None:
    parsed = parse_questionnaire_response(phq9_response(status="entered-in-error"))
    assert parsed.status == "entered-in-error"


# --------------------------------------------------------------------------------------------
# Unreadable input: FhirError saying what and where
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        pytest.param([], r"JSON object \(mapping\), got list", id="not-a-mapping"),
        pytest.param(
            {"resourceType": "Observation", "status": "final"},
            r"expected resourceType 'QuestionnaireResponse', got 'Observation'",
            id="wrong-resource-type",
        ),
        pytest.param(
            {k: v for k, v in phq9_response().items() if k != "status"},
            r"not a valid FHIR R4 QuestionnaireResponse: status: .*required",
            id="missing-status",
        ),
        pytest.param(
            phq9_response(status="done"),
            r"status 'done' is not an R4 status; expected one of .*completed",
            id="invented-status",
        ),
        pytest.param(
            phq9_response(authored="2024-03-01T09:30:00"),
            r"authored '2024-03-01T09:30:00' has a time but no time zone",
            id="time-without-zone",
        ),
        pytest.param(
            phq9_response(authored="2024-03"),
            r"authored '2024-03' gives only a year or a month",
            id="month-precision",
        ),
        pytest.param(
            phq9_response(coded("44250-9", 1) | {"score": 1}),
            r"item\[0\]\.score \(in linkId '44250-9'\): Extra inputs are not permitted",
            id="unknown-element-still-rejected",
        ),
        pytest.param(
            phq9_response({"linkId": "g", "item": [{"answer": [{"valueInteger": 1}]}]}),
            r"item\[0\]\.item\[0\]\.linkId \(in linkId 'g'\): .*required",
            id="nested-item-without-linkId",
        ),
        pytest.param(
            phq9_response(valued("q1", valueInteger=1), questionnaire="Questionnaire/my-form"),
            r"cannot tell which instrument this is: questionnaire 'Questionnaire/my-form' names "
            r"no known LOINC panel \(44249-1 \(PHQ-9\), 69737-5 \(GAD-7\)\)",
            id="unknown-instrument",
        ),
        pytest.param(
            phq9_response(coded("/44250-9", 1, code="LA6572-7")),
            r"linkId '/44250-9' \(item\[0\]\): answer code 'LA6572-7' .* not a recognised "
            r"answer to phq9_1; expected one of LA6568-5 \(0\)",
            id="answer-code-of-another-list",
        ),
        pytest.param(
            phq9_response(coded("44250-9", 1, system="http://snomed.info/sct", code="LA6569-3")),
            r"answer code 'LA6569-3' \(system 'http://snomed.info/sct'\) is not a recognised",
            id="answer-code-in-another-system",
        ),
        pytest.param(
            phq9_response(valued("44255-8", valueDecimal=1.5)),
            r"linkId '44255-8' \(item\[0\]\): valueDecimal is 1\.5, not a whole number",
            id="fractional-valueDecimal",
        ),
        pytest.param(
            phq9_response(
                coded("44255-8", 1, extension=[{"url": ORDINAL_VALUE_URL, "valueDecimal": 0.5}])
            ),
            r"linkId '44255-8' .*ordinalValue valueDecimal is 0\.5, not a whole number",
            id="fractional-ordinal",
        ),
        pytest.param(
            phq9_response(valued("44255-8", valueInteger=True)),
            r"linkId '44255-8' \(item\[0\]\): valueInteger is true, not a whole number",
            id="boolean-valueInteger",
        ),
        pytest.param(
            phq9_response(valued("44255-8", valueInteger="2")),
            r"linkId '44255-8' \(item\[0\]\): valueInteger is \"2\", not a whole number",
            id="string-valueInteger",
        ),
        pytest.param(
            phq9_response(valued("44255-8", valueString="2")),
            r"linkId '44255-8' \(item\[0\]\): answer has valueString; a PHQ-9 answer must be",
            id="valueString",
        ),
        pytest.param(
            phq9_response(
                {"linkId": "44255-8", "answer": [{"valueInteger": 1}, {"valueInteger": 2}]}
            ),
            r"linkId '44255-8' \(item\[0\]\): 2 answers; each PHQ-9 item takes exactly one",
            id="two-answers",
        ),
        pytest.param(
            phq9_response(
                coded("44250-9", 1),
                {"linkId": "grp", "item": [coded("q7", 2) | {"code": [{"code": "44250-9"}]}]},
            ),
            r"phq9_1 appears twice, at linkId '44250-9' \(item\[0\]\) and at linkId 'q7' "
            r"\(item\[1\]\.item\[0\]\)",
            id="duplicated-item",
        ),
        pytest.param(
            phq9_response(valued("44261-6", valueInteger=3), valued("/44261-6", valueInteger=3)),
            r"the PHQ-9 total appears twice",
            id="duplicated-total",
        ),
        pytest.param(
            phq9_response(valued("44261-6", valueString="3")),
            r"linkId '44261-6' \(item\[0\]\): the PHQ-9 total has valueString",
            id="total-as-string",
        ),
        pytest.param(
            phq9_response(valued("44261-6", valueDecimal=4.5)),
            r"PHQ-9 total valueDecimal is 4\.5, not a whole number",
            id="fractional-total",
        ),
        pytest.param(
            phq9_response(coded("44250-9", 1) | {"code": [{"system": LOINC, "code": "44255-8"}]}),
            r"linkId '44250-9' \(item\[0\]\) is ambiguous: code '44255-8' means phq9 item "
            r"phq9_2, linkId '44250-9' means phq9 item phq9_1",
            id="code-and-linkId-disagree",
        ),
        pytest.param(
            phq9_response(
                coded("44250-9", 1), coded("69725-0", 1), questionnaire="Questionnaire/x"
            ),
            r"items of more than one instrument in one QuestionnaireResponse: PHQ-9 .*GAD-7",
            id="two-instruments-by-items",
        ),
        pytest.param(
            phq9_response(coded("44250-9", 1), coded("69725-0", 1)),
            r"questionnaire 'http://loinc.org/q/44249-1' is PHQ-9, but linkId '69725-0' "
            r"\(item\[1\]\) is a GAD-7 item",
            id="foreign-item-for-named-questionnaire",
        ),
    ],
)
def test_unreadable_input_raises(resource: Any, message: str) -> None:
    with pytest.raises(FhirError, match=message):
        parse_questionnaire_response(resource)


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        pytest.param(
            phq9_response(), r"expected resourceType 'Bundle', got 'QuestionnaireResponse'", id="qr"
        ),
        pytest.param(
            {"resourceType": "Bundle", "entry": []},
            r"not a valid FHIR R4 Bundle: type: .*required",
            id="no-type",
        ),
        pytest.param(
            {"resourceType": "Bundle", "type": "collection", "entry": {"resource": {}}},
            r"Bundle\.entry must be a list, got dict",
            id="entry-not-a-list",
        ),
        pytest.param(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {"resource": phq9_response(coded("44250-9", 1))},
                    {
                        "fullUrl": "urn:uuid:4b1e5b9e-7a43-4d8e-9d6c-0b3f1f1a2c33",
                        "resource": phq9_response(valued("44250-9", valueDecimal=0.5)),
                    },
                ],
            },
            r"Bundle entry\[1\] \(fullUrl 'urn:uuid:4b1e5b9e-7a43-4d8e-9d6c-0b3f1f1a2c33'\): "
            r"linkId '44250-9' \(item\[0\]\): valueDecimal is 0\.5",
            id="bad-response-inside",
        ),
    ],
)
def test_unreadable_bundle_raises(resource: Any, message: str) -> None:
    with pytest.raises(FhirError, match=message):
        parse_bundle(resource)


def test_fhir_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_questionnaire_response({"resourceType": "Patient"})


def test_parsed_response_is_frozen() -> None:
    parsed = parse_questionnaire_response(phq9_response(coded("44250-9", 1)))
    assert isinstance(parsed, ParsedResponse)
    with pytest.raises(AttributeError):
        parsed.instrument = "gad7"  # type: ignore[misc]
