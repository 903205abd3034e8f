"""A fake of Shopify's orders, fulfillment orders and fulfilments (GraphQL Admin 2026-10), for the
fulfilment write-back. FakeStorefronts (tests/stock_fakes.py) hands it every GraphQL document that is
not an inventory mutation, so one fake Shopify serves stock and fulfilment, in process or over HTTP.

It refuses what Shopify documents as refused (shopify.dev/docs/api/admin-graphql/2026-10):
- `fulfillmentCreate` "Creates a fulfillment for one or more FulfillmentOrder objects. The fulfillment
  orders are associated with the same Order and are assigned to the same Location": a call naming
  fulfillment orders of two locations, or of two orders, is refused;
- a fulfillment order that is not OPEN or IN_PROGRESS (SCHEDULED until `fulfillmentOrderOpen` "Marks a
  scheduled fulfillment order as open"; ON_HOLD, CLOSED) cannot be fulfilled;
- more of a line than its `remainingQuantity`;
- `fulfillmentOrderOpen` of a fulfillment order that is not scheduled.
Shopify's exact userError messages for these are not documented; the fake's name the rule broken.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FoLine:
    id: str  # gid://shopify/FulfillmentOrderLineItem/N
    line_item: str  # gid://shopify/LineItem/N
    sku: str
    remaining: int


@dataclass
class FulfillmentOrder:
    id: str
    order: str
    location: str  # gid://shopify/Location/N
    status: str
    lines: list[FoLine]


@dataclass
class Made:
    id: str
    order: str
    location: str
    tracking: list[str]
    lines: list[tuple[str, str, int]]  # (line item gid, sku, quantity)
    status: str = "SUCCESS"


@dataclass
class FakeShopifyOrders:
    fulfillment_orders: dict[str, FulfillmentOrder] = field(default_factory=dict)
    fulfillments: list[Made] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (operation, variables)
    fail_create_at: set[int] = field(default_factory=set)  # nth fulfillmentCreate (1-based) answers an error
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, order: str, fo_id: str, location: str, lines: list[tuple[str, str, str, int]], status: str = "OPEN"):
        """Add a fulfillment order: lines are (fulfillment order line id, line item id, sku, quantity)."""
        self.fulfillment_orders[fo_id] = FulfillmentOrder(
            f"gid://shopify/FulfillmentOrder/{fo_id}",
            f"gid://shopify/Order/{order}",
            f"gid://shopify/Location/{location}",
            status,
            [
                FoLine(f"gid://shopify/FulfillmentOrderLineItem/{a}", f"gid://shopify/LineItem/{b}", sku, n)
                for a, b, sku, n in lines
            ],
        )

    def _fo(self, gid: str) -> FulfillmentOrder | None:
        return next((fo for fo in self.fulfillment_orders.values() if fo.id == gid), None)

    def creates(self) -> list[dict[str, Any]]:
        return [v["fulfillment"] for op, v in self.calls if op == "fulfillmentCreate"]

    # ---------------------------------------------------------------------------------- GraphQL
    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if "fulfillmentOrderOpen(" in query:
                self.calls.append(("fulfillmentOrderOpen", variables))
                return self._open(variables["id"])
            if "fulfillmentCreate(" in query:
                self.calls.append(("fulfillmentCreate", variables))
                if len(self.creates()) in self.fail_create_at:
                    return {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
                return self._create(variables["fulfillment"])
            if "order(id: $id)" in query:
                self.calls.append(("order", variables))
                return self._order(variables["id"])
        return {"errors": [{"message": "unknown operation", "extensions": {"code": "NOT_FOUND"}}]}

    def _order(self, order: str) -> dict[str, Any]:
        fos = [fo for fo in self.fulfillment_orders.values() if fo.order == order]
        if not fos:
            return {"data": {"order": None}}
        made = [f for f in self.fulfillments if f.order == order]
        return {
            "data": {
                "order": {
                    "fulfillments": [
                        {
                            "id": f.id,
                            "status": f.status,
                            "trackingInfo": [{"number": n} for n in f.tracking],
                            "fulfillmentLineItems": {
                                "nodes": [{"quantity": q, "lineItem": {"id": li, "sku": sku}} for li, sku, q in f.lines]
                            },
                        }
                        for f in made
                    ],
                    "fulfillmentOrders": {
                        "nodes": [
                            {
                                "id": fo.id,
                                "status": fo.status,
                                "assignedLocation": {"location": {"id": fo.location}},
                                "lineItems": {
                                    "nodes": [
                                        {
                                            "id": line.id,
                                            "remainingQuantity": line.remaining,
                                            "lineItem": {"id": line.line_item, "sku": line.sku},
                                        }
                                        for line in fo.lines
                                    ]
                                },
                            }
                            for fo in fos
                        ]
                    },
                }
            }
        }

    @staticmethod
    def _refuse(mutation: str, field_path: list[str], message: str) -> dict[str, Any]:
        return {"data": {mutation: {"fulfillment" if mutation == "fulfillmentCreate" else "fulfillmentOrder": None,
                                    "userErrors": [{"field": field_path, "message": message}]}}}  # fmt: skip

    def _open(self, gid: str) -> dict[str, Any]:
        fo = self._fo(gid)
        if fo is None or fo.status != "SCHEDULED":
            return self._refuse("fulfillmentOrderOpen", ["id"], "Fulfillment order is not scheduled.")
        fo.status = "OPEN"
        return {
            "data": {"fulfillmentOrderOpen": {"fulfillmentOrder": {"id": fo.id, "status": "OPEN"}, "userErrors": []}}
        }

    def _create(self, fulfillment: dict[str, Any]) -> dict[str, Any]:
        where = ["fulfillment", "lineItemsByFulfillmentOrder"]
        wanted = fulfillment.get("lineItemsByFulfillmentOrder") or []
        orders = [self._fo(item.get("fulfillmentOrderId", "")) for item in wanted]
        if not orders or any(fo is None for fo in orders):
            return self._refuse("fulfillmentCreate", where, "Fulfillment order does not exist.")
        found = [fo for fo in orders if fo is not None]
        if len({fo.order for fo in found}) > 1:
            return self._refuse("fulfillmentCreate", where, "Fulfillment orders must belong to the same order.")
        if len({fo.location for fo in found}) > 1:
            return self._refuse("fulfillmentCreate", where, "Fulfillment orders must be assigned to the same location.")
        for fo in found:
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                return self._refuse(
                    "fulfillmentCreate", where, f"Fulfillment order is {fo.status} and cannot be fulfilled."
                )
        taken: list[tuple[FoLine, int]] = []
        for item, fo in zip(wanted, found, strict=True):
            named = item.get("fulfillmentOrderLineItems")
            if named is None:
                taken += [(line, line.remaining) for line in fo.lines if line.remaining]
                continue
            for entry in named:
                line = next((ln for ln in fo.lines if ln.id == entry["id"]), None)
                if line is None or entry["quantity"] > line.remaining or entry["quantity"] <= 0:
                    return self._refuse("fulfillmentCreate", [*where, "fulfillmentOrderLineItems"], "Invalid quantity.")
                taken.append((line, entry["quantity"]))
        for line, quantity in taken:
            line.remaining -= quantity
        for fo in found:
            fo.status = "CLOSED" if all(ln.remaining == 0 for ln in fo.lines) else "IN_PROGRESS"
        tracking = fulfillment.get("trackingInfo") or {}
        made = Made(
            f"gid://shopify/Fulfillment/{900 + len(self.fulfillments)}",
            found[0].order,
            found[0].location,
            [tracking["number"]] if tracking.get("number") else [],
            [(line.line_item, line.sku, quantity) for line, quantity in taken],
        )
        self.fulfillments.append(made)
        return {"data": {"fulfillmentCreate": {"fulfillment": {"id": made.id, "status": "SUCCESS"}, "userErrors": []}}}
