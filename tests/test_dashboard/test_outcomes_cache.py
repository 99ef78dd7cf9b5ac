"""The outcomes page's shared cache (issue 13): a write makes it show the new numbers at once,
the access check and the audit trail run on every view, cached or not, and one clinic's
aggregates never reach another clinic's administrator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.checkin import submit_checkin
from data.course_state import build_clinic, data_version, refresh_patients
from data.engine import make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import AuditEvent, Clinic, ClinicDataVersion, Patient, User
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP, signed_in

INDUCTION = (0, 2, 4, 7, 9, 11)


@dataclass(frozen=True)
class TwoClinics:
    url: str
    admin_r: Actor
    admin_s: Actor
    staff_r: Actor
    patient_r: int  # a patient of clinic R who has not checked in this week


def _phq9(level: int) -> dict[str, int]:
    return {f"phq9_{i}": level for i in range(1, 9)} | {"phq9_9": 0}


def _clinic(session: Session, name: str, patients: int, secret: str) -> tuple[Actor, Actor, int]:
    """A clinic of ``patients`` treated 70 days ago, each with a baseline and two follow-ups
    (none this week): its administrator, its clinician and one patient's id."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clinic = Clinic(name=name)
    session.add(clinic)
    session.flush()
    clinician = add_user(session, clinic.id, f"dr-{name}", "clinician", secret)
    admin = add_user(session, clinic.id, f"admin-{name}", "administrator", secret)
    staff = Actor(clinician.id, clinic.id, "clinician", f"dr-{name}")
    ids = []
    for n in range(patients):
        patient = Patient(
            clinic_id=clinic.id,
            external_id=f"MRN-{name}{n}",
            name=f"{name} Patient {n}",
            date_of_birth=dt.date(1980, 1, 1),
            assigned_clinician_id=clinician.id,
        )
        session.add(patient)
        session.flush()
        ids.append(patient.id)
        start = now - dt.timedelta(days=70)
        for offset in INDUCTION:
            record_infusion(
                session,
                actor=staff,
                patient_id=patient.id,
                infusion=InfusionInput(
                    administered_at=start + dt.timedelta(days=offset), route="iv", dose_mg=35
                ),
            )
        for offset, level in ((-1, 2), (14, 1), (28, 1 if n % 2 else 2)):
            submit_checkin(
                session,
                actor=staff,
                patient_id=patient.id,
                instrument="phq9",
                answers=_phq9(level),
                administered_at=start + dt.timedelta(days=offset, hours=1),
            )
    build_clinic(session, clinic_id=clinic.id)
    return Actor(admin.id, clinic.id, "administrator", f"admin-{name}"), staff, ids[0]


@pytest.fixture(scope="module")
def two_clinics(tmp_path_factory: pytest.TempPathFactory) -> TwoClinics:
    from data.accounts import hash_password

    url = f"sqlite:///{tmp_path_factory.mktemp('outcomes-cache') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    secret = hash_password("correct horse battery")
    with transaction(engine, write=True) as session:
        admin_r, staff_r, patient_r = _clinic(session, "R", 8, secret)
        admin_s, _, _ = _clinic(session, "S", 6, secret)
        # Both clinics at the same data version: only the clinic in the key tells their
        # cached aggregates apart.
        for clinic_id in (admin_r.clinic_id, admin_s.clinic_id):
            session.execute(
                delete(ClinicDataVersion).where(ClinicDataVersion.clinic_id == clinic_id)
            )
            session.add(ClinicDataVersion(clinic_id=clinic_id, slot=0, version=7))
    engine.dispose()
    return TwoClinics(url, admin_r, admin_s, staff_r, patient_r)


@pytest.fixture
def url(two_clinics: TwoClinics, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", two_clinics.url)
    st.cache_data.clear()
    yield two_clinics.url


def _outcomes(actor: Actor) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=90)
    signed_in(app, actor).run()
    app.switch_page("app_pages/admin/outcomes.py").run()
    assert not app.exception, app.exception
    return app


def _treated(app: AppTest) -> str:
    return str(app.metric[0].value)


def _not_checked_in_this_week(app: AppTest) -> str:
    app.session_state["outcomes_tab"] = "Check-in completeness"  # only the open tab is drawn
    app.run()
    table = next(f.value for f in app.dataframe if "Not checked in" in f.value.columns)
    assert isinstance(table, pd.DataFrame)
    return str(table["Not checked in"].iloc[0])


def _views(url: str, actor: Actor, action: str) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        views = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.actor_id == actor.user_id, AuditEvent.action == action)
        )
    engine.dispose()
    return int(views or 0)


def test_a_checkin_bumps_the_version_and_the_page_shows_it(
    url: str, two_clinics: TwoClinics
) -> None:
    app = _outcomes(two_clinics.admin_r)
    assert _not_checked_in_this_week(app) == "8"
    views = _views(url, two_clinics.admin_r, "view_cohort_phq9")
    weekly = _views(url, two_clinics.admin_r, "view_weekly_phq9")
    app.run()  # a rerun takes the cached aggregates, and is still checked and recorded
    assert _not_checked_in_this_week(app) == "8"
    # The weekly means were not read again (cached); the view was recorded all the same.
    assert _views(url, two_clinics.admin_r, "view_weekly_phq9") == weekly
    assert _views(url, two_clinics.admin_r, "view_cohort_phq9") > views
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        before = data_version(session, clinic_id=two_clinics.admin_r.clinic_id)
        submit_checkin(
            session,
            actor=two_clinics.staff_r,
            patient_id=two_clinics.patient_r,
            instrument="phq9",
            answers=_phq9(0),
        )
        # What the check-in's own transaction does once every writer keeps the course state
        # (issue 13, the writers' part); a second refresh changes nothing but the version.
        refresh_patients(
            session,
            clinic_id=two_clinics.admin_r.clinic_id,
            patient_ids=[two_clinics.patient_r],
            instruments=["phq9"],
        )
    with transaction(engine) as session:
        assert data_version(session, clinic_id=two_clinics.admin_r.clinic_id) > before
    engine.dispose()
    app.run()
    assert not app.exception, app.exception
    assert _not_checked_in_this_week(app) == "7"


def test_another_clinics_administrator_never_gets_this_clinics_aggregates(
    url: str, two_clinics: TwoClinics
) -> None:
    assert _treated(_outcomes(two_clinics.admin_r)) == "8"
    # Same version, instrument, filters and day: the cache holds clinic R's report now.
    other = _outcomes(two_clinics.admin_s)
    assert _treated(other) == "6"
    assert _not_checked_in_this_week(other) == "6"


def test_a_disabled_account_sees_no_cached_number(url: str, two_clinics: TwoClinics) -> None:
    admin = two_clinics.admin_s
    app = _outcomes(admin)
    assert _treated(app) == "6"
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        session.execute(update(User).where(User.id == admin.user_id).values(active=False))
    try:
        app.run()
        shown = [str(m.value) for m in app.metric]
        assert "6" not in shown
    finally:
        with transaction(engine, write=True) as session:
            session.execute(update(User).where(User.id == admin.user_id).values(active=True))
        engine.dispose()
