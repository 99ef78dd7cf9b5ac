"""Patient ids, names and dates of birth by rule on every path: CSV, FHIR and the app's form
(issue 9, item 1)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.errors import InvalidInput
from data.interchange.csv_assessments import import_assessments_csv
from data.interchange.csv_infusions import import_infusions_csv
from data.interchange.fhir_export import export_fhir_bundle
from data.interchange.fhir_read import import_fhir_bundle
from data.models import Assessment, Clinic, Infusion, Patient
from data.records.patients import create_patient
from tests.conftest import World
from tests.test_data.builders import (
    NOW,
    PHQ9_HEADER,
    PHQ9_ROW,
    _count,
    _csv,
    _mrn,
    _one_response_bundle,
    _problems,
)

HOSTILE_IDS = [
    "MRN-1 :green[**reviewed, all clear — no action needed**]",
    "![](http://example.com/beacon.png)",
    "MRN-1\n# heading",
    "<img src=x onerror=alert(1)>",
    "MRN\u202e1-ABC",
    "-2+3",
    "=HYPERLINK(1)",
    "x" * 65,
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_patient_ids_outside_the_documented_characters_are_refused_on_every_path(
    session: Session, world: World, hostile: str
) -> None:
    """Item 1: CSV import, FHIR import and the app's form refuse the id by rule, not by value."""
    patients = _count(session, Patient)
    file = io.StringIO()
    csv.writer(file, lineterminator="\r\n").writerow(["patient_id", "administered_at", "route"])
    csv.writer(file, lineterminator="\r\n").writerow([hostile, "2025-01-06T10:00Z", "iv"])
    file.seek(0)
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(
            session, actor=world.system_a, source=file, create_patients=True, now=NOW
        )
    assert "patient_id" in _problems(refused) and hostile.strip() not in _problems(refused)
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(
            session,
            actor=world.system_a,
            source=_one_response_bundle(f"Patient/{hostile}"),
            create_patients=True,
        )
    assert "patient_id" in _problems(refused) and hostile not in _problems(refused)
    with pytest.raises(InvalidInput) as refused:
        create_patient(session, actor=world.clinician_a, external_id=hostile, name="Ann Lee")
    assert "patient id" in _problems(refused) and hostile.strip() not in _problems(refused)
    assert _count(session, Patient) == patients


def test_patient_ids_of_the_documented_characters_round_trip_through_csv_and_fhir(
    session: Session, world: World
) -> None:
    mrn = "MRN 12/a_b.c-9"
    result = import_assessments_csv(
        session,
        actor=world.system_a,
        source=_csv(PHQ9_HEADER, f"{mrn},{PHQ9_ROW}"),
        create_patients=True,
        now=NOW,
    )
    assert result.patients_created == 1
    bundle = export_fhir_bundle(session, actor=world.system_a)
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    copied = import_fhir_bundle(
        session, actor=Actor.system(empty.id), source=bundle, create_patients=True
    )
    assert copied.imported == 1
    assert session.scalar(select(Patient.external_id).where(Patient.clinic_id == empty.id)) == mrn


def test_a_nul_byte_in_a_patient_id_is_refused_not_truncated_into_another_patient(
    session: Session, world: World, tmp_path: Path
) -> None:
    a1 = _mrn(world, world.patient_a1)
    source = tmp_path / "nul.csv"
    source.write_bytes(f"{PHQ9_HEADER}\n{a1}\x00-other,{PHQ9_ROW}\n".encode())
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(
            session, actor=world.system_a, source=source, create_patients=True, now=NOW
        )
    assert refused.value.problems[0].startswith("row 2 holds a NUL character")
    bundle = json.loads(
        json.dumps(_one_response_bundle(f"Patient/{a1}\u0000-other"), ensure_ascii=True)
    )
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle, create_patients=True)
    assert "patient_id holds a character that is not allowed" in _problems(refused)
    assert _count(session, Assessment) == 0


@pytest.mark.parametrize(
    "name",
    ["Ann\x00Lee", "Ann\nLee", "Ann\r\n# Lee", "Ann\u2028Lee", "Ann \u202eeeL", "x" * 201, " "],
)
def test_patient_names_refuse_control_characters_line_breaks_and_overlong_text(
    session: Session, world: World, name: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_patient(session, actor=world.clinician_a, external_id="MRN-new-9", name=name)
    assert "the patient's name" in _problems(refused)
    assert name.strip() not in _problems(refused) or not name.strip()


def test_patient_names_of_any_script_are_stored(session: Session, world: World) -> None:
    for number, name in enumerate(("José Müller-Åberg", "山田 太郎", "O'Brien, Siobhán")):
        create_patient(
            session, actor=world.clinician_a, external_id=f"MRN-script-{number}", name=name
        )
    assert _count(session, Patient, name="山田 太郎") == 1


def test_records_dated_before_the_patients_birth_are_refused_by_row(
    session: Session, world: World
) -> None:
    patient = session.get(Patient, world.patient_a1.patient_id)
    assert patient is not None
    patient.date_of_birth = dt.date(1990, 5, 1)
    session.flush()
    a1 = _mrn(world, world.patient_a1)
    before_birth = PHQ9_ROW.replace("2025-01-06", "1990-04-30")
    # 01:00 on the day of birth at UTC+5 is still the day before in UTC: not refused.
    birth_day = PHQ9_ROW.replace("2025-01-06", "1990-05-01T01:00+05:00")
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(
            session,
            actor=world.system_a,
            source=_csv(PHQ9_HEADER, f"{a1},{birth_day}", f"{a1},{before_birth}"),
            now=NOW,
        )
    assert refused.value.problems == (
        "row 3: administered_at is before the patient's date of birth; check the date (or "
        "the date of birth recorded for the patient)",
    )
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(
            session,
            actor=world.system_a,
            source=_csv("patient_id,administered_at,route", f"{a1},1989-12-01T10:00Z,iv"),
            now=NOW,
        )
    assert refused.value.problems[0].startswith("row 2: administered_at is before the patient")
    assert _count(session, Assessment) == _count(session, Infusion) == 0
