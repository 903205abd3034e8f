"""StockLevelChanged for stock that an order's change moves (units released by a cancellation or a
refund), so that every change to what is available reaches channel_sync and the low-stock check,
whichever function made it. OrderUpdater adds these to the events it publishes after its write.

The numbers are the ledger's as read before the write plus the change; channel_sync and the
low-stock check read the ledger again, so the event is a faithful trigger even when another change
landed in between.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.domain.orders import Order
from hub.domain.platforms import STOREFRONTS
from hub.domain.stock import StockChange
from hub.events import HubEvent, StockLevelChanged, StockLevelData, hub_event
from hub.ports import Ledger

__all__ = ["change_origin", "stock_moved"]


def change_origin(cause: HubEvent) -> str:
    """The channel a change came from: the storefront that reported it (it has made the change in
    its own count already), else "hub" (a gateway refund, say: every channel is told)."""
    return cause.channel if cause.source in STOREFRONTS else "hub"


def stock_moved(
    ledger: Ledger, order: Order, changes: Iterable[StockChange], cause: HubEvent
) -> list[StockLevelChanged]:
    """One StockLevelChanged per (sku, location) whose available units the changes move."""
    moved: dict[tuple[str, str], int] = {}
    for sku, location, available, _reserved in changes:
        if available:
            moved[(sku, location)] = moved.get((sku, location), 0) + available
    events: list[StockLevelChanged] = []
    origin = change_origin(cause)
    for sku in dict.fromkeys(sku for sku, _ in moved):
        levels = ledger.levels_for(sku)
        total = sum(level.available for level in levels.values())
        for (moved_sku, location), delta in moved.items():
            if moved_sku != sku or not delta:
                continue
            level = levels.get(location)
            before = level.available if level else 0
            events.append(
                hub_event(
                    StockLevelChanged,
                    key=(order.order_id, "stock", cause.event_id, sku, location),
                    channel=order.channel,
                    occurred_at=cause.occurred_at,
                    topic="inventory/moved",
                    cause=cause.event_id,
                    data=StockLevelData(
                        sku=sku,
                        location=location,
                        available=before + delta,
                        previous=before,
                        origin=origin,
                        total_available=total + sum(d for (s, _), d in moved.items() if s == sku),
                        version=(level.version if level else 0) + 1,
                        order_id=order.order_id,
                    ),
                )
            )
    return events
