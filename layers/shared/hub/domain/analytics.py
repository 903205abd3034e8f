"""What the hub forwards to analytics destinations (GA4, Meta): purchases, refunds, and the marker
of what each destination was sent. Values only; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Contact", "NotYet", "Purchase", "RefundMade", "SentMarker"]


@dataclass(frozen=True)
class Contact:
    """Personal data, kept in memory only while a request is built."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def __repr__(self) -> str:  # never print personal data, even by accident
        return "Contact(<redacted>)"


@dataclass(frozen=True)
class Purchase:
    order_id: str
    platform_order_id: str
    channel: str
    currency: str
    total: int
    lines: tuple[tuple[str, int, int, str | None], ...]  # sku, quantity, unit price, title
    at: datetime
    customer: str | None = None  # customer key
    contact: Contact = Contact()


@dataclass(frozen=True)
class RefundMade:
    order_id: str
    platform_order_id: str
    at: datetime
    customer: str | None = None
    currency: str = ""
    amount: int = 0  # what this forward adds
    total_refunded: int = 0
    items: tuple[tuple[str, int, int | None], ...] = ()  # refunded sku, quantity, unit price (if known)
    whole_order: bool = False  # this forward gives back the whole order at once


class NotYet(str):
    """A sink's reason for not sending a refund *yet*: no marker is written, a later report retries."""


@dataclass(frozen=True)
class SentMarker:
    total: int
    note: str | None = None
