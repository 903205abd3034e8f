"""Publish-once for intake, on Powertools Idempotency.

The record is written before publishing and deleted by Powertools if publishing raises, so a
sender's retry of a failed delivery publishes, and a retry of a published one publishes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from hub.errors import NotDurableError, PublishError
from hub.events import HubEvent
from hub.ports import EventPublisher

__all__ = ["IdempotentDeliveryLog"]

# Longer than any sender retries (Square up to 72 h, Stripe 3 days).
DEDUPE_SECONDS = 4 * 24 * 3600


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools' IdempotentHookFunction: the stored response (this publish's dict) and its record.
    return {**response, "duplicate": True}


class IdempotentDeliveryLog:
    def __init__(self, persistence: DynamoDBPersistenceLayer, publisher: EventPublisher) -> None:
        self.config = IdempotencyConfig(expires_after_seconds=DEDUPE_SECONDS, response_hook=_mark_duplicate)
        self._publisher = publisher

        @idempotent_function(data_keyword_argument="delivery", persistence_store=persistence, config=self.config)
        def publish(delivery: dict, events: Sequence[HubEvent]) -> dict:
            self._publisher.publish(events)
            return {"published": len(events)}

        self._publish = publish

    def publish_once(self, dedupe_key: str, events: Sequence[HubEvent]) -> bool:
        try:
            result = self._publish(delivery={"key": dedupe_key}, events=events)
        except PublishError as exc:
            raise NotDurableError("the event could not be stored; please retry the delivery") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise NotDurableError("this delivery is being processed right now; please retry shortly") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise NotDurableError("the delivery log is unavailable; please retry the delivery") from exc
        return not result.get("duplicate", False)
