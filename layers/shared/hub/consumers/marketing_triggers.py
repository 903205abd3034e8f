"""marketing_triggers' records: a hub event from the bus schedules, cancels or sends marketing
messages; a message a schedule delivered (DueBody) sends its message now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import ConfigDict, Json

from hub.bus import HubBusEvent
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import HubEvent
from hub.marketing.scheduled import DueBody

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox


class MarketingRecord(SqsRecordModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    body: Json[HubBusEvent | DueBody]


def keys(message: HubEvent | DueBody) -> dict[str, Any]:
    """A due message names its trigger and subject; a hub event's keys are the consumer's own."""
    if isinstance(message, DueBody):
        return {"trigger": message.marketing_due.trigger.value, "subject": message.marketing_due.subject_id}
    return {}


def marketing_consumer(sandbox: Sandbox) -> SqsConsumer:
    """The SqsConsumer of the marketing queue, handing each message to the sandbox's marketing service."""

    def handle(message: HubEvent | DueBody, _record: object) -> Outcome:
        if isinstance(message, DueBody):
            handled = sandbox.marketing.fire_scheduled(message.due())
        else:
            handled = sandbox.marketing.handle(message)
        return Outcome(metric_name("Marketing", handled.outcome), f"marketing {handled.outcome}", handled.detail)

    return SqsConsumer(handle, payloads=lambda: sandbox.payloads, model=MarketingRecord, keys=keys)
