"""Check-ins while sign-in attempts flood the app: ``bench/load.py --signin-flood RATE``.

Issue 9, item 3: the sign-in page verified passwords (argon2, ~0.1 s) inside a SQLite write
transaction, so 200 attempts made check-ins fail with "records are busy". Here ``--patients``
patients check in (the machinery of ``load_harness``) while ``--signin-flood`` attempts per
second hit data.accounts.sign_in, the function the sign-in page calls, from
``--signin-addresses`` addresses with ``--signin-usernames`` usernames (a few real staff
accounts, the rest invented): many addresses, each under its own limit, is the worst case for
the per-address throttle, so the verification slots are what protects the check-ins. The flood
is a bounded loop on loopback (at most rate x seconds attempts) and stops by itself.

Run through ``bench/load.py``:
``.venv/bin/python bench/load.py --signin-flood 200 --think-ms 500 --seconds 30``
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from load_harness import (
    MAX_SECONDS,
    LoadResult,
    create_clinic,
    drive,
    ensure_loopback,
    latency_ms,
    loopback_postgres,
    postgres_database,
    verify,
)
from sqlalchemy import Engine

from data.engine import make_engine, transaction
from data.models import User

FLOOD_REAL_ACCOUNTS = 50
FLOOD_WORKERS = 256
LEGIT_PASSWORD = "a legitimate staff password"


@dataclass
class SignInFloodResult:
    """Check-in figures under a sign-in flood, and what became of the attempts."""

    backend: str
    rate: int
    addresses: int
    usernames: int
    attempts: int = 0
    attempts_per_second: float = 0.0
    verified: int = 0  # an argon2 verification ran (a dummy hash for locked or unknown names)
    throttled: int = 0  # refused by the per-address throttle, no argon2 work
    refused: int = 0  # no verification slot free in time ("try again in a moment")
    unexpected: int = 0  # anything else (an error reaching the sign-in page)
    unexpected_kinds: dict[str, int] = field(default_factory=dict)
    legit_attempts: int = 0  # one right password a second, each from an address of its own
    legit_signed_in: int = 0
    legit_outcomes: dict[str, int] = field(default_factory=dict)
    checkins: LoadResult | None = None

    @property
    def ok(self) -> bool:
        return self.checkins is not None and self.checkins.ok and self.unexpected == 0


def _flood_accounts(engine: Engine, clinic_id: int, count: int) -> list[str]:
    """``count`` staff accounts with a real argon2 hash (one hash, made once), committed."""
    from data.accounts import hash_password

    password_hash = hash_password(LEGIT_PASSWORD)
    tag = uuid.uuid4().hex[:6]
    names = [f"flood-staff-{tag}-{n}" for n in range(count)]
    with transaction(engine, write=True) as session:
        for name in names:
            session.add(
                User(
                    clinic_id=clinic_id,
                    username=name,
                    display_name="Flood Staff",
                    role="clinician",
                    password_hash=password_hash,
                    failed_logins=0,
                    active=True,
                )
            )
    return names


def _flood(
    engine: Engine,
    *,
    rate: int,
    seconds: float,
    addresses: int,
    usernames: list[str],
    legit: str,
    result: SignInFloodResult,
    seed: int = 7,
) -> None:
    """Send ``rate`` attempts a second for ``seconds`` (each in a thread, as Streamlit runs
    each session's script in one), and one legitimate sign-in a second; wait for all."""
    from concurrent.futures import ThreadPoolExecutor

    from data.accounts import SIGN_IN_BUSY, SIGN_IN_REFUSED, sign_in
    from data.errors import SignInFailed

    rng = random.Random(seed)
    lock = threading.Lock()
    outcomes: collections.Counter[str] = collections.Counter()
    pool = [f"198.18.{i // 256}.{i % 256}" for i in range(addresses)]

    def attempt(username: str, password: str, address: str, kind: str) -> None:
        try:
            sign_in(engine, username=username, password=password, address=address)
            outcome = f"{kind}:signed_in"
        except SignInFailed as refusal:
            words = {SIGN_IN_BUSY: "busy", SIGN_IN_REFUSED: "refused"}
            outcome = f"{kind}:" + words.get(str(refusal), "error other refusal")
        except Exception as error:  # what the sign-in page would have shown as an error
            outcome = f"{kind}:error {type(error).__name__}"
        with lock:
            outcomes[outcome] += 1

    started = time.monotonic()
    deadline = started + seconds
    with ThreadPoolExecutor(max_workers=FLOOD_WORKERS) as workers:
        for n in range(int(rate * seconds)):
            due = started + n / rate
            now = time.monotonic()
            if now >= deadline:
                break
            if due > now:
                time.sleep(due - now)
            workers.submit(attempt, rng.choice(usernames), f"guess {n}", rng.choice(pool), "flood")
            if n % rate == 0:  # once a second, someone who knows their password
                workers.submit(
                    attempt, legit, LEGIT_PASSWORD, f"192.0.2.{n // rate % 250}", "legit"
                )
        elapsed = time.monotonic() - started
    result.attempts = sum(n for key, n in outcomes.items() if key.startswith("flood:"))
    result.attempts_per_second = round(result.attempts / max(elapsed, 1e-9), 1)
    result.legit_attempts = sum(n for key, n in outcomes.items() if key.startswith("legit:"))
    result.legit_signed_in = outcomes["legit:signed_in"]
    result.legit_outcomes = {k[6:]: n for k, n in outcomes.items() if k.startswith("legit:")}
    errors = {k: n for k, n in outcomes.items() if ":error" in k or k.endswith(":signed_in")}
    errors.pop("legit:signed_in", None)  # the only success expected
    result.unexpected = sum(errors.values())
    result.unexpected_kinds = errors


def run_signin_flood(
    url: str,
    *,
    backend: str,
    patients: int,
    seconds: float,
    rate: int = 200,
    addresses: int = 1000,
    usernames: int = 1000,
    think_seconds: float = 0.5,
    max_submissions: int = 1_000_000,
    engine_options: dict[str, Any] | None = None,
) -> SignInFloodResult:
    """Check-ins of ``patients`` patients while ``rate`` sign-in attempts a second hit the
    same engine through :func:`data.accounts.sign_in`; both for ``seconds``."""
    from data import signin_throttle

    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SECONDS}]")
    if not 0 < rate <= 1000 or not 0 < addresses <= 65_536 or usernames < 2:
        raise ValueError("rate must be in 1..1000, addresses in 1..65536, usernames >= 2")
    ensure_loopback(url)
    engine = make_engine(url, **(engine_options or {}))
    result = SignInFloodResult(backend=backend, rate=rate, addresses=addresses, usernames=usernames)
    addresses_before = signin_throttle.ADDRESSES.refusals
    slots = signin_throttle.SLOTS
    granted_before, busy_before = slots.granted, slots.refusals
    signin_throttle.ADDRESSES.clear()
    try:
        actors = create_clinic(engine, patients)
        clinic_id = actors[0].clinic_id
        real = _flood_accounts(engine, clinic_id, min(FLOOD_REAL_ACCOUNTS, usernames - 1) + 1)
        legit, real = real[0], real[1:]
        names = real + [f"invented-{n}" for n in range(usernames - len(real))]
        flood = threading.Thread(
            target=_flood,
            kwargs={
                "engine": engine,
                "rate": rate,
                "seconds": seconds,
                "addresses": addresses,
                "usernames": names,
                "legit": legit,
                "result": result,
            },
        )
        started = time.perf_counter()
        flood.start()
        sent = drive(
            engine,
            actors,
            seconds=seconds,
            max_submissions=max_submissions,
            think_seconds=think_seconds,
        )
        elapsed = time.perf_counter() - started
        flood.join()
        checkins = LoadResult(
            backend=backend,
            patients=patients,
            seconds=round(elapsed, 1),
            think_ms=round(think_seconds * 1000),
        )
        checkins.submissions = len(sent)
        checkins.resends = sum(s.resend for s in sent)
        checkins.forms = len({s.key for s in sent})
        checkins.self_harm_forms = len({s.key for s in sent if s.self_harm})
        checkins.per_second = round(len(sent) / elapsed, 1)
        checkins.p50_ms, checkins.p95_ms, checkins.p99_ms, checkins.max_ms = latency_ms(sent)
        verify(engine, clinic_id, sent, checkins)
        result.checkins = checkins
        result.verified = slots.granted - granted_before
        result.refused = slots.refusals - busy_before
        result.throttled = signin_throttle.ADDRESSES.refusals - addresses_before
        return result
    finally:
        signin_throttle.ADDRESSES.clear()  # the flood's addresses are not the app's
        engine.dispose()


def flood_table(results: list[SignInFloodResult]) -> str:
    header = (
        "database  patients  seconds  check-ins  errors  p50 ms  p95 ms  p99 ms  max ms  "
        "sign-ins/s  attempts  verified  throttled  refused  unexpected  legit ok  checks"
    )
    lines = [header]
    for r in results:
        c = r.checkins
        assert c is not None
        lines.append(
            f"{r.backend:>8}  {c.patients:>8}  {c.seconds:>7}  {c.submissions:>9}  "
            f"{c.errors:>6}  {c.p50_ms:>6}  {c.p95_ms:>6}  {c.p99_ms:>6}  {c.max_ms:>6}  "
            f"{r.attempts_per_second:>10}  {r.attempts:>8}  {r.verified:>8}  "
            f"{r.throttled:>9}  {r.refused:>7}  {r.unexpected:>10}  "
            f"{r.legit_signed_in:>3}/{r.legit_attempts:<4}  {'pass' if r.ok else 'FAIL'}"
        )
    for r in results:
        assert r.checkins is not None
        lines.extend(f"{r.backend}: {problem}" for problem in r.checkins.problems)
        lines.extend(f"{r.backend}: {n} x {k}" for k, n in r.checkins.error_kinds.items())
        lines.extend(f"{r.backend}: {n} x sign-in {k}" for k, n in r.unexpected_kinds.items())
    return "\n".join(lines)


def main_signin_flood(args: argparse.Namespace, options: dict[str, Any]) -> None:
    """``--signin-flood RATE``: the flood scenario on the chosen databases."""
    results: list[SignInFloodResult] = []
    common = {
        "patients": args.patients,
        "seconds": args.seconds,
        "rate": args.signin_flood,
        "addresses": args.signin_addresses,
        "usernames": args.signin_usernames,
        "think_seconds": args.think_ms / 1000,
        "max_submissions": args.max_submissions,
        "engine_options": options,
    }
    with tempfile.TemporaryDirectory(prefix="outcomes-flood-") as scratch:
        if args.backend in ("sqlite", "both"):
            folder = args.workdir or Path(scratch)
            url = f"sqlite:///{folder / f'flood-{uuid.uuid4().hex[:6]}.db'}"
            results.append(run_signin_flood(url, backend="sqlite", **common))
        if args.backend in ("postgres", "both"):
            with loopback_postgres(args.postgres_url, "flood") as server:
                url = postgres_database(server, f"flood_{uuid.uuid4().hex[:8]}")
                results.append(run_signin_flood(url, backend="postgresql", **common))
    print(flood_table(results))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) | {"ok": r.ok} for r in results], indent=2, default=str)
        )
    sys.exit(0 if all(r.ok for r in results) else 1)
