"""The app's sign-in (``data.accounts.sign_in``) on a committed database: its own short
transactions, the password checked outside any write transaction, and the throttles of
``data.signin_throttle`` (per address, verification slots, spacing, priority)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import data.accounts
from data import engine as engine_module
from data import signin_throttle
from data.access import Actor
from data.accounts import LOCKOUT, MAX_FAILED_SIGN_INS, SIGN_IN_BUSY, SIGN_IN_REFUSED, sign_in
from data.engine import make_engine, transaction
from data.errors import SignInFailed
from data.models import AuditEvent, Clinic, Patient, User
from data.schema import upgrade
from tests.builders import add_user
from tests.conftest import PASSWORD, fresh_database_url
from tests.test_data.builders import T0, WRONG, CountingHasher

# --- the app's sign-in: separate transactions, throttles ---------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def own_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database of its own: :func:`sign_in` commits, so it cannot run in ``session``."""
    url = fresh_database_url(request.param, request, tmp_path_factory.mktemp("sign-in"))
    database = make_engine(url)
    upgrade(database)
    yield database
    database.dispose()


@dataclass(frozen=True)
class Committed:
    engine: Engine
    clinician: Actor
    patient: Actor


@pytest.fixture
def committed(own_database: Engine, password_hash: str) -> Iterator[Committed]:
    """A clinician and a patient committed under fresh names; throttles start empty."""
    tag = uuid.uuid4().hex[:8]
    with transaction(own_database, write=True) as session:
        clinic = Clinic(name=f"Sign-in {tag}")
        session.add(clinic)
        session.flush()
        clinician = add_user(
            session, clinic.id, f"clinician-{tag}", "clinician", password_hash, display_name="C"
        )
        patient_user = add_user(
            session, clinic.id, f"patient-{tag}", "patient", password_hash, display_name="P"
        )
        patient = Patient(
            clinic_id=clinic.id, external_id=f"MRN-{tag}", name="P", user_id=patient_user.id
        )
        session.add(patient)
        session.flush()
        world = Committed(
            own_database,
            Actor(clinician.id, clinic.id, "clinician", clinician.username),
            Actor(patient_user.id, clinic.id, "patient", patient_user.username, patient.id),
        )
    signin_throttle.ADDRESSES.clear()
    yield world
    signin_throttle.ADDRESSES.clear()


def _sign_in_refusal(world: Committed, **kwargs: Any) -> str:
    with pytest.raises(SignInFailed) as refused:
        sign_in(world.engine, **({"address": "203.0.113.9"} | kwargs))
    return str(refused.value)


def _failures(world: Committed) -> int:
    with transaction(world.engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "sign_in_failed")
            )
            or 0
        )


def test_sign_in_gives_the_actor_and_counts_failures_in_its_own_transactions(
    committed: Committed,
) -> None:
    actor = sign_in(
        committed.engine,
        username=committed.patient.username.upper(),
        password=PASSWORD,
        address="203.0.113.9",
    )
    assert actor == committed.patient
    before = _failures(committed)
    refusal = _sign_in_refusal(committed, username=committed.clinician.username, password=WRONG)
    assert refusal == SIGN_IN_REFUSED
    assert _failures(committed) == before + 1  # committed although sign-in raised
    with transaction(committed.engine) as session:
        assert session.get(User, committed.clinician.user_id).failed_logins == 1  # type: ignore[union-attr]


def test_sign_in_checks_the_password_outside_any_write_transaction(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, item 3: the page verified the password (argon2, ~0.1 s) inside a write
    transaction, so on SQLite every sign-in held the file's one write lock and 200 attempts
    made check-ins fail with "records are busy". While a sign-in is verifying, another write
    must go through at once."""
    verifying, finish = threading.Event(), threading.Event()
    real = data.accounts._hasher

    class SlowHasher(CountingHasher):
        def verify(self, hash: str, password: str) -> bool:
            verifying.set()
            finish.wait(10)
            return super().verify(hash, password)

    monkeypatch.setattr(data.accounts, "_hasher", SlowHasher(real))
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 300)
    outcome: list[Actor] = []
    signing_in = threading.Thread(
        target=lambda: outcome.append(
            sign_in(
                committed.engine,
                username=committed.clinician.username,
                password=PASSWORD,
                address="203.0.113.9",
            )
        )
    )
    signing_in.start()
    try:
        assert verifying.wait(10)
        with transaction(committed.engine, write=True) as session:  # a check-in's turn
            session.get(User, committed.patient.user_id).display_name = "P2"  # type: ignore[union-attr]
    finally:
        finish.set()
        signing_in.join(10)
    assert outcome == [committed.clinician]


def test_an_address_that_keeps_failing_is_refused_before_any_work(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-address throttle: after ADDRESS_LIMIT failures an address is refused with the
    usual words, with no argon2 verification and nothing written; other addresses are not."""
    for n in range(signin_throttle.ADDRESS_LIMIT):
        # Unknown names: the per-account lockout never sees these.
        _sign_in_refusal(committed, username=f"guess-{n}", password=WRONG)
    hasher = CountingHasher(data.accounts._hasher)
    monkeypatch.setattr(data.accounts, "_hasher", hasher)
    failures = _failures(committed)
    refusal = _sign_in_refusal(committed, username=committed.clinician.username, password=PASSWORD)
    assert refusal == SIGN_IN_REFUSED
    assert hasher.verifications == 0
    assert _failures(committed) == failures
    actor = sign_in(
        committed.engine,
        username=committed.clinician.username,
        password=PASSWORD,
        address="198.51.100.7",
    )
    assert actor == committed.clinician


def test_a_locked_account_signs_in_through_the_app_after_the_lock_only(
    committed: Committed,
) -> None:
    name = committed.clinician.username
    for _ in range(MAX_FAILED_SIGN_INS):
        _sign_in_refusal(committed, username=name, password=WRONG, now=T0)
    during = T0 + dt.timedelta(minutes=1)
    assert _sign_in_refusal(committed, username=name, password=PASSWORD, now=during) == (
        _sign_in_refusal(committed, username="nobody-here", password=WRONG, now=during)
    )
    after = during + LOCKOUT + dt.timedelta(seconds=1)
    assert sign_in(committed.engine, username=name, password=PASSWORD, address=None, now=after)


def test_when_no_verification_slot_is_free_the_attempt_is_refused_at_once(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most SLOTS verifications at once; a flood waits briefly, then hears "try again"."""
    slots = signin_throttle.VerificationSlots(slots=1, wait=0.05)
    monkeypatch.setattr(signin_throttle, "SLOTS", slots)
    hasher = CountingHasher(data.accounts._hasher)
    monkeypatch.setattr(data.accounts, "_hasher", hasher)
    with slots.slot() as had:
        assert had
        refusal = _sign_in_refusal(
            committed, username=committed.clinician.username, password=PASSWORD
        )
    assert refusal == SIGN_IN_BUSY
    assert "try again" in refusal
    assert hasher.verifications == 0
    assert sign_in(
        committed.engine,
        username=committed.clinician.username,
        password=PASSWORD,
        address="203.0.113.9",
    )


def test_the_address_throttle_forgets_quiet_addresses_and_bounds_its_memory() -> None:
    clock = [1000.0]
    throttle = signin_throttle.AddressThrottle(
        limit=3, window=60, max_addresses=2, clock=lambda: clock[0]
    )
    for _ in range(3):
        assert not throttle.throttled("a")
        throttle.failed("a")
    assert throttle.throttled("a")
    clock[0] += 59
    assert throttle.throttled("a")  # the three failures are still within the window
    clock[0] += 2
    assert not throttle.throttled("a")  # they left it: at most 3 attempts a minute
    throttle.failed("a")
    assert not throttle.throttled("a")
    throttle.failed("a")
    assert throttle.throttled("a")  # two new failures and the refused attempt at 1059
    for _ in range(3):
        throttle.failed("b")
    throttle.failed("c")
    throttle.failed("d")  # a third address: "b", the least recently seen, is forgotten
    assert not throttle.throttled("b")


def test_clean_addresses_go_ahead_of_addresses_with_recent_failures() -> None:
    """A nurse's first attempt waits for the slot; a flooding address's never does, and never
    takes the slot from under a waiting clean attempt."""
    slots = signin_throttle.VerificationSlots(slots=1, wait=5, spacing=0)
    got: list[bool] = []

    def clean_attempt() -> None:
        with slots.slot(clean=True) as had:
            got.append(had)

    with slots.slot(clean=True) as had:
        assert had
        nurse = threading.Thread(target=clean_attempt)
        nurse.start()
        for _ in range(500):
            if slots._clean_waiting:
                break
            threading.Event().wait(0.01)
        assert slots._clean_waiting == 1
        with slots.slot(clean=False) as flood_had:
            assert not flood_had  # busy: refused at once, no wait
    nurse.join(5)
    assert got == [True]
    with slots.slot(clean=False) as had:
        assert had  # a free slot and nobody waiting: any address may use it
    assert (slots.granted, slots.refusals) == (3, 1)


def test_verifications_are_spaced_so_sign_ins_take_a_bounded_share_of_the_cpu() -> None:
    clock = [50.0]
    slots = signin_throttle.VerificationSlots(slots=1, wait=1, spacing=0.25, clock=lambda: clock[0])
    with slots.slot() as had:
        assert had
    clock[0] += 0.1
    assert slots._take(clean=True) == pytest.approx(0.15)  # waits out the spacing


def test_an_unknown_address_is_not_throttled_for_everyone(committed: Committed) -> None:
    """Streamlit gives no address for a connection from this machine (a reverse proxy on the
    same host): one shared count would let a stranger's failures stop every user."""
    for n in range(signin_throttle.ADDRESS_LIMIT + 2):
        _sign_in_refusal(committed, username=f"guess-{n}", password=WRONG, address=None)
    actor = sign_in(
        committed.engine, username=committed.clinician.username, password=PASSWORD, address=None
    )
    assert actor == committed.clinician


def test_passwords_are_verified_below_the_apps_priority(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 at normal priority lifted concurrent check-ins' p95 from ~10 ms to ~120 ms
    (bench/load.py --signin-flood 200); on a lower-priority thread check-ins go first."""
    seen: list[int] = []

    class WhereHasher(CountingHasher):
        def verify(self, hash: str, password: str) -> bool:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return super().verify(hash, password)

    monkeypatch.setattr(data.accounts, "_hasher", WhereHasher(data.accounts._hasher))
    sign_in(
        committed.engine,
        username=committed.clinician.username,
        password=PASSWORD,
        address="203.0.113.9",
    )
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    if sys.platform == "linux":
        assert seen and seen[0] >= signin_throttle.VERIFICATION_NICENESS > mine
    else:  # elsewhere the nice value is the whole process's: it is left alone
        assert seen == [mine]
