"""EventBridge publisher: canonical events onto the hub bus, failing loudly on any lost entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.events import BUS_SOURCE_PREFIX, HubEvent
from hub.ports import PublishError

__all__ = ["EventBridgePublisher"]

_MAX_ENTRIES = 10  # PutEvents accepts at most ten entries per call


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def _entry(self, event: HubEvent) -> dict[str, str]:
        return {
            "EventBusName": self._bus,
            "Source": f"{BUS_SOURCE_PREFIX}{event.source}",
            "DetailType": event.type,
            "Detail": event.model_dump_json(),
            "Time": event.occurred_at,  # type: ignore[dict-item]
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
