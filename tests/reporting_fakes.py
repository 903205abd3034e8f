"""In-memory fakes for reporting: a report store with DynamoReportStore's guarantees, and recording
analytics destinations."""

from __future__ import annotations

import copy
import json

from hub.domain.analytics import Purchase, RefundMade, SentMarker
from hub.domain.reporting import BucketRow, Contribution, StoredFacts, facts_from_json
from hub.errors import OutboundError, ReportConflictError


class FakeReportStore:
    """Facts saved conditionally on their version, counters moved in the same step, sent markers."""

    def __init__(self) -> None:
        self.facts: dict[tuple[str, str], tuple[str, Contribution, int]] = {}
        self.counters: dict[tuple[str, str, str | None], dict[str, int]] = {}
        self.markers: dict[tuple[str, str, str], SentMarker] = {}
        # Simulates another writer saving between a read and a write, n times.
        self.conflicts = 0
        self.saves = 0
        self.batch_loads = 0
        self.range_reads = 0
        self.saved_together: list[list[str]] = []  # the kinds of facts each save_all wrote

    def load(self, kind: str, key: str) -> StoredFacts | None:
        found = self.facts.get((kind, key))
        if found is None:
            return None
        text, contribution, version = found
        return StoredFacts(facts_from_json(json.loads(text)), copy.deepcopy(contribution), version)

    def load_many(self, keys) -> dict[tuple[str, str], StoredFacts]:
        self.batch_loads += 1
        return {(kind, key): found for kind, key in keys if (found := self.load(kind, key)) is not None}

    def save_all(self, writes) -> None:
        """Every write on its version, all or nothing (as one transaction)."""
        self.saved_together.append(sorted(w.facts.kind for w in writes))
        if self.conflicts:
            self.conflicts -= 1
            raise ReportConflictError("changed meanwhile")
        for write in writes:
            current = self.facts.get((write.facts.kind, write.facts.key))
            if (current[2] if current else None) != write.expected_version:
                raise ReportConflictError("changed meanwhile")
        for write in writes:
            self._store(write.facts, write.contribution, write.expected_version, write.delta)

    def save(self, facts, contribution: Contribution, expected_version: int | None, delta: Contribution) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise ReportConflictError("changed meanwhile")
        current = self.facts.get((facts.kind, facts.key))
        if (current[2] if current else None) != expected_version:
            raise ReportConflictError("changed meanwhile")
        self._store(facts, contribution, expected_version, delta)

    def _store(self, facts, contribution: Contribution, expected_version: int | None, delta: Contribution) -> None:
        self.facts[(facts.kind, facts.key)] = (
            json.dumps(facts.to_json()),
            copy.deepcopy(contribution),
            (expected_version or 0) + 1,
        )
        for bucket, counters in delta.items():
            row = self.counters.setdefault(bucket, {})
            for name, value in counters.items():
                row[name] = row.get(name, 0) + value
        self.saves += 1

    def day(self, day: str) -> list[BucketRow]:
        return [
            BucketRow(channel, currency, dict(counters))
            for (d, channel, currency), counters in sorted(self.counters.items(), key=lambda i: str(i[0]))
            if d == day
        ]

    def days(self, days) -> dict[str, list[BucketRow]]:
        self.range_reads += 1
        return {day: rows for day in days if (rows := self.day(day))}

    def nonzero(self) -> dict[tuple[str, str, str | None], dict[str, int]]:
        """Every counter that is not zero, by bucket."""
        out = {}
        for bucket, counters in self.counters.items():
            kept = {k: v for k, v in counters.items() if v}
            if kept:
                out[bucket] = kept
        return out

    def sent(self, destination: str, order_id: str, what: str) -> SentMarker | None:
        return self.markers.get((destination, order_id, what))

    def mark_sent(self, destination, order_id, what, *, previous, total, note) -> bool:
        if self.markers.get((destination, order_id, what)) != previous:
            return False
        self.markers[(destination, order_id, what)] = SentMarker(total, note)
        return True


class RecordingSink:
    """An analytics destination that remembers what it was given; can fail the next calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.purchases: list[Purchase] = []
        self.refunds: list[RefundMade] = []
        self.fail_next = 0

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise OutboundError(f"{self.name} failed with HTTP 503", 503)

    def purchase(self, purchase: Purchase) -> str | None:
        self._maybe_fail()
        self.purchases.append(purchase)
        return None

    def refund(self, refund: RefundMade) -> str | None:
        self._maybe_fail()
        self.refunds.append(refund)
        return None
