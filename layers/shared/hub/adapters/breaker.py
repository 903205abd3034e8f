"""A circuit breaker per downstream API (its host and port), kept in memory by each Lambda sandbox.

After `failures` calls in a row that failed for the API's own sake (a 5xx after the retries, a
timeout, a connection that could not be made or broke) the circuit opens: for `cooldown` seconds
every call to that API fails at once, without a request, with CircuitOpenError ("circuit open for
<api>"), and its record goes back to its queue to be tried later. Then the circuit is half-open:
one call goes through (the others still fail fast); its success closes the circuit, its failure
opens it for another cool-down. A 4xx (429 included: the API answers, it asks to slow down) is an
answer, never a failure of the API. A log line and a metric (`CircuitOpened`, `CircuitClosed`) say
when a circuit opens and closes.

Why in memory, per sandbox, and not shared through DynamoDB: it costs nothing per call and cannot
fail itself; a sandbox handles one invocation at a time and lives for many, so it learns of an
outage after `failures` calls and then stops calling for the cool-down. Sandboxes that do not share
it each pay those few failed calls per cool-down, bounded by the function's concurrency (a queue's
event source scales to a handful of sandboxes). Shared state would add a read and a conditional
write to every outbound call, on the path of every record, and a new way to fail.

Why not pybreaker: it counts an excluded exception as a success (a call refused for lack of time
would close a half-open circuit), holds its lock for the whole call (a concurrent caller waits on a
half-open circuit instead of failing fast), knows only exceptions (a 5xx here is a response, returned
after the retries) and reads the wall clock, where a monotonic clock that tests can hand in is wanted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

__all__ = [
    "BreakerSettings",
    "CircuitBreaker",
    "breaker_for",
    "breaker_settings",
    "reset_breakers",
]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class BreakerSettings:
    failures: int = 5  # failed calls in a row that open the circuit
    cooldown: float = 60.0  # seconds it stays open before one call may try


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"environment variable {name} must be positive")
    return value


@cache
def breaker_settings() -> BreakerSettings:
    """HUB_CIRCUIT_FAILURES and HUB_CIRCUIT_COOLDOWN_SECONDS, read when a breaker is first made."""
    return BreakerSettings(
        failures=max(1, int(_positive("HUB_CIRCUIT_FAILURES", BreakerSettings.failures))),
        cooldown=_positive("HUB_CIRCUIT_COOLDOWN_SECONDS", BreakerSettings.cooldown),
    )


Listener = Callable[["CircuitBreaker", str, str], None]


class CircuitBreaker:
    """The circuit of one API: closed, open until a moment, or half-open with one trial call out."""

    def __init__(
        self,
        api: str,
        *,
        failures: int = BreakerSettings.failures,
        cooldown: float = BreakerSettings.cooldown,
        clock: Callable[[], float] = time.monotonic,
        listener: Listener | None = None,
    ) -> None:
        self.api = api
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._listener = listener
        self._lock = threading.Lock()
        self._failed = 0  # failures in a row
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is out

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self._trial or self._clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def retry_in(self) -> float:
        """Seconds until the circuit lets a call try again (0 when it does now)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown - self._clock())

    def allow(self) -> bool:
        """May a call go out now? When half-open, True for one caller until its outcome is known."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return True
            if state == OPEN or self._trial:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        """The API answered (anything but a 5xx): the circuit closes."""
        with self._lock:
            was = self._state()
            self._failed, self._opened_at, self._trial = 0, None, False
        if was != CLOSED:
            self._notify(was, CLOSED)

    def failure(self) -> None:
        """The API failed the call: the count goes up; at the threshold, or on a trial, it opens."""
        with self._lock:
            was = self._state()
            self._failed += 1
            if was == CLOSED and self._failed < self.failures:
                return
            self._opened_at, self._trial = self._clock(), False
        self._notify(was, OPEN)

    def release(self) -> None:
        """The call ended without saying anything of the API (it was refused before it went out, or
        failed in the hub's own code): a trial slot it held is given back; nothing is counted."""
        with self._lock:
            self._trial = False

    def _notify(self, was: str, now: str) -> None:
        if self._listener is not None and was != now:
            self._listener(self, was, now)


def _log_change(breaker: CircuitBreaker, was: str, now: str) -> None:
    from hub.observability import MetricUnit, logger, metrics

    detail = {"api": breaker.api, "from_state": was, "to_state": now}
    if now == OPEN:
        metrics.add_metric(name="CircuitOpened", unit=MetricUnit.Count, value=1)
        logger.warning(
            "circuit open for %s: calls fail fast for %ss",
            breaker.api,
            breaker.cooldown,
            extra={**detail, "failures": breaker.failures, "cooldown_seconds": breaker.cooldown},
        )
    else:
        metrics.add_metric(name="CircuitClosed", unit=MetricUnit.Count, value=1)
        logger.info("circuit closed for %s", breaker.api, extra=detail)


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker_for(api: str) -> CircuitBreaker:
    """The sandbox's breaker for `api`, made on first use."""
    with _registry_lock:
        breaker = _breakers.get(api)
        if breaker is None:
            config = breaker_settings()
            breaker = CircuitBreaker(api, failures=config.failures, cooldown=config.cooldown, listener=_log_change)
            _breakers[api] = breaker
        return breaker


def reset_breakers() -> None:
    """Forget every circuit and the settings (tests: each starts with closed circuits)."""
    with _registry_lock:
        _breakers.clear()
    breaker_settings.cache_clear()
