"""The outcomes page's reads of the stored course state (issue 13): the cohort and every
aggregate the page shows equal what the page computed from every score and infusion before,
for every filter, on SQLite and PostgreSQL; administrators get pseudonyms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.course_state import build_clinic, data_version, drift, refresh_patients
from data.models import User
from data.records.cohort import (
    cohort_assessments,
    cohort_courses,
    cohort_infusions,
    cohort_protocols,
    outcomes_view,
)
from outcomes.completeness import (
    missing_this_week,
    missing_this_week_from_days,
    weekly_completeness,
    weekly_completeness_from_days,
)
from outcomes.course import course_outcomes
from outcomes.reporting import compare_groups, induction_funnel, per_patient, select_cohort
from outcomes.stored_timepoints import rates_from_timepoints
from outcomes.timepoints import response_rates
from tests.conftest import World
from tests.test_data.test_cohort_reads import _filtered_clinic


def test_the_stored_cohort_gives_the_pages_every_aggregate_for_every_filter(
    session: Session, world: World, password_hash: str
) -> None:
    base = _filtered_clinic(session, world, password_hash)
    build_clinic(session, clinic_id=world.clinic_a)
    other_clinician = session.scalar(select(User.id).where(User.username == "clinician-a2"))
    admin = world.admin_a
    infusions_all = cohort_infusions(session, actor=admin)
    scores_all = cohort_assessments(session, actor=admin, instrument="phq9")
    period = (base + dt.timedelta(days=3), base + dt.timedelta(days=9))
    cases: list[dict[str, Any]] = [
        {},
        {"first_between": period},
        {"first_between": (base + dt.timedelta(days=30), base + dt.timedelta(days=40))},
        {"clinician_id": world.clinician_a.user_id},
        {"clinician_id": other_clinician},
        {"protocol": "iv-six"},
        {"protocol": "maintenance"},
        {"protocol": "no such protocol"},
        {"first_between": period, "protocol": "maintenance"},
        {"clinician_id": other_clinician, "protocol": "iv-six"},
    ]
    responders = 0
    for filters in cases:
        keep = select_cohort(infusions_all, **filters)
        infusions = infusions_all[infusions_all["patient_id"].isin(keep)]
        scores = scores_all[scores_all["patient_id"].isin(keep)]
        stored = cohort_courses(session, actor=admin, instrument="phq9", **filters)
        # The same patients, under the same pseudonyms as the other aggregate reads.
        assert sorted(stored.index) == sorted(keep), filters
        funnel = induction_funnel(infusions)
        assert {
            "infusion 1": int((stored["infusions"] >= 1).sum()),
            "infusion 6": int((stored["infusions"] >= 6).sum()),
            "maintenance": int((stored["infusions"] > 6).sum()),
        } == funnel
        patients = per_patient(infusions)
        for today in (base + dt.timedelta(days=d) for d in (10, 30, 45, 70, 120)):
            courses = course_outcomes("phq9", scores, infusions, today=today)
            expected = response_rates("phq9", scores, infusions, courses=courses, today=today)
            pd.testing.assert_frame_equal(
                rates_from_timepoints("phq9", stored, today=today), expected, obj=str(filters)
            )
            responders += int(expected["started_responders"].sum())
            pd.testing.assert_frame_equal(
                weekly_completeness_from_days(stored, today=today),
                weekly_completeness(courses, scores, today=today),
            )
            # The same order of patients: who comes first among equally long silences.
            pd.testing.assert_frame_equal(
                missing_this_week_from_days(stored.reindex(courses.index), today=today),
                missing_this_week(courses, scores, today=today),
            )
        for column in ("clinician_id", "protocol"):
            pd.testing.assert_frame_equal(
                compare_groups(stored, stored[column]),
                compare_groups(courses, patients[column]),
                check_dtype=False,
            )
    assert responders > 0  # the rates are not all empty


def test_clinicians_get_patient_ids_administrators_pseudonyms(
    session: Session, world: World, password_hash: str
) -> None:
    _filtered_clinic(session, world, password_hash)
    build_clinic(session, clinic_id=world.clinic_a)
    staff = cohort_courses(session, actor=world.clinician_a, instrument="phq9")
    admin = cohort_courses(session, actor=world.admin_a, instrument="phq9")
    assert len(staff) == len(admin) == 16
    assert not set(staff.index) & set(admin.index)
    assert sorted(staff["baseline_total"].dropna()) == sorted(admin["baseline_total"].dropna())
    assert cohort_protocols(session, actor=world.admin_a) == ["iv-six", "maintenance"]


def test_the_view_is_recorded_and_returns_the_data_version(session: Session, world: World) -> None:
    before = data_version(session, clinic_id=world.clinic_a)
    assert outcomes_view(session, actor=world.admin_a, instrument="phq9") == before
    build_clinic(session, clinic_id=world.clinic_a)
    assert outcomes_view(session, actor=world.admin_a, instrument="phq9") > before


def test_a_writes_one_patient_refresh_stores_the_same_facts_as_a_full_build(
    session: Session, world: World, password_hash: str
) -> None:
    """The page's facts come from both paths of data.course_state: the one-patient refresh
    of a write and the vectorised build. drift() compares them column by column, JSON too."""
    _filtered_clinic(session, world, password_hash)
    build_clinic(session, clinic_id=world.clinic_a)
    staff = cohort_courses(session, actor=world.clinician_a, instrument="phq9")
    some = [int(patient) for patient in staff.index[:3]]
    refresh_patients(session, clinic_id=world.clinic_a, patient_ids=some)
    assert drift(session, clinic_id=world.clinic_a) == []
    again = cohort_courses(session, actor=world.clinician_a, instrument="phq9")
    pd.testing.assert_frame_equal(again, staff)
    assert again["week_4.closes"].notna().all()
