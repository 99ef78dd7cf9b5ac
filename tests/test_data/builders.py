"""What the import, export and rescore tests share: files, counts and a clinic's history.

``_history`` enters check-ins and an infusion the way the app does; the others build CSV
text and FHIR bundles, or read back what a test stored. The names keep their leading
underscore from the module they came from (``test_import_export.py``, split in issue 10),
so that the moved tests read exactly as before.

The account tests (``test_sign_in.py``, ``test_sign_in_throttle.py``, ``test_sessions.py``,
``test_passwords.py``, ``test_account_admin.py``, split from ``test_accounts.py``) share the
wrong password, the clock, a good new user, the user behind an actor and an argon2 hasher
that counts its verifications.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Actor
from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.infusions import InfusionInput, record_infusion
from data.models import Assessment, Base, User
from tests.conftest import World

NOW = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
PHQ9_HEADER = "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 11))
PHQ9_ROW = "phq9,2025-01-06,1,1,1,1,1,1,1,1,0,"


def _count(session: Session, model: type[Base], **where: object) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(session.scalar(query) or 0)


def _csv(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join(lines) + "\n")


def _mrn(world: World, patient: Actor) -> str:
    return f"MRN-{patient.username}"


def _stored(session: Session, clinic_id: int) -> list[Assessment]:
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.clinic_id == clinic_id)
            .order_by(Assessment.administered_at, Assessment.instrument)
        )
    )


def _problems(refused: pytest.ExceptionInfo[InvalidInput]) -> str:
    return "\n".join(refused.value.problems)


def _one_response_bundle(subject: str, authored: str = "2025-01-06") -> dict[str, Any]:
    from outcomes.fhir import patient_bundle

    when = dt.datetime.fromisoformat(authored).replace(hour=12, tzinfo=dt.UTC)
    bundle = patient_bundle(
        [("phq9", {f"phq9_{i}": 1 for i in range(1, 10)}, when)], subject=subject
    )
    dumped: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return dumped


def _history(session: Session, world: World) -> None:
    """Check-ins and infusions of clinic A, entered the way the app enters them."""
    # The infusion first: the check-ins' windows hang on it (spec §4, issue 14).
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        infusion=InfusionInput(
            administered_at=NOW - dt.timedelta(days=21),
            route="iv",
            dose_mg_per_kg=0.5,
            systolic_before=130,
            diastolic_before=85,
            side_effects=("nausea",),
            side_effects_note="=1+1 ginger ale helped",
        ),
    )
    for days, patient, item9 in (
        (20, world.patient_a1, 1),
        (13, world.patient_a1, 0),
        (6, world.patient_a2, 0),
    ):
        answers: dict[str, Any] = {f"phq9_{i}": (i + days) % 4 for i in range(1, 9)}
        answers["phq9_9"] = item9
        submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=answers,
            administered_at=NOW - dt.timedelta(days=days),
        )
    submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="gad7",
        answers={f"gad7_{i}": 2 for i in range(1, 7)},  # one missing: prorated
        administered_at=NOW - dt.timedelta(days=13, hours=1),
    )


# --- accounts ---------------------------------------------------------------------------------

WRONG = "not the password at all"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


GOOD_USER = {
    "username": "new-clinician",
    "password": "a long enough password",
    "role": "clinician",
    "display_name": "New Clinician",
}


def _user_id(actor: Actor) -> int:
    assert actor.user_id is not None
    return actor.user_id


def _user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    assert user is not None
    return user


class CountingHasher:
    """argon2's PasswordHasher, counting verifications (its instances cannot be patched)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verifications = 0
        self.verified_hashes: list[str] = []

    def verify(self, hash: str, password: str) -> bool:
        self.verifications += 1
        self.verified_hashes.append(hash)
        return bool(self.real.verify(hash, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
