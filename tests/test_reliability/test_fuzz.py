"""Bad input: the CSV importer, the FHIR importer and the check-in writer under Hypothesis.

Every generated input is either refused with :class:`data.errors.InvalidInput` (readable
problems, nothing written: row counts unchanged) or stored correctly (the counts grow by what
the result says, every safety answer has its alert). No other exception type escapes.
Inputs: malformed and out-of-range values, wrong types, odd encodings (latin-1 bytes, a
byte-order mark, NUL), formula-injection strings, repeated rows. Exported CSV cells never
start with a formula trigger. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.errors import AccessDenied, InvalidInput
from data.interchange.csv_assessments import import_assessments_csv
from data.interchange.csv_export import export_infusions_csv
from data.interchange.csv_infusions import import_infusions_csv
from data.interchange.fhir_read import import_fhir_bundle
from data.models import Assessment, AuditEvent, Patient, SafetyAlert
from data.spreadsheet import FORMULA_TRIGGERS, guard_cell, restore_cell
from tests.conftest import ROOT, fresh_database_url
from tests.test_reliability.test_faults import _consistency_problems

FUZZ = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
ITEMS = [f"phq9_{i}" for i in range(1, 10)]
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\t=1", "\r=1", "'=already"]
ODD_TEXT = st.sampled_from(
    [*FORMULAS, "", " ", "\x00", "1\x00", "☃", "３", "1.5", "2.0", " 2 ", "1e3", "nan", "-0", "99"]
)
FUZZ_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=FUZZ_BACKENDS)
def fuzz_world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    bench_load: ModuleType,
) -> Iterator[tuple[Engine, Actor, Actor]]:
    """A clinic on each database: its system actor and one patient; committed writes."""
    url = fresh_database_url(request.param, request, tmp_path_factory.mktemp("fuzz"))
    engine = make_engine(url)
    patient = bench_load.create_clinic(engine, 1)[0]
    yield engine, Actor.system(patient.clinic_id), patient
    engine.dispose()


def _counts(engine: Engine, clinic_id: int) -> dict[str, int]:
    with transaction(engine) as session:
        return {
            model.__tablename__: int(
                session.scalar(
                    select(func.count()).select_from(model).where(model.clinic_id == clinic_id)
                )
                or 0
            )
            for model in (Assessment, SafetyAlert, Patient, AuditEvent)
        }


def _refused_cleanly(error: InvalidInput) -> None:
    assert error.problems, "a refusal names its problems"
    assert all(isinstance(p, str) and p.strip() for p in error.problems)
    assert "Traceback" not in str(error)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

GOOD_ROW = {
    "patient_id": "FUZZ-1",
    "instrument": "phq9",
    "administered_at": "2024-03-01",
    **{key: "1" for key in ITEMS},
}
CELL = {
    "patient_id": st.one_of(st.sampled_from(["FUZZ-1", "FUZZ-2", "FUZZ-3"]), ODD_TEXT, st.text()),
    "instrument": st.one_of(st.sampled_from(["phq9", "PHQ-9", "gad7", "madrs"]), ODD_TEXT),
    "administered_at": st.one_of(
        st.dates(dt.date(2019, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat),
        st.sampled_from(["2024-02-30", "yesterday", "2024-03-01T10:00:00+02:00", "1/2/2024"]),
        ODD_TEXT,
    ),
    **{key: st.one_of(st.sampled_from(["0", "1", "2", "3"]), ODD_TEXT) for key in ITEMS},
}


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(0, 6))):
        row = dict(GOOD_ROW)
        for key in draw(st.sets(st.sampled_from(list(CELL)), max_size=4)):
            row[key] = draw(CELL[key])
        if draw(st.booleans()):  # a fresh, valid time: most files are otherwise fine
            day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2024, 12, 31)))
            row["administered_at"] = day.isoformat()
        rows.append(row)
    if rows and draw(st.booleans()):
        rows.append(dict(draw(st.sampled_from(rows))))  # a repeated row
    columns = list(GOOD_ROW)
    if draw(st.booleans()):
        columns.append(draw(st.sampled_from(["total", "phq9_10", "bogus", "patient_id"])))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, draw(ODD_TEXT)) for column in columns])
    text = out.getvalue()
    if draw(st.booleans()):
        text += draw(st.sampled_from(["x,y\n", ",,,\n", '"unclosed\n', "\x00\n", "a" * 5000]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(content=csv_files())
def test_the_csv_importer_refuses_or_stores_and_never_half_writes(
    fuzz_world: tuple[Engine, Actor, Actor], content: bytes, tmp_path_factory: Any
) -> None:
    engine, system, _ = fuzz_world
    source = tmp_path_factory.mktemp("csv") / "fuzz.csv"
    source.write_bytes(content)
    before = _counts(engine, system.clinic_id)
    try:
        with transaction(engine, write=True) as session:
            result = import_assessments_csv(
                session, actor=system, source=source, create_patients=True
            )
    except InvalidInput as refused:
        event("refused")
        _refused_cleanly(refused)
        assert _counts(engine, system.clinic_id) == before
        return
    event("stored")
    after = _counts(engine, system.clinic_id)
    assert after["assessment"] == before["assessment"] + result.imported
    assert after["patient"] == before["patient"] + result.patients_created
    assert _consistency_problems(engine, system.clinic_id) == []


# --------------------------------------------------------------------------------------------
# FHIR
# --------------------------------------------------------------------------------------------

BUNDLE = json.loads((ROOT / "tests" / "reference" / "fhir" / "searchset_bundle.json").read_text())


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


PATHS = [path for path in _paths(BUNDLE) if path]
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        ODD_TEXT,
        st.text(max_size=20),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=5,
)


@st.composite
def fhir_inputs(draw: st.DrawFn) -> dict[str, Any] | bytes:
    bundle = copy.deepcopy(BUNDLE)
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=3)):
        node = bundle
        try:
            for step in path[:-1]:
                node = node[step]
            if draw(st.integers(0, 4)) == 0 and isinstance(node, dict):
                node.pop(path[-1], None)  # a missing element
            else:
                node[path[-1]] = draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced the parent
    # Distinct subjects and times per example, so a valid bundle is new each time.
    tag = uuid.uuid4().hex[:8]
    text = json.dumps(bundle).replace("Patient/", f"Patient/{tag}-")
    form = draw(st.sampled_from(["mapping", "utf-8", "bom", "latin-1", "nul", "truncated"]))
    if form == "mapping":
        parsed: dict[str, Any] = json.loads(text)
        return parsed
    if form == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if form == "latin-1":
        return text.replace("Patient", "Patiént").encode("latin-1")
    if form == "nul":
        return text.replace('"status"', '"sta\\u0000tus"').encode() + b"\x00"
    if form == "truncated":
        return text[: len(text) // 2].encode()
    return text.encode()


@FUZZ
@given(source=fhir_inputs())
def test_the_fhir_importer_refuses_or_stores_and_never_half_writes(
    fuzz_world: tuple[Engine, Actor, Actor], source: dict[str, Any] | bytes, tmp_path_factory: Any
) -> None:
    engine, system, _ = fuzz_world
    if isinstance(source, bytes):
        path: Path = tmp_path_factory.mktemp("fhir") / "bundle.json"
        path.write_bytes(source)
        given_source: Any = path
    else:
        given_source = source
    before = _counts(engine, system.clinic_id)
    try:
        with transaction(engine, write=True) as session:
            result = import_fhir_bundle(
                session, actor=system, source=given_source, create_patients=True
            )
    except InvalidInput as refused:
        event("refused")
        _refused_cleanly(refused)
        assert _counts(engine, system.clinic_id) == before
        return
    event("stored")
    after = _counts(engine, system.clinic_id)
    assert after["assessment"] == before["assessment"] + result.imported
    assert _consistency_problems(engine, system.clinic_id) == []


# --------------------------------------------------------------------------------------------
# The check-in writer
# --------------------------------------------------------------------------------------------

ANSWER = st.one_of(
    st.integers(-3, 6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    ODD_TEXT,
    st.lists(st.integers(0, 3), max_size=2),
    st.binary(max_size=3),
)
KEYS = st.one_of(
    st.none(),
    st.uuids().map(str),
    st.text(max_size=130),
    st.sampled_from(["\x00", "a" * 101, "=cmd|' /C calc'!A0", "dup-key"]),
)
WHEN = st.one_of(
    st.none(),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 1, 1)),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)),
)


@FUZZ
@given(
    answers=st.dictionaries(
        st.one_of(st.sampled_from(ITEMS), st.text(max_size=6)), ANSWER, max_size=12
    ),
    fill=st.booleans(),
    key=KEYS,
    when=WHEN,
    instrument=st.sampled_from(["phq9", "phq9", "gad7", "madrs", "nope", ""]),
    twice=st.booleans(),
)
def test_the_checkin_writer_refuses_or_stores_exactly_once(
    fuzz_world: tuple[Engine, Actor, Actor],
    answers: dict[str, Any],
    fill: bool,
    key: str | None,
    when: dt.datetime | None,
    instrument: str,
    twice: bool,
) -> None:
    engine, _, patient = fuzz_world
    if fill:  # mostly-valid forms get through to the write
        answers = {item: 1 for item in ITEMS} | {
            k: v for k, v in answers.items() if k not in ITEMS[:5]
        }
    before = _counts(engine, patient.clinic_id)
    results = []
    for _ in range(2 if twice else 1):
        try:
            with transaction(engine, write=True) as session:
                results.append(
                    submit_checkin(
                        session,
                        actor=patient,
                        patient_id=patient.patient_id or 0,
                        instrument=instrument,
                        answers=answers,
                        idempotency_key=key,
                        administered_at=when,
                    )
                )
        except InvalidInput as refused:
            _refused_cleanly(refused)
        except AccessDenied:
            assert instrument == "madrs"  # clinician-rated: a patient may not record it
    after = _counts(engine, patient.clinic_id)
    stored = sum(not r.duplicate for r in results)
    assert after["assessment"] == before["assessment"] + stored
    assert after["safety_alert"] == before["safety_alert"] + sum(
        len(r.alert_ids) for r in results if not r.duplicate
    )
    if key is not None and len(results) == 2:
        assert results[1].duplicate and results[1].assessment_id == results[0].assessment_id
    assert _consistency_problems(engine, patient.clinic_id) == []


# --------------------------------------------------------------------------------------------
# Export: formula injection
# --------------------------------------------------------------------------------------------


@settings(derandomize=True, max_examples=200, database=None)
@given(value=st.text())
def test_guarded_cells_never_start_a_formula_and_restore_exactly(value: str) -> None:
    safe = guard_cell(value)
    assert isinstance(safe, str)
    # Nothing a spreadsheet skips (spaces of any kind) uncovers a formula either.
    visible = safe.lstrip()
    assert not unicodedata.normalize("NFKC", visible[:1]).startswith(FORMULA_TRIGGERS)
    assert restore_cell(safe) == value


def test_formula_patient_ids_are_refused_and_formula_notes_reimport_unchanged(
    fuzz_world: tuple[Engine, Actor, Actor],
) -> None:
    """A patient id may no longer start a formula (issue 9, item 1); free text (the
    side-effects note) still may, and its export is guarded and re-imports unchanged."""
    engine, system, _ = fuzz_world
    hostile = [f"{formula}-{uuid.uuid4().hex[:6]}" for formula in FORMULAS[:4]]
    lines = ["patient_id,instrument,administered_at," + ",".join(ITEMS)]
    lines += [
        f"{name},phq9,2024-01-0{n + 1}," + ",".join("1" * 9) for n, name in enumerate(hostile)
    ]
    with pytest.raises(InvalidInput) as refused, transaction(engine, write=True) as session:
        import_assessments_csv(
            session, actor=system, source=io.StringIO("\n".join(lines)), create_patients=True
        )
    assert len(refused.value.problems) == len(hostile)
    assert not [p for p in refused.value.problems for name in hostile if name[1:] in p]

    tag = uuid.uuid4().hex[:6]
    # A file's leading apostrophe before a formula is read as the guard (FORMULAS[-1] is one).
    notes = [*FORMULAS[:-1], "\u00a0=1+1", "\uff1dSUM(A1)", "\u3000\uff0b1", "\u200b@x"]
    file = io.StringIO()
    writer = csv.writer(file, lineterminator="\r\n")  # quotes the note with a CR
    writer.writerow(["patient_id", "administered_at", "route", "side_effects_note"])
    for n, note in enumerate(notes):
        writer.writerow([f"FUZZ-{tag}", f"2024-02-{n + 1:02d}T10:00Z", "iv", note])
    with transaction(engine, write=True) as session:
        import_infusions_csv(
            session, actor=system, source=io.StringIO(file.getvalue()), create_patients=True
        )
    out = io.StringIO()
    with transaction(engine) as session:
        export_infusions_csv(session, actor=system, out=out)
    cells = [cell for row in csv.reader(io.StringIO(out.getvalue())) for cell in row]
    for cell in cells:
        assert not unicodedata.normalize("NFKC", cell.lstrip()[:1]).startswith(FORMULA_TRIGGERS)
    exported = {restore_cell(cell) for cell in cells}
    assert {note.strip() for note in notes} <= exported
