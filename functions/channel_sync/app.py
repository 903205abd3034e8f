"""channel_sync: every change to a location's available units, pushed to the other channels that sell it.

One StockLevelChanged per SQS record. A push that still fails after the outbound client's retries
fails its record: SQS retries it and, after the queue's maxReceiveCount, moves it to the DLQ.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.errors import SyncFailedError
from hub.events import StockLevelChanged
from hub.observability import MetricUnit, logger, metrics
from hub.services.channel_sync import ChannelSync, PushResult

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@cache
def _root() -> ChannelSync:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.dynamodb import DynamoLedger
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.stock_tables import DynamoCatalog, DynamoSyncLog
    from hub.adapters.storefront_stock import StorefrontStock
    from hub.config import load_config
    from hub.secrets import SecretsProvider
    from hub.services.lineage import LineageRecorder
    from hub.settings import settings

    env = settings()
    dynamodb = boto3.client("dynamodb")
    return ChannelSync(
        DynamoLedger(dynamodb, env.table),
        DynamoCatalog(dynamodb, env.table),
        DynamoSyncLog(dynamodb, env.table),
        StorefrontStock(SecretsProvider()),
        load_config,
        lineage=LineageRecorder(DynamoLineageLog(dynamodb, env.table)),
    )


def record_handler(record: HubSqsRecord) -> None:
    event = record.body.detail
    if not isinstance(event, StockLevelChanged):
        logger.debug("not a stock level change")
        return
    logger.append_keys(event_id=event.event_id, sku=event.data.sku, location=event.data.location)
    try:
        results = _root().sync(event)
    except SyncFailedError as failed:
        _report(failed.results)
        logger.exception("a stock push failed; the record will be retried")
        raise
    _report(results)


def _report(results: list[PushResult]) -> None:
    for result in results:
        name = "StockPush" + "".join(part.capitalize() for part in result.outcome.split("_"))
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        # Channel, quantity and why: no credentials, no personal data.
        logger.info(
            "stock push %s",
            result.outcome,
            extra={"channel": result.channel, "quantity": result.quantity, "reason": result.reason},
        )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
