"""Fair use of one server: a budget for forecast work, a limit on failed token checks.

Both refuse with :class:`~gpuledger.domain.RateLimited` (429 with Retry-After)
instead of queueing, so a flood from some callers never slows the others:

- :class:`ForecastBudget`: forecasts running at once may not exceed a budget
  of samples x lots (one forecast alone always runs, whatever its size);
- :class:`SignInLimiter`: after ``failures`` failed token checks within a
  window, from one client address or for one token id, further checks are
  refused before any argon2 hash is computed; checks in flight count as
  failures until they end, and at most ``concurrent`` checks of tokens not
  verified before run at once (each may cost argon2's 64 MiB and a core). A
  token that succeeded before passes all of this (checking it again costs no
  hash), so a flood of wrong secrets for someone's token id does not lock its
  owner out.

- :class:`Tarpit`: a client refused again before its Retry-After has passed
  gets its next 429 only after a short delay, so clients that repeat refused
  requests in a loop cost the server a few requests a second each.

The budget and the limiter also answer ``refuse_early``: the same rule, asked before anything else
runs for a request (no token check, no database, no parsing), so a server
refuses a flood for a few microseconds of its event loop each
(``api.gate.FairUseGate``). It only ever refuses what the full check would
refuse now; the full check still runs for every request it lets through.

Every table here is bounded. The limits come from ``config.ServerSettings``.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, TypeVar

from gpuledger.config import ServerSettings
from gpuledger.domain import RateLimited, Unauthenticated
from gpuledger.governance.tokens import parse as parse_token

T = TypeVar("T")

#: Client addresses and token ids tracked at once; the oldest are forgotten beyond.
KEYS_MAX: Final = 100_000
#: Tokens remembered as having succeeded (by id).
GOOD_MAX: Final = 10_000
#: The most seconds a Retry-After says.
RETRY_MAX: Final = 60
#: Refusals held back at once by the tarpit (each a sleeping request).
HELD_MAX: Final = 1000

Clock = Callable[[], float]


class ForecastBudget:
    """Forecast work in flight (samples x lots), refused beyond ``budget``."""

    def __init__(self, budget: int, clock: Clock = time.monotonic) -> None:
        assert budget >= 1, budget
        self._budget = budget
        self._clock = clock
        self._lock = threading.Lock()
        self._in_use = 0
        self._seconds_per_unit = 1e-6  # learnt from the forecasts that ran
        self._per_sample = 0  # the work per sample of the last forecast admitted (0: none yet)

    @property
    def in_use(self) -> int:
        """The work of the forecasts running now."""
        return self._in_use

    @contextmanager
    def running(self, cost: int, *, per_sample: int = 0) -> Iterator[None]:
        """Hold ``cost`` units of the budget while a forecast runs; RateLimited when full.

        ``per_sample`` (the lots a sample forecasts, when known) is remembered for
        :meth:`refuse_early`.
        """
        cost = max(1, cost)
        with self._lock:
            self._refuse(cost)
            self._in_use += cost
            if per_sample > 0:
                self._per_sample = per_sample
        started = self._clock()
        try:
            yield
        finally:
            elapsed = self._clock() - started
            with self._lock:
                self._in_use -= cost
                self._seconds_per_unit = 0.8 * self._seconds_per_unit + 0.2 * elapsed / cost
            assert self._in_use >= 0, self._in_use

    def refuse_early(self, samples: int) -> None:
        """RateLimited now if a forecast of ``samples`` would be refused now.

        Its work is judged on the size of the last forecast admitted (before
        any, nothing is refused here): a server asks this before it reads the
        books or checks the caller's token; :meth:`running` decides again.
        """
        with self._lock:
            if self._per_sample:
                self._refuse(forecast_cost(samples, self._per_sample))

    def _refuse(self, cost: int) -> None:
        """The budget's one rule (the lock held): beyond it, unless nothing runs, 429."""
        if self._in_use and self._in_use + cost > self._budget:
            wait = math.ceil(self._in_use * self._seconds_per_unit)
            raise RateLimited(
                f"the server is running {self._in_use:,} units of forecast work "
                f"(samples x lots; budget {self._budget:,}); this forecast needs "
                f"{cost:,}: retry later or ask for fewer samples",
                retry_after=min(max(wait, 1), RETRY_MAX),
            )


class SignInLimiter:
    """Failed token checks per client address and per token id, in a sliding window."""

    def __init__(
        self,
        failures: int,
        window_seconds: int,
        clock: Clock = time.monotonic,
        *,
        concurrent: int = 2,
    ) -> None:
        assert failures >= 1 and window_seconds >= 1 and concurrent >= 1
        self._failures = failures
        self._window = window_seconds
        self._concurrent = concurrent
        self._clock = clock
        self._lock = threading.Lock()
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()
        self._in_flight: dict[str, int] = {}
        self._checking = 0
        self._good: OrderedDict[str, str] = OrderedDict()  # token id -> sha256 of the token

    @contextmanager
    def attempt(self, token_id: str | None, address: str | None, token: str) -> Iterator[None]:
        """Hold a slot while ``token`` is checked; RateLimited when that may not run now.

        A token that succeeded before passes at once (its check costs no hash).
        """
        keys = self._keys(token_id, address)
        held = False
        with self._lock:
            if token_id is None or self._good.get(token_id) != _digest(token):
                self._admit(keys)
                self._checking += 1
                for key in keys:
                    self._in_flight[key] = self._in_flight.get(key, 0) + 1
                held = True
        try:
            yield
        finally:
            if held:
                self._release(keys)

    def refuse_early(self, token: str, address: str | None) -> None:
        """RateLimited now if a check of ``token`` from ``address`` would be refused for
        failures; counts nothing and holds no slot. A token that succeeded before passes.
        """
        try:
            token_id: str | None = parse_token(token)
        except Unauthenticated:
            token_id = None
        with self._lock:
            if token_id is not None and self._good.get(token_id) == _digest(token):
                return
            self._refuse_failures(self._keys(token_id, address), self._clock())

    def check(self, token: str, address: str | None, verify: Callable[[str], T]) -> T:
        """``verify(token)`` under the limits: the one way every interface checks a token.

        Counts a failure (Unauthenticated from ``verify``) against the token id and
        the address, remembers a success; RateLimited before ``verify`` runs when
        the limits say so. Used by the API's bearer check and the web sign-in.
        """
        try:
            token_id: str | None = parse_token(token)
        except Unauthenticated:
            token_id = None
        with self.attempt(token_id, address, token):
            try:
                found = verify(token)
            except Unauthenticated:
                self.failed(token_id, address)
                raise
        assert token_id is not None, "a malformed token never verifies"
        self.succeeded(token_id, token)
        return found

    def _admit(self, keys: list[str]) -> None:
        self._refuse_failures(keys, self._clock())
        if self._checking >= self._concurrent:
            raise RateLimited("too many token checks at once; retry in a moment", retry_after=1)

    def _refuse_failures(self, keys: list[str], now: float) -> None:
        """RateLimited while any of ``keys`` has used up its failures (the lock held)."""
        wait = max([self._blocked_for(key, now) for key in keys], default=0.0)
        if wait > 0:
            raise RateLimited(
                f"too many failed token checks (at most {self._failures} in "
                f"{self._window} s per client and per token)",
                retry_after=min(max(math.ceil(wait), 1), RETRY_MAX),
            )

    def _release(self, keys: list[str]) -> None:
        with self._lock:
            self._checking -= 1
            for key in keys:
                left = self._in_flight.get(key, 1) - 1
                if left:
                    self._in_flight[key] = left
                else:
                    self._in_flight.pop(key, None)
            assert self._checking >= 0, self._checking

    def failed(self, token_id: str | None, address: str | None) -> None:
        """Count one failed check against the address and the token id."""
        now = self._clock()
        with self._lock:
            for key in self._keys(token_id, address):
                times = self._failed.pop(key, None) or deque(maxlen=self._failures)
                times.append(now)
                self._failed[key] = times  # most recent last
            while len(self._failed) > KEYS_MAX:
                self._failed.popitem(last=False)

    def succeeded(self, token_id: str, token: str) -> None:
        """Remember that ``token`` checked out (it passes every limit from then on)."""
        with self._lock:
            self._good.pop(token_id, None)
            self._good[token_id] = _digest(token)
            while len(self._good) > GOOD_MAX:
                self._good.popitem(last=False)

    def _blocked_for(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (checks in flight count as failures)."""
        times = self._failed.get(key, ())
        recent = [t for t in times if t + self._window > now]
        if len(recent) + self._in_flight.get(key, 0) < self._failures:
            return 0.0
        if len(recent) < self._failures:
            return 1.0  # checks in flight will decide
        return recent[0] + self._window - now  # the oldest of the last ``failures`` ages out

    @staticmethod
    def _keys(token_id: str | None, address: str | None) -> list[str]:
        keys = [] if token_id is None else [f"token:{token_id}"]
        return keys + ([] if address is None else [f"addr:{address}"])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tarpit:
    """Clients that ask again before their Retry-After has passed are answered slowly.

    Each refusal remembers, per client address, until when it told the client
    to wait. A client refused again before then ignored Retry-After: its 429 is
    held ``delay`` seconds before it is sent (a sleeping request: no thread, no
    work), so a client repeating refused requests in a loop sends a few a
    second instead of a thousand. A client that waits as told is never held,
    and at most ``held_max`` answers are held at once (beyond, they go at once).
    """

    def __init__(self, delay: float, held_max: int = HELD_MAX, clock: Clock = time.monotonic):
        assert delay >= 0 and held_max >= 0, (delay, held_max)
        self._delay = delay
        self._held_max = held_max
        self._clock = clock
        self._lock = threading.Lock()
        self._until: OrderedDict[str, float] = OrderedDict()  # address -> told to wait until
        self._held = 0

    @property
    def held(self) -> int:
        """Answers held now."""
        return self._held

    def refused(self, address: str | None, retry_after: int) -> float:
        """Record a refusal of ``address``; the seconds to hold its answer (0: send it now).

        A positive answer holds a slot: give it back with :meth:`released`.
        """
        if address is None or not self._delay:
            return 0.0
        now = self._clock()
        with self._lock:
            ignored = self._until.pop(address, 0.0) > now
            self._until[address] = now + retry_after  # most recent last
            while len(self._until) > KEYS_MAX:
                self._until.popitem(last=False)
            if not ignored or self._held >= self._held_max:
                return 0.0
            self._held += 1
        return self._delay

    def released(self) -> None:
        """A held answer was sent."""
        with self._lock:
            self._held -= 1
            assert self._held >= 0, self._held


@dataclass(frozen=True)
class FairUse:
    """One server's forecast budget, sign-in limiter and tarpit."""

    forecasts: ForecastBudget
    sign_in: SignInLimiter
    tarpit: Tarpit

    @classmethod
    def of(cls, settings: ServerSettings, clock: Clock = time.monotonic) -> FairUse:
        """The limits ``settings`` state."""
        return cls(
            ForecastBudget(settings.forecast_budget, clock),
            SignInLimiter(
                settings.auth_failures,
                settings.auth_window_seconds,
                clock,
                concurrent=settings.auth_concurrent,
            ),
            Tarpit(settings.refusal_delay_ms / 1000, clock=clock),
        )


def forecast_cost(samples: int, lots: int) -> int:
    """The work of one forecast: samples x lots (at least 1)."""
    return max(1, samples) * max(1, lots)
