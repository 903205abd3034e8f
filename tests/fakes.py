"""In-memory fakes of the ports, with the same guarantees as the DynamoDB and EventBridge adapters."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from hub.domain.lineage import LineageEntry, in_time_order
from hub.domain.order_search import OrderRow, placement_day
from hub.domain.orders import Order, Reservation, TimelineEntry
from hub.domain.stock import LowStockState, StockLevel
from hub.domain.stock_history import StockChange
from hub.domain.webhook_activity import DeliveryCount
from hub.errors import (
    AlreadyAppliedError,
    OrderConflictError,
    OrderExistsError,
    PublishError,
    StaleLevelError,
    StockConflictError,
    StoreError,
)
from hub.events import HubEvent
from hub.ports import LevelWritten


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[HubEvent] = []
        self.fail_next = 0

    def publish(self, events: Sequence[HubEvent]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise PublishError("bus unavailable")
        self.events.extend(events)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


class FakeLedger:
    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], StockLevel] = {}
        self.orders: dict[str, Order] = {}
        self.pending: dict[str, dict[str, str]] = {}
        # Simulates another writer changing the order between read and write, n times.
        self.conflicts_before_save = 0
        # Simulates a concurrent order taking stock between read and write, n times.
        self.steal_before_write: list[tuple[str, str, int]] = []
        self.low: dict[str, LowStockState] = {}
        self.finished: list[str] = []

    def _put(self, sku: str, location: str, available: int, reserved: int, **changes: object) -> None:
        """Store a level as DynamoLedger does: every change counts one more version."""
        old = self.levels.get((sku, location)) or StockLevel(sku, location, 0)
        self.levels[(sku, location)] = dataclasses.replace(
            old, available=available, reserved=reserved, version=old.version + 1, **changes
        )

    def levels_for(self, sku: str) -> dict[str, StockLevel]:
        return {loc: lvl for (s, loc), lvl in self.levels.items() if s == sku}

    def stock_levels(self, skus: Iterable[str]) -> dict[str, dict[str, StockLevel]]:
        return {sku: self.levels_for(sku) for sku in dict.fromkeys(skus)}

    def set_available(self, sku: str, location: str, available: int) -> int | None:
        old = self.levels.get((sku, location))
        self._put(sku, location, available, old.reserved if old else 0)
        return old.available if old else None

    def set_level(
        self, sku: str, location: str, available: int, *, by: str, at: datetime, newer_only: bool = True
    ) -> LevelWritten:
        old = self.levels.get((sku, location))
        if newer_only and old is not None and old.set_at is not None and old.set_at > at:
            raise StaleLevelError(f"{sku} at {location}")
        self._put(sku, location, available, old.reserved if old else 0, set_by=by, set_at=at)
        return LevelWritten(old, self.levels[(sku, location)].version)

    def low_stock(self, sku: str) -> LowStockState:
        return self.low.get(sku, LowStockState())

    def levels_and_low_stock(self, sku: str) -> tuple[dict[str, StockLevel], LowStockState]:
        return self.levels_for(sku), self.low.get(sku, LowStockState())

    def enter_low_stock(self, sku: str, crossing: int) -> bool:
        state = self.low_stock(sku)
        if state.low or state.crossings != crossing - 1:
            return False
        self.low[sku] = LowStockState(True, crossing, False)
        return True

    def low_stock_announced(self, sku: str, crossing: int) -> None:
        state = self.low_stock(sku)
        if state.crossings == crossing:
            self.low[sku] = dataclasses.replace(state, announced=True)

    def leave_low_stock(self, sku: str) -> bool:
        state = self.low_stock(sku)
        if not state.low:
            return False
        self.low[sku] = dataclasses.replace(state, low=False)
        return True

    def place_order(
        self,
        order: Order,
        reservations: Sequence[Reservation],
        entry: TimelineEntry,
        counted: Mapping[tuple[str, str], tuple[str, datetime]] | None = None,
    ) -> None:
        counted = counted or {}
        if self.steal_before_write:
            sku, loc, units = self.steal_before_write.pop(0)
            lvl = self.levels[(sku, loc)]
            self._put(sku, loc, lvl.available - units, lvl.reserved + units)
        if order.order_id in self.orders:
            raise OrderExistsError(order.order_id)
        for res in reservations:
            lvl = self.levels.get((res.sku, res.location))
            report = counted.get((res.sku, res.location))
            if report is not None:
                if lvl is None or (lvl.set_by, lvl.set_at) != report:
                    raise StockConflictError(order.order_id)
            elif lvl is None or lvl.available < res.quantity:
                raise StockConflictError(order.order_id)
        for res in reservations:
            lvl = self.levels[(res.sku, res.location)]
            taken = 0 if (res.sku, res.location) in counted else res.quantity
            self._put(res.sku, res.location, lvl.available - taken, lvl.reserved + res.quantity)
        stored = copy.deepcopy(order)
        stored.reservations = tuple(reservations)
        stored.timeline = [entry]
        stored.version = 1
        order.version = 1
        self.orders[order.order_id] = stored

    def get_order(self, order_id: str) -> Order | None:
        order = self.orders.get(order_id)
        return copy.deepcopy(order) if order else None

    def save_order(self, order: Order, entry: TimelineEntry, stock: Sequence[tuple[str, str, int, int]] = ()) -> None:
        current = self.orders[order.order_id]
        if any(e.event_id == entry.event_id for e in current.timeline):
            raise AlreadyAppliedError(entry.event_id)
        if self.conflicts_before_save:
            self.conflicts_before_save -= 1
            current.version += 1
        if current.version != order.version:
            raise OrderConflictError(order.order_id)
        for sku, location, available, reserved in stock:
            lvl = self.levels[(sku, location)]
            if lvl.reserved + reserved < 0 or lvl.available + available < 0:
                raise StockConflictError(order.order_id)
        for sku, location, available, reserved in stock:
            lvl = self.levels[(sku, location)]
            self._put(sku, location, lvl.available + available, lvl.reserved + reserved)
        stored = copy.deepcopy(order)
        stored.version = order.version + 1
        stored.timeline = [*current.timeline, entry]
        order.version += 1
        self.orders[order.order_id] = stored

    def finish_stock(self, order_id: str) -> None:
        """Every change is applied whole here: nothing is ever owed."""
        self.finished.append(order_id)

    def put_pending(self, order_id: str, event_id: str, event_json: str) -> None:
        self.pending.setdefault(order_id, {})[event_id] = event_json

    def pending_for(self, order_id: str) -> list[str]:
        return list(self.pending.get(order_id, {}).values())


class FakeDataKeys:
    """`hub.ports.DataKeys` in memory: a random AES-256 key per subject, and what was forgotten."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.forgotten: list[str] = []

    def subject_of(self, kind: str, value: str) -> str:
        return f"{kind}:{hashlib.sha256(f'fake-salt|{kind}|{value}'.encode()).hexdigest()[:40]}"

    def key_for(self, subject: str) -> bytes:
        return self.keys.setdefault(subject, os.urandom(32))

    def key_if_any(self, subject: str) -> bytes | None:
        return self.keys.get(subject)

    def forget(self, subject: str) -> None:
        self.keys.pop(subject, None)
        self.forgotten.append(subject)


class FakeLineageLog:
    """hub.adapters.lineage.DynamoLineageLog in memory: entries by their key, so writing one again
    replaces it; `fail_next` makes the next append fail as a throttled table would."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], LineageEntry] = {}
        self.counts: list[DeliveryCount] = []  # webhook deliveries counted in the same write
        self.writes = 0
        self.fail_next = False

    def append(self, entries: Sequence[LineageEntry], counts: Sequence[DeliveryCount] = ()) -> None:
        if self.fail_next:
            self.fail_next = False
            raise StoreError("lineage table throttled")
        self.writes += 1
        for entry in entries:
            self.items[(entry.order_id, entry.key)] = entry
        self.counts.extend(counts)

    def entries(self, order_id: str) -> list[LineageEntry]:
        return in_time_order(e for (o, _k), e in self.items.items() if o == order_id)


class FakeStockHistoryLog:
    """hub.adapters.stock_history.DynamoStockHistory in memory: changes by (sku, time, location,
    event), so writing one again replaces it; `fail_next` makes the next append fail."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, datetime, str, str], StockChange] = {}
        self.writes = 0
        self.fail_next = False

    def append(self, changes: Sequence[StockChange]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise StoreError("stock history throttled")
        self.writes += 1
        for c in changes:
            self.items[(c.sku, c.at, c.location, c.event_id)] = c

    def latest(self, sku: str, limit: int) -> list[StockChange]:
        mine = sorted((k, c) for k, c in self.items.items() if k[0] == sku)
        return [c for _k, c in reversed(mine)][:limit]


class FakeFailureLog:
    """hub.ports.FailureLog in memory: every failure recorded, in order."""

    def __init__(self) -> None:
        from hub.failures import RecordFailure

        self.failures: list[RecordFailure] = []

    def record(self, failure) -> None:
        self.failures.append(failure)


class FakeOrderIndex:
    """`hub.ports.OrderIndex` in memory, as the orders-by-day index answers: by day, newest first,
    filtered, after a position. `queries` counts the day queries (the index's requests)."""

    def __init__(self, rows: Iterable[OrderRow] = ()) -> None:
        self.rows_by_id = {r.order_id: r for r in rows}
        self.queries: list[date] = []

    def placed_on(
        self, day: date, *, before: str | None, status: str | None, channel: str | None, limit: int
    ) -> tuple[list[OrderRow], bool]:
        self.queries.append(day)
        found = sorted(
            (
                r
                for r in self.rows_by_id.values()
                if placement_day(r.placed_at) == day
                and (before is None or r.key < before)
                and status in (None, r.status)
                and channel in (None, r.channel)
            ),
            key=lambda r: r.key,
            reverse=True,
        )
        return found[:limit], len(found) > limit

    def rows(self, order_ids: Iterable[str]) -> list[OrderRow]:
        return [self.rows_by_id[i] for i in order_ids if i in self.rows_by_id]
