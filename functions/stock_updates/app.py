"""stock_updates: records placed orders with their reservations; one SQS record at a time."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubSqsRecord
from hub.events import OrderPlaced
from hub.observability import MetricUnit, logger, metrics
from hub.services.stock import StockService

processor = BatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@cache
def _service() -> StockService:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.dynamodb import DynamoLedger
    from hub.adapters.eventbridge import EventBridgePublisher
    from hub.config import load_config
    from hub.settings import settings

    env = settings()
    return StockService(
        DynamoLedger(boto3.client("dynamodb"), env.table),
        EventBridgePublisher(boto3.client("events"), env.event_bus),
        load_config,
    )


def record_handler(record: HubSqsRecord) -> None:
    event = record.body.detail
    logger.append_keys(event_id=event.event_id, event_type=event.type)
    if isinstance(event, OrderPlaced):
        logger.append_keys(order_id=event.data.order_id)
        result = _service().place_order(event)
        metrics.add_metric(name=f"Order{result.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
        logger.info("order %s", result.outcome, extra={"status": result.order.status.value})
    else:
        logger.debug("not a stock event")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
