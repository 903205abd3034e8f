"""Bought together: an order counted once (`MKTORDER#<order id>` / `COPURCHASE`), how many orders had
both of two SKUs (`MKTPAIR#<sku>` / `WITH#<other sku>`), and each SKU's title (`MKTSKU#<sku>` / `TITLE`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.adapters.keys import MKTORDER, MKTPAIR, MKTSKU
from hub.adapters.table import TRANSACT_ITEMS, Table, key, typed
from hub.errors import StoreError

__all__ = ["CoPurchases", "copurchase_writes"]


def copurchase_writes(
    table: str, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str], room: int
) -> list[dict[str, Any]]:
    """The guard (written once per order), each pair's count and as many titles as `room` holds."""
    guard = {
        "Put": {
            "TableName": table,
            "Item": typed({"pk": MKTORDER(order_id), "sk": "COPURCHASE", "kind": "marketing_copurchase"}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    updates = [
        {
            "Update": {
                "TableName": table,
                "Key": key(MKTPAIR(a), f"WITH#{b}"),
                "UpdateExpression": "SET kind = :kind ADD orders :one",
                "ExpressionAttributeValues": typed({":kind": "marketing_pair", ":one": 1}),
            }
        }
        for a, b in pairs
    ]
    left = room - 1 - len(updates)
    updates += [
        {
            "Update": {
                "TableName": table,
                "Key": key(MKTSKU(sku), "TITLE"),
                "UpdateExpression": "SET kind = :kind, title = :title",
                "ExpressionAttributeValues": typed({":kind": "marketing_title", ":title": title}),
            }
        }
        for sku, title in sorted(titles.items())[: max(left, 0)]
    ]
    return [guard, *updates]


class CoPurchases:
    _table: Table

    def count_order(self, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str]) -> bool:
        if not pairs and not titles:
            return False
        writes = copurchase_writes(self._table.name, order_id, pairs, titles, room=TRANSACT_ITEMS)
        what = "count the co-purchases of an order"
        reasons = self._table.transact(writes, what=what)
        if reasons is None:
            return True
        if self._table.get(MKTORDER(order_id), "COPURCHASE", what="read a marketing item"):
            return False  # counted already
        raise StoreError(f"could not {what}: the transaction was cancelled ({', '.join(reasons)})")

    def bought_with(self, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        return {
            sku: {
                i["sk"].removeprefix("WITH#"): int(i.get("orders", 0))
                for i in self._table.query(MKTPAIR(sku), "WITH#", what="read marketing items")
            }
            for sku in dict.fromkeys(skus)
        }

    def titles(self, skus: Sequence[str]) -> dict[str, str]:
        found = self._table.batch_get(
            [(MKTSKU(sku), "TITLE") for sku in dict.fromkeys(skus)], what="read marketing items"
        )
        return {pk.removeprefix(MKTSKU): item["title"] for (pk, _sk), item in found.items()}
