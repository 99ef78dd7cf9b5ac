"""Sign-in throttles that work before any password is checked: per address, and CPU slots.

These limits protect the server from a flood of sign-in attempts (issue 9, items 2 and 3); the
per-account lockout lives on the account row (:mod:`data.accounts`).

* **Per address** (:class:`AddressThrottle`): while an address has ``limit`` unsuccessful
  attempts (wrong password, unknown name, locked account, refused as busy or throttled)
  within the last ``window`` seconds, its attempts are refused at once, with the message
  every failed sign-in gets, and no password is checked. Refused attempts count too, so
  however fast an address tries it gets at most ``limit`` attempts per window (20 per
  15 minutes). A successful sign-in does not clear the count (a guesser who also knows one
  password must not buy new guesses with it).
* **Verification slots** (:class:`VerificationSlots`): one argon2 verification at a time in
  this process, at most four a second (one costs ~0.1 s of wall time and ~0.17 s of CPU:
  argon2 spreads its lanes over both cores). An attempt that cannot get a slot in time (1 s
  for an address without recent failures, none for the others) is refused ("try again in a
  moment") without touching the database. This is what keeps check-ins fast when a flood
  comes from many addresses at once, each under its own limit
  (``bench/load.py --signin-flood``).
* **Lower priority** (:func:`below_the_app`): the verification itself runs on a thread at
  nice 10 (Linux), so whenever a check-in and argon2 both want the CPU, the check-in goes
  first.

Limits of this design
---------------------
* **One process.** The counts live in this process's memory: each replica of the app behind a
  load balancer counts on its own, and a restart forgets them. The per-account lockout is in
  the database and holds across replicas and restarts. With several replicas, put the
  per-address limit in the reverse proxy as well (nginx ``limit_req``).
* **The address is the TCP peer's.** Streamlit reports the address of whoever opened the
  connection (``st.context.ip_address``), and none for a connection from the same machine.
  Behind a reverse proxy on another host every user has the proxy's address and shares one
  count; behind one on the same host there is no address and no per-address limit at all
  (:func:`data.accounts.sign_in`). Either way, let the proxy limit sign-in requests per
  client (nginx ``limit_req``). Several people behind one NAT (a clinic's office) share an
  address too.
* **Memory is bounded.** At most ``max_addresses`` addresses are remembered; past that, the
  one least recently seen is forgotten (an attacker with that many addresses is what the
  verification slots are for).

Both are thread-safe (Streamlit runs each session's script in its own thread).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

ADDRESS_LIMIT = 20
ADDRESS_WINDOW_SECONDS = 15 * 60
MAX_ADDRESSES = 100_000
VERIFICATION_SLOTS = 1
VERIFICATION_WAIT_SECONDS = 1.0
VERIFICATION_SPACING_SECONDS = 0.25
# The nice value of the threads that verify passwords (Linux): below the app's own threads,
# so a check-in's few milliseconds of work go ahead of argon2's 100 ms whenever both wait.
VERIFICATION_NICENESS = 10


class AddressThrottle:
    """At most ``limit`` unsuccessful sign-in attempts per address within ``window`` seconds.

    Parameters
    ----------
    limit
        Unsuccessful attempts an address may make within the window.
    window
        Seconds an attempt is remembered.
    max_addresses
        Addresses remembered at most (least recently seen forgotten first).
    clock
        Monotonic seconds; replaceable in tests.
    """

    def __init__(
        self,
        *,
        limit: int = ADDRESS_LIMIT,
        window: float = ADDRESS_WINDOW_SECONDS,
        max_addresses: int = MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._clock = clock
        self._lock = threading.Lock()
        # address -> times of its last ``limit`` unsuccessful attempts, oldest first
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self.refusals = 0  # attempts refused so far (for monitoring and bench/load.py)

    def throttled(self, address: str) -> bool:
        """Whether ``address`` must be refused now; a refused attempt counts as a failure."""
        now = self._clock()
        with self._lock:
            times = self._attempts.get(address)
            if times is None or len(times) < self.limit or times[0] <= now - self.window:
                return False
            self._note(address, times, now)
            self.refusals += 1
            return True

    def clean(self, address: str) -> bool:
        """Whether ``address`` has no unsuccessful attempt within the window."""
        now = self._clock()
        with self._lock:
            times = self._attempts.get(address)
            return not times or times[-1] <= now - self.window

    def failed(self, address: str) -> None:
        """Count an unsuccessful attempt from ``address``."""
        now = self._clock()
        with self._lock:
            times = self._attempts.get(address)
            if times is None:
                times = deque(maxlen=self.limit)
                self._attempts[address] = times
            self._note(address, times, now)
            while len(self._attempts) > self.max_addresses:
                self._attempts.popitem(last=False)

    def _note(self, address: str, times: deque[float], now: float) -> None:
        times.append(now)  # the deque keeps only the newest ``limit``
        self._attempts.move_to_end(address)

    def clear(self) -> None:
        """Forget every address (tests, and an operator's restart)."""
        with self._lock:
            self._attempts.clear()


class VerificationSlots:
    """At most ``slots`` password verifications at once, each slot starting one at most every
    ``spacing`` seconds.

    The spacing caps the share of the CPU that sign-ins can take however many arrive: with one
    slot and 0.25 s, four verifications a second (about two thirds of one core; argon2 spreads
    each over both cores), ample for a clinic's staff and patients, and check-ins keep the
    rest. An attempt from an address with a clean record waits up to ``wait`` seconds for a
    slot, first come first served, and goes ahead of attempts from addresses with recent
    failures, which never wait: they take a slot only if one is free and no clean attempt is
    waiting. So a flood from addresses that keep failing cannot crowd out a nurse signing in
    from the clinic (a flood from ever-new addresses can: nothing tells them apart).
    """

    def __init__(
        self,
        *,
        slots: int = VERIFICATION_SLOTS,
        wait: float = VERIFICATION_WAIT_SECONDS,
        spacing: float = VERIFICATION_SPACING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = slots
        self.wait = wait
        self.spacing = spacing
        self._clock = clock
        self._condition = threading.Condition()
        self._free = slots
        self._clean_waiting = 0
        # When each slot may next start a verification (earliest first).
        self._next_start = [0.0] * slots
        # Slots given and attempts refused so far (for monitoring and bench/load.py).
        self.granted = 0
        self.refusals = 0

    def _take(self, *, clean: bool) -> float | None:
        """A slot's pause before its verification may start, or None when none was had."""
        deadline = self._clock() + (self.wait if clean else 0.0)
        with self._condition:
            self._clean_waiting += clean
            try:
                while not (self._free and (clean or not self._clean_waiting)):
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        self.refusals += 1
                        return None
                    self._condition.wait(remaining)
            finally:
                self._clean_waiting -= clean
            self._free -= 1
            self.granted += 1
            now = self._clock()
            start = max(now, self._next_start.pop(0))
            self._next_start.append(start + self.spacing)
            self._next_start.sort()
            return start - now

    @contextmanager
    def slot(self, *, clean: bool = True) -> Iterator[bool]:
        """Yields whether a slot was had; the slot is given back when the block ends.

        ``clean``: the attempt's address has no recent failures (it may wait for a slot).
        """
        pause = self._take(clean=clean)
        if pause is None:
            yield False
            return
        try:
            if pause > 0:
                time.sleep(pause)  # holding the slot: the next attempt waits behind this one
            yield True
        finally:
            with self._condition:
                self._free += 1
                self._condition.notify()


def _run_below_the_app() -> None:
    """Lower this thread's priority, and so that of the lane threads argon2 starts from it.

    Only on Linux, where the nice value belongs to a thread; elsewhere it belongs to the
    whole process, which must keep its priority.
    """
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, max(current, VERIFICATION_NICENESS))
    except OSError:  # not allowed here: verify at normal priority
        pass


_VERIFIER = ThreadPoolExecutor(
    max_workers=VERIFICATION_SLOTS,
    thread_name_prefix="password-check",
    initializer=_run_below_the_app,
)


def below_the_app(work: Callable[[], T]) -> T:
    """``work()``, run on a thread of lower priority than the app's (the caller waits).

    argon2 takes ~0.17 s of CPU per verification, spread over both cores; at normal priority
    four a second lifted a concurrent check-in's p95 from ~10 ms to ~120 ms
    (``bench/load.py --signin-flood``), at lower priority a check-in goes first.
    """
    return _VERIFIER.submit(work).result()


# The process's own throttles, used by data.accounts.sign_in.
ADDRESSES = AddressThrottle()
SLOTS = VerificationSlots()
