"""Stock use cases: record a placed order with its reservations; set a location's level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hub.config import HubConfig
from hub.domain.orders import HoldReason, Order, OrderLine, OrderStatus, PaymentRecord, TimelineEntry, shipping_address
from hub.domain.stock import InsufficientStockError, order_locations, plan_reservations
from hub.events import (
    HubEvent,
    OrderPlaced,
    ProviderRef,
    StockLevelChanged,
    StockLevelData,
    StockShortage,
    StockShortageData,
    event_id_for,
)
from hub.money import Money
from hub.ports import EventPublisher, Ledger, OrderExistsError, StockConflictError
from hub.services.orders import status_changed

__all__ = ["Applied", "PlacementResult", "StockService", "UnknownLocationError"]

# Concurrent orders for the same SKU make a reservation fail its condition; read again and retry.
_MAX_ATTEMPTS = 5


class Applied(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


class UnknownLocationError(ValueError):
    """A stock level for a location the configuration does not list."""


@dataclass(frozen=True)
class PlacementResult:
    outcome: Applied
    order: Order


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StockService:
    def __init__(
        self,
        ledger: Ledger,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._ledger = ledger
        self._publisher = publisher
        self._config = config
        self._clock = clock

    def place_order(self, event: OrderPlaced) -> PlacementResult:
        data = event.data
        lines = tuple(OrderLine(line.sku, line.quantity, line.unit_price, line.platform_line_id) for line in data.lines)
        entry = TimelineEntry(
            event_id=event.event_id,
            type=event.type,
            occurred_at=event.occurred_at,
            applied_at=self._clock(),
            summary=f"placed on {event.channel} ({sum(ln.quantity for ln in lines)} units)",
        )
        preference = order_locations(self._config().location_refs(), data.shipping_country)
        for _attempt in range(_MAX_ATTEMPTS):
            order = Order(
                order_id=data.order_id,
                channel=event.channel,
                status=OrderStatus.PAID if data.paid else OrderStatus.PENDING_PAYMENT,
                total=Money(data.total, data.currency),
                lines=lines,
                customer_email=data.customer_email,
                shipping_country=data.shipping_country,
                shipping_address=shipping_address(data.shipping_address),
                placed_at=event.occurred_at,
                payments=[
                    # The storefront placed it paid: an assertion of full payment (see hub.domain.payments).
                    PaymentRecord(
                        "payment",
                        "placed-paid",
                        event.channel,
                        data.total,
                        data.currency,
                        "succeeded",
                        event.occurred_at,
                        event.event_id,
                        storefront=True,
                    )
                ]
                if data.paid
                else [],
            )
            levels = self._ledger.stock_levels(ln.sku for ln in lines)
            available = {sku: {loc: lvl.available for loc, lvl in by_loc.items()} for sku, by_loc in levels.items()}
            try:
                plan = plan_reservations(lines, available, preference)
            except InsufficientStockError as short:
                # An order is reserved whole or not at all; it waits on hold, holding nothing.
                plan = []
                order.status = OrderStatus.ON_HOLD
                order.hold_reason = HoldReason.INSUFFICIENT_STOCK
                order.shortages = short.shortages
            order.reservations = tuple(plan)
            try:
                self._ledger.place_order(order, plan, entry)
            except OrderExistsError:
                stored = self._ledger.get_order(data.order_id) or order
                # Publish again what the first delivery should have: a failed publish is retried here.
                self._publish_follow_ons(stored, event)
                return PlacementResult(Applied.DUPLICATE, stored)
            except StockConflictError:
                continue
            self._publish_follow_ons(order, event)
            return PlacementResult(Applied.APPLIED, order)
        raise StockConflictError(f"{data.order_id}: stock kept changing over {_MAX_ATTEMPTS} attempts")

    def _publish_follow_ons(self, order: Order, cause: OrderPlaced) -> None:
        # The order is recorded: payments waiting for it apply, and a paid, reserved order is routed.
        follow: list[HubEvent] = [status_changed(order, None, cause)]
        if order.hold_reason is HoldReason.INSUFFICIENT_STOCK and order.shortages:
            follow.extend(
                [
                    StockShortage(
                        event_id=event_id_for("hub", order.order_id, "StockShortage"),
                        source="hub",
                        channel=order.channel,
                        occurred_at=cause.occurred_at,
                        provider=ProviderRef(topic="stock/shortage", event_id=cause.event_id),
                        data=StockShortageData(order_id=order.order_id, shortages=order.shortages),
                    )
                ]
            )
        self._publisher.publish(follow)

    def set_level(self, sku: str, location: str, available: int, origin: str) -> int | None:
        """A count correction: `available` becomes the sellable units at `location`."""
        if location not in self._config().location_ids():
            known = ", ".join(self._config().location_ids())
            raise UnknownLocationError(f"unknown location '{location}'; configured locations: {known}")
        if available < 0:
            raise ValueError("available must be zero or more")
        previous = self._ledger.set_available(sku, location, available)
        now = self._clock()
        self._publisher.publish(
            [
                StockLevelChanged(
                    event_id=event_id_for("hub", sku, location, origin, now.isoformat()),
                    source="hub",
                    channel=origin,
                    occurred_at=now,
                    provider=ProviderRef(topic="inventory/set"),
                    data=StockLevelData(
                        sku=sku, location=location, available=available, previous=previous, origin=origin
                    ),
                )
            ]
        )
        return previous
