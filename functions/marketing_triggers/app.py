"""marketing_triggers: hub events schedule, cancel or send marketing messages; schedules that come
due send them. One SQS record at a time: a hub event from the bus, or a message a schedule delivered
(hub.consumers.marketing_triggers)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumers.marketing_triggers import marketing_consumer
from hub.observability import logger, metrics

sandbox = Sandbox()
consumer = marketing_consumer(sandbox)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
