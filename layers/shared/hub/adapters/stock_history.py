"""Each SKU's stock changes on the hub's table: `STOCKLOG#<sku>` / `<time>#<location>#<digest>`.

One item per change, written without a condition: the sort key is the change's time (microseconds,
zero-padded, so keys sort as times) and a digest of the StockLevelChanged that announced it, so a
redelivered event writes the same item again. The changes sit in a partition of their own, beside
nothing: reading a SKU's levels (`SKU#<sku>`, every placement and low-stock check) never pays for
its history. Items expire with the table's TTL after HISTORY_DAYS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import STOCKLOG
from hub.adapters.table import Table, expires_at, from_micros, micros, plain, typed
from hub.domain.stock_history import HISTORY_DAYS, ChangeCause, StockChange
from hub.errors import StoreError

__all__ = ["DynamoStockHistory", "change_key"]


def change_key(change: StockChange) -> tuple[str, str]:
    digest = hashlib.sha256(f"{change.event_id}\x1f{change.location}".encode()).hexdigest()[:16]
    return STOCKLOG(change.sku), f"{micros(change.at):017d}#{change.location}#{digest}"


def _values(change: StockChange) -> dict[str, Any]:
    pk, sk = change_key(change)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "stock_change",
        "sku": change.sku,
        "location": change.location,
        "at": micros(change.at),
        "cause": change.cause.value,
        "origin": change.origin,
        "after": change.after,
        "before": change.before,
        "order_id": change.order_id,
        "event_id": change.event_id or None,
        "expires_at": expires_at(HISTORY_DAYS),
    }


def _change(item: dict[str, Any]) -> StockChange:
    return StockChange(
        sku=item["sku"],
        location=item["location"],
        at=from_micros(item["at"]),
        cause=ChangeCause(item["cause"]),
        origin=item["origin"],
        after=int(item["after"]),
        before=int(item["before"]) if item.get("before") is not None else None,
        order_id=item.get("order_id"),
        event_id=item.get("event_id") or "",
    )


class DynamoStockHistory:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def append(self, changes: Sequence[StockChange]) -> None:
        # One item per key: a batch may hold one event twice (SQS delivers at least once), and
        # BatchWriteItem refuses a request naming an item twice.
        items = {change_key(c): _values(c) for c in changes}
        if items:
            self._table.batch_put(list(items.values()), what="record stock changes")

    def latest(self, sku: str, limit: int) -> list[StockChange]:
        """One Query, newest first, `limit` items; eventually consistent (a history, not a level)."""
        try:
            found = self._table.client.query(
                TableName=self._table.name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=typed({":pk": STOCKLOG(sku)}),
                ScanIndexForward=False,
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the stock changes of {sku}: {exc}") from exc
        return [_change(plain(item)) for item in found.get("Items", [])]
