"""What marketing reads and writes through its ports: checkouts, the customer's newest order, a
look at what a decision needs, waiters for a SKU back in stock, a send's claim, and the message
handed to a channel. Values only; no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["CheckoutState", "Claim", "LastOrder", "Look", "MessageContent", "OutboundMessage", "Waiter"]


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
