"""Finding orders: the filters, a page of order summaries, and the cursor that continues a page.

Orders are listed newest first by the moment they were placed. Each order has one position, its
`placement_key` (the placement time in UTC to the microsecond, then the order id, so two orders
placed in the same microsecond still have an order), and a cursor names the day and the position
after which the next page starts. No I/O: the store behind `hub.ports.OrderIndex` holds the keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hub.errors import BadRequestError

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "PAGE_SIZE",
    "Cursor",
    "OrderPage",
    "OrderQuery",
    "OrderRow",
    "placement_day",
    "placement_key",
]

PAGE_SIZE = 50
# Without a date, the list covers the last 30 days (today included); a range spans at most 92.
DEFAULT_DAYS = 30
MAX_DAYS = 92

_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#.{1,500}")


def placement_day(placed_at: datetime) -> date:
    """The UTC day an order was placed on (a merchant's reports use UTC days too)."""
    return placed_at.astimezone(UTC).date()


def placement_key(order_id: str, placed_at: datetime) -> str:
    """The order's position in the list: sorts by placement time, then order id."""
    return f"{placed_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{order_id}"


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One row of the list: what an order looks like at a glance. `total` is in minor units."""

    order_id: str
    channel: str
    status: str
    hold_reason: str | None
    currency: str
    total: int
    placed_at: datetime

    @property
    def key(self) -> str:
        return placement_key(self.order_id, self.placed_at)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: after `key` on `day` (the whole day when `key` is None)."""

    day: date | None
    key: str | None

    def encode(self) -> str:
        raw = json.dumps({"d": self.day.isoformat() if self.day else None, "k": self.key}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        hint = "cursor is not one this list gave; start again from the first page"
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            day = date.fromisoformat(raw["d"]) if raw.get("d") is not None else None
            key = raw.get("k")
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
            raise BadRequestError(hint) from exc
        if key is not None and not (isinstance(key, str) and _KEY.fullmatch(key)):
            raise BadRequestError(hint)
        return cls(day, key)


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """The filters: each None means any. `first`..`last` are UTC days, both included."""

    status: str | None = None
    channel: str | None = None
    email: str | None = None
    first: date | None = None
    last: date | None = None
    cursor: Cursor | None = None
    limit: int = PAGE_SIZE

    def days(self, today: date) -> tuple[date, date]:
        """The range of days to list, newest last: the one asked for, else the last DEFAULT_DAYS."""
        last = self.last or self.first or today
        first = self.first or (last - timedelta(days=DEFAULT_DAYS - 1))
        return first, last

    def matches(self, order: OrderRow, today: date) -> bool:
        """Whether an order found some other way (a customer's orders) passes every filter."""
        first, last = self.days(today) if (self.first or self.last) else (date.min, date.max)
        return (
            (self.status is None or order.status == self.status)
            and (self.channel is None or order.channel == self.channel)
            and first <= placement_day(order.placed_at) <= last
        )


@dataclass(frozen=True, slots=True)
class OrderPage:
    """A page of orders, newest first, and the cursor of the next page (None on the last)."""

    orders: tuple[OrderRow, ...]
    next_cursor: Cursor | None
