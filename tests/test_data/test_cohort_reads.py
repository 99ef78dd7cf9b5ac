"""Reads for aggregates (data.records.cohort): pseudonyms, the weekly means in SQL against the
library, the outcomes page's filtered weekly table; and a form key that cannot be reused for
another record."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.infusions import InfusionInput, record_infusion
from data.models import Infusion, TreatmentCourse, User, utcnow
from data.records.cohort import cohort_assessments, cohort_infusions, weekly_aggregates
from data.records.patients import create_patient
from outcomes.cohort import mean_score_by_week
from outcomes.privacy import MIN_GROUP
from outcomes.reporting import select_cohort
from tests.builders import add_user
from tests.conftest import World

PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)}


def _history(session: Session, world: World) -> None:
    for patient in (world.patient_a1, world.patient_a2):
        submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=PHQ9,
        )
        record_infusion(
            session,
            actor=world.clinician_a,
            patient_id=patient.patient_id or 0,
            infusion=InfusionInput(administered_at=utcnow(), route="iv", dose_mg=35.0),
        )


def test_administrators_get_pseudonyms_not_patient_ids(session: Session, world: World) -> None:
    _history(session, world)
    real_ids = {world.patient_a1.patient_id, world.patient_a2.patient_id}
    staff = cohort_assessments(session, actor=world.clinician_a, instrument="phq9")
    assert set(staff["patient_id"]) == real_ids
    admin = cohort_assessments(session, actor=world.admin_a, instrument="phq9")
    admin_infusions = cohort_infusions(session, actor=world.admin_a)
    assert len(admin) == 2 and not set(admin["patient_id"]) & real_ids
    # consistent between the two reads, so aggregates can still join them
    assert set(admin["patient_id"]) == set(admin_infusions["patient_id"])
    assert admin["total"].tolist() == staff["total"].tolist()


def test_a_form_key_cannot_return_another_instruments_result(
    session: Session, world: World
) -> None:
    madrs = {f"madrs_{i}": 4 for i in range(1, 11)}
    submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="madrs",
        answers=madrs,
        idempotency_key="k1",
    )
    with pytest.raises(InvalidInput, match="already used for another record"):
        submit_checkin(
            session,
            actor=world.patient_a1,
            patient_id=world.patient_a1.patient_id or 0,
            instrument="phq9",
            answers=PHQ9,
            idempotency_key="k1",
        )


def test_weekly_aggregates_in_sql_match_the_library(session: Session, world: World) -> None:
    """The SQL aggregate and outcomes.cohort.mean_score_by_week are one definition."""
    import datetime as dt

    import pandas as pd

    from outcomes.cohort import mean_score_by_week

    start = utcnow() - dt.timedelta(days=60)
    for offset, patient in enumerate((world.patient_a1, world.patient_a2)):
        pid = patient.patient_id or 0
        record_infusion(
            session,
            actor=world.clinician_a,
            patient_id=pid,
            infusion=InfusionInput(
                administered_at=start + dt.timedelta(hours=2), route="iv", dose_mg=35.0
            ),
        )
        for day, level in ((0, 3), (3, 2), (6, 2), (13, 1), (14, 1), (30, 0)):
            answers = {f"phq9_{i}": level for i in range(1, 10)} | {"phq9_9": offset % 2}
            submit_checkin(
                session,
                actor=world.clinician_a,
                patient_id=pid,
                instrument="phq9",
                answers=answers,
                administered_at=start + dt.timedelta(days=day),
            )
    sql = weekly_aggregates(session, actor=world.admin_a, instrument="phq9")
    scores = cohort_assessments(session, actor=world.clinician_a, instrument="phq9")
    infusions = cohort_infusions(session, actor=world.clinician_a)
    library = mean_score_by_week("phq9", scores, infusions)
    pd.testing.assert_frame_equal(
        sql.reset_index(drop=True), library.reset_index(drop=True), check_dtype=False
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weekly_aggregates_match_the_library_at_the_edges(
    session: Session, world: World, seed: int
) -> None:
    """Times just either side of midnight UTC, scores before the first infusion, several in
    a day and in a week, identical times: SQL and library still agree on every week."""
    import datetime as dt
    import random

    import pandas as pd

    from outcomes.cohort import mean_score_by_week

    rng = random.Random(seed)
    midnight = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    edges = (
        dt.timedelta(0),
        dt.timedelta(microseconds=-1),
        dt.timedelta(milliseconds=1),
        dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
    )
    for patient in (world.patient_a1, world.patient_a2):
        pid = patient.patient_id or 0
        first = midnight + rng.choice(edges) + dt.timedelta(days=rng.randint(0, 3))
        for extra in (0, rng.randint(1, 20)):
            record_infusion(
                session,
                actor=world.clinician_a,
                patient_id=pid,
                infusion=InfusionInput(
                    administered_at=first + dt.timedelta(days=extra), route="iv", dose_mg=35.0
                ),
            )
        times = [
            midnight + dt.timedelta(days=rng.randint(-5, 40)) + rng.choice(edges) for _ in range(25)
        ]
        answers = [{f"phq9_{i}": rng.randint(0, 3) for i in range(1, 10)} for _ in times]
        # The same form twice at the same moment (a re-import) still counts once; which of two
        # different answers at one moment is "latest" is undefined, so those are not tested.
        for moment, answer in [
            *zip(times, answers, strict=True),
            *zip(times[:3], answers[:3], strict=True),
        ]:
            submit_checkin(
                session,
                actor=world.clinician_a,
                patient_id=pid,
                instrument="phq9",
                answers=answer,
                administered_at=moment,
            )
    sql = weekly_aggregates(session, actor=world.admin_a, instrument="phq9")
    scores = cohort_assessments(session, actor=world.clinician_a, instrument="phq9")
    infusions = cohort_infusions(session, actor=world.clinician_a)
    library = mean_score_by_week("phq9", scores, infusions)
    assert len(sql) >= 5
    pd.testing.assert_frame_equal(
        sql.reset_index(drop=True), library.reset_index(drop=True), check_dtype=False
    )


def _filtered_clinic(session: Session, world: World, password_hash: str) -> dt.date:
    """Sixteen patients of clinic A: two clinicians (and some unassigned), two protocols (and
    some infusions with no course, some first courses without a protocol's infusion first),
    first infusions either side of midnight over two weeks. Returns the first of those days."""
    rng = random.Random(10)
    base = dt.date(2026, 2, 2)
    other = add_user(session, world.clinic_a, "clinician-a2", "clinician", password_hash)
    clinicians = (world.clinician_a.user_id, other.id, None)
    for index in range(16):
        patient_id = create_patient(
            session,
            actor=world.clinician_a,
            external_id=f"MRN-W{index}",
            name=f"Weekly Patient {index}",
            assigned_clinician_id=clinicians[index % 3],
        )
        courses = {}
        for protocol in ("iv-six", "maintenance"):
            course = TreatmentCourse(
                clinic_id=world.clinic_a,
                patient_id=patient_id,
                indication="depression",
                protocol=protocol,
                started_on=base,
            )
            session.add(course)
            session.flush()
            courses[protocol] = course.id
        edge = rng.choice(
            (dt.timedelta(0), dt.timedelta(hours=23, minutes=59, seconds=59), dt.timedelta(hours=9))
        )
        first = dt.datetime.combine(base, dt.time(), dt.UTC) + dt.timedelta(days=index % 14) + edge
        # The first infusion has no course for every fourth patient: their protocol is the one
        # of their first infusion that has one.
        plan = [None if index % 4 == 0 else ("iv-six", "maintenance")[index % 2]]
        plan += [("iv-six", "maintenance")[(index // 2) % 2]] * rng.randint(1, 5)
        for number, protocol in enumerate(plan):
            infusion_id = record_infusion(
                session,
                actor=world.clinician_a,
                patient_id=patient_id,
                infusion=InfusionInput(
                    administered_at=first + dt.timedelta(days=3 * number), route="iv", dose_mg=35.0
                ),
            )
            if protocol is not None:
                session.execute(
                    update(Infusion)
                    .where(Infusion.id == infusion_id)
                    .values(course_id=courses[protocol])
                )
        for day in sorted(rng.sample(range(-4, 50), 12)):
            submit_checkin(
                session,
                actor=world.clinician_a,
                patient_id=patient_id,
                instrument="phq9",
                answers={f"phq9_{i}": rng.randint(0, 3) for i in range(1, 10)},
                administered_at=first + dt.timedelta(days=day, minutes=rng.randint(-600, 600)),
            )
    return base


def test_the_outcomes_pages_weekly_table_from_sql_is_the_librarys_on_the_filtered_cohort(
    session: Session, world: World, password_hash: str
) -> None:
    """The outcomes page reads its mean by week from weekly_aggregates with its filters and the
    small-cell rule; that is mean_score_by_week on select_cohort's cohort, weeks of n >=
    MIN_GROUP, for every filter and combination of them."""
    base = _filtered_clinic(session, world, password_hash)
    other_clinician = session.scalar(select(User.id).where(User.username == "clinician-a2"))
    infusions_all = cohort_infusions(session, actor=world.admin_a)
    scores_all = cohort_assessments(session, actor=world.admin_a, instrument="phq9")
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
        {"first_between": period, "clinician_id": world.clinician_a.user_id},
        {"first_between": period, "protocol": "maintenance"},
        {"clinician_id": other_clinician, "protocol": "iv-six"},
    ]
    dropped = kept = 0
    for filters in cases:
        keep = select_cohort(infusions_all, **filters)
        library = mean_score_by_week(
            "phq9",
            scores_all[scores_all["patient_id"].isin(keep)],
            infusions_all[infusions_all["patient_id"].isin(keep)],
        )
        shown = library[library["n"] >= MIN_GROUP].reset_index(drop=True)
        dropped += len(library) - len(shown)
        kept += len(shown)
        sql = weekly_aggregates(
            session, actor=world.admin_a, instrument="phq9", min_patients=MIN_GROUP, **filters
        )
        pd.testing.assert_frame_equal(
            sql.reset_index(drop=True), shown, check_dtype=False, obj=str(filters)
        )
    # The cases are not vacuous: weeks were shown, and small weeks were held back.
    assert kept >= 10 and dropped >= 10


def test_an_infusion_entered_in_error_sets_no_first_day_in_the_weekly_table(
    session: Session, world: World
) -> None:
    """A first infusion marked entered in error never was: the SQL aggregate counts weeks from
    the real first infusion, as the library does on the cohort's (counted) infusions."""
    import datetime as dt

    import pandas as pd

    from data.infusions import mark_infusion_entered_in_error
    from outcomes.cohort import mean_score_by_week

    start = utcnow() - dt.timedelta(days=60)
    pid = world.patient_a1.patient_id or 0
    mistaken = record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=pid,
        infusion=InfusionInput(
            administered_at=start - dt.timedelta(days=20), route="iv", dose_mg=35.0
        ),
    )
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=pid,
        infusion=InfusionInput(
            administered_at=start + dt.timedelta(hours=2), route="iv", dose_mg=35.0
        ),
    )
    mark_infusion_entered_in_error(
        session, actor=world.clinician_a, patient_id=pid, infusion_id=mistaken, reason="wrong chart"
    )
    for day, level in ((0, 3), (6, 2), (13, 1)):
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=pid,
            instrument="phq9",
            answers={f"phq9_{i}": level for i in range(1, 10)} | {"phq9_9": 0},
            administered_at=start + dt.timedelta(days=day),
        )
    sql = weekly_aggregates(session, actor=world.admin_a, instrument="phq9")
    library = mean_score_by_week(
        "phq9",
        cohort_assessments(session, actor=world.clinician_a, instrument="phq9"),
        cohort_infusions(session, actor=world.clinician_a),
    )
    assert list(sql["week"]) == [0, 1, 2]
    pd.testing.assert_frame_equal(
        sql.reset_index(drop=True), library.reset_index(drop=True), check_dtype=False
    )
