"""payment_confirmation: every money fact (gateway payments, refunds, disputes, storefront payment
and cancellation reports) applied to its order; one SQS record at a time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.claimcheck import resolve
from hub.observability import MetricUnit, logger, metrics
from hub.ports import PayloadStore
from hub.services.payments import PaymentService

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@dataclass(frozen=True)
class _Root:
    payments: PaymentService
    payloads: PayloadStore


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.dynamodb import DynamoLedger
    from hub.adapters.eventbridge import bus_publisher
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.s3 import S3PayloadStore
    from hub.config import load_config
    from hub.services.lineage import LineageRecorder
    from hub.settings import settings

    env = settings()
    dynamodb = boto3.client("dynamodb")
    return _Root(
        PaymentService(
            DynamoLedger(dynamodb, env.table),
            bus_publisher(env),
            load_config,
            lineage=LineageRecorder(DynamoLineageLog(dynamodb, env.table)),
        ),
        S3PayloadStore(lambda: boto3.client("s3"), env.payload_bucket or ""),
    )


def record_handler(record: HubSqsRecord) -> None:
    root = _root()
    event = resolve(record.body.detail, root.payloads)
    logger.append_keys(event_id=event.event_id, event_type=event.type)
    outcome = root.payments.handle(event)
    metrics.add_metric(
        name=f"Payment{outcome.replace('_', ' ').title().replace(' ', '')}", unit=MetricUnit.Count, value=1
    )
    logger.info("payment fact %s", outcome)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
