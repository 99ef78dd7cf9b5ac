"""Recording an infusion: implausible values refused with messages a clinician understands."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from data.access import Actor
from data.cli import app
from data.clinic import clinic_config, clinic_moment, set_clinic_time_zone
from data.engine import make_engine, transaction
from data.errors import InvalidInput
from data.infusions import (
    LIMITS,
    InfusionInput,
    InfusionRefused,
    NearDuplicateInfusion,
    field_problems,
    mark_infusion_entered_in_error,
    problems_with,
    record_infusion,
    recording_problems,
    with_dose_per_kg,
)
from data.interchange.csv_export import export_infusions_csv
from data.models import AuditEvent, Clinic, Infusion, Patient, utcnow
from data.records.cohort import cohort_infusions
from data.records.patient_record import patient_infusion_log, patient_infusions
from data.schema import upgrade
from tests.builders import add_user
from tests.conftest import BACKENDS, World, fresh_database_url

GOOD = InfusionInput(
    administered_at=utcnow() - dt.timedelta(hours=2),
    route="iv",
    dose_mg_per_kg=0.5,
    dose_mg=35.0,
    duration_minutes=40,
    systolic_before=124,
    diastolic_before=78,
    heart_rate_before=72,
    systolic_40min=138,
    diastolic_40min=86,
    heart_rate_40min=84,
    systolic_discharge=126,
    diastolic_discharge=80,
    heart_rate_discharge=74,
    spo2_min=97,
    dissociation_cadss6=8,
    sedation_moaas=4,
    side_effects=("nausea", "dizziness"),
)


def test_a_plausible_infusion_has_no_problems() -> None:
    assert problems_with(GOOD) == []


@pytest.mark.parametrize("field", sorted(LIMITS))
def test_every_limit_refuses_values_outside_it(field: str) -> None:
    low, high, unit = LIMITS[field]
    for value in (low - 1 if low >= 1 else -1, high * 10):
        problems = problems_with(dataclasses.replace(GOOD, **{field: value}))
        assert any("outside the plausible range" in p and unit in p for p in problems), problems


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"route": "iv drip"}, "route 'iv drip' is not one of: IV, IM"),
        ({"diastolic_before": 130, "systolic_before": 120}, "must be lower than systolic"),
        ({"dose_mg_per_kg": 50.0}, "dose per kg of 50 mg/kg is outside"),  # mg typed as mg/kg
        ({"heart_rate_40min": 72.5}, "heart rate at 40 minutes must be a whole number"),
        ({"side_effects": ("tingling",)}, "use the note for anything not in the list"),
        ({"administered_at": utcnow() + dt.timedelta(days=2)}, "in the future"),
        (
            {"administered_at": dt.datetime(2026, 1, 1, 9, 0)},
            "needs a date, a time and a time zone",
        ),
    ],
)
def test_refusals_say_what_to_check(changes: dict[str, object], message: str) -> None:
    problems = problems_with(dataclasses.replace(GOOD, **changes))  # type: ignore[arg-type]
    assert any(message in p for p in problems), problems


def test_refused_infusion_writes_nothing_and_lists_every_problem(
    session: Session, world: World
) -> None:
    bad = dataclasses.replace(GOOD, spo2_min=40, systolic_before=400, route="oral drops")
    with pytest.raises(InvalidInput) as refused:
        record_infusion(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            infusion=bad,
        )
    assert len(refused.value.problems) == 3
    assert session.scalar(select(func.count()).select_from(Infusion)) == 0
    stored = record_infusion(
        session, actor=world.clinician_a, patient_id=world.patient_a1.patient_id or 0, infusion=GOOD
    )
    row = session.get(Infusion, stored)
    assert row is not None and row.side_effects == ["nausea", "dizziness"]
    assert row.recorded_by_id == world.clinician_a.user_id


# --- issue 11: one infusion recorded once, dose, weight, time zone, entered in error ---------


def _record(
    session: Session, world: World, infusion: InfusionInput, *, confirm: bool = False
) -> int:
    return record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        infusion=infusion,
        confirm_near_duplicate=confirm,
    )


def _stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Infusion)) or 0


def test_a_second_infusion_within_6_hours_is_refused_unless_confirmed(
    session: Session, world: World
) -> None:
    """Issue 11: Enter and a second click stored four identical infusions. The refusal holds
    below the page: a repeated call without confirmation stores nothing."""
    first = _record(session, world, GOOD)
    for moment in (GOOD.administered_at, GOOD.administered_at - dt.timedelta(hours=5, minutes=59)):
        with pytest.raises(NearDuplicateInfusion) as refused:
            _record(session, world, dataclasses.replace(GOOD, administered_at=moment))
        assert refused.value.other_id == first
        assert refused.value.other_at == GOOD.administered_at
        assert "within 6 hours" in str(refused.value)
    assert _stored(session) == 1
    # Another patient's infusion at the same moment is not a duplicate.
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a2.patient_id or 0,
        infusion=GOOD,
    )
    # Six hours apart is a new infusion; a confirmed one is stored.
    _record(
        session,
        world,
        dataclasses.replace(GOOD, administered_at=GOOD.administered_at - dt.timedelta(hours=6)),
    )
    _record(session, world, GOOD, confirm=True)
    assert _stored(session) == 4


def test_an_infusion_entered_in_error_is_kept_audited_and_counted_nowhere(
    session: Session, world: World
) -> None:
    patient_id = world.patient_a1.patient_id or 0
    earlier = dataclasses.replace(GOOD, administered_at=GOOD.administered_at - dt.timedelta(days=3))
    kept = _record(session, world, earlier)
    wrong = _record(session, world, GOOD)
    with pytest.raises(InvalidInput, match="say why"):
        mark_infusion_entered_in_error(
            session, actor=world.clinician_a, patient_id=patient_id, infusion_id=wrong, reason=" "
        )
    with pytest.raises(InvalidInput, match="not in this patient's record"):
        mark_infusion_entered_in_error(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a2.patient_id or 0,
            infusion_id=wrong,
            reason="wrong patient",
        )
    mark_infusion_entered_in_error(
        session,
        actor=world.clinician_a,
        patient_id=patient_id,
        infusion_id=wrong,
        reason="recorded twice",
    )
    with pytest.raises(InvalidInput, match="already marked"):
        mark_infusion_entered_in_error(
            session,
            actor=world.clinician_a,
            patient_id=patient_id,
            infusion_id=wrong,
            reason="again",
        )
    row = session.get(Infusion, wrong)
    assert row is not None and row.entered_in_error_reason == "recorded twice"
    assert row.entered_in_error_by_id == world.clinician_a.user_id
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == patient_id)
    ).all()
    assert actions.count("mark_infusion_entered_in_error") == 1

    counted = patient_infusions(session, actor=world.clinician_a, patient_id=patient_id)
    assert list(counted["infusion_id"]) == [kept]
    cohort = cohort_infusions(session, actor=world.clinician_a)
    assert len(cohort[cohort["patient_id"] == patient_id]) == 1
    out = io.StringIO()
    export_infusions_csv(session, actor=world.clinician_a, out=out, patient_id=patient_id)
    assert len(list(csv.DictReader(io.StringIO(out.getvalue())))) == 1
    log = patient_infusion_log(session, actor=world.clinician_a, patient_id=patient_id)
    assert list(log["infusion_id"]) == [kept, wrong]
    marked = log.set_index("infusion_id").loc[wrong]
    assert marked["entered_in_error_reason"] == "recorded twice"
    assert marked["entered_in_error_by"] == "Clinician A"
    assert marked["recorded_by"] == "Clinician A"
    assert pd.isna(log.set_index("infusion_id").loc[kept, "entered_in_error_at"])
    # The wrong infusion no longer blocks recording the right one at that time.
    _record(session, world, GOOD)


def test_the_dose_is_required_and_mg_per_kg_comes_from_mg_and_weight(
    session: Session, world: World
) -> None:
    no_dose = dataclasses.replace(GOOD, dose_mg=None, dose_mg_per_kg=None)
    with pytest.raises(InfusionRefused) as refused:
        _record(session, world, no_dose)
    assert refused.value.by_field == {
        "dose_mg": ("the dose is required: enter the dose given in mg",)
    }
    assert _stored(session) == 0
    weighed = dataclasses.replace(GOOD, dose_mg=35.0, dose_mg_per_kg=None, weight_kg=70.0)
    row = session.get(Infusion, _record(session, world, weighed))
    assert row is not None and (row.dose_mg, row.weight_kg, row.dose_mg_per_kg) == (35.0, 70.0, 0.5)
    mismatched = dataclasses.replace(
        weighed, administered_at=GOOD.administered_at - dt.timedelta(days=2), dose_mg_per_kg=1.0
    )
    with pytest.raises(InfusionRefused) as refused:
        _record(session, world, mismatched)
    assert list(refused.value.by_field) == ["dose_mg_per_kg"]
    assert "does not match 35 mg for 70 kg" in refused.value.by_field["dose_mg_per_kg"][0]


def test_problems_are_reported_beside_their_field() -> None:
    """Issue 11: a negative heart rate made Record silently do nothing."""
    problems = field_problems(
        dataclasses.replace(GOOD, heart_rate_before=-5, diastolic_40min=150, weight_kg=7000.0)
    )
    assert set(problems) == {"heart_rate_before", "diastolic_40min", "weight_kg"}
    assert "heart rate before of -5 beats/min is outside" in problems["heart_rate_before"][0]
    assert "must be lower than systolic pressure at 40 minutes" in problems["diastolic_40min"][0]


def test_times_are_entered_in_the_clinics_time_zone(session: Session, world: World) -> None:
    """The form's 09:30 in New York is 13:30 UTC in July and 14:30 UTC in January; the zone is
    the clinic's setting, UTC until an administrator sets it."""
    assert clinic_config(session, world.clinic_a).time_zone == "UTC"
    with pytest.raises(InvalidInput, match="IANA name"):
        set_clinic_time_zone(session, actor=world.admin_a, time_zone="Eastern Time")
    set_clinic_time_zone(session, actor=world.admin_a, time_zone="America/New_York")
    zone = clinic_config(session, world.clinic_a).time_zone
    assert zone == "America/New_York"
    assert clinic_config(session, world.clinic_b).time_zone == "UTC"
    summer = clinic_moment(dt.date(2026, 7, 1), dt.time(9, 30), zone)
    winter = clinic_moment(dt.date(2026, 1, 15), dt.time(9, 30), zone)
    assert summer == dt.datetime(2026, 7, 1, 13, 30, tzinfo=dt.UTC)
    assert winter == dt.datetime(2026, 1, 15, 14, 30, tzinfo=dt.UTC)
    row = session.get(
        Infusion, _record(session, world, dataclasses.replace(GOOD, administered_at=winter))
    )
    session.expire_all()
    assert row is not None and row.administered_at == dt.datetime(
        2026, 1, 15, 14, 30, tzinfo=dt.UTC
    )
    assert session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "set_clinic_time_zone")
    ).all() == ["set_clinic_time_zone"]


def test_an_administrator_sets_the_clinics_time_zone_from_the_command_line(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url("sqlite", request, tmp_path)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "--database-url", url], catch_exceptions=False)

    assert run("init", "--clinic-name", "Lakeside").exit_code == 0
    refused = run("set-time-zone", "Eastern")
    assert refused.exit_code == 1 and "IANA name" in refused.output
    done = run("set-time-zone", "America/Chicago")
    assert done.exit_code == 0, done.output
    assert "America/Chicago" in done.output
    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            clinic_id = session.scalar(select(Clinic.id))
            assert clinic_id is not None
            assert clinic_config(session, clinic_id).time_zone == "America/Chicago"
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_tabs_recording_the_same_infusion_at_once_store_it_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, password_hash: str
) -> None:
    """The second of two simultaneous records waits for the first to commit and is then
    asked to confirm, rather than both passing the check before either is stored."""
    url = fresh_database_url(backend, request, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinic = Clinic(name="Clinic A")
            session.add(clinic)
            session.flush()
            user = add_user(session, clinic.id, "clinician-a", "clinician", password_hash)
            patient = Patient(clinic_id=clinic.id, external_id="MRN-1", name="P One")
            session.add(patient)
            session.flush()
            clinician = Actor(user.id, clinic.id, "clinician", user.username)
            patient_id = patient.id
        first_stored, first_may_commit = threading.Event(), threading.Event()
        outcome: list[str] = []

        def first() -> None:
            with transaction(engine, write=True) as session:
                record_infusion(session, actor=clinician, patient_id=patient_id, infusion=GOOD)
                first_stored.set()
                first_may_commit.wait(10)

        def second() -> None:
            try:
                with transaction(engine, write=True) as session:
                    record_infusion(session, actor=clinician, patient_id=patient_id, infusion=GOOD)
            except NearDuplicateInfusion:
                outcome.append("asked")
            else:
                outcome.append("stored")

        one = threading.Thread(target=first)
        one.start()
        assert first_stored.wait(10)
        two = threading.Thread(target=second)
        two.start()
        two.join(1.0)  # it waits for the first (or, on SQLite, for the write lock)
        first_may_commit.set()
        one.join(10)
        two.join(20)
        assert outcome == ["asked"]
        with transaction(engine) as session:
            assert session.scalar(select(func.count()).select_from(Infusion)) == 1
    finally:
        engine.dispose()


def test_an_implausible_weight_is_refused_at_the_weight_not_as_a_dose_per_kg() -> None:
    typo = dataclasses.replace(GOOD, dose_mg=35.0, dose_mg_per_kg=None, weight_kg=7.0)
    assert with_dose_per_kg(typo) == typo
    assert list(recording_problems(with_dose_per_kg(typo))) == ["weight_kg"]


def test_a_clinic_time_zone_is_a_name_from_the_iana_database_never_free_text() -> None:
    """Pages print the clinic's zone in labels and messages that render Markdown: only names
    from the server's IANA database are accepted, and those are letters, digits, / _ + -."""
    import re
    import zoneinfo

    from data.clinic import time_zone_problem

    assert time_zone_problem("America/New_York") is None
    for hostile in ("**All clear**", "[x](http://a)", "../../etc/passwd", "Europe/<b>"):
        assert time_zone_problem(hostile) is not None
    assert all(re.fullmatch(r"[A-Za-z0-9/_+-]+", name) for name in zoneinfo.available_timezones())
