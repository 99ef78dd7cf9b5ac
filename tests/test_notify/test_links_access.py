"""A check-in link's actor may store that check-in and nothing else, enforced below the UI.

Every call of the access matrix (:mod:`tests.test_data.test_access_matrix`: every public data
function with an access rule, on every kind of target) is made as a link's actor: each is
refused, and writes nothing, except storing the link's own questionnaire for the link's own
patient. History, progress, corrections, other patients and every list need a full sign-in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from data.access import LinkScope
from data.checkin import correctable_checkins, submit_checkin
from data.errors import AccessDenied
from data.notify.links import OpenedLink, issue_link, open_link
from tests.test_data.test_access_matrix import (
    CALLS,
    FUNCTIONS,
    PHQ9_MILD,
    MatrixWorld,
    _run_case,
)
from tests.test_data.test_access_matrix import matrix_world as matrix_world  # a fixture

SECRET = b"a test key that is long enough for links, 48 chars"

# The one call a link's actor may make: its own patient's check-in of its questionnaire (with
# or without a self-harm answer).
ALLOWED = {
    ("data.checkin.submit_checkin", "phq9", "patient_a1"),
    ("data.checkin.submit_checkin", "phq9 item 9", "patient_a1"),
}


def _link_actor(session: Session, matrix: MatrixWorld) -> OpenedLink:
    patient = matrix.world.patient_a1.patient_id
    assert patient is not None
    link = issue_link(
        session,
        clinic_id=matrix.world.clinic_a,
        patient_id=patient,
        purpose="checkin",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        instruments=("phq9",),
        secret=SECRET,
    )
    opened = open_link(session, token=link.token, secret=SECRET)
    assert isinstance(opened, OpenedLink)
    return opened


def test_a_link_actor_is_refused_everything_but_its_checkin(
    session: Session, matrix_world: MatrixWorld
) -> None:
    actor = _link_actor(session, matrix_world).actor
    failures: list[str] = []
    allowed_seen: set[tuple[str, str, str]] = set()
    cases = 0
    for name, calls in sorted(CALLS.items()):
        for call in calls:
            for target_name in call.targets:
                target = matrix_world.targets[target_name]
                kwargs = call.kwargs(matrix_world, target)
                cases += 1
                outcome, detail = _run_case(session, FUNCTIONS[name], actor, kwargs)
                key = (name, call.label, target_name)
                expected = "allowed" if key in ALLOWED else "denied"
                if outcome == "allowed":
                    allowed_seen.add(key)
                if outcome != expected:
                    failures.append(f"{name}[{call.label}] on {target_name}: {outcome} {detail}")
    assert cases > 100
    assert not failures, "\n".join(failures)
    assert allowed_seen == ALLOWED


def test_a_link_actor_cannot_correct_or_read_and_a_forged_scope_is_refused(
    session: Session, matrix_world: MatrixWorld
) -> None:
    opened = _link_actor(session, matrix_world)
    patient = opened.patient_id
    stored = submit_checkin(
        session,
        actor=matrix_world.world.patient_a1,
        patient_id=patient,
        instrument="gad7",
        answers={f"gad7_{i}": 1 for i in range(1, 8)},
    )
    try:
        submit_checkin(
            session,
            actor=opened.actor,
            patient_id=patient,
            instrument="gad7",
            answers={f"gad7_{i}": 0 for i in range(1, 8)},
            corrects=stored.assessment_id,
        )
    except AccessDenied:
        pass
    else:  # pragma: no cover - the assertion's message
        raise AssertionError("a link's actor corrected a check-in")
    gad7 = ("gad7", {f"gad7_{i}": 1 for i in range(1, 8)})
    phq9 = ("phq9", PHQ9_MILD)
    widened = replace(opened.actor.scope, instruments=("phq9", "gad7"))  # type: ignore[type-var]
    for forged, (instrument, answers) in (
        # A scope widened on the page's copy: the link's row still says phq9 only.
        (replace(opened.actor, scope=widened), gad7),
        # Another link's id, or a made-up one.
        (replace(opened.actor, scope=LinkScope("checkin", 987_654_321, ("phq9",))), phq9),
        # Another patient's id with this link.
        (replace(opened.actor, patient_id=matrix_world.world.patient_a2.patient_id), phq9),
        # No scope at all: the patient's user without a session is a full patient actor only
        # with the username of their sign-in.
        (replace(opened.actor, scope=None), phq9),
    ):
        outcome, _ = _run_case(
            session,
            submit_checkin,
            forged,
            {"patient_id": forged.patient_id, "instrument": instrument, "answers": answers},
        )
        assert outcome == "denied", (forged, instrument)
    outcome, _ = _run_case(session, correctable_checkins, opened.actor, {"patient_id": patient})
    assert outcome == "denied"
