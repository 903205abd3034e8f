"""Carrier bookings and tracking numbers, on the hub table beside the orders.

`SHIPMENT#<fulfilment id>` / `BOOKING` keeps the carrier shipment created for a fulfilment before
its label is bought, so a retry buys that shipment's label instead of creating another.
`TRACKING#<number>` / `TRACKING` maps a tracking number to its order and fulfilment, so a
carrier's tracking webhook (which knows only the number) finds the order.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.order_codec import plain, typed
from hub.errors import StoreError

__all__ = ["DynamoShipmentStore", "tracking_key"]


def tracking_key(number: str) -> str:
    return "".join(number.split()).upper()


class DynamoShipmentStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read {pk}: {exc}") from exc
        return plain(item) if item else None

    def booking(self, fulfilment_id: str) -> str | None:
        item = self._get(f"SHIPMENT#{fulfilment_id}", "BOOKING")
        return item["shipment_id"] if item else None

    def record_booking(self, fulfilment_id: str, order_id: str, provider: str, shipment_id: str) -> str:
        """Keep the shipment unless one is already kept for the fulfilment; returns the one kept."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=typed(
                    {
                        "pk": f"SHIPMENT#{fulfilment_id}",
                        "sk": "BOOKING",
                        "kind": "booking",
                        "order_id": order_id,
                        "provider": provider,
                        "shipment_id": shipment_id,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return self.booking(fulfilment_id) or shipment_id
            raise StoreError(f"could not keep the booking of {fulfilment_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not keep the booking of {fulfilment_id}: {exc}") from exc
        return shipment_id

    def rebook(self, fulfilment_id: str, previous: str, shipment_id: str) -> str:
        """Keep `shipment_id` (a re-rated shipment) instead of `previous`, unless the booking changed
        meanwhile; returns the one kept."""
        current = self._get(f"SHIPMENT#{fulfilment_id}", "BOOKING")
        if current is None or current.get("shipment_id") != previous:
            return current["shipment_id"] if current else shipment_id
        try:
            self._client.put_item(
                TableName=self._table,
                Item=typed({**current, "shipment_id": shipment_id, "replaces": previous}),
                ConditionExpression="shipment_id = :previous",
                ExpressionAttributeValues={":previous": {"S": previous}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return self.booking(fulfilment_id) or previous
            raise StoreError(f"could not keep the new booking of {fulfilment_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not keep the new booking of {fulfilment_id}: {exc}") from exc
        return shipment_id

    def index_tracking(self, tracking_number: str, order_id: str, fulfilment_id: str) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=typed(
                    {
                        "pk": f"TRACKING#{tracking_key(tracking_number)}",
                        "sk": "TRACKING",
                        "kind": "tracking",
                        "order_id": order_id,
                        "fulfilment_id": fulfilment_id,
                    }
                ),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not index tracking for {fulfilment_id}: {exc}") from exc

    def find_tracking(self, tracking_number: str) -> tuple[str, str] | None:
        item = self._get(f"TRACKING#{tracking_key(tracking_number)}", "TRACKING")
        return (item["order_id"], item["fulfilment_id"]) if item else None
