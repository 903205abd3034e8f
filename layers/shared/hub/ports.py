"""The small interfaces the core owns; adapters (DynamoDB, EventBridge, fakes) implement them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from hub.domain.orders import Order, Reservation, TimelineEntry
from hub.domain.stock import StockLevel
from hub.events import HubEvent

__all__ = [
    "AlreadyAppliedError",
    "EventPublisher",
    "HubError",
    "Ledger",
    "OrderConflictError",
    "OrderExistsError",
    "PublishError",
    "StockConflictError",
    "StoreError",
]


class HubError(Exception):
    """Base of the errors adapters raise in the project's own terms."""


class PublishError(HubError):
    """Events could not be made durable on the bus."""


class StoreError(HubError):
    """The state store failed for a reason other than a guarded condition."""


class OrderExistsError(HubError):
    """The order is already recorded: a redelivery of its placement."""


class StockConflictError(HubError):
    """Stock changed between reading the levels and reserving; read again and retry."""


class OrderConflictError(HubError):
    """The order changed since it was read; read again and apply the event again."""


class AlreadyAppliedError(HubError):
    """The event is already in the order's timeline: a redelivery."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[HubEvent]) -> None:
        """Put every event on the bus or raise PublishError."""


class Ledger(Protocol):
    """Orders and the per-location stock ledger, kept in one store so one write can cover both."""

    def stock_levels(self, skus: Iterable[str]) -> dict[str, dict[str, StockLevel]]:
        """sku -> location -> level, for every known location of each sku."""

    def place_order(self, order: Order, reservations: Sequence[Reservation], entry: TimelineEntry) -> None:
        """Record a new order, its first timeline entry and its reservations atomically.

        Raises OrderExistsError when the order is already there, StockConflictError when any
        location no longer has the units (nothing is written then).
        """

    def get_order(self, order_id: str) -> Order | None:
        """The order with its timeline, or None."""

    def set_available(self, sku: str, location: str, available: int) -> int | None:
        """Set the available units at a location; returns the previous value (None if new)."""

    def levels_for(self, sku: str) -> Mapping[str, StockLevel]:
        """location -> level for one sku (empty when the sku is unknown)."""

    def save_order(self, order: Order, entry: TimelineEntry, stock: Sequence[tuple[str, str, int, int]] = ()) -> None:
        """Store the order as changed by one event, with its timeline entry and stock changes, atomically.

        OrderConflictError when the order changed since it was read; AlreadyAppliedError when the
        event is already in its timeline.
        """

    def put_pending(self, order_id: str, event_id: str, event_json: str) -> None:
        """Keep an event (a payment) for an order that is not recorded yet."""

    def pending_for(self, order_id: str) -> list[str]:
        """The events kept for an order, as JSON."""
