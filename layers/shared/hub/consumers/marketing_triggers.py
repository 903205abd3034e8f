"""marketing_triggers' records: a hub event from the bus schedules, cancels or sends marketing
messages, and makes social posts (hub.services.social); a message a schedule delivered sends its
message now (DueBody) or makes the posts quiet hours held back (SocialDueBody)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import ConfigDict, Json

from hub.bus import HubBusEvent
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import HubEvent
from hub.marketing.scheduled import DueBody, SocialDueBody

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox
    from hub.services.marketing import Handled


class MarketingRecord(SqsRecordModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    body: Json[HubBusEvent | DueBody | SocialDueBody]


def keys(message: HubEvent | DueBody | SocialDueBody) -> dict[str, Any]:
    """A due message names its trigger and subject; a hub event's keys are the consumer's own."""
    if isinstance(message, DueBody):
        return {"trigger": message.marketing_due.trigger.value, "subject": message.marketing_due.subject_id}
    if isinstance(message, SocialDueBody):
        return {"trigger": message.social_due.trigger.value, "product": message.social_due.product.key}
    return {}


def _social(handled: Handled) -> Outcome:
    return Outcome(metric_name("Social", handled.outcome), f"social {handled.outcome}", handled.detail)


def marketing_consumer(sandbox: Sandbox) -> SqsConsumer:
    """The SqsConsumer of the marketing queue, handing each message to the sandbox's marketing service."""

    def handle(message: HubEvent | DueBody | SocialDueBody, _record: object) -> list[Outcome]:
        if isinstance(message, SocialDueBody):
            return [_social(sandbox.social.fire_scheduled(message.due()))]
        if isinstance(message, DueBody):
            handled = sandbox.marketing.fire_scheduled(message.due())
        else:
            handled = sandbox.marketing.handle(message)
        outcomes = [Outcome(metric_name("Marketing", handled.outcome), f"marketing {handled.outcome}", handled.detail)]
        if not isinstance(message, DueBody):
            posted = sandbox.social.handle(message)
            if posted is not None:
                outcomes.append(_social(posted))
        return outcomes

    return SqsConsumer(handle, payloads=lambda: sandbox.payloads, model=MarketingRecord, keys=keys)
