"""Retrying a write that lost a race, for as long as the function has time left.

A reservation whose condition failed (another order took the units) or a transaction DynamoDB
cancelled for a conflicting one (TransactionConflict) is tried again after a jittered exponential
wait ("full jitter": uniform between 0 and min(cap, base * 2^n)), so that the orders racing for a hot
SKU spread out instead of colliding again in step. Retries stop when the next wait would pass the
deadline (the Lambda's remaining time, less a margin): only then does the SQS record fail.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["DEFAULT_BUDGET_SECONDS", "Patience"]

# How long a caller that does not pass a deadline (a test, a script) keeps trying.
DEFAULT_BUDGET_SECONDS = 20.0


@dataclass
class Patience:
    """Attempts until `deadline` (a time.monotonic() value), with jittered exponential waits between."""

    deadline: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)
    base: float = 0.01
    cap: float = 0.5

    def attempts(self) -> Iterator[int]:
        """0, 1, 2, ...: the caller breaks out when an attempt succeeds; waits before each retry and
        stops when the wait would end after the deadline."""
        attempt = 0
        while True:
            yield attempt
            attempt += 1
            wait = self.jitter() * min(self.cap, self.base * 2 ** min(attempt, 16))
            if self.clock() + wait > self.deadline:
                return
            self.sleep(wait)
