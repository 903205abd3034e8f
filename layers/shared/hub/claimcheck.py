"""Claim check: an event too large for EventBridge travels by reference, never truncated.

EventBridge takes at most 256 KB per entry. A larger event is written whole to the payload store
and the bus carries its envelope with `claim_check` in place of `data`; a consumer resolves it
back into the full event before handling it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hub.events import HubEvent, ProviderRef, parse_event
from hub.ports import PayloadStore

__all__ = ["MAX_DETAIL_BYTES", "ClaimCheck", "ClaimChecked", "resolve"]

# EventBridge counts Source, DetailType, Detail and Resources against 256 KiB; keep a margin.
MAX_DETAIL_BYTES = 250 * 1024


class ClaimCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bucket: str
    key: str
    bytes: int


class ClaimChecked(BaseModel):
    """The envelope of an event whose data is in the payload store."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    event_id: str
    type: str
    source: str
    channel: str
    occurred_at: str
    received_at: str
    provider: ProviderRef
    claim_check: ClaimCheck


def resolve(detail: HubEvent | ClaimChecked, store: PayloadStore) -> HubEvent:
    if isinstance(detail, ClaimChecked):
        return parse_event(store.get(detail.claim_check.bucket, detail.claim_check.key))
    return detail
