"""The shape of a hub event as a queue consumer receives it: SQS record -> EventBridge -> HubEvent.

These extend the Powertools parser envelopes, so a record that is not a hub event fails
validation and is reported as a batch item failure (retried, then dead-lettered).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import Json

from hub.claimcheck import ClaimChecked
from hub.events import HubEvent

__all__ = ["HubBusEvent", "HubSqsRecord"]


class HubBusEvent(EventBridgeModel):
    # A claim-checked event (too large for the bus) arrives as its envelope; see hub.claimcheck.
    detail: HubEvent | ClaimChecked  # type: ignore[assignment]


class HubSqsRecord(SqsRecordModel):
    body: Json[HubBusEvent]  # type: ignore[assignment]
