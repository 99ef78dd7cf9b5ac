"""Ended sessions (``data.accounts.session_still_valid``): disabling an account, resetting its
password or signing out everywhere ends the sessions signed in before."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from data.account_admin import reset_password, set_user_active
from data.accounts import authenticate, session_still_valid, sign_out_everywhere
from data.models import utcnow
from tests.conftest import World
from tests.test_data.builders import _user, _user_id


def _signed_in_a_moment_ago() -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=1)


def test_a_session_ends_when_the_account_is_disabled(session: Session, world: World) -> None:
    signed_in_at = _signed_in_a_moment_ago()
    actor = world.clinician_a
    assert session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    set_user_active(session, actor=world.admin_a, user_id=_user_id(actor), active=False)
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    # Enabling the account again does not bring back the session that was ended.
    set_user_active(session, actor=world.admin_a, user_id=_user_id(actor), active=True)
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    assert session_still_valid(session, actor=actor, signed_in_at=utcnow())


def test_a_session_ends_when_the_password_is_reset(session: Session, world: World) -> None:
    signed_in_at = _signed_in_a_moment_ago()
    actor = world.patient_a1
    assert session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    reset_password(
        session,
        actor=world.admin_a,
        user_id=_user_id(actor),
        new_password="a brand new password",
    )
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)


def test_signing_out_everywhere_ends_earlier_sessions_only(session: Session, world: World) -> None:
    signed_in_at = _signed_in_a_moment_ago()
    actor = world.clinician_a
    sign_out_everywhere(session, actor=actor)
    assert not session_still_valid(session, actor=actor, signed_in_at=signed_in_at)
    assert session_still_valid(session, actor=actor, signed_in_at=utcnow())
    assert session_still_valid(session, actor=world.patient_a1, signed_in_at=signed_in_at)


def test_a_password_reset_unlocks_the_account(session: Session, world: World) -> None:
    _user(session, world.clinician_a).locked_until = utcnow() + dt.timedelta(minutes=10)
    reset_password(
        session,
        actor=world.admin_a,
        user_id=_user_id(world.clinician_a),
        new_password="a brand new password",
    )
    actor = authenticate(session, username="clinician-a", password="a brand new password")
    assert actor == world.clinician_a
