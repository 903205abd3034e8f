"""resource_fetch: reads what a durable delivery named (a BigCommerce order, say) and publishes its event.

A record whose resource still cannot be read fails: it comes back later and later (backoff), then
lands in the dead-letter queue, from which it can be redriven. Nothing is dropped.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.bus import HubSqsRecord
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import ResourceFetchRequested
from hub.observability import MetricUnit, logger, metrics

sandbox = Sandbox()


def handle(event: ResourceFetchRequested, record: HubSqsRecord) -> Outcome:
    try:
        result = sandbox.resource_fetch.fetch(event)
    except Exception:
        attempt = int(record.attributes.ApproximateReceiveCount)
        sandbox.fetch_backoff.postpone(record.receiptHandle, attempt)
        metrics.add_metric(name="ResourceFetchFailed", unit=MetricUnit.Count, value=1)
        logger.exception("fetch failed; the record will be retried", extra={"attempt": attempt})
        raise
    extra = {"event_ids": result.event_ids, "reason": result.reason}
    return Outcome(metric_name("ResourceFetch", result.outcome), f"fetch {result.outcome}", extra)


consumer = SqsConsumer(
    handle,
    payloads=lambda: sandbox.payloads,
    accepts=(ResourceFetchRequested,),
    keys=lambda event: {"event_id": event.data.canonical_event_id, "resource": event.data.resource},
    before_batch=lambda _event, context: sandbox.register_context(context),
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
