"""order_routing: routes paid orders, buys labels, writes shipments back, records deliveries.

One SQS record at a time; a record whose outbound call still fails after its retries fails alone
(ReportBatchItemFailures), comes back later and ends in the dead-letter queue if it keeps failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.claimcheck import resolve
from hub.observability import MetricUnit, logger, metrics
from hub.ports import PayloadStore
from hub.services.fulfilment import FulfilmentService

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@dataclass(frozen=True)
class _Root:
    fulfilment: FulfilmentService
    payloads: PayloadStore


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.carriers import carrier_for, shipment_request
    from hub.adapters.dynamodb import DynamoLedger
    from hub.adapters.eventbridge import bus_publisher
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.s3 import S3PayloadStore
    from hub.adapters.shipments import DynamoShipmentStore
    from hub.adapters.storefronts import StorefrontWriters
    from hub.config import load_config
    from hub.secrets import SecretsProvider
    from hub.services.lineage import LineageRecorder
    from hub.settings import settings

    env = settings()
    dynamodb = boto3.client("dynamodb")
    secrets = SecretsProvider()
    service = FulfilmentService(
        DynamoLedger(dynamodb, env.table),
        bus_publisher(env),
        load_config,
        DynamoShipmentStore(dynamodb, env.table),
        carrier=lambda config: carrier_for(config, secrets),
        storefronts=lambda config: StorefrontWriters(config, secrets),
        shipment_request=shipment_request,
        lineage=LineageRecorder(DynamoLineageLog(dynamodb, env.table)),
    )
    return _Root(service, S3PayloadStore(lambda: boto3.client("s3"), env.payload_bucket or ""))


def record_handler(record: HubSqsRecord) -> None:
    root = _root()
    event = resolve(record.body.detail, root.payloads)
    logger.append_keys(event_id=event.event_id, event_type=event.type, order_id=getattr(event.data, "order_id", None))
    result = root.fulfilment.handle(event)
    metrics.add_metric(name=f"Routing{event.type}", unit=MetricUnit.Count, value=1)
    logger.info("routing event handled", extra={"result": result})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
