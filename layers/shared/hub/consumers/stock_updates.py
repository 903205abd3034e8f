"""stock_updates' records: OrderPlaced records the order with its reservations; StockLevelReported sets a
location's level from a storefront; ProductUpdated learns a product's platform ids; StockLevelChanged
checks low stock. Retrying a contended order stops in time to publish what follows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.budget import BatchShare
from hub.consumer import Outcome, metric_name
from hub.errors import OutOfTimeError
from hub.events import HubEvent, OrderPlaced, ProductUpdated, StockLevelChanged, StockLevelReported
from hub.observability import logger

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

# The names dashboards use, older than the consumers' naming scheme (hub.consumer).
_LEVEL_METRICS = {
    "applied": "StockLevelApplied",
    "unchanged": "StockLevelUnchanged",
    "stale": "StockLevelStale",
    "unmapped_item": "StockLevelUnmapped",
    "unmapped_location": "StockLevelUnmappedLocation",
}


class StockUpdates:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        # Left of the Lambda's time when retrying a contended order stops: room to publish what follows.
        self._batch = BatchShare(margin=2.0)

    def start(self, event: dict, context: Any) -> None:
        """Before a batch: share the Lambda's time among its records."""
        self._batch.start(len(event.get("Records", [])), context)

    def in_time(self) -> None:
        """Before a record: fail it alone (SQS retries it) when the batch's time is spent."""
        if self._batch.spent():
            raise OutOfTimeError("no time left in this invocation; the record is retried by SQS")

    def handle(self, event: HubEvent, _record: object) -> Outcome | None:
        stock = self._sandbox.stock
        if isinstance(event, OrderPlaced):
            result = stock.place_order(event, deadline=self._batch.record_deadline())
            return Outcome(
                metric_name("Order", result.outcome), f"order {result.outcome}", {"status": result.order.status.value}
            )
        if isinstance(event, StockLevelReported):
            level = stock.apply_report(event)
            # Platform ids only: a level names no person.
            where = {"channel": event.channel, "sku": level.sku, "location": level.location}
            ids = {
                "platform_item_id": event.data.platform_item_id,
                "platform_location_id": event.data.platform_location_id,
            }
            return Outcome(_LEVEL_METRICS[level.outcome], f"storefront level {level.outcome}", where | ids)
        if isinstance(event, ProductUpdated):
            learned = stock.learn_catalog(event)
            return Outcome(None, "product ids learned", {"channel": event.channel, "items": learned})
        if isinstance(event, StockLevelChanged):
            if stock.check_low_stock(event.data.sku).value == "entered":
                return Outcome("LowStock", "low stock", {"sku": event.data.sku})
            return None
        logger.debug("not a stock event")
        return None

    @staticmethod
    def keys(event: HubEvent) -> dict[str, Any]:
        return {"order_id": event.data.order_id} if isinstance(event, OrderPlaced) else {}
