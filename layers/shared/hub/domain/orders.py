"""Orders: status, the legal transitions between statuses, and the timeline of applied events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hub.errors import IllegalTransitionError
from hub.money import Money

__all__ = [
    "Address",
    "Fulfilment",
    "HoldReason",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PaymentRecord",
    "Reservation",
    "StorefrontFulfilment",
    "TimelineEntry",
    "can_transition",
    "shipping_address",
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


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: int
    platform_line_id: str | None = None  # the storefront's line item id (Magento ships by it)
    stocked: bool = True  # False: downloadable, virtual, gift card: recorded, never reserved or shipped


@dataclass(frozen=True, slots=True)
class Address:
    """Where an order ships to. Personal data: stored on the order, never logged."""

    name: str | None = None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    phone: str | None = None
    email: str | None = None


def shipping_address(value: object | None) -> Address | None:
    """An Address from anything with the same attribute names (the canonical event's), or None."""
    if value is None:
        return None
    fields = ("name", "company", "street1", "street2", "city", "state", "postal_code", "country", "phone", "email")
    address = Address(**{name: getattr(value, name, None) for name in fields})
    return address if any(getattr(address, name) for name in fields) else None


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units of one SKU held at one location for one order.

    `released` units went back to available (cancel, refund); `consumed` units left with a shipment.
    """

    sku: str
    location: str
    quantity: int
    released: int = 0
    consumed: int = 0

    @property
    def held(self) -> int:
        return self.quantity - self.released - self.consumed


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One money movement on an order, as a gateway or the storefront reported it."""

    kind: str  # payment | refund | failure | dispute
    reference: str  # the provider's payment, refund or dispute id
    source: str  # stripe, paypal, square, or the storefront's channel
    amount: int  # minor units (0 when unknown, e.g. a failure)
    currency: str
    status: str  # succeeded, failed, completed, pending, opened, won, lost, confirmed
    at: datetime
    event_id: str
    storefront: bool = False  # the storefront said so (an assertion of full payment, not an amount)


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """A shipment of some of an order's units from one location.

    `shipped` means handed to the carrier: a label bought through the carrier API, a tracking
    number given through the admin API, or the storefront's own fulfilment. `cancelled`: the
    storefront shipped these units itself, so the hub will not. `origin` says who shipped it
    (carrier, admin, or the storefront's channel); `written_back` that the storefront knows.
    """

    fulfilment_id: str
    location: str | None
    lines: tuple[OrderLine, ...]
    status: str = "pending"  # pending | label_purchased | shipped | delivered | cancelled
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    written_back: bool = False
    origin: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    external_id: str | None = None  # the storefront's own fulfilment or shipment id


@dataclass(frozen=True, slots=True)
class StorefrontFulfilment:
    """A fulfilment the storefront had already made when it stated the order the hub recorded.

    The storefront's `OrderFulfilled` for it (`event_id`) was published with that statement; until
    it is on the order's timeline, the hub routes none of the order (hub.domain.fulfilment.route).
    """

    fulfilment_id: str | None
    event_id: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    event_id: str
    type: str
    occurred_at: datetime
    applied_at: datetime
    summary: str
    applied: bool = True
    emits: tuple[str, ...] = ()  # follow-on events (JSON), published again if a redelivery finds them unsent


@dataclass(slots=True)
class Order:
    order_id: str
    channel: str
    status: OrderStatus
    total: Money
    lines: tuple[OrderLine, ...]
    customer_email: str | None = None
    shipping_country: str | None = None
    shipping_address: Address | None = None
    hold_reason: HoldReason | None = None
    reservations: tuple[Reservation, ...] = ()
    shortages: dict[str, int] = field(default_factory=dict)
    placed_at: datetime | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    payments: list[PaymentRecord] = field(default_factory=list)
    fulfilments: list[Fulfilment] = field(default_factory=list)
    previous_status: OrderStatus | None = None  # what a dispute's resolution restores
    # The storefront state the order holds: the time of the newest snapshot applied, and the topic
    # it was recorded from (an order is recorded from whichever of its deliveries arrives first).
    as_of: datetime | None = None
    recorded_from: str | None = None
    # What the snapshot the order was recorded from says the storefront had shipped: its fulfilments
    # reported by OrderFulfilled events of the same delivery, and units no such event reports.
    storefront_fulfilments: tuple[StorefrontFulfilment, ...] = ()
    storefront_shipped: dict[str, int] = field(default_factory=dict)
    version: int = 0  # optimistic concurrency: every stored change increments it

    @property
    def currency(self) -> str:
        return self.total.currency

    def applied(self, event_id: str) -> bool:
        return any(entry.event_id == event_id for entry in self.timeline)

    @property
    def reserved(self) -> bool:
        """Every unit of the order is held (or already shipped) somewhere."""
        return bool(self.reservations) and not self.shortages

    def move_to(self, target: OrderStatus, reason: HoldReason | None = None) -> None:
        if not can_transition(self.status, target):
            raise IllegalTransitionError(f"{self.order_id}: {self.status} -> {target} is not allowed")
        self.status = target
        self.hold_reason = reason if target is OrderStatus.ON_HOLD else None
