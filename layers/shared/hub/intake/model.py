"""What intake receives and what it answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hub.events import HubEvent


@dataclass(frozen=True)
class WebhookRequest:
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    source_ip: str | None = None  # the caller's address, as API Gateway saw it

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        return value.strip() if value is not None else None


@dataclass(frozen=True)
class Delivery:
    """One verified delivery: how to recognise its redeliveries, and what it means."""

    dedupe_key: str
    topic: str
    events: list[HubEvent]
    ignored_reason: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    status: Literal["accepted", "duplicate", "ignored"]
    source: str
    topic: str | None = None
    event_ids: list[str] = field(default_factory=list)
    reason: str | None = None

    def body(self) -> dict:
        body: dict = {"status": self.status, "source": self.source}
        if self.topic:
            body["topic"] = self.topic
        if self.event_ids:
            body["event_ids"] = self.event_ids
        if self.reason:
            body["reason"] = self.reason
        return body
