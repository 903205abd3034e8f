"""Personal data on the ledger's orders (`ORDER#<id>` partitions): erased in place, or exported.

Erasing walks every item of the order's partition (the order, its timeline entries, the payments
kept for it, whatever else is stored beside them), so personal data added to an order later is
reached without this module knowing its shape. The order item is rewritten conditionally on its
version, with the version moved on: a writer that read the order before the erasure fails its own
conditional save, reads again and so never writes the erased data back.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import ORDER
from hub.adapters.order_codec import stored_order
from hub.adapters.table import Table
from hub.domain.privacy import OrderErasure, address_values, personal_pattern, scrub
from hub.errors import PartsMissingError, StoreError

__all__ = ["DynamoOrderPrivacy"]

_UNTOUCHED = frozenset({"pk", "sk", "kind", "version", "event_id", "type"})
_ATTEMPTS = 8


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json(v) for v in value]
    return value


class DynamoOrderPrivacy:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def _partition(self, order_id: str) -> list[dict[str, Any]]:
        return self._table.query(ORDER(order_id), what=f"read order {order_id}")

    def erase_order(self, order_id: str, personal: Iterable[str]) -> OrderErasure:
        personal = list(personal)
        for _attempt in range(_ATTEMPTS):
            items = self._partition(order_id)
            if not items:
                return OrderErasure(order_id, found=False)
            head = next((i for i in items if i["sk"] == "ORDER"), None)
            values: list[str | None] = [*personal]
            if head:
                values += [
                    head.get("customer_email"),
                    *address_values(head.get("shipping_address")),
                    *address_values(head.get("billing_address")),
                ]
            pattern = personal_pattern(values)
            try:
                return self._erase(order_id, items, pattern)
            except _ChangedError:
                continue
        raise StoreError(f"order {order_id} kept changing while its personal data was erased")

    def _erase(self, order_id: str, items: list[dict[str, Any]], pattern: Any) -> OrderErasure:
        counts = {"order": False, "timeline": 0, "pending": 0, "other": 0}
        for item in items:
            kept = {k: v for k, v in item.items() if k in _UNTOUCHED}
            cleaned, changed = scrub({k: v for k, v in item.items() if k not in _UNTOUCHED}, pattern)
            if not changed:
                continue
            new = {**kept, **cleaned}
            what = f"erase personal data from order {order_id}"
            if item["sk"] == "ORDER":
                version = int(item.get("version", 0))
                new["version"] = version + 1
                written = self._table.put(new, what=what, condition="version = :version", values={":version": version})
                counts["order"] = True
            else:
                written = self._table.put(new, what=what, condition="attribute_exists(pk)")
                bucket = {"timeline": "timeline", "pending": "pending"}.get(str(item.get("kind")), "other")
                counts[bucket] += 1
            if not written:
                raise _ChangedError
        return OrderErasure(
            order_id,
            found=True,
            order=bool(counts["order"]),
            timeline_entries=int(counts["timeline"]),
            pending_payments=int(counts["pending"]),
            other_items=int(counts["other"]),
        )

    def export_order(self, order_id: str) -> dict[str, Any] | None:
        for _attempt in range(_ATTEMPTS):
            items = self._partition(order_id)
            try:
                # A large order's lines are kept in part items: the export has them in place.
                head = stored_order(items)
                break
            except PartsMissingError:
                continue
        else:
            raise StoreError(f"order {order_id} kept changing while it was exported")
        if head is None:
            return None
        order = {k: _json(v) for k, v in head.items() if k not in ("pk", "sk", "kind", "version", "reservations")}
        order["timeline"] = [
            {"type": i.get("type"), "occurred_at": i.get("occurred_at"), "summary": i.get("summary")}
            for i in sorted(items, key=lambda i: str(i.get("occurred_at", "")))
            if i.get("kind") == "timeline"
        ]
        return order

    def orders_of_channel(self, channel: str) -> list[str]:
        found: set[str] = set()
        try:
            pages = self._table.client.get_paginator("scan").paginate(
                TableName=self._table.name,
                FilterExpression="begins_with(pk, :prefix)",
                ExpressionAttributeValues={":prefix": {"S": ORDER(f"{channel}:")}},
                ProjectionExpression="pk",
                ConsistentRead=True,
            )
            for page in pages:
                found.update(item["pk"]["S"].removeprefix(ORDER) for item in page["Items"])
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not list the orders of channel {channel}: {exc}") from exc
        return sorted(found)


class _ChangedError(Exception):
    """An item changed between reading and erasing; read the order again."""
