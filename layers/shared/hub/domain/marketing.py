"""What marketing reads and writes through its ports: checkouts, the customer's newest order, a
look at what a decision needs, waiters for a SKU back in stock, a send's claim, and the message
handed to a channel, and the record of a message sent kept under its customer. Values only; no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "CheckoutState",
    "Claim",
    "LastOrder",
    "Look",
    "MessageContent",
    "OutboundMessage",
    "SentMessage",
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


@dataclass(frozen=True)
class SentMessage:
    """A marketing message as the customer's history keeps it (`MarketingStore.finish` writes it with
    the message's marker; the customer's page lists them). Personal data (the order it is about
    names the customer): erased with everything marketing keeps under the customer, never logged.

    outcome: `sent` (every channel in `channels` accepted it) or `capped` (the frequency cap
    refused it; nothing went out, and nothing will)."""

    customer: str  # the erasure key the history is kept under
    message_key: str
    trigger: str  # post_purchase, abandoned_checkout, review_request, win_back, back_in_stock
    subject_kind: str  # order or checkout
    subject_id: str  # the order id or checkout id
    basis: str  # what its time counted from: paid, delivered, placed, started, restocked
    channel: str  # the storefront channel the message is about
    outcome: Literal["sent", "capped"]
    at: datetime  # when it was sent (or refused by the cap)
    channels: tuple[str, ...] = ()  # the marketing channels that sent it: ses, klaviyo, mailchimp
    sku: str | None = None  # back in stock: the SKU that came back
