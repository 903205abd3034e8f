"""The shape of a hub event as a queue consumer receives it: SQS record -> EventBridge -> HubEvent.

These extend the Powertools parser envelopes, so a record that is not a hub event fails
validation and is reported as a batch item failure (retried, then dead-lettered). Sealed personal
fields are opened here, the one place every consumer parses its records (hub.shredding).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import Json, field_validator

from hub.claimcheck import ClaimChecked
from hub.events import HubEvent

__all__ = ["HubBusEvent", "HubSqsRecord"]


class HubBusEvent(EventBridgeModel):
    # A claim-checked event (too large for the bus) arrives as its envelope; see hub.claimcheck.
    detail: HubEvent | ClaimChecked  # type: ignore[assignment]

    @field_validator("detail", mode="before")
    @classmethod
    def _open_personal_fields(cls, detail: object) -> object:
        # Personal fields travel sealed (hub.shredding); every consumer reads them opened, or as
        # None once the customer's data key is gone.
        from hub.shredding import open_sealed

        return open_sealed(detail)


class HubSqsRecord(SqsRecordModel):
    body: Json[HubBusEvent]  # type: ignore[assignment]
