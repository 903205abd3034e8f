"""`hub.ports.OrderIndex` on DynamoDB: the `orders-by-day` index of the hub table, and order rows by id.

The index keys are two attributes of the order item (`order_index_keys`), written by every save of
it, so placing or changing an order costs no request more; the index projects only what a row shows
(no personal data: the list finds a customer's orders through their profile, not the index).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import ORDER, ORDERDAY
from hub.adapters.table import Table, plain, typed
from hub.domain.order_search import OrderRow, placement_day, placement_key
from hub.errors import StoreError

__all__ = ["INDEX_NAME", "DynamoOrderIndex", "order_index_keys"]

INDEX_NAME = "orders-by-day"
_ROW_FIELDS = ("order_id", "channel", "status", "hold_reason", "currency", "total_minor", "placed_at")
# Items read per request while filtering a day: a page of 50 holds rarely needs more than one.
_READ_PER_REQUEST = 200


def order_index_keys(order_id: str, placed_at: datetime) -> dict[str, str]:
    """The attributes that put an order item in the index."""
    return {
        "order_day": ORDERDAY(placement_day(placed_at).isoformat()),
        "order_placed": placement_key(order_id, placed_at),
    }


def _row(item: Mapping[str, Any]) -> OrderRow:
    return OrderRow(
        order_id=str(item["order_id"]),
        channel=str(item["channel"]),
        status=str(item["status"]),
        hold_reason=str(item["hold_reason"]) if item.get("hold_reason") else None,
        currency=str(item["currency"]),
        total=int(item["total_minor"]),
        placed_at=datetime.fromisoformat(str(item["placed_at"])),
    )


class DynamoOrderIndex:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = Table(client, table_name)

    def placed_on(
        self, day: date, *, before: str | None, status: str | None, channel: str | None, limit: int
    ) -> tuple[list[OrderRow], bool]:
        condition = "order_day = :day" + (" AND order_placed < :before" if before else "")
        values: dict[str, Any] = {":day": ORDERDAY(day.isoformat())}
        if before:
            values[":before"] = before
        filters = []
        names: dict[str, str] = {}
        if status:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = status
        if channel:
            filters.append("channel = :channel")
            values[":channel"] = channel
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": typed(values),
            "ScanIndexForward": False,
            "Limit": max(limit + 1, _READ_PER_REQUEST) if filters else limit + 1,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if names:
            request["ExpressionAttributeNames"] = names
        rows: list[OrderRow] = []
        try:
            while True:
                response = self._client.query(**request)
                rows.extend(_row(plain(item)) for item in response.get("Items", []))
                start = response.get("LastEvaluatedKey")
                if len(rows) > limit or not start:
                    break
                request["ExclusiveStartKey"] = start
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not list the orders of {day.isoformat()}: {exc}") from exc
        return rows[:limit], len(rows) > limit

    def rows(self, order_ids: Iterable[str]) -> list[OrderRow]:
        found = self._table.batch_get(((ORDER(i), "ORDER") for i in dict.fromkeys(order_ids)), what="read orders")
        return [_row(item) for item in found.values() if item.get("placed_at")]
