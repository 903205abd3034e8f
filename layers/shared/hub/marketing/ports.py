"""The interfaces marketing owns; DynamoDB, EventBridge Scheduler, SES, Klaviyo and Mailchimp adapters
(and the tests' fakes) implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from hub.domain.orders import Order
from hub.marketing.rules import Due

__all__ = [
    "ActivityTracker",
    "CheckoutState",
    "Claim",
    "CustomerKeys",
    "LastOrder",
    "Look",
    "MarketingStore",
    "MessageContent",
    "MessageSender",
    "OrderReader",
    "OutboundMessage",
    "Schedules",
    "Waiter",
]


@dataclass(frozen=True)
class CheckoutState:
    """A checkout as marketing keeps it. `email` is personal data: removed on erasure, never logged."""

    checkout_id: str
    channel: str
    started_at: datetime
    email: str | None = None
    customer: str | None = None  # the erasure key of the email
    recovery_url: str | None = None
    currency: str | None = None
    total: int | None = None  # minor units
    lines: tuple[tuple[str, str | None, int], ...] = ()  # sku, title, quantity
    converted_by: str | None = None  # the order id (or "completed") that converted it


@dataclass(frozen=True)
class LastOrder:
    order_id: str
    placed_at: datetime


@dataclass(frozen=True)
class Look:
    """What one event's decision reads, in one request (MarketingStore.look)."""

    erased_before: datetime | None = None  # the customer's erasure mark
    sent: frozenset[str] = frozenset()  # of the message keys asked, those already sent (or capped)
    last_order: LastOrder | None = None  # the customer's newest order (asked with an order id)
    counted: bool = False  # the order's co-purchases are counted (asked with an order id)


@dataclass(frozen=True)
class Waiter:
    """A customer whose order ran short of a SKU, waiting for it to come back."""

    sku: str
    order_id: str
    channel: str
    customer: str | None = None


@dataclass(frozen=True)
class Claim:
    """The once-only marker of a message, as one attempt finds it.

    claimed: this attempt may send (resuming after `channels_done` when an earlier attempt failed
    part-way); sent: it went out before; capped: the frequency cap refused it; busy: another attempt
    holds it.
    """

    status: Literal["claimed", "sent", "capped", "busy"]
    channels_done: frozenset[str] = frozenset()
    admitted: bool = False
    published: bool = False
    sent_at: datetime | None = None


@dataclass(frozen=True)
class MessageContent:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one customer, ready for any channel. Personal data: never logged."""

    message_key: str
    trigger: str
    email: str
    first_name: str | None
    last_name: str | None
    content: MessageContent | None  # rendered when email (SES) is one of the channels
    unsubscribe_url: str | None
    properties: Mapping[str, Any] = field(default_factory=dict)  # the personalisation, for Klaviyo
    time: datetime | None = None


class MarketingStore(Protocol):
    """Marketing's own state (co-purchases, checkouts, latest orders, schedules, markers, caps)."""

    # ------------------------------------------------------------------ one read, one write
    def look(self, customer: str, message_keys: Sequence[str], order_id: str | None = None) -> Look:
        """The customer's erasure mark and which of `message_keys` went out, with `order_id` also the
        customer's newest order and whether the order's co-purchases are counted: one read."""

    def record_placement(
        self,
        order_id: str,
        pairs: Sequence[tuple[str, str]],
        titles: Mapping[str, str],
        *,
        count: bool,
        customer: str | None = None,
        seen: LastOrder | None = None,
        newest: LastOrder | None = None,
        schedules: Sequence[tuple[str, datetime]] = (),
    ) -> None:
        """What a placement decided, in one write: the co-purchases counted once (`count`), the
        customer's newest order moved from `seen` (what the look found) to `newest`, and the
        schedules it creates remembered under the customer (name, due). MarketingConflictError,
        writing nothing, when the co-purchases were counted or the newest order moved meanwhile."""

    # ------------------------------------------------------------------ customers
    def note_order(self, customer: str, order_id: str, placed_at: datetime) -> tuple[bool, str | None]:
        """Record an order of the customer: (it is their newest, the order that was newest before)."""

    def last_order(self, customer: str) -> LastOrder | None: ...

    def opted_out(self, customer: str) -> bool: ...

    def opt_out(self, customer: str, at: datetime) -> None: ...

    def remember_schedule(self, customer: str, name: str, due_at: datetime) -> None: ...

    def forget_schedule(self, customer: str, name: str) -> None: ...

    def customer_schedules(self, customer: str) -> list[str]: ...

    def forget_customer(self, customer: str) -> int:
        """Remove everything kept for the customer (checkouts with their email included), except
        the opt-out; returns how many items went."""

    # ------------------------------------------------------------------ checkouts
    def save_checkout(self, state: CheckoutState, at: datetime) -> CheckoutState:
        """Keep the checkout as of `at` (a later statement wins; the start is the earliest seen);
        returns what is stored, conversion included."""

    def checkout(self, checkout_id: str) -> CheckoutState | None: ...

    def convert_checkout(self, checkout_id: str, by: str, customer: str | None = None) -> None:
        """Mark the checkout converted (even before its own events arrive); no longer open for `customer`."""

    def open_checkouts(self, customer: str) -> list[tuple[str, datetime]]:
        """(checkout id, started at) of the customer's checkouts not known to be converted."""

    # ------------------------------------------------------------------ co-purchases
    def count_order(self, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str]) -> bool:
        """Count each pair once for the order and remember the titles; False when counted before."""

    def bought_with(self, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """sku -> {other sku: orders that had both}, for the given SKUs."""

    def titles(self, skus: Sequence[str]) -> dict[str, str]:
        """The product title last seen on an order for each SKU (when one was)."""

    # ------------------------------------------------------------------ back in stock
    def add_waiter(self, waiter: Waiter) -> None: ...

    def waiters(self, sku: str) -> list[Waiter]: ...

    def remove_waiter(self, sku: str, order_id: str) -> None: ...

    # ------------------------------------------------------------------ once-only, frequency cap
    def message_sent(self, message_key: str) -> bool: ...

    def claim(self, message_key: str, customer: str, now: datetime, lease_seconds: int) -> Claim: ...

    def admit(self, customer: str, message_key: str, now: datetime, max_messages: int, per_days: int) -> bool:
        """Count the message against the customer's cap (a conditional write); False when full."""

    def mark_admitted(self, message_key: str) -> None: ...

    def channel_done(self, message_key: str, channel: str) -> None: ...

    def release(self, message_key: str) -> None:
        """A send failed: let the next attempt resume at once (channels done stay done)."""

    def finish(self, message_key: str, status: Literal["sent", "capped"], at: datetime) -> None: ...

    def mark_published(self, message_key: str) -> None: ...


class Schedules(Protocol):
    """One-time schedules that deliver a Due to the marketing queue (EventBridge Scheduler)."""

    def create(self, due: Due, at: datetime) -> bool:
        """Create the schedule named `due.schedule_name` firing at `at`; False when it exists."""

    def delete(self, name: str) -> bool:
        """Delete a schedule; False when there was none."""


class CustomerKeys(Protocol):
    """Erasure keys, as crm_upsert makes them, and the erasure marks privacy requests leave."""

    def key(self, email: str) -> str: ...

    def erased_before(self, customer: str) -> datetime | None: ...


class OrderReader(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...


class MessageSender(Protocol):
    """One marketing channel. `channel` is what MarketingMessageSent records (email, klaviyo, mailchimp)."""

    channel: str

    def send(self, message: OutboundMessage) -> str | None:
        """Deliver the message or raise; a retry of the same message must be safe or is never made.

        Returns the recipient's id in the channel when the channel keeps a contact (Klaviyo's
        profile, Mailchimp's member), so an erasure can delete it; None otherwise."""


class ActivityTracker(Protocol):
    """Customer activity forwarded to a marketing platform (Klaviyo's Placed Order, Started Checkout)."""

    def track(
        self,
        metric: str,
        email: str,
        unique_id: str,
        time: datetime,
        properties: Mapping[str, Any],
        value: Decimal | None = None,
        currency: str | None = None,
    ) -> str | None:
        """Forward the activity; the customer's id in the platform, when it keeps one (as send)."""
