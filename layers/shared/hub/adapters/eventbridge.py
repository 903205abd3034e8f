"""EventBridge publisher: canonical events onto the hub bus, failing loudly on any lost entry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.claimcheck import MAX_DETAIL_BYTES, PayloadStore
from hub.events import BUS_SOURCE_PREFIX, HubEvent
from hub.ports import PublishError

__all__ = ["EventBridgePublisher", "bus_publisher"]

_MAX_ENTRIES = 10  # PutEvents accepts at most ten entries per call


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, payloads: PayloadStore | None = None) -> None:
        self._client = client
        self._bus = bus_name
        self._payloads = payloads

    def _detail(self, event: HubEvent) -> str:
        detail = event.model_dump_json()
        if len(detail.encode()) <= MAX_DETAIL_BYTES:
            return detail
        if self._payloads is None:
            raise PublishError(f"{event.type} {event.event_id} is too large for the bus and no payload store is set")
        # Too large for EventBridge: the whole event goes to the payload store, the bus carries a reference.
        key = f"events/{event.occurred_at:%Y/%m/%d}/{event.event_id}.json"
        bucket = self._payloads.put(key, detail.encode())
        envelope = event.model_dump(mode="json", exclude={"data"})
        envelope["claim_check"] = {"bucket": bucket, "key": key, "bytes": len(detail.encode())}
        return json.dumps(envelope)

    def _entry(self, event: HubEvent) -> dict[str, Any]:
        return {
            "EventBusName": self._bus,
            "Source": f"{BUS_SOURCE_PREFIX}{event.source}",
            "DetailType": event.type,
            "Detail": self._detail(event),
            "Time": event.occurred_at,
        }

    def publish(self, events: Sequence[HubEvent]) -> None:
        for start in range(0, len(events), _MAX_ENTRIES):
            batch = [self._entry(e) for e in events[start : start + _MAX_ENTRIES]]
            try:
                response = self._client.put_events(Entries=batch)
            except (ClientError, BotoCoreError) as exc:
                raise PublishError(f"the event bus refused the events: {exc}") from exc
            if response.get("FailedEntryCount", 0):
                codes = sorted({e.get("ErrorCode", "unknown") for e in response["Entries"] if "ErrorCode" in e})
                raise PublishError(
                    f"{response['FailedEntryCount']} of {len(batch)} events were not accepted by the bus "
                    f"({', '.join(codes)})"
                )


def bus_publisher(settings: Any) -> EventBridgePublisher:
    """The publisher every function uses: the hub bus, with the payload bucket for large events."""
    import boto3

    from hub.adapters.s3 import S3PayloadStore

    payloads = S3PayloadStore(lambda: boto3.client("s3"), settings.payload_bucket) if settings.payload_bucket else None
    return EventBridgePublisher(boto3.client("events"), settings.event_bus, payloads)
