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

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.table import plain, typed
from hub.domain.lineage import Call, LineageEntry, Step, in_time_order
from hub.errors import StoreError

__all__ = ["LINEAGE_DAYS", "DynamoLineageLog", "lineage_item"]

# As long as the longest history the hub keeps (a year of disputes and returns, and some).
LINEAGE_DAYS = 400
_BATCH_WRITE = 25


def _pk(order_id: str) -> str:
    return f"LINEAGE#{order_id}"


def lineage_item(entry: LineageEntry, now: float | None = None) -> dict[str, Any]:
    return typed(
        {
            "pk": _pk(entry.order_id),
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
    )


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
        self._client = client
        self._table = table_name

    def append(self, entries: Sequence[LineageEntry]) -> None:
        if not entries:
            return
        now = time.time()
        items = [lineage_item(e, now) for e in entries]
        try:
            # BatchWriteItem even for one entry: one action to grant, and one call for a delivery
            # that names several orders.
            for start in range(0, len(items), _BATCH_WRITE):
                requests = [{"PutRequest": {"Item": i}} for i in items[start : start + _BATCH_WRITE]]
                answer = self._client.batch_write_item(RequestItems={self._table: requests})
                left = answer.get("UnprocessedItems", {}).get(self._table)
                if left:
                    # Throttled in part: once more, then say so (lineage is never worth a long wait).
                    again = self._client.batch_write_item(RequestItems={self._table: left})
                    if again.get("UnprocessedItems", {}).get(self._table):
                        raise StoreError(f"lineage: {len(left)} entries not written (throttled)")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not record lineage: {exc}") from exc

    def entries(self, order_id: str) -> list[LineageEntry]:
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": _pk(order_id)}},
            )
            return in_time_order(_entry(plain(i)) for page in pages for i in page["Items"])
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the lineage of {order_id}: {exc}") from exc
