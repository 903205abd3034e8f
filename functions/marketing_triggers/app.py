"""marketing_triggers: hub events schedule, cancel or send marketing messages; schedules that come
due send them. One SQS record at a time: a hub event from the bus, or a message a schedule delivered."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.bus import HubBusEvent
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import HubEvent
from hub.marketing.scheduled import DueBody
from hub.observability import logger, metrics
from pydantic import ConfigDict, Json


class MarketingRecord(SqsRecordModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    body: Json[HubBusEvent | DueBody]  # type: ignore[assignment]


sandbox = Sandbox()


def handle(message: HubEvent | DueBody, _record: object) -> Outcome:
    if isinstance(message, DueBody):
        handled = sandbox.marketing.fire_scheduled(message.due())
    else:
        handled = sandbox.marketing.handle(message)
    return Outcome(metric_name("Marketing", handled.outcome), f"marketing {handled.outcome}", handled.detail)


def keys(message: HubEvent | DueBody) -> dict[str, Any]:
    """A due message names its trigger and subject; a hub event's keys are the consumer's own."""
    if isinstance(message, DueBody):
        return {"trigger": message.marketing_due.trigger.value, "subject": message.marketing_due.subject_id}
    return {}


consumer = SqsConsumer(handle, payloads=lambda: sandbox.payloads, model=MarketingRecord, keys=keys)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
