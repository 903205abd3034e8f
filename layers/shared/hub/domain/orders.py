"""Orders: status, the legal transitions between statuses, and the timeline of applied events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hub.money import Money

__all__ = [
    "HoldReason",
    "IllegalTransitionError",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Reservation",
    "TimelineEntry",
    "can_transition",
]


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLING = "fulfilling"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    ON_HOLD = "on_hold"


class HoldReason(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    PAYMENT_DISPUTE = "payment_dispute"
    AMOUNT_MISMATCH = "amount_mismatch"


S = OrderStatus
# Forward moves only; an event that would move an order backwards is recorded but not applied.
_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.ON_HOLD}),
    S.PAID: frozenset({S.FULFILLING, S.SHIPPED, S.CANCELLED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.ON_HOLD}),
    S.FULFILLING: frozenset({S.SHIPPED, S.CANCELLED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.ON_HOLD}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.ON_HOLD}),
    S.DELIVERED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.ON_HOLD}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.FULFILLING, S.SHIPPED, S.DELIVERED, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.PENDING_PAYMENT, S.PAID, S.FULFILLING, S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.CANCELLED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in _TRANSITIONS[current]


class IllegalTransitionError(ValueError):
    """The event would move the order somewhere its status does not allow."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units of one SKU held at one location for one order."""

    sku: str
    location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    event_id: str
    type: str
    occurred_at: datetime
    applied_at: datetime
    summary: str
    applied: bool = True


@dataclass(slots=True)
class Order:
    order_id: str
    channel: str
    status: OrderStatus
    total: Money
    lines: tuple[OrderLine, ...]
    customer_email: str | None = None
    shipping_country: str | None = None
    hold_reason: HoldReason | None = None
    reservations: tuple[Reservation, ...] = ()
    shortages: dict[str, int] = field(default_factory=dict)
    placed_at: datetime | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.total.currency

    def move_to(self, target: OrderStatus, reason: HoldReason | None = None) -> None:
        if not can_transition(self.status, target):
            raise IllegalTransitionError(f"{self.order_id}: {self.status} -> {target} is not allowed")
        self.status = target
        self.hold_reason = reason if target is OrderStatus.ON_HOLD else None
