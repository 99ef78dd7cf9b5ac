"""FHIR import and export: round trips, sender totals, refusals by entry and element."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from data.access import Actor
from data.errors import InvalidInput
from data.interchange.fhir_export import export_fhir_bundle
from data.interchange.fhir_read import import_fhir_bundle
from data.models import Assessment, Clinic, SafetyAlert
from tests.conftest import World
from tests.test_data.builders import _count, _history, _one_response_bundle, _problems


def test_a_fhir_export_imports_into_an_empty_clinic_unchanged(
    session: Session, world: World
) -> None:
    _history(session, world)
    bundle = export_fhir_bundle(session, actor=world.system_a)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]].count(
        "QuestionnaireResponse"
    ) == 4
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    clinic_c = Actor.system(empty.id)

    result = import_fhir_bundle(
        session, actor=clinic_c, source=io.StringIO(json.dumps(bundle)), create_patients=True
    )
    assert (result.imported, result.patients_created, result.warnings) == (4, 2, ())
    assert export_fhir_bundle(session, actor=clinic_c) == bundle
    # the positive item 9 twenty days ago is history by now; it still has its alert
    assert _count(session, SafetyAlert, clinic_id=empty.id) == 1


def test_fhir_totals_that_disagree_are_warnings_and_bad_entries_are_all_listed(
    session: Session, world: World
) -> None:
    _history(session, world)
    bundle = export_fhir_bundle(session, actor=world.system_a)
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    phq9 = next(r for r in responses if r["questionnaire"].endswith("44249-1"))
    phq9["item"].append({"linkId": "44261-6", "answer": [{"valueInteger": 27}]})
    draft = json.loads(json.dumps(phq9)) | {"status": "in-progress", "authored": "2025-02-01"}
    bundle["entry"].append({"resource": draft})
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()

    result = import_fhir_bundle(
        session, actor=Actor.system(empty.id), source=bundle, create_patients=True
    )
    assert result.imported == 4
    mismatch, draft_skipped = result.warnings
    assert mismatch.startswith("Bundle entry[0]: the PHQ-9 total reported by the sender differs")
    assert draft_skipped.startswith("Bundle entry[8]: status is not completed or amended")

    broken = json.loads(json.dumps(bundle))
    broken["entry"][0]["resource"]["item"][0]["answer"] = [{"valueString": "often"}]
    broken["entry"][2]["resource"]["subject"] = {"reference": "Group/7"}
    broken["entry"][4]["resource"]["item"][1]["answer"] = [{"valueInteger": 5}]
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=Actor.system(world.clinic_b), source=broken)
    labels = [p.split(":")[0] for p in refused.value.problems]
    assert labels[0] == "Bundle entry[0]" and "valueString" in refused.value.problems[0]
    assert {"Bundle entry[2]", "Bundle entry[4]"} <= set(labels)
    assert _count(session, Assessment, clinic_id=world.clinic_b) == 0


def test_fhir_refusals_name_the_entry_and_element_but_not_the_values(
    session: Session, world: World
) -> None:
    """Item 10 for FHIR: outcomes.fhir quotes what it read; an import's refusal does not."""
    bundle = _one_response_bundle("Patient/MRN-fhir-1")
    good = bundle["entry"][0]
    entries = [json.loads(json.dumps(good)) for _ in range(5)]
    entries[0]["resource"]["status"] = "secret-status"
    entries[0]["fullUrl"] = "urn:uuid:secret-url"
    entries[1]["resource"]["authored"] = "2024-03-01T09:30:00"
    entries[2]["resource"]["authored"] = "2024-03"
    entries[3]["resource"]["item"][0]["answer"] = [{"valueDecimal": 1.25}]
    entries[4]["resource"]["item"][0]["answer"] = [
        {"valueCoding": {"system": "http://secret.example", "code": "SECRET-CODE"}}
    ]
    bundle["entry"] = entries
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle)
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [f"Bundle entry[{n}]" for n in range(5)]
    assert "status is not an R4 status" in problems[0]
    assert "authored has a time but no time zone" in problems[1]
    assert "authored gives only a year or a month" in problems[2]
    assert "valueDecimal is not a whole number" in problems[3]
    assert "the answer code is not a recognised answer" in problems[4]
    for secret in ("secret", "SECRET", "09:30", "2024-03", "1.25"):
        assert not [p for p in problems if secret in p], secret


def test_a_fhir_file_with_a_byte_order_mark_is_read_as_a_csv_file_is(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "bundle.json"
    bundle = _one_response_bundle("Patient/MRN-bom-1")
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(bundle).encode())
    result = import_fhir_bundle(session, actor=world.system_a, source=path, create_patients=True)
    assert result.imported == 1


def test_deeply_nested_json_is_refused_with_a_message_not_a_recursion_error(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"resourceType": "Bundle", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=path)
    assert "more than 32 levels deep" in _problems(refused)
    # Brackets inside text do not count.
    bundle = _one_response_bundle("Patient/MRN-deep-1")
    bundle["entry"][0]["resource"]["item"][0]["text"] = "[[[" * 100 + '\\"{'

    path.write_text(json.dumps(bundle))
    assert (
        import_fhir_bundle(
            session, actor=world.system_a, source=path, create_patients=True
        ).imported
        == 1
    )


def test_a_bundle_of_many_bad_entries_is_refused_in_a_short_message(
    session: Session, world: World
) -> None:
    bundle = _one_response_bundle("Patient/MRN-many")
    entry = bundle["entry"][0]
    entry["resource"]["item"][0]["answer"] = [{"valueString": "often"}]
    bundle["entry"] = [entry] * 600
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle)
    problems = refused.value.problems
    assert problems[0].startswith("Bundle entry[0]: ")
    assert problems[19].startswith("Bundle entry[19]: ")
    assert problems[20].startswith("... and 580 more record(s) with problems, of 1 kind(s)")
    assert problems[21].startswith("580 x ")
    assert len(problems) == 22 and sum(map(len, problems)) < 8_000
