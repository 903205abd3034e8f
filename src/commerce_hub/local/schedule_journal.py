"""What changed among the emulator's Scheduler schedules, so the runner need not list them all.

The runner fires the one-time schedules that functions create at run time (runtime_schedules).
Listing every schedule each second costs in proportion to every schedule kept: marketing keeps two
per order for days, so after 1,000 orders one round listed 2,000 schedules in 40 pages, about 0.1 s
of CPU in the emulator and as much again in the runner, every second, and throughput fell as the
day went on.

Inside the emulator, moto's Scheduler backend notes each schedule it creates, updates or deletes in
this journal (moto_patches, patch 9), numbered in order. The runner asks
`GET /_hub/scheduler/changes?after=N` for what changed after the last number it saw, and reads
again only those schedules (without `after`, the answer is only the latest number). It lists them all at its first round, and whenever the journal no
longer holds everything after N: the oldest entries are dropped past a bound, a deleted schedule
group drops them all, and a restarted emulator starts again from 0.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

__all__ = ["CHANGES_PATH", "JOURNAL", "ScheduleChanges", "ScheduleJournal"]

CHANGES_PATH = "/_hub/scheduler/changes"
_KEEP = 50_000


class ScheduleJournal:
    """Schedules changed, in order: entry k (from 1) names the k-th schedule created, updated or deleted."""

    def __init__(self, keep: int = _KEEP) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self._last = 0  # the number of the latest change
        self._entries: deque[tuple[str, str]] = deque()  # changes _last - len + 1 .. _last

    def record(self, group: str, name: str) -> None:
        with self._lock:
            self._last += 1
            self._entries.append((group, name))
            if len(self._entries) > self._keep:
                self._entries.popleft()

    def forget_all(self) -> None:
        """Anything may have changed (a schedule group and its schedules were deleted): whoever
        asks for changes after an earlier number must list everything again."""
        with self._lock:
            self._last += 1
            self._entries.clear()

    def since(self, after: int | None) -> dict[str, Any]:
        """{"last": n, "complete": bool, "changes": [{"group", "name"}, ...]}: every change after
        `after`, or complete false when the journal no longer holds them all; with `after` None,
        only where the journal stands ("last")."""
        with self._lock:
            oldest_kept = self._last - len(self._entries)  # changes after this one are all here
            if after is None or not oldest_kept <= after <= self._last:
                return {"last": self._last, "complete": False, "changes": []}
            start = after - oldest_kept
            changes = [{"group": g, "name": n} for g, n in itertools.islice(self._entries, start, None)]
            return {"last": self._last, "complete": True, "changes": changes}


JOURNAL = ScheduleJournal()


class ScheduleChanges:
    """WSGI middleware serving `GET /_hub/scheduler/changes?after=N` from a journal; every other
    request goes to `app`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], journal: ScheduleJournal = JOURNAL) -> None:
        self._app = app
        self._journal = journal

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CHANGES_PATH:
            return self._app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            return _answer(start_response, "405 Method Not Allowed", {"error": f"GET {CHANGES_PATH}?after=N"})
        raw = parse_qs(environ.get("QUERY_STRING", "")).get("after")
        if raw is None:  # where the journal stands, nothing more
            return _answer(start_response, "200 OK", self._journal.since(None))
        try:
            after = int(raw[0])
        except ValueError:
            return _answer(
                start_response, "400 Bad Request", {"error": f"after must be a whole number, not {raw[0]!r}"}
            )
        return _answer(start_response, "200 OK", self._journal.since(after))


def _answer(start_response: Callable[..., Any], status: str, document: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
