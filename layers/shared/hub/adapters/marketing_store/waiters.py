"""Back in stock: a customer whose order ran short of a SKU (`MKTSTOCK#<sku>` / `WAIT#<order id>`)."""

from __future__ import annotations

from hub.adapters.keys import MKTSTOCK
from hub.adapters.table import Table, expires_at
from hub.domain.marketing import Waiter

__all__ = ["WAIT_DAYS", "Waiters"]

WAIT_DAYS = 120


class Waiters:
    _table: Table

    def add_waiter(self, waiter: Waiter) -> None:
        self._table.put(
            {
                "pk": MKTSTOCK(waiter.sku),
                "sk": f"WAIT#{waiter.order_id}",
                "kind": "marketing_waiter",
                "order_id": waiter.order_id,
                "channel": waiter.channel,
                "customer": waiter.customer,
                "expires_at": expires_at(WAIT_DAYS),
            },
            what="keep a back-in-stock request",
        )

    def waiters(self, sku: str) -> list[Waiter]:
        return [
            Waiter(sku, i["order_id"], i.get("channel", ""), i.get("customer"))
            for i in self._table.query(MKTSTOCK(sku), "WAIT#", what="read marketing items")
        ]

    def remove_waiter(self, sku: str, order_id: str) -> None:
        self._table.delete(MKTSTOCK(sku), f"WAIT#{order_id}", what="delete a marketing item")
