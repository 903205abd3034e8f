"""Waiting for the local stack: its functions run asynchronously, so tests poll for an outcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], seconds: float = 90, what: str = "condition") -> Any:
    """The first truthy value `check` returns within `seconds`; AssertionError naming `what` if none."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")
