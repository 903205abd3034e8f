"""What marketing keeps of a customer (named by their salted erasure key): the newest order
(`MKTCUST#<key>` / `LASTORDER`), pending schedules (`SCHEDULE#<name>`), and the opt-out
(`MKTOPTOUT#<key>` / `OPTOUT`, which survives an erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.adapters.keys import MKTCHECKOUT, MKTCUST, MKTOPTOUT
from hub.adapters.table import Table, from_micros, key, micros, typed
from hub.domain.marketing import LastOrder

__all__ = ["CustomerItems", "newest_order_update", "schedule_put"]

_DAY = 86400
_LAST_ORDER = "SET kind = :kind, order_id = :id, placed_at_us = :us, placed_at = :iso"


def _last_order_values(order: LastOrder) -> dict[str, Any]:
    return {
        ":id": order.order_id,
        ":us": micros(order.placed_at),
        ":iso": order.placed_at.isoformat(),
        ":kind": "marketing_last_order",
    }


def newest_order_update(table: str, customer: str, seen: LastOrder | None, newest: LastOrder) -> dict[str, Any]:
    """The Update of a transaction that makes `newest` the customer's newest order, on condition
    the newest is still `seen` (None: none yet)."""
    values = _last_order_values(newest)
    if seen is None:
        condition = "attribute_not_exists(pk)"
    else:
        condition = "order_id = :seen_id AND placed_at_us = :seen_us"
        values.update({":seen_id": seen.order_id, ":seen_us": micros(seen.placed_at)})
    return {
        "TableName": table,
        "Key": key(MKTCUST(customer), "LASTORDER"),
        "UpdateExpression": _LAST_ORDER,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": typed(values),
    }


def _schedule_item(customer: str, name: str, due_at: datetime) -> dict[str, Any]:
    """A pending schedule under its customer, kept until 30 days after it is due."""
    return {
        "pk": MKTCUST(customer),
        "sk": f"SCHEDULE#{name}",
        "kind": "marketing_schedule",
        "due_at": due_at.isoformat(),
        "expires_at": int(due_at.timestamp()) + 30 * _DAY,
    }


def schedule_put(table: str, customer: str, name: str, due_at: datetime) -> dict[str, Any]:
    """The Put of a pending schedule, for a transaction."""
    return {"TableName": table, "Item": typed(_schedule_item(customer, name, due_at))}


class CustomerItems:
    _table: Table

    def note_order(self, customer: str, order_id: str, placed_at: datetime) -> tuple[bool, str | None]:
        old = self._table.update(
            MKTCUST(customer),
            "LASTORDER",
            _LAST_ORDER,
            _last_order_values(LastOrder(order_id, placed_at)),
            what="note a customer's order",
            # A later order wins; at the same instant the larger id, so every writer agrees.
            condition="attribute_not_exists(pk) OR placed_at_us < :us OR (placed_at_us = :us AND order_id <= :id)",
            returns="ALL_OLD",
        )
        if old is None:
            return False, None
        previous = old.get("order_id")
        return True, previous if previous and previous != order_id else None

    def last_order(self, customer: str) -> LastOrder | None:
        item = self._table.get(MKTCUST(customer), "LASTORDER", what="read a marketing item")
        return LastOrder(item["order_id"], from_micros(item["placed_at_us"])) if item else None

    def opted_out(self, customer: str) -> bool:
        return self._table.get(MKTOPTOUT(customer), "OPTOUT", what="read a marketing item") is not None

    def opt_out(self, customer: str, at: datetime) -> None:
        self._table.update(
            MKTOPTOUT(customer),
            "OPTOUT",
            "SET kind = :kind, opted_out_at = if_not_exists(opted_out_at, :at)",
            {":kind": "marketing_opt_out", ":at": at.isoformat()},
            what="record an unsubscribe",
        )

    def remember_schedule(self, customer: str, name: str, due_at: datetime) -> None:
        self._table.put(_schedule_item(customer, name, due_at), what="remember a schedule")

    def forget_schedule(self, customer: str, name: str) -> None:
        self._table.delete(MKTCUST(customer), f"SCHEDULE#{name}", what="delete a marketing item")

    def customer_schedules(self, customer: str) -> list[str]:
        items = self._table.query(MKTCUST(customer), "SCHEDULE#", what="read marketing items")
        return [i["sk"].removeprefix("SCHEDULE#") for i in items]

    def forget_customer(self, customer: str) -> int:
        """Every item under the customer, and each of their checkouts."""
        items = self._table.query(MKTCUST(customer), what="read marketing items")
        keys = [(i["pk"], i["sk"]) for i in items]
        keys += [
            (MKTCHECKOUT(i["sk"].removeprefix("CHECKOUT#")), "CHECKOUT")
            for i in items
            if i["sk"].startswith("CHECKOUT#")
        ]
        self._table.batch_delete(keys, what="delete marketing items")
        return len(keys)
