"""What the webhooks page shows: per source, the last 24 hours of deliveries by outcome.

Intake counts each delivery in an hourly bucket of its source (the hour's UTC start, "2026-12-06T13")
and keeps, per hour and per refusal status, the latest refusal with the reason it answered. This
module names the outcomes, the hours a day covers, the refusal reason as it is kept (one line,
capped), and folds a source's hours into one row. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "HOURS",
    "OUTCOMES",
    "REASON_CHARS",
    "SHOWN_REFUSALS",
    "UNKNOWN_SOURCE",
    "DeliveryCount",
    "HourCounts",
    "Outcome",
    "Refusal",
    "SourceActivity",
    "fold",
    "hour_of",
    "reason_text",
    "window",
]

Outcome = Literal["accepted", "duplicate", "ignored", "refused", "failed"]
# accepted: published; duplicate: a delivery already published (answered 200, nothing published);
# ignored: a topic the hub does not act on (200); refused: a 4xx (the reason says why);
# failed: a 503 (the hub could not take it; the sender retries).
OUTCOMES: tuple[Outcome, ...] = ("accepted", "duplicate", "ignored", "refused", "failed")
HOURS = 24  # the current hour and the 23 before it
REASON_CHARS = 200  # a refusal's reason is kept to this many characters
SHOWN_REFUSALS = 5  # the latest refusals a source's row lists
# Deliveries to POST /webhooks/{name} for a name the hub does not accept (404) are counted here,
# together: one bucket, whatever the name (which the caller chose).
UNKNOWN_SOURCE = "(unknown)"


def hour_of(at: datetime) -> str:
    """The UTC hour `at` falls in, as its bucket's sort key: "2026-12-06T13"."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H")


def window(now: datetime, hours: int = HOURS) -> list[str]:
    """The hours of the last day, oldest first: the one `now` is in and the `hours - 1` before it."""
    return [hour_of(now - timedelta(hours=back)) for back in range(hours - 1, -1, -1)]


def reason_text(reason: str) -> str:
    """A refusal's reason as it is kept: one line, at most REASON_CHARS characters."""
    line = " ".join(reason.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


@dataclass(frozen=True)
class DeliveryCount:
    """One published delivery, counted as an item of its own (not an ADD to its hour's bucket), so it
    can be written in the same request as the delivery's lineage: `ref` is the delivery's dedupe key."""

    source: str
    outcome: Literal["accepted", "duplicate"]
    at: datetime
    ref: str

    @property
    def hour(self) -> str:
        return hour_of(self.at)


@dataclass(frozen=True)
class Refusal:
    at: datetime
    status: int
    reason: str


@dataclass(frozen=True)
class HourCounts:
    """One source's bucket for one hour, as stored: counts by outcome, the latest refusal per status."""

    hour: str
    counts: dict[str, int] = field(default_factory=dict)
    refusals: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class SourceActivity:
    source: str
    accepted: int = 0
    duplicate: int = 0
    ignored: int = 0
    refused: int = 0
    failed: int = 0
    refusals: tuple[Refusal, ...] = ()  # the latest, newest first

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.ignored + self.refused + self.failed

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            **{outcome: getattr(self, outcome) for outcome in OUTCOMES},
            "latest_refusals": [
                {"at": r.at.isoformat(), "status": r.status, "reason": r.reason} for r in self.refusals
            ],
        }


def fold(source: str, hours: Iterable[HourCounts], within: Sequence[str]) -> SourceActivity:
    """A source's row from its hourly buckets, counting only the hours `within` (the window)."""
    wanted = set(within)
    totals = dict.fromkeys(OUTCOMES, 0)
    refusals: list[Refusal] = []
    for bucket in hours:
        if bucket.hour not in wanted:
            continue
        for outcome in OUTCOMES:
            totals[outcome] += int(bucket.counts.get(outcome, 0))
        refusals.extend(bucket.refusals)
    latest = tuple(sorted(refusals, key=lambda r: r.at, reverse=True)[:SHOWN_REFUSALS])
    return SourceActivity(source, refusals=latest, **totals)
