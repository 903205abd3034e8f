"""A SKU's stock change history, recorded from the StockLevelChanged events the stock service (and
OrderUpdater, for releases) already publish for every change to a location's available units.

channel_sync, which receives every one of them on its own queue, records a batch's changes in one
write before pushing them; the console's SKU page and GET /inventory/{sku} read the newest. Why
from the events and not in the transaction that changes the level: docs/stock.md, "Change history".
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.domain.stock_history import LATEST, StockChange, cause_of
from hub.events import RESERVED_TOPIC, StockLevelChanged
from hub.ports import StockHistoryLog

__all__ = ["StockHistory", "change_for"]


def change_for(event: StockLevelChanged) -> StockChange:
    """The change an event announces. Its time is when the hub made the event, that is the change
    (`received_at`, kept in the event, so a redelivery gives the same entry), not the time of its
    cause (an order placed on the storefront an hour before it reached the hub)."""
    data = event.data
    return StockChange(
        sku=data.sku,
        location=data.location,
        at=event.received_at,
        cause=cause_of(
            topic=event.provider.topic, origin=data.origin, order_id=data.order_id, reserved_topic=RESERVED_TOPIC
        ),
        origin=data.origin,
        after=data.available,
        before=data.previous,
        order_id=data.order_id,
        event_id=event.event_id,
    )


class StockHistory:
    def __init__(self, log: StockHistoryLog) -> None:
        self._log = log

    def record(self, events: Iterable[StockLevelChanged]) -> int:
        """Keep the changes the events announce, in one write; returns how many."""
        changes = [change_for(e) for e in events]
        self._log.append(changes)
        return len(changes)

    def latest(self, sku: str, limit: int = LATEST) -> list[StockChange]:
        """Newest first, each change once, at the time it was first recorded: a redelivered or
        replayed cause (`commerce-hub replay`) publishes the same event again, same id, made anew,
        and its second entry is not a second change."""
        first: dict[tuple[str, str], StockChange] = {}
        # Twice as many read, so that a few entries made again still leave `limit` changes.
        for change in reversed(self._log.latest(sku, 2 * limit)):  # oldest first
            first.setdefault((change.event_id or str(id(change)), change.location), change)
        return sorted(first.values(), key=lambda c: c.at, reverse=True)[:limit]
