"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.course_state import bump_data_version, data_version, drift
from data.engine import make_engine
from data.errors import InvalidInput
from data.models import Base, PatientState
from data.schema import downgrade, is_current, upgrade
from tests.conftest import BACKENDS, fresh_database_url


def test_migrations_and_models_agree(engine: Engine) -> None:
    assert is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"add a migration for: {differences}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_0003_keeps_every_record_and_still_refuses_a_reused_form_key(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Rebuilding the assessment table (SQLite) must not lose rows; form keys stay unique
    per clinic while records without one (imports) may repeat."""
    database = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(database, "0002")
        row = (
            "INSERT INTO assessment (clinic_id, patient_id, instrument, administered_at, source,"
            " answers, total, flags, valid, scoring_version, idempotency_key, created_at)"
            " VALUES (1, 1, 'phq9', :at, 'patient', '{}', 5, '[]', true, 'v1', :key, :at)"
        )
        at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        with database.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clinic (id, name, is_demo, created_at) VALUES (1, 'c', false, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO patient (id, clinic_id, external_id, name, created_at)"
                    " VALUES (1, 1, 'MRN-1', 'P', :at)"
                ),
                {"at": at},
            )
            for key in ("form-1", None, None):
                connection.execute(text(row), {"at": at, "key": key})
            # A safety alert refers to an assessment: SQLite's table rebuild must keep it valid.
            connection.execute(
                text(
                    "INSERT INTO safety_alert (clinic_id, patient_id, assessment_id, kind,"
                    " created_at) VALUES (1, 1, 1, 'phq9_item9_positive', :at)"
                ),
                {"at": at},
            )
        upgrade(database)
        with database.connect() as connection:
            keys = connection.scalars(
                text("SELECT idempotency_key FROM assessment ORDER BY id")
            ).all()
        assert keys == ["form-1", None, None]
        with database.begin() as connection:
            connection.execute(text(row), {"at": at, "key": None})
        with pytest.raises(IntegrityError), database.begin() as connection:
            connection.execute(text(row), {"at": at, "key": "form-1"})
        downgrade(database, "0002")
        upgrade(database)
        assert is_current(database)
        with database.connect() as connection:
            alert = connection.scalar(text("SELECT assessment_id FROM safety_alert"))
            assert alert == 1
            if backend == "sqlite":  # switched off for the rebuild only
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0005_refuses_usernames_differing_only_in_case_and_changes_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Usernames unique whatever their case (issue 9, item 12): a database that already has
    "Demo-Admin" beside "demo-admin" is refused with the accounts' ids, not their names, and
    upgrades once one of them is renamed."""
    database = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(database, "0004")
        at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        user = (
            "INSERT INTO app_user (id, clinic_id, username, display_name, role, password_hash,"
            " failed_logins, active, created_at)"
            " VALUES (:id, :clinic, :name, 'x', 'administrator', 'h', 0, true, :at)"
        )
        with database.begin() as connection:
            for clinic in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO clinic (id, name, is_demo, created_at)"
                        " VALUES (:id, :name, false, :at)"
                    ),
                    {"id": clinic, "name": f"clinic {clinic}", "at": at},
                )
            for id_, clinic, name in ((1, 1, "demo-admin"), (2, 2, "Demo-Admin"), (3, 2, "lee")):
                connection.execute(
                    text(user), {"id": id_, "clinic": clinic, "name": name, "at": at}
                )
        with pytest.raises(InvalidInput) as refused:
            upgrade(database)
        message = str(refused.value)
        assert "account ids 1, 2" in message and "nothing was changed" in message
        assert "demo-admin" not in message.lower()
        with database.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        assert revision == "0004"

        with database.begin() as connection:
            connection.execute(text("UPDATE app_user SET username = 'demo-admin-2' WHERE id = 2"))
        upgrade(database)
        assert is_current(database)
        with pytest.raises(IntegrityError), database.begin() as connection:
            connection.execute(text(user), {"id": 4, "clinic": 2, "name": "LEE", "at": at})
        downgrade(database, "0004")
        with database.begin() as connection:  # the index is gone with the downgrade
            connection.execute(text(user), {"id": 4, "clinic": 2, "name": "LEE", "at": at})
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0006_keeps_infusions_and_gives_existing_clinics_utc(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 11: existing infusions keep every value and count (not entered in error), and a
    clinic's times keep their meaning: the form assumed UTC before its time zone setting."""
    database = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(database, "0005")
        at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        with database.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clinic (id, name, is_demo, created_at) VALUES (1, 'c', false, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO clinic_settings (clinic_id, checkin_instruments,"
                    " checkin_cadence_days, rule_overrides) VALUES (1, '[]', 7, '{}')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO patient (id, clinic_id, external_id, name, created_at)"
                    " VALUES (1, 1, 'MRN-1', 'P', :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO infusion (clinic_id, patient_id, administered_at, route,"
                    " dose_mg, side_effects, created_at)"
                    " VALUES (1, 1, :at, 'iv', 35.0, '[]', :at)"
                ),
                {"at": at},
            )
        upgrade(database)
        assert is_current(database)
        with database.connect() as connection:
            zone = connection.scalar(text("SELECT time_zone FROM clinic_settings"))
            infusion = connection.execute(
                text(
                    "SELECT dose_mg, weight_kg, entered_in_error_at, entered_in_error_reason"
                    " FROM infusion"
                )
            ).one()
        assert zone == "UTC"
        assert tuple(infusion) == (35.0, None, None, None)
        downgrade(database, "0005")
        upgrade(database)
        assert is_current(database)
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0007_gives_existing_patients_no_phone_and_keeps_them(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 11: a contact phone where recorded. Existing patients keep every value and have
    none until a clinician records one; a downgrade drops the column and keeps the patient."""
    database = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(database, "0006")
        at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        with database.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clinic (id, name, is_demo, created_at) VALUES (1, 'c', false, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO patient (id, clinic_id, external_id, name, created_at)"
                    " VALUES (1, 1, 'MRN-1', 'P', :at)"
                ),
                {"at": at},
            )
        upgrade(database)
        assert is_current(database)
        with database.begin() as connection:
            assert tuple(
                connection.execute(text("SELECT external_id, name, phone FROM patient")).one()
            ) == ("MRN-1", "P", None)
            connection.execute(text("UPDATE patient SET phone = '(212) 555-0105'"))
        downgrade(database, "0006")
        with database.connect() as connection:
            assert connection.scalar(text("SELECT external_id FROM patient")) == "MRN-1"
        upgrade(database)
        assert is_current(database)
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0011_keeps_a_clinics_data_version_and_spreads_it_over_slots(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 13: the data version moves from one row per clinic to counters; a version never
    goes back (a cached aggregate keyed on an old version would be served again), and a
    downgrade keeps the sum."""
    database = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(database, "0010")
        at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        with database.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clinic (id, name, is_demo, created_at, data_version)"
                    " VALUES (1, 'c', false, :at, 41)"
                ),
                {"at": at},
            )
        upgrade(database)
        with Session(database) as session:
            assert data_version(session, clinic_id=1) == 41
            bump_data_version(session, clinic_id=1, slot=5)
            bump_data_version(session, clinic_id=1, slot=21)  # the same slot as 5
            session.commit()
            assert data_version(session, clinic_id=1) == 43
        downgrade(database, "0010")
        with database.connect() as connection:
            assert connection.scalar(text("SELECT data_version FROM clinic")) == 43
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0012_rebuilds_every_patients_state_by_the_schedule(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 14: "next due" follows the measurement schedule now, and a window's close is
    stored: state stored by the weekly rule is replaced on upgrade, never left to drift."""
    database = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(database, "0011")
        at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        with database.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clinic (id, name, is_demo, created_at) VALUES (1, 'c', false, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO patient (id, clinic_id, external_id, name, created_at)"
                    " VALUES (1, 1, 'MRN-1', 'P', :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO infusion (clinic_id, patient_id, administered_at, route,"
                    " side_effects, created_at) VALUES (1, 1, :at, 'iv', '[]', :at)"
                ),
                {"at": at},
            )
            # What the weekly rule stored: due a week after the infusion.
            connection.execute(
                text(
                    "INSERT INTO patient_state (patient_id, clinic_id, infusions, next_due,"
                    " open_alerts, updated_at) VALUES (1, 1, 1, '2026-01-12', 0, :at)"
                ),
                {"at": at},
            )
        upgrade(database)
        with Session(database) as session:
            assert drift(session, clinic_id=1) == []
            state = session.get(PatientState, 1)
            assert state is not None and state.infusions == 1
            assert state.next_due is not None and state.next_due_closes is not None
            assert state.next_due_closes >= state.next_due
    finally:
        database.dispose()
