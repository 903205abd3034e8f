"""A SKU's stock change history: each change to the units available at a location, what it was
before and after, and where it came from (an order's reservation or release, a storefront's level,
an admin's correction). Kept for `HISTORY_DAYS`; the newest are shown on the SKU's page and in
GET /inventory/{sku}. See docs/stock.md, "Change history".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["HISTORY_DAYS", "LATEST", "ChangeCause", "StockChange", "cause_of"]

# Long enough to explain last month's counts; the table's TTL removes older changes.
HISTORY_DAYS = 30
# How many changes a SKU's page and GET /inventory/{sku} show.
LATEST = 20


class ChangeCause(StrEnum):
    RESERVATION = "reservation"  # an order's reservation took the units
    RELEASE = "release"  # an order's cancellation or refund gave units back
    STOREFRONT = "storefront"  # a storefront (or point of sale) reported its level
    CORRECTION = "correction"  # an admin set the level (PUT /inventory/{sku}, the console's form)


def cause_of(*, topic: str, origin: str, order_id: str | None, reserved_topic: str) -> ChangeCause:
    """Where a change came from, from what its StockLevelChanged says: the reservation topic, else
    an order (its release), else the admin's correction, else a channel's reported level."""
    if topic == reserved_topic:
        return ChangeCause.RESERVATION
    if order_id:
        return ChangeCause.RELEASE
    if origin == "admin":
        return ChangeCause.CORRECTION
    return ChangeCause.STOREFRONT


@dataclass(frozen=True, slots=True)
class StockChange:
    """One change to the units available at one location of a SKU."""

    sku: str
    location: str
    at: datetime  # when the hub made the change
    cause: ChangeCause
    origin: str  # the channel it came from ("admin" for a correction, "hub" for a gateway's refund)
    after: int  # units available after it
    before: int | None = None  # units available before it, when the change knew them
    order_id: str | None = None  # the order whose reservation or release it was
    event_id: str = ""  # the StockLevelChanged that announced it (a redelivery finds the same entry)

    @property
    def delta(self) -> int | None:
        return None if self.before is None else self.after - self.before
