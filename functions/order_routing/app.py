"""order_routing: routes paid orders, buys labels, writes shipments back, records deliveries.

One SQS record at a time; a record whose outbound call still fails after its retries fails alone
(ReportBatchItemFailures), comes back later and ends in the dead-letter queue if it keeps failing.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import HubEvent
from hub.observability import logger, metrics

sandbox = Sandbox()


def handle(event: HubEvent, _record: object) -> Outcome:
    result = sandbox.fulfilment.handle(event)
    return Outcome(metric_name("Routing", event.type), "routing event handled", {"result": result})


consumer = SqsConsumer(
    handle,
    payloads=lambda: sandbox.payloads,
    keys=lambda event: {"order_id": getattr(event.data, "order_id", None)},
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
