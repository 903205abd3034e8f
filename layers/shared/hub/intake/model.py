"""What intake answers a delivery with.

What it receives (WebhookRequest) and what a source makes of it (Delivery) are the values of the
WebhookSource port, in hub.ports: a change feed builds and reads them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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
