"""The demo clinic's accounts: three clinicians, an administrator and ``demo-patient``.

The three sign-ins of :data:`DEMO_SIGN_INS` share the public password :data:`DEMO_PASSWORD`
(the data are synthetic); every other demo account gets the hash of a random string, so
nobody can sign in with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.accounts import hash_password
from data.demo.plan import Plan, at
from data.demo.write import bulk_insert
from data.models import User

DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DemoSignIn:
    """A demo account anyone may use (the password is public: the data are synthetic)."""

    username: str
    password: str
    role: str
    what_to_try: str


DEMO_SIGN_INS: tuple[DemoSignIn, ...] = (
    DemoSignIn(
        "demo-patient",
        DEMO_PASSWORD,
        "patient",
        "a responder in maintenance: weekly check-in (due tomorrow) and own progress",
    ),
    DemoSignIn(
        "demo-clinician",
        DEMO_PASSWORD,
        "clinician",
        "worklist with open safety alerts, trajectories, infusion records",
    ),
    DemoSignIn(
        "demo-admin",
        DEMO_PASSWORD,
        "administrator",
        "the clinic's aggregate outcomes, data completeness and accounts",
    ),
)

STAFF = (
    ("demo-clinician", "Dr. Morgan Demo (synthetic)", "clinician"),
    ("demo-clinician-2", "Dr. Robin Example (synthetic)", "clinician"),
    ("demo-clinician-3", "NP Casey Placeholder (synthetic)", "clinician"),
    ("demo-admin", "Demo Administrator (synthetic)", "administrator"),
)
"""Username, display name and role of each staff account."""


@dataclass(frozen=True)
class DemoAccounts:
    """The ids of the demo clinic's accounts.

    Attributes
    ----------
    clinician_ids : list of int
        The clinicians', in the order of :data:`STAFF` (``Plan.clinician`` indexes it).
    patient_user_id : int
        The ``demo-patient`` account's.
    """

    clinician_ids: list[int]
    patient_user_id: int


@functools.cache
def _shared_hashes() -> tuple[str, str]:
    """The demo password's hash, and the hash of a random string for every other account.

    argon2 is slow on purpose, so each is computed once (per process) and shared: the demo
    password is public anyway, and nobody knows the random string.
    """
    return hash_password(DEMO_PASSWORD), hash_password(secrets.token_urlsafe(32))


def write_accounts(
    session: Session, *, clinic_id: int, opened: dt.datetime, account_plan: Plan
) -> DemoAccounts:
    """Store the staff (created when the clinic ``opened``) and the ``demo-patient`` account.

    ``demo-patient`` is ``account_plan``'s patient, created eight days before the first
    treatment.
    """
    demo_hash, unusable_hash = _shared_hashes()
    demo_usernames = {sign_in.username for sign_in in DEMO_SIGN_INS}
    accounts = [(username, display_name, role, opened) for username, display_name, role in STAFF]
    accounts.append(
        (
            "demo-patient",
            account_plan.name,
            "patient",
            at(account_plan.first_day - dt.timedelta(days=8), 16 * 60),
        )
    )
    bulk_insert(
        session,
        User,
        [
            {
                "clinic_id": clinic_id,
                "username": username,
                "display_name": display_name,
                "role": role,
                "password_hash": demo_hash if username in demo_usernames else unusable_hash,
                "failed_logins": 0,
                "active": True,
                "created_at": created,
            }
            for username, display_name, role, created in accounts
        ],
    )
    user_ids = dict(
        session.execute(select(User.username, User.id).where(User.clinic_id == clinic_id)).all()
    )
    return DemoAccounts(
        clinician_ids=[user_ids[username] for username, _, role in STAFF if role == "clinician"],
        patient_user_id=user_ids["demo-patient"],
    )
