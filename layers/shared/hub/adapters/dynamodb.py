"""The ledger on one DynamoDB table: orders, their timelines and per-location stock.

Keys: an order is `ORDER#<id>` / `ORDER`, each timeline entry `ORDER#<id>` / `EVENT#<event id>`
(so applying one event twice is stopped by a condition), a stock level `SKU#<sku>` / `LOC#<loc>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from hub.domain.orders import HoldReason, Order, OrderLine, OrderStatus, Reservation, TimelineEntry
from hub.domain.stock import StockLevel
from hub.money import Money
from hub.ports import OrderExistsError, StockConflictError, StoreError

__all__ = ["DynamoLedger"]

_ser = TypeSerializer()
_de = TypeDeserializer()


def _item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def _stock_key(sku: str, location: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": f"LOC#{location}"}}


class DynamoLedger:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ------------------------------------------------------------------ stock
    def levels_for(self, sku: str) -> dict[str, StockLevel]:
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :loc)",
                ExpressionAttributeValues={":pk": {"S": f"SKU#{sku}"}, ":loc": {"S": "LOC#"}},
                ConsistentRead=True,
            )
            items = [_plain(i) for page in pages for i in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read stock for {sku}: {exc}") from exc
        return {
            i["location"]: StockLevel(sku, i["location"], int(i.get("available", 0)), int(i.get("reserved", 0)))
            for i in items
        }

    def stock_levels(self, skus: Iterable[str]) -> dict[str, dict[str, StockLevel]]:
        return {sku: self.levels_for(sku) for sku in dict.fromkeys(skus)}

    def set_available(self, sku: str, location: str, available: int) -> int | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_stock_key(sku, location),
                UpdateExpression=(
                    "SET available = :n, reserved = if_not_exists(reserved, :zero), "
                    "sku = :sku, #loc = :loc, updated_at = :now"
                ),
                ExpressionAttributeNames={"#loc": "location"},
                ExpressionAttributeValues=_item(
                    {":n": available, ":zero": 0, ":sku": sku, ":loc": location, ":now": _now()}
                ),
                ReturnValues="UPDATED_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
        old = response.get("Attributes", {}).get("available")
        return int(old["N"]) if old else None

    # ------------------------------------------------------------------ orders
    def place_order(self, order: Order, reservations: Sequence[Reservation], entry: TimelineEntry) -> None:
        now = _now()
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **_order_key(order.order_id),
                        **_item(self._order_attrs(order, reservations, now)),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": self._timeline_item(order.order_id, entry)}},
        ]
        for res in reservations:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _stock_key(res.sku, res.location),
                        "UpdateExpression": (
                            "SET available = available - :q, reserved = if_not_exists(reserved, :zero) + :q, "
                            "updated_at = :now"
                        ),
                        # The guard that makes overselling impossible, whatever runs concurrently.
                        "ConditionExpression": "available >= :q",
                        "ExpressionAttributeValues": _item({":q": res.quantity, ":zero": 0, ":now": now}),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StoreError(f"could not record order {order.order_id}: {exc}") from exc
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise OrderExistsError(order.order_id) from exc
            if "ConditionalCheckFailed" in reasons[2:]:
                raise StockConflictError(order.order_id) from exc
            # moto and older SDKs may omit reasons; tell the two apart by reading the order.
            if not reasons and self._order_exists(order.order_id):
                raise OrderExistsError(order.order_id) from exc
            if not reasons:
                raise StockConflictError(order.order_id) from exc
            raise StoreError(f"could not record order {order.order_id}: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not record order {order.order_id}: {exc}") from exc

    def _order_exists(self, order_id: str) -> bool:
        response = self._client.get_item(
            TableName=self._table, Key=_order_key(order_id), ProjectionExpression="pk", ConsistentRead=True
        )
        return "Item" in response

    @staticmethod
    def _order_attrs(order: Order, reservations: Sequence[Reservation], now: str) -> dict[str, Any]:
        return {
            "kind": "order",
            "order_id": order.order_id,
            "channel": order.channel,
            "status": order.status.value,
            "hold_reason": order.hold_reason.value if order.hold_reason else None,
            "currency": order.currency,
            "total_minor": order.total.minor,
            "customer_email": order.customer_email,
            "shipping_country": order.shipping_country,
            "lines": [{"sku": ln.sku, "quantity": ln.quantity, "unit_price": ln.unit_price} for ln in order.lines],
            "reservations": [{"sku": r.sku, "location": r.location, "quantity": r.quantity} for r in reservations],
            "shortages": dict(order.shortages) or None,
            "placed_at": order.placed_at.isoformat() if order.placed_at else None,
            "created_at": now,
            "updated_at": now,
        }

    def _timeline_item(self, order_id: str, entry: TimelineEntry) -> dict[str, Any]:
        return {
            "pk": {"S": f"ORDER#{order_id}"},
            "sk": {"S": f"EVENT#{entry.event_id}"},
            **_item(
                {
                    "kind": "timeline",
                    "event_id": entry.event_id,
                    "type": entry.type,
                    "occurred_at": entry.occurred_at.isoformat(),
                    "applied_at": entry.applied_at.isoformat(),
                    "summary": entry.summary,
                    "applied": entry.applied,
                }
            ),
        }

    def get_order(self, order_id: str) -> Order | None:
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"ORDER#{order_id}"}},
                ConsistentRead=True,
            )
            items = [_plain(i) for page in pages for i in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read order {order_id}: {exc}") from exc
        head = next((i for i in items if i["sk"] == "ORDER"), None)
        if head is None:
            return None
        timeline = sorted(
            (
                TimelineEntry(
                    event_id=i["event_id"],
                    type=i["type"],
                    occurred_at=datetime.fromisoformat(i["occurred_at"]),
                    applied_at=datetime.fromisoformat(i["applied_at"]),
                    summary=i.get("summary", ""),
                    applied=bool(i.get("applied", True)),
                )
                for i in items
                if i.get("kind") == "timeline"
            ),
            key=lambda e: (e.occurred_at, e.applied_at),
        )
        return Order(
            order_id=head["order_id"],
            channel=head["channel"],
            status=OrderStatus(head["status"]),
            total=Money(int(head["total_minor"]), head["currency"]),
            lines=tuple(
                OrderLine(ln["sku"], int(ln["quantity"]), int(ln["unit_price"])) for ln in head.get("lines", [])
            ),
            customer_email=head.get("customer_email"),
            shipping_country=head.get("shipping_country"),
            hold_reason=HoldReason(head["hold_reason"]) if head.get("hold_reason") else None,
            reservations=tuple(
                Reservation(r["sku"], r["location"], int(r["quantity"])) for r in head.get("reservations", [])
            ),
            shortages={k: int(v) for k, v in head.get("shortages", {}).items()},
            placed_at=datetime.fromisoformat(head["placed_at"]) if head.get("placed_at") else None,
            timeline=timeline,
        )
