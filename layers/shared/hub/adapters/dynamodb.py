"""The ledger on one DynamoDB table: orders, their timelines, pending payments and stock.

Keys: an order is `ORDER#<id>` / `ORDER`; each timeline entry `ORDER#<id>` / `EVENT#<event id>`
(so applying one event twice is stopped by a condition); a payment waiting for its order
`ORDER#<id>` / `PENDING#<event id>`; a stock level `SKU#<sku>` / `LOC#<location>`; a SKU's
low-stock crossing `SKU#<sku>` / `LOW`. Every change to an order is conditional on the version it
was read at.

A stock level holds `available` and `reserved`, `version` (incremented by every change to the row,
whoever makes it), and `set_by` / `set_at`: who last set `available` as an absolute value (a
channel, or "admin") and the time of that value in microseconds since the epoch. A level older than
`set_at` is refused by a condition.

Multi-channel stock keeps, beside the ledger (hub.adapters.stock_tables): a SKU's learned platform
ids `CHANNEL#<channel>` / `SKU#<sku>`, the reverse `CHANNEL#<channel>` / `ITEM#<platform id>`, a
channel's default platform location `CHANNEL#<channel>` / `LOCATION#<location>`, and what was pushed
to a channel `SYNC#<channel>` / `SKU#<sku>#LOC#<location>`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.order_codec import order_from_items, order_item, plain, timeline_item, typed
from hub.domain.orders import Order, Reservation, TimelineEntry
from hub.domain.stock import LowStockState, StockLevel
from hub.ports import (
    AlreadyAppliedError,
    LevelWritten,
    OrderConflictError,
    OrderExistsError,
    StaleLevelError,
    StockConflictError,
    StoreError,
)

__all__ = ["DynamoLedger"]

PENDING_DAYS = 30


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def _stock_key(sku: str, location: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": f"LOC#{location}"}}


def _low_key(sku: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "LOW"}}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """A time as whole microseconds since the epoch: exact, and compared as a number by conditions."""
    return ((at if at.tzinfo else at.replace(tzinfo=UTC)) - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: Any) -> datetime | None:
    return _EPOCH + timedelta(microseconds=int(value)) if value is not None else None


def _level(sku: str, item: Mapping[str, Any]) -> StockLevel:
    return StockLevel(
        sku,
        item["location"],
        int(item.get("available", 0)),
        int(item.get("reserved", 0)),
        int(item.get("version", 0)),
        item.get("set_by"),
        from_micros(item.get("set_at")),
    )


def _reasons(exc: ClientError) -> list[str]:
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]


def _is_cancelled(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "TransactionCanceledException"


class DynamoLedger:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _query(self, pk: str, prefix: str | None = None) -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": {"S": pk}, **({":prefix": {"S": prefix}} if prefix else {})}
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
            )
            return [plain(i) for page in pages for i in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read {pk}: {exc}") from exc

    # ------------------------------------------------------------------ stock
    def levels_for(self, sku: str) -> dict[str, StockLevel]:
        return {i["location"]: _level(sku, i) for i in self._query(f"SKU#{sku}", "LOC#")}

    def stock_levels(self, skus: Iterable[str]) -> dict[str, dict[str, StockLevel]]:
        return {sku: self.levels_for(sku) for sku in dict.fromkeys(skus)}

    def set_available(self, sku: str, location: str, available: int) -> int | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_stock_key(sku, location),
                UpdateExpression=(
                    "SET available = :n, reserved = if_not_exists(reserved, :zero), "
                    "sku = :sku, #loc = :loc, updated_at = :now ADD version :one"
                ),
                ExpressionAttributeNames={"#loc": "location"},
                ExpressionAttributeValues=typed(
                    {":n": available, ":zero": 0, ":sku": sku, ":loc": location, ":now": _now(), ":one": 1}
                ),
                ReturnValues="UPDATED_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
        old = response.get("Attributes", {}).get("available")
        return int(old["N"]) if old else None

    def set_level(
        self, sku: str, location: str, available: int, *, by: str, at: datetime, newer_only: bool = True
    ) -> LevelWritten:
        values = {
            ":n": available,
            ":zero": 0,
            ":sku": sku,
            ":loc": location,
            ":now": _now(),
            ":one": 1,
            ":by": by,
            ":at": micros(at),
        }
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_stock_key(sku, location),
                UpdateExpression=(
                    "SET available = :n, reserved = if_not_exists(reserved, :zero), sku = :sku, #loc = :loc, "
                    "set_by = :by, set_at = :at, updated_at = :now ADD version :one"
                ),
                # Never an older value over a newer one: the time of the value the location holds.
                **({"ConditionExpression": "attribute_not_exists(set_at) OR set_at <= :at"} if newer_only else {}),
                ExpressionAttributeNames={"#loc": "location"},
                ExpressionAttributeValues=typed(values),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise StaleLevelError(f"{sku} at {location} holds a level newer than {at.isoformat()}") from exc
            raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
        old = plain(response.get("Attributes", {}))
        previous = _level(sku, old) if "available" in old else None
        return LevelWritten(previous, (previous.version if previous else 0) + 1)

    # ------------------------------------------------------------------ low stock
    def low_stock(self, sku: str) -> LowStockState:
        try:
            item = self._client.get_item(TableName=self._table, Key=_low_key(sku), ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the low-stock state of {sku}: {exc}") from exc
        if not item:
            return LowStockState()
        state = plain(item)
        return LowStockState(bool(state.get("low")), int(state.get("crossings", 0)), bool(state.get("announced")))

    def _low_update(self, sku: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_low_key(sku),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=typed(values),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"could not record the low-stock state of {sku}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not record the low-stock state of {sku}: {exc}") from exc
        return True

    def enter_low_stock(self, sku: str, crossing: int) -> bool:
        # Crossing n follows n - 1 only: two consumers seeing the same fall record it once.
        return self._low_update(
            sku,
            "SET low = :true, crossings = :n, announced = :false, updated_at = :now",
            "(attribute_not_exists(crossings) AND :n = :one) OR (low = :false AND crossings = :previous)",
            {":true": True, ":false": False, ":n": crossing, ":previous": crossing - 1, ":one": 1, ":now": _now()},
        )

    def low_stock_announced(self, sku: str, crossing: int) -> None:
        self._low_update(sku, "SET announced = :true", "crossings = :n", {":true": True, ":n": crossing})

    def leave_low_stock(self, sku: str) -> bool:
        return self._low_update(
            sku, "SET low = :false, updated_at = :now", "low = :true", {":true": True, ":false": False, ":now": _now()}
        )

    # ------------------------------------------------------------------ orders
    def place_order(
        self,
        order: Order,
        reservations: Sequence[Reservation],
        entry: TimelineEntry,
        counted: Mapping[tuple[str, str], tuple[str, datetime]] | None = None,
    ) -> None:
        now = _now()
        counted = counted or {}
        order.reservations = tuple(reservations)
        order.version = 1
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": order_item(order, now),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": timeline_item(order.order_id, entry)}},
        ]
        for res in reservations:
            report = counted.get((res.sku, res.location))
            if report is not None:
                # The storefront's own report already left these units out of `available`: hold them
                # only, as long as that report is still the level the location holds.
                update = {
                    "UpdateExpression": (
                        "SET reserved = if_not_exists(reserved, :zero) + :q, updated_at = :now ADD version :one"
                    ),
                    "ConditionExpression": "set_by = :by AND set_at = :at",
                    "ExpressionAttributeValues": typed(
                        {
                            ":q": res.quantity,
                            ":zero": 0,
                            ":now": now,
                            ":one": 1,
                            ":by": report[0],
                            ":at": micros(report[1]),
                        }
                    ),
                }
            else:
                update = {
                    "UpdateExpression": (
                        "SET available = available - :q, reserved = if_not_exists(reserved, :zero) + :q, "
                        "updated_at = :now ADD version :one"
                    ),
                    # The guard that makes overselling impossible, whatever runs concurrently.
                    "ConditionExpression": "available >= :q",
                    "ExpressionAttributeValues": typed({":q": res.quantity, ":zero": 0, ":now": now, ":one": 1}),
                }
            items.append({"Update": {"TableName": self._table, "Key": _stock_key(res.sku, res.location), **update}})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not _is_cancelled(exc):
                raise StoreError(f"could not record order {order.order_id}: {exc}") from exc
            reasons = _reasons(exc)
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

    def save_order(self, order: Order, entry: TimelineEntry, stock: Sequence[tuple[str, str, int, int]] = ()) -> None:
        """Store the order as changed by one event, with that event's timeline entry, atomically.

        Conditional on the version the order was read at (OrderConflictError: read again and
        retry) and on the event not being applied yet (AlreadyAppliedError). `stock` holds
        (sku, location, available delta, reserved delta) changes made in the same transaction.
        """
        expected = order.version
        order.version = expected + 1
        now = _now()
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": order_item(order, now),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": typed({":expected": expected}),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": timeline_item(order.order_id, entry),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
        ]
        for sku, location, available, reserved in stock:
            # Conditions cannot do arithmetic: a decrease by n needs at least n there now.
            guards = {"reserved": -reserved, "available": -available}
            condition = " AND ".join(f"{name} >= :{name}_need" for name, need in guards.items() if need > 0)
            values = {":a": available, ":r": reserved, ":now": now, ":one": 1}
            values.update({f":{name}_need": need for name, need in guards.items() if need > 0})
            update: dict[str, Any] = {
                "TableName": self._table,
                "Key": _stock_key(sku, location),
                # `version` counts every change to the row (channel_sync pushes levels in version order).
                "UpdateExpression": (
                    "SET available = available + :a, reserved = reserved + :r, updated_at = :now ADD version :one"
                ),
                "ExpressionAttributeValues": typed(values),
            }
            if condition:
                update["ConditionExpression"] = condition
            items.append({"Update": update})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            order.version = expected
            if not _is_cancelled(exc):
                raise StoreError(f"could not save order {order.order_id}: {exc}") from exc
            reasons = _reasons(exc)
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AlreadyAppliedError(entry.event_id) from exc
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise OrderConflictError(order.order_id) from exc
            if not reasons:
                # Without reasons (some emulators), find out which guard stopped the write.
                if self._applied(order.order_id, entry.event_id):
                    raise AlreadyAppliedError(entry.event_id) from exc
                raise OrderConflictError(order.order_id) from exc
            raise StoreError(f"could not save order {order.order_id}: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            order.version = expected
            raise StoreError(f"could not save order {order.order_id}: {exc}") from exc

    def _applied(self, order_id: str, event_id: str) -> bool:
        key = {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"EVENT#{event_id}"}}
        return "Item" in self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)

    def _order_exists(self, order_id: str) -> bool:
        response = self._client.get_item(
            TableName=self._table, Key=_order_key(order_id), ProjectionExpression="pk", ConsistentRead=True
        )
        return "Item" in response

    def get_order(self, order_id: str) -> Order | None:
        return order_from_items([i for i in self._query(f"ORDER#{order_id}") if not i["sk"].startswith("PENDING#")])

    # ------------------------------------------------------------------ payments waiting for their order
    def put_pending(self, order_id: str, event_id: str, event_json: str) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=typed(
                    {
                        "pk": f"ORDER#{order_id}",
                        "sk": f"PENDING#{event_id}",
                        "kind": "pending",
                        "event": event_json,
                        "expires_at": int(time.time()) + PENDING_DAYS * 86400,
                    }
                ),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not keep a payment for {order_id}: {exc}") from exc

    def pending_for(self, order_id: str) -> list[str]:
        return [i["event"] for i in self._query(f"ORDER#{order_id}", "PENDING#")]
