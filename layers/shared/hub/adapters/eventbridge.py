"""EventBridge publisher: canonical events onto the hub bus, failing loudly on any lost entry.

With a sealer, personal fields leave the function sealed under their subject's data key
(hub.shredding): on the bus, in the archive, in queues and in claim-checked payloads alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.claimcheck import MAX_DETAIL_BYTES
from hub.errors import HubError, PublishError
from hub.events import BUS_SOURCE_PREFIX, HubEvent
from hub.ports import PayloadStore
from hub.shredding import Sealer

__all__ = ["EventBridgePublisher"]

_MAX_ENTRIES = 10  # PutEvents accepts at most ten entries per call


class EventBridgePublisher:
    def __init__(
        self, client: Any, bus_name: str, payloads: PayloadStore | None = None, sealer: Sealer | None = None
    ) -> None:
        self._client = client
        self._bus = bus_name
        self._payloads = payloads
        self._sealer = sealer

    def _json(self, event: HubEvent) -> str:
        if self._sealer is None:
            return event.model_dump_json()
        try:
            return json.dumps(self._sealer.seal(event.model_dump(mode="json")), separators=(",", ":"))
        except HubError as exc:
            raise PublishError(f"could not seal the personal data of {event.type} {event.event_id}: {exc}") from exc

    def _detail(self, event: HubEvent) -> str:
        detail = self._json(event)
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
