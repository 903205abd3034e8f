"""Dead letters as values: the queues, their messages, the failures the consumers recorded, and
what a message's body says it is about. No I/O: hub.services.deadletters reads and moves them
through the `QueueMessages` port (hub.adapters.sqs_queues on SQS).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.errors import UnknownQueueError

__all__ = [
    "DeadLetter",
    "DeadLetterQueue",
    "QueueMessage",
    "QueueSummary",
    "Redriven",
    "StoredFailure",
    "UnknownQueueError",
    "age_text",
    "queue_name_of_url",
    "sent_at",
    "short_name",
    "subject",
]


@dataclass(frozen=True, slots=True)
class StoredFailure:
    """What the table holds about one message's failures (hub.adapters.failures)."""

    message_id: str
    queue: str
    attempts: int
    error: str
    reason: str
    first_error: str
    first_reason: str
    first_failed_at: str
    last_failed_at: str
    order_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One received SQS message: its body, the handle to release or delete it, its attributes."""

    message_id: str
    body: str
    receipt: str
    attributes: dict[str, str] = field(default_factory=dict)  # SentTimestamp, ApproximateReceiveCount, ...
    message_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)


def short_name(name: str) -> str:
    """`commerce-hub-crm-dlq-dev` -> `crm`; a name of another shape is kept whole."""
    short = re.sub(r"^commerce-hub-", "", name)
    return re.sub(r"-dlq(-[A-Za-z0-9]+)?$", "", short)


def queue_name_of_url(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DeadLetterQueue:
    short: str
    name: str
    url: str
    arn: str
    logical_id: str
    sources: tuple[str, ...] = ()  # URLs of the queues whose redrive policy names this one
    visible: int = 0
    in_flight: int = 0

    def matches(self, wanted: str) -> bool:
        return wanted in (self.short, self.name, self.url, self.arn, self.logical_id, f"{self.short}-dlq")


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, with what the hub recorded about its failures."""

    message_id: str
    sent_at: datetime | None
    receive_count: int | None
    order_id: str | None
    event_type: str | None
    event_id: str | None
    failure: StoredFailure | None
    source_arn: str | None = None

    def age_seconds(self, now: datetime) -> int | None:
        return int((now - self.sent_at).total_seconds()) if self.sent_at else None

    def as_dict(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "message_id": self.message_id,
            "sent_at": self.sent_at.isoformat(timespec="seconds") if self.sent_at else None,
            "order_id": self.order_id,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "attempts": failure.attempts if failure else None,
            "first_failure": {
                "error": failure.first_error,
                "reason": failure.first_reason,
                "at": failure.first_failed_at,
            }
            if failure
            else None,
            "last_failure": {"error": failure.error, "reason": failure.reason, "at": failure.last_failed_at}
            if failure
            else None,
        }


@dataclass(frozen=True)
class QueueSummary:
    queue: DeadLetterQueue
    messages: int
    oldest_sent_at: datetime | None
    sample_reason: str | None  # the first failure of the oldest message sampled that has one
    sampled: int = 0

    def oldest_age_seconds(self, now: datetime) -> int | None:
        return int((now - self.oldest_sent_at).total_seconds()) if self.oldest_sent_at else None

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "queue": self.queue.short,
            "name": self.queue.name,
            "messages": self.messages,
            "oldest_age_seconds": self.oldest_age_seconds(now),
            "sample_reason": self.sample_reason,
            "redrives_to": [queue_name_of_url(u) for u in self.queue.sources],
        }


@dataclass
class Redriven:
    queue: DeadLetterQueue
    moved: list[str] = field(default_factory=list)  # message ids sent back
    task_handle: str | None = None  # StartMessageMoveTask's handle, when SQS moves them
    missing: str | None = None  # a message asked for that was not found


def sent_at(message: QueueMessage) -> datetime | None:
    raw = message.attributes.get("SentTimestamp")
    try:
        return datetime.fromtimestamp(int(raw) / 1000, UTC) if raw else None
    except ValueError:
        return None


def subject(body: str) -> tuple[str | None, str | None, str | None]:
    """(order id, event type, event id) from a message body that is a hub event on the bus."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None, None
    if not isinstance(document, dict):
        return None, None, None
    detail = document.get("detail")
    if isinstance(detail, dict):
        data = detail.get("data")
        order_id = data.get("order_id") if isinstance(data, dict) else None
        return order_id, detail.get("type") or document.get("detail-type"), detail.get("event_id")
    due = document.get("marketing_due")
    if isinstance(due, dict) and due.get("subject_kind") == "order":
        return due.get("subject_id"), "MarketingDue", None
    return None, None, None


def age_text(seconds: float | None) -> str:
    """How long ago, shortly: `45s`, `12m`, `3h5m`, `2d4h`; `-` when unknown."""
    if seconds is None:
        return "-"
    delta = timedelta(seconds=int(seconds))
    if delta.days:
        return f"{delta.days}d{delta.seconds // 3600}h"
    if delta.seconds >= 3600:
        return f"{delta.seconds // 3600}h{delta.seconds % 3600 // 60}m"
    if delta.seconds >= 60:
        return f"{delta.seconds // 60}m"
    return f"{delta.seconds}s"
