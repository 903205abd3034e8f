"""Applying one event to one stored order: read, decide, store conditionally, publish what follows.

Every consumer that changes an order goes through `OrderUpdater.apply`, which gives it the same
guarantees: the event is applied at most once (its timeline entry is the guard), concurrent
changes are retried on the order's version, units released or consumed move in the same
transaction (with a StockLevelChanged for every location whose available units they change), and
the follow-on events are published after the write and again by any redelivery that finds them
(they are kept on the timeline entry), so none is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from hub.domain.lineage import DecisionResult
from hub.domain.orders import Order, OrderLine, TimelineEntry
from hub.domain.stock import StockChange, consume, release
from hub.errors import AlreadyAppliedError, OrderConflictError
from hub.events import HubEvent, OrderStatusChanged, StatusChangeData, hub_event, parse_event
from hub.ports import EventPublisher, Ledger
from hub.services.lineage import LineageRecorder
from hub.services.stock_events import stock_moved

__all__ = ["Change", "OrderUpdater", "Outcome", "status_changed"]

_MAX_ATTEMPTS = 8


class Outcome(StrEnum):
    APPLIED = "applied"  # stored; the status may or may not have changed
    DUPLICATE = "duplicate"  # this event was applied before
    NO_ORDER = "no_order"  # the order is not recorded (yet)


@dataclass
class Change:
    """What a decision does to the order besides the fields it set on it."""

    summary: str
    applied: bool = True
    release: list[OrderLine] = field(default_factory=list)
    consume: list[OrderLine] = field(default_factory=list)
    emits: list[HubEvent] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def status_changed(order: Order, previous: str | None, cause: HubEvent) -> OrderStatusChanged:
    return hub_event(
        OrderStatusChanged,
        key=(order.order_id, "status", cause.event_id),
        channel=order.channel,
        occurred_at=cause.occurred_at,
        topic="order/status",
        cause=cause.event_id,
        data=StatusChangeData(
            order_id=order.order_id,
            previous=previous,
            status=order.status.value,
            hold_reason=order.hold_reason.value if order.hold_reason else None,
            reserved=order.reserved,
            cause_event_id=cause.event_id,
        ),
    )


class OrderUpdater:
    def __init__(
        self,
        ledger: Ledger,
        publisher: EventPublisher,
        clock: Callable[[], datetime] = _utcnow,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._ledger = ledger
        self._publisher = publisher
        self._clock = clock
        self._lineage = lineage or LineageRecorder(None)

    def apply(
        self, order_id: str, event: HubEvent, decide: Callable[[Order], Change], read: Order | None = None
    ) -> tuple[Outcome, Order | None]:
        """`read`: the order as the caller just read it, used for the first attempt instead of reading it
        again (the save is conditional on it being unchanged, so a stale one only costs a retry)."""
        for attempt in range(_MAX_ATTEMPTS):
            order = read if attempt == 0 and read is not None else self._ledger.get_order(order_id)
            if order is None:
                return Outcome.NO_ORDER, None
            if order.applied(event.event_id):
                # A redelivery: what the first delivery stored is finished and announced again.
                self._ledger.finish_stock(order_id)
                self._republish(order, event.event_id)
                self._duplicate(order_id, event, order)
                return Outcome.DUPLICATE, order
            previous = order.status
            change = decide(order)
            stock: list[StockChange] = []
            if change.release:
                order.reservations, released = release(order.reservations, change.release)
                stock += released
            if change.consume:
                order.reservations, consumed = consume(order.reservations, change.consume)
                stock += consumed
            follow = list(change.emits)
            if order.status is not previous:
                follow.append(status_changed(order, previous.value, event))
            # Units going back to available are a stock change every other channel hears of.
            follow.extend(stock_moved(self._ledger, order, stock, event))
            entry = TimelineEntry(
                event_id=event.event_id,
                type=event.type,
                occurred_at=event.occurred_at,
                applied_at=self._clock(),
                summary=change.summary,
                applied=change.applied,
                emits=tuple(e.model_dump_json() for e in follow),
            )
            try:
                self._ledger.save_order(order, entry, stock)
            except OrderConflictError:
                continue
            except AlreadyAppliedError:
                stored = self._ledger.get_order(order_id)
                self._duplicate(order_id, event, stored)
                return Outcome.DUPLICATE, stored
            if follow:
                self._publisher.publish(follow)
            return Outcome.APPLIED, order
        raise OrderConflictError(f"{order_id}: kept changing over {_MAX_ATTEMPTS} attempts")

    def _duplicate(self, order_id: str, event: HubEvent, order: Order | None) -> None:
        # The timeline holds the first application only; a redelivery's is kept in the lineage.
        first = next((e for e in order.timeline if e.event_id == event.event_id), None) if order else None
        when = f" at {first.applied_at.isoformat()}" if first else ""
        self._lineage.decision(order_id, event, DecisionResult.DUPLICATE, f"already applied{when}: changed nothing")

    def _republish(self, order: Order, event_id: str) -> None:
        entry = next((e for e in order.timeline if e.event_id == event_id), None)
        if entry and entry.emits:
            self._publisher.publish([parse_event(e) for e in entry.emits])
