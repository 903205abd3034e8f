"""Each order's lineage on the hub's table: `LINEAGE#<order id>` / `<at>#<step>#<digest>`.

One item per entry, written without a condition (an append: the sort key is the entry's time to
the microsecond and a digest of what it says, so writing it again replaces it), expiring with the
table's TTL after `LINEAGE_DAYS`. The entries sit in a partition of their own rather than beside the
order's items: reading an order (every consumer does, on every event) never pays for its lineage,
and intake, which faces the internet, may write lineage (`LINEAGE#*`) without being able to write
an order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.adapters.keys import LINEAGE
from hub.adapters.table import Table, typed
from hub.adapters.webhook_activity import delivery_count_values
from hub.domain.lineage import Call, LineageEntry, Step, in_time_order
from hub.domain.webhook_activity import DeliveryCount

__all__ = ["LINEAGE_DAYS", "DynamoLineageLog", "lineage_item"]

# As long as the longest history the hub keeps (a year of disputes and returns, and some).
LINEAGE_DAYS = 400


def _values(entry: LineageEntry, now: float | None = None) -> dict[str, Any]:
    return {
        "pk": LINEAGE(entry.order_id),
        "sk": entry.key,
        "kind": "lineage",
        "order_id": entry.order_id,
        "at": entry.at.isoformat(),
        "step": entry.step.value,
        "result": entry.result,
        "source": entry.source,
        "via": entry.via,
        "ref": entry.ref,
        "event_ids": list(entry.event_ids) or None,
        "event_type": entry.event_type,
        "call": entry.call.value if entry.call else None,
        "detail": entry.detail or None,
        "expires_at": int(now if now is not None else time.time()) + LINEAGE_DAYS * 86400,
    }


def lineage_item(entry: LineageEntry, now: float | None = None) -> dict[str, Any]:
    return typed(_values(entry, now))


def _entry(item: dict[str, Any]) -> LineageEntry:
    return LineageEntry(
        order_id=item["order_id"],
        at=datetime.fromisoformat(item["at"]),
        step=Step(item["step"]),
        result=item["result"],
        source=item.get("source"),
        via=item.get("via"),
        ref=item.get("ref"),
        event_ids=tuple(item.get("event_ids") or ()),
        event_type=item.get("event_type"),
        call=Call(item["call"]) if item.get("call") else None,
        detail=item.get("detail") or "",
    )


class DynamoLineageLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def append(self, entries: Sequence[LineageEntry], counts: Sequence[DeliveryCount] = ()) -> None:
        if not entries and not counts:
            return
        now = time.time()
        # BatchWriteItem even for one entry: one action to grant, and one call for a delivery that
        # names several orders, and for the delivery's count beside them (hub.adapters.webhook_activity).
        # Throttled in part: once more, then say so (lineage is never worth a long wait).
        items = [*(_values(e, now) for e in entries), *(delivery_count_values(c) for c in counts)]
        self._table.batch_put(items, what="record lineage", tries=2)

    def entries(self, order_id: str) -> list[LineageEntry]:
        items = self._table.query(LINEAGE(order_id), what=f"read the lineage of {order_id}", consistent=False)
        return in_time_order(_entry(i) for i in items)
