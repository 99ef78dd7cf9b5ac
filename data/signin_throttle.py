"""Sign-in throttles that work before any password is checked: per address, and CPU slots.

Two limits protect the server from a flood of sign-in attempts (issue 9, items 2 and 3); the
per-account lockout lives on the account row (:mod:`data.accounts`).

* **Per address** (:class:`AddressThrottle`): while an address has ``limit`` unsuccessful
  attempts (wrong password, unknown name, locked account, refused as busy or throttled)
  within the last ``window`` seconds, its attempts are refused at once, with the message
  every failed sign-in gets, and no password is checked. Refused attempts count too, so
  however fast an address tries it gets at most ``limit`` attempts per window (20 per
  15 minutes). A successful sign-in does not clear the count (a guesser who also knows one
  password must not buy new guesses with it).
* **Verification slots** (:class:`VerificationSlots`): at most ``slots`` argon2 verifications
  run at once in this process (one verification costs ~0.1 s of wall time and ~0.17 s of CPU:
  argon2 spreads its lanes over both cores). An attempt that cannot get a slot within
  ``wait`` seconds is refused ("try again in a moment") without touching the database. This is
  what keeps check-ins fast when a flood comes from many addresses at once, each under its own
  limit (``bench/load.py --signin-flood``).

Limits of this design
---------------------
* **One process.** The counts live in this process's memory: each replica of the app behind a
  load balancer counts on its own, and a restart forgets them. The per-account lockout is in
  the database and holds across replicas and restarts. With several replicas, put the
  per-address limit in the reverse proxy as well (nginx ``limit_req``).
* **The address is the TCP peer's.** Streamlit reports the address of whoever opened the
  connection (``st.context.ip_address``). Behind a reverse proxy that is the proxy, so every
  user shares one address: configure the proxy to limit per client address itself, or raise
  the limit here. Several people behind one NAT (a clinic's office) share an address too.
* **Memory is bounded.** At most ``max_addresses`` addresses are remembered; past that, the
  one least recently seen is forgotten (an attacker with that many addresses is what the
  verification slots are for).

Both are thread-safe (Streamlit runs each session's script in its own thread).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ADDRESS_LIMIT = 20
ADDRESS_WINDOW_SECONDS = 15 * 60
MAX_ADDRESSES = 100_000
VERIFICATION_SLOTS = 1
VERIFICATION_WAIT_SECONDS = 0.5


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

    def throttled(self, address: str) -> bool:
        """Whether ``address`` must be refused now; a refused attempt counts as a failure."""
        now = self._clock()
        with self._lock:
            times = self._attempts.get(address)
            if times is None or len(times) < self.limit or times[0] <= now - self.window:
                return False
            self._note(address, times, now)
            return True

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
    """At most ``slots`` password verifications at once; a wait of at most ``wait`` seconds."""

    def __init__(
        self, *, slots: int = VERIFICATION_SLOTS, wait: float = VERIFICATION_WAIT_SECONDS
    ) -> None:
        self.slots = slots
        self.wait = wait
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields whether a slot was had; the slot is given back when the block ends."""
        had = self._semaphore.acquire(timeout=self.wait)
        try:
            yield had
        finally:
            if had:
                self._semaphore.release()


# The process's own throttles, used by data.accounts.sign_in.
ADDRESSES = AddressThrottle()
SLOTS = VerificationSlots()
