"""resource_fetch: reads what a durable delivery named (a BigCommerce order, say) and publishes its event.

A record whose resource still cannot be read fails: it comes back later and later (backoff), then
lands in the dead-letter queue, from which it can be redriven. Nothing is dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.events import ResourceFetchRequested
from hub.observability import MetricUnit, logger, metrics
from hub.services.resource_fetch import ResourceFetchService

if TYPE_CHECKING:
    from hub.adapters.backoff import SqsBackoff

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@dataclass(frozen=True)
class _Root:
    service: ResourceFetchService
    backoff: SqsBackoff
    register_context: object


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from hub.adapters.backoff import SqsBackoff
    from hub.adapters.bigcommerce import HttpBigCommerceApi
    from hub.adapters.eventbridge import bus_publisher
    from hub.adapters.idempotency import IdempotentDeliveryLog
    from hub.config import load_config
    from hub.intake.bigcommerce import BigCommerceSource
    from hub.secrets import SecretsProvider
    from hub.settings import settings

    env = settings()
    log = IdempotentDeliveryLog(DynamoDBPersistenceLayer(table_name=env.idempotency_table), bus_publisher(env))
    # Off the sender's clock here: longer timeouts than intake's, and no overall budget.
    bigcommerce = BigCommerceSource(
        HttpBigCommerceApi(SecretsProvider(), timeout=10.0, connect_timeout=3.0), fetch_budget_seconds=None
    )
    service = ResourceFetchService({"bigcommerce": bigcommerce}, log, load_config)
    backoff = SqsBackoff(boto3.client("sqs"), os.environ["HUB_RESOURCE_FETCH_QUEUE_URL"])
    return _Root(service, backoff, log.config.register_lambda_context)


def record_handler(record: HubSqsRecord) -> None:
    event = record.body.detail
    if not isinstance(event, ResourceFetchRequested):
        logger.debug("not a fetch request")
        return
    logger.append_keys(event_id=event.data.canonical_event_id, resource=event.data.resource)
    root = _root()
    try:
        result = root.service.fetch(event)
    except Exception:
        attempt = int(record.attributes.ApproximateReceiveCount)
        root.backoff.postpone(record.receiptHandle, attempt)
        metrics.add_metric(name="ResourceFetchFailed", unit=MetricUnit.Count, value=1)
        logger.exception("fetch failed; the record will be retried", extra={"attempt": attempt})
        raise
    metrics.add_metric(name=f"ResourceFetch{result.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("fetch %s", result.outcome, extra={"event_ids": result.event_ids, "reason": result.reason})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    _root().register_context(context)  # type: ignore[operator]
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
