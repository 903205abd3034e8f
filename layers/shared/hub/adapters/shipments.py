"""Carrier bookings and tracking numbers, on the hub table beside the orders.

`SHIPMENT#<fulfilment id>` / `BOOKING` keeps the carrier shipment created for a fulfilment before
its label is bought, so a retry buys that shipment's label instead of creating another.
`TRACKING#<number>` / `TRACKING` maps a tracking number to its order and fulfilment, so a
carrier's tracking webhook (which knows only the number) finds the order.
"""

from __future__ import annotations

from typing import Any

from hub.adapters.keys import SHIPMENT, TRACKING
from hub.adapters.table import Table

__all__ = ["DynamoShipmentStore", "tracking_key"]


def tracking_key(number: str) -> str:
    return "".join(number.split()).upper()


class DynamoShipmentStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self._table.get(pk, sk, what=f"read {pk}")

    def booking(self, fulfilment_id: str) -> str | None:
        item = self._get(SHIPMENT(fulfilment_id), "BOOKING")
        return item["shipment_id"] if item else None

    def record_booking(self, fulfilment_id: str, order_id: str, provider: str, shipment_id: str) -> str:
        """Keep the shipment unless one is already kept for the fulfilment; returns the one kept."""
        kept = self._table.put(
            {
                "pk": SHIPMENT(fulfilment_id),
                "sk": "BOOKING",
                "kind": "booking",
                "order_id": order_id,
                "provider": provider,
                "shipment_id": shipment_id,
            },
            what=f"keep the booking of {fulfilment_id}",
            condition="attribute_not_exists(pk)",
        )
        return shipment_id if kept else self.booking(fulfilment_id) or shipment_id

    def rebook(self, fulfilment_id: str, previous: str, shipment_id: str) -> str:
        """Keep `shipment_id` (a re-rated shipment) instead of `previous`, unless the booking changed
        meanwhile; returns the one kept."""
        current = self._get(SHIPMENT(fulfilment_id), "BOOKING")
        if current is None or current.get("shipment_id") != previous:
            return current["shipment_id"] if current else shipment_id
        kept = self._table.put(
            {**current, "shipment_id": shipment_id, "replaces": previous},
            what=f"keep the new booking of {fulfilment_id}",
            condition="shipment_id = :previous",
            values={":previous": previous},
        )
        return shipment_id if kept else self.booking(fulfilment_id) or previous

    def index_tracking(self, tracking_number: str, order_id: str, fulfilment_id: str) -> None:
        self._table.put(
            {
                "pk": TRACKING(tracking_key(tracking_number)),
                "sk": "TRACKING",
                "kind": "tracking",
                "order_id": order_id,
                "fulfilment_id": fulfilment_id,
            },
            what=f"index tracking for {fulfilment_id}",
        )

    def find_tracking(self, tracking_number: str) -> tuple[str, str] | None:
        item = self._get(TRACKING(tracking_key(tracking_number)), "TRACKING")
        return (item["order_id"], item["fulfilment_id"]) if item else None
