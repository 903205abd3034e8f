"""stock_updates: the stock ledger's consumer, one SQS record at a time.

OrderPlaced records the order with its reservations; StockLevelReported sets a location's level from a
storefront; ProductUpdated learns a product's platform ids; StockLevelChanged checks low stock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.claimcheck import resolve
from hub.errors import OutOfTimeError
from hub.events import OrderPlaced, ProductUpdated, StockLevelChanged, StockLevelReported
from hub.observability import MetricUnit, logger, metrics
from hub.ports import PayloadStore
from hub.services.stock import LevelOutcome, StockService

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@dataclass(frozen=True)
class _Root:
    stock: StockService
    payloads: PayloadStore


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.dynamodb import DynamoLedger
    from hub.adapters.eventbridge import bus_publisher
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.s3 import S3PayloadStore
    from hub.adapters.stock_tables import DynamoCatalog, DynamoSyncLog
    from hub.config import load_config
    from hub.services.lineage import LineageRecorder
    from hub.settings import settings

    env = settings()
    dynamodb = boto3.client("dynamodb")
    stock = StockService(
        DynamoLedger(dynamodb, env.table),
        bus_publisher(env),
        load_config,
        catalog=DynamoCatalog(dynamodb, env.table),
        sync_log=DynamoSyncLog(dynamodb, env.table),
        lineage=LineageRecorder(DynamoLineageLog(dynamodb, env.table)),
    )
    return _Root(stock, S3PayloadStore(lambda: boto3.client("s3"), env.payload_bucket or ""))


# Left of the Lambda's time when retrying a contended order stops: room to publish what follows.
_MARGIN_SECONDS = 2.0


@dataclass
class _Batch:
    """The time left for the batch being processed, shared fairly among the records not yet done."""

    deadline: float | None = None
    left: int = 0

    def start(self, records: int, context: LambdaContext | None) -> None:
        remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else None
        self.deadline = time.monotonic() + remaining - _MARGIN_SECONDS if remaining is not None else None
        self.left = records

    def record_deadline(self) -> float | None:
        """When the record about to be processed stops retrying: its share of what is left."""
        if self.deadline is None:
            return None
        now = time.monotonic()
        share = max(0.0, self.deadline - now) / max(1, self.left)
        self.left -= 1
        return now + share

    def spent(self) -> bool:
        """The batch's time is up: a record not started now fails at once (SQS delivers it again)
        rather than run the function into its timeout, which would return the whole batch."""
        return self.deadline is not None and time.monotonic() >= self.deadline


_batch = _Batch()


def record_handler(record: HubSqsRecord) -> None:
    if _batch.spent():
        raise OutOfTimeError("no time left in this invocation; the record is retried by SQS")
    root = _root()
    event = resolve(record.body.detail, root.payloads)
    logger.append_keys(event_id=event.event_id, event_type=event.type)
    if isinstance(event, OrderPlaced):
        logger.append_keys(order_id=event.data.order_id)
        result = root.stock.place_order(event, deadline=_batch.record_deadline())
        metrics.add_metric(name="Order" + result.outcome.title().replace("_", ""), unit=MetricUnit.Count, value=1)
        logger.info("order %s", result.outcome, extra={"status": result.order.status.value})
    elif isinstance(event, StockLevelReported):
        level = root.stock.apply_report(event)
        metrics.add_metric(name=_LEVEL_METRICS[level.outcome], unit=MetricUnit.Count, value=1)
        # Platform ids only: a level names no person.
        logger.info(
            "storefront level %s",
            level.outcome,
            extra={
                "channel": event.channel,
                "sku": level.sku,
                "location": level.location,
                "platform_item_id": event.data.platform_item_id,
                "platform_location_id": event.data.platform_location_id,
            },
        )
    elif isinstance(event, ProductUpdated):
        learned = root.stock.learn_catalog(event)
        logger.info("product ids learned", extra={"channel": event.channel, "items": learned})
    elif isinstance(event, StockLevelChanged):
        crossing = root.stock.check_low_stock(event.data.sku)
        if crossing.value == "entered":
            metrics.add_metric(name="LowStock", unit=MetricUnit.Count, value=1)
            logger.info("low stock", extra={"sku": event.data.sku})
    else:
        logger.debug("not a stock event")


_LEVEL_METRICS = {
    LevelOutcome.APPLIED: "StockLevelApplied",
    LevelOutcome.UNCHANGED: "StockLevelUnchanged",
    LevelOutcome.STALE: "StockLevelStale",
    LevelOutcome.UNMAPPED_ITEM: "StockLevelUnmapped",
    LevelOutcome.UNMAPPED_LOCATION: "StockLevelUnmappedLocation",
}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    _batch.start(len(event.get("Records", [])), context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
