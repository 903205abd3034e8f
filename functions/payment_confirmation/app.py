"""payment_confirmation: every money fact (gateway payments, refunds, disputes, storefront payment
and cancellation reports) applied to its order; one SQS record at a time."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import HubEvent
from hub.observability import logger, metrics

sandbox = Sandbox()


def handle(event: HubEvent, _record: object) -> Outcome:
    outcome = sandbox.payments.handle(event)
    return Outcome(metric_name("Payment", outcome), f"payment fact {outcome}")


consumer = SqsConsumer(handle, payloads=lambda: sandbox.payloads)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
