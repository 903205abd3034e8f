"""The reconcilers' state in the hub table, and the check of what the hub already applied.

- `RECONCILE#<channel or gateway>` / `CURSOR`: `since` (ISO time: every change up to it is in the
  hub) and `last_run` (when the last run started). A run is claimed with a conditional write on
  `last_run`, so two invocations never run one reconciler at once, and a reconciler runs no more
  often than its `every_minutes`. `since` only moves forward (a conditional write too).
- What the hub applied: the order's timeline entry `ORDER#<order id>` / `EVENT#<event id>`, or, for a
  gateway's payment whose order is not recorded yet, the payment kept for it (`PENDING#<event id>`);
  the order is the event's own (`data.order_id`) or the one `order_of` names (a gateway payment's
  reference, as payment_confirmation resolves it); for a
  snapshot of the order (OrderPlaced, OrderUpdated: `data.updated_at`), also the order item's
  `as_of`, the time of the newest storefront state it holds: a snapshot no newer than that is known
  even when another topic delivered it (Shopify's `orders/create` and `orders/updated` of one state).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hub.adapters.keys import ORDER, RECONCILE
from hub.adapters.table import Table
from hub.events import HubEvent
from hub.ports import ReconcileCursor

__all__ = ["DynamoAppliedEvents", "DynamoReconcileCursors"]

_CURSOR = "CURSOR"


def _time(item: dict[str, Any], name: str) -> datetime | None:
    value = item.get(name)
    return datetime.fromisoformat(value) if value else None


class DynamoReconcileCursors:
    def __init__(self, client: Any, table: str) -> None:
        self._table = Table(client, table)

    def get(self, name: str) -> ReconcileCursor:
        item = self._table.get(RECONCILE(name), _CURSOR, what=f"read the reconcile cursor of {name}") or {}
        return ReconcileCursor(since=_time(item, "since"), last_run=_time(item, "last_run"))

    def claim(self, name: str, now: datetime, due_before: datetime) -> bool:
        # ISO times in UTC compare as strings.
        claimed = self._table.update(
            RECONCILE(name),
            _CURSOR,
            "SET last_run = :now",
            {":now": _iso(now), ":due": _iso(due_before)},
            what=f"claim the reconciler of {name}",
            condition="attribute_not_exists(last_run) OR last_run < :due",
        )
        return claimed is not None

    def advance(self, name: str, since: datetime) -> None:
        # When the condition fails, the cursor is already further on.
        self._table.update(
            RECONCILE(name),
            _CURSOR,
            "SET since = :since",
            {":since": _iso(since)},
            what=f"move the reconcile cursor of {name}",
            condition="attribute_not_exists(since) OR since < :since",
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _own_order(event: HubEvent) -> str | None:
    return getattr(getattr(event, "data", None), "order_id", None)


class DynamoAppliedEvents:
    def __init__(self, client: Any, table: str, order_of: Callable[[HubEvent], str | None] = _own_order) -> None:
        self._table = Table(client, table)
        self._order_of = order_of

    def applied(self, event: HubEvent) -> bool:
        order_id = self._order_of(event)
        if not order_id:
            return False  # not an order's event: only publishing once tells
        if self._get(order_id, f"EVENT#{event.event_id}", "pk") is not None:
            return True
        if not _own_order(event) and self._get(order_id, f"PENDING#{event.event_id}", "pk") is not None:
            return True  # a gateway's payment kept until its order is recorded
        stated = getattr(event.data, "updated_at", None)
        if not isinstance(stated, datetime):
            return False
        order = self._get(order_id, "ORDER", "as_of")
        as_of = (order or {}).get("as_of")
        return isinstance(as_of, str) and bool(as_of) and _aware(datetime.fromisoformat(as_of)) >= _aware(stated)

    def _get(self, order_id: str, sk: str, projection: str) -> dict[str, Any] | None:
        return self._table.get(
            ORDER(order_id), sk, what=f"read the order {order_id}", projection=projection, consistent=False
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
