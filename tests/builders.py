"""Builders of records that many test modules need, in one place.

Rows are written through the ORM in the test's own session and flushed, so that their ids
are known; the test's outer transaction rolls them back (``tests/conftest.py``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from data.models import User


def add_user(
    session: Session,
    clinic_id: int,
    username: str,
    role: str,
    password_hash: str,
    *,
    display_name: str | None = None,
) -> User:
    """An active account of ``role`` in a clinic, with no failed sign-ins.

    Staff accounts, and the sign-in of a patient (whose ``Patient`` row the caller links).
    ``display_name`` defaults to the username in title case (``clinician-a`` is
    "Clinician A").
    """
    user = User(
        clinic_id=clinic_id,
        username=username,
        display_name=username.replace("-", " ").title() if display_name is None else display_name,
        role=role,
        password_hash=password_hash,
        failed_logins=0,
        active=True,
    )
    session.add(user)
    session.flush()
    return user
