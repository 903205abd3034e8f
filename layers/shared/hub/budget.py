"""The time a record may spend: a deadline taken from the Lambda's remaining time, less a margin.

The batch processor (hub.bus.HubBatchProcessor) sets the deadline for each record it processes (and
for the batch's own work after the records, such as the CRM push); the outbound HTTP client
(hub.adapters.http) reads it, so no call starts that cannot finish before the function would be
stopped. A record out of time fails alone and goes back to its queue; a Lambda that runs into its
timeout fails its whole batch instead, successes included.

Standard library only: the deadline is a monotonic-clock instant in a context variable, and nothing
here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hub.ports import RemainingTime

__all__ = [
    "MIN_CALL_SECONDS",
    "SAFETY_MARGIN_SECONDS",
    "BatchShare",
    "deadline_from",
    "remaining",
    "time_budget",
]

# Kept back from the Lambda's remaining time: room to report the batch's failures and flush metrics.
SAFETY_MARGIN_SECONDS = 2.0
# Below this, an outbound call is not started: a TLS handshake and one answer do not fit in less.
MIN_CALL_SECONDS = 1.0

Clock = Callable[[], float]

_deadline: ContextVar[float | None] = ContextVar("hub_deadline", default=None)


def deadline_from(
    context: RemainingTime | None, *, margin: float = SAFETY_MARGIN_SECONDS, clock: Clock = time.monotonic
) -> float | None:
    """The monotonic instant by which the work must be done: now + remaining time - margin.

    None without a context (a script, a unit test): no deadline, as before.
    """
    if context is None:
        return None
    try:
        left_ms = context.get_remaining_time_in_millis()
    except AttributeError:
        return None
    return clock() + max(0.0, left_ms / 1000 - margin)


@contextmanager
def time_budget(deadline: float | None) -> Iterator[float | None]:
    """Run the block under `deadline` (kept if an enclosing budget ends sooner)."""
    outer = _deadline.get()
    if deadline is None or (outer is not None and outer < deadline):
        deadline = outer
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def remaining(clock: Clock = time.monotonic) -> float | None:
    """Seconds left in the current budget (0 when spent); None when no budget is set."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(0.0, deadline - clock())


class BatchShare:
    """The time left for a batch, shared fairly among the records not yet done (stock_updates: how
    long a contended order keeps retrying). `start` at each invocation, then per record:
    `spent()` before it starts, `record_deadline()` for its share."""

    def __init__(self, margin: float = SAFETY_MARGIN_SECONDS, clock: Clock = time.monotonic) -> None:
        self._margin = margin
        self._clock = clock
        self._deadline: float | None = None
        self._left = 0

    def start(self, records: int, context: RemainingTime | None) -> None:
        self._deadline = deadline_from(context, margin=self._margin, clock=self._clock)
        self._left = records

    def record_deadline(self) -> float | None:
        """When the record about to be processed stops retrying: its share of what is left."""
        if self._deadline is None:
            return None
        now = self._clock()
        share = max(0.0, self._deadline - now) / max(1, self._left)
        self._left -= 1
        return now + share

    def spent(self) -> bool:
        """The batch's time is up: a record not started now fails at once (SQS delivers it again)
        rather than run the function into its timeout, which would return the whole batch."""
        return self._deadline is not None and self._clock() >= self._deadline
