"""The stack's dead-letter queues: what is in them, why it failed, and moving it back.

A dead-letter queue is any queue of the stack that another queue's redrive policy names (its
source), or whose logical id ends in `DeadLetterQueue` (a rule's or a schedule's, which has no
source queue). Each is known by a short name, the one `commerce-hub dlq list` prints:
`commerce-hub-crm-dlq-dev` is `crm`.

Reading never consumes: messages are received with a short visibility timeout and made visible
again at once. Why a message failed comes from the failure the consumers recorded under its
message id (hub.failures), which SQS keeps when it moves a message to the dead-letter queue.

Redriving a whole queue in AWS is SQS's own `StartMessageMoveTask` (each message back to the queue
it came from, at SQS's pace); one message, or any redrive on the local stack (the emulator has no
move tasks), is received, sent to its source queue with its attributes, then deleted: sent before
deleted, so a crash in between duplicates a message (the consumers are idempotent) and never
loses one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hub.adapters.failures import StoredFailure
from hub.failures import queue_name

__all__ = [
    "DeadLetter",
    "DeadLetterQueue",
    "DeadLetters",
    "FailureReader",
    "QueueSummary",
    "Redriven",
    "UnknownQueueError",
    "short_name",
]

_PEEK_VISIBILITY = 20  # seconds a peeked message stays hidden if making it visible again fails
_MOVE_VISIBILITY = 60
_RECEIVE_MAX = 10
_SAMPLE = 10


class FailureReader(Protocol):
    def find(self, message_ids: Iterable[str]) -> dict[str, StoredFailure]: ...


class UnknownQueueError(LookupError):
    """No dead-letter queue goes by that name; the message lists the ones that do."""


def short_name(name: str) -> str:
    """`commerce-hub-crm-dlq-dev` -> `crm`; a name of another shape is kept whole."""
    short = re.sub(r"^commerce-hub-", "", name)
    return re.sub(r"-dlq(-[A-Za-z0-9]+)?$", "", short)


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

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "queue": self.queue.short,
            "name": self.queue.name,
            "messages": self.messages,
            "oldest_age_seconds": int((now - self.oldest_sent_at).total_seconds()) if self.oldest_sent_at else None,
            "sample_reason": self.sample_reason,
            "redrives_to": [queue_name_of_url(u) for u in self.queue.sources],
        }


@dataclass
class Redriven:
    queue: DeadLetterQueue
    moved: list[str] = field(default_factory=list)  # message ids sent back
    task_handle: str | None = None  # StartMessageMoveTask's handle, when SQS moves them
    missing: str | None = None  # a --message that was not found


def queue_name_of_url(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _sent_at(message: dict[str, Any]) -> datetime | None:
    raw = message.get("Attributes", {}).get("SentTimestamp")
    try:
        return datetime.fromtimestamp(int(raw) / 1000, UTC) if raw else None
    except ValueError:
        return None


def _subject(body: str) -> tuple[str | None, str | None, str | None]:
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


class DeadLetters:
    """The dead-letter queues of one stack (see the module docstring)."""

    def __init__(
        self,
        sqs: Any,
        failures: FailureReader,
        queues: list[DeadLetterQueue],
        *,
        move_tasks: bool,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sqs = sqs
        self._failures = failures
        self.queues = queues
        self._move_tasks = move_tasks
        self._clock = clock or (lambda: datetime.now(UTC))

    @staticmethod
    def discover(sqs: Any, queue_urls: dict[str, str]) -> list[DeadLetterQueue]:
        """The dead-letter queues among a stack's queues (logical id -> URL), with their depths."""
        attributes = {
            logical_id: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            for logical_id, url in queue_urls.items()
        }
        sources: dict[str, list[str]] = {}
        for logical_id, attrs in attributes.items():
            policy = attrs.get("RedrivePolicy")
            if policy:
                target = json.loads(policy).get("deadLetterTargetArn")
                sources.setdefault(target, []).append(queue_urls[logical_id])
        queues = []
        for logical_id, attrs in attributes.items():
            arn = attrs["QueueArn"]
            if arn not in sources and not logical_id.endswith("DeadLetterQueue"):
                continue
            name = queue_name(arn)
            queues.append(
                DeadLetterQueue(
                    short=short_name(name),
                    name=name,
                    url=queue_urls[logical_id],
                    arn=arn,
                    logical_id=logical_id,
                    sources=tuple(sorted(sources.get(arn, []))),
                    visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
                    in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                )
            )
        return sorted(queues, key=lambda q: q.short)

    def find(self, wanted: str) -> DeadLetterQueue:
        for queue in self.queues:
            if queue.matches(wanted):
                return queue
        names = ", ".join(q.short for q in self.queues) or "none"
        raise UnknownQueueError(f"no dead-letter queue {wanted!r}; the stack's are: {names}")

    # ------------------------------------------------------------------ reading
    def _receive(self, queue: DeadLetterQueue, count: int, visibility: int) -> list[dict[str, Any]]:
        return self._sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(count, _RECEIVE_MAX),
            VisibilityTimeout=visibility,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def _peek(self, queue: DeadLetterQueue, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` messages, made visible again before returning."""
        seen: dict[str, dict[str, Any]] = {}
        try:
            while len(seen) < limit:
                got = self._receive(queue, limit - len(seen), _PEEK_VISIBILITY)
                fresh = [m for m in got if m["MessageId"] not in seen]
                if not fresh:
                    break
                seen.update((m["MessageId"], m) for m in fresh)
        finally:
            self._release(queue, list(seen.values()))
        return list(seen.values())

    def _release(self, queue: DeadLetterQueue, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _RECEIVE_MAX):
            chunk = messages[start : start + _RECEIVE_MAX]
            self._sqs.change_message_visibility_batch(
                QueueUrl=queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )

    def show(self, queue: DeadLetterQueue, limit: int = 50) -> list[DeadLetter]:
        """Up to `limit` messages, oldest first, each with its recorded failure and its order."""
        messages = self._peek(queue, limit)
        failures = self._failures.find(m["MessageId"] for m in messages)
        letters = []
        for message in messages:
            order_id, event_type, event_id = _subject(message.get("Body", ""))
            failure = failures.get(message["MessageId"])
            receives = message.get("Attributes", {}).get("ApproximateReceiveCount")
            letters.append(
                DeadLetter(
                    message_id=message["MessageId"],
                    sent_at=_sent_at(message),
                    receive_count=int(receives) if receives else None,
                    order_id=order_id or (failure.order_id if failure else None),
                    event_type=event_type or (failure.event_type if failure else None),
                    event_id=event_id or (failure.event_id if failure else None),
                    failure=failure,
                    source_arn=message.get("Attributes", {}).get("DeadLetterQueueSourceArn"),
                )
            )
        oldest = datetime.max.replace(tzinfo=UTC)
        return sorted(letters, key=lambda letter: (letter.sent_at or oldest, letter.message_id))

    def summary(self, queue: DeadLetterQueue) -> QueueSummary:
        """Depth, the oldest message of a sample (all of it up to ten) and that sample's first reason."""
        depth = queue.visible + queue.in_flight
        letters = self.show(queue, _SAMPLE) if depth else []
        with_reason = [letter for letter in letters if letter.failure is not None]
        reason = None
        if with_reason:
            first = with_reason[0].failure
            assert first is not None
            reason = f"{first.first_error}: {first.first_reason}"
        return QueueSummary(
            queue=queue,
            messages=depth,
            oldest_sent_at=letters[0].sent_at if letters else None,
            sample_reason=reason,
            sampled=len(letters),
        )

    def summaries(self) -> list[QueueSummary]:
        return [self.summary(queue) for queue in self.queues]

    # ------------------------------------------------------------------ redrive
    def redrive(self, queue: DeadLetterQueue, message_id: str | None = None) -> Redriven:
        """Every message (or the one `message_id`) back to the queue it came from."""
        if not queue.sources:
            raise UnknownQueueError(
                f"{queue.short} is not the dead-letter queue of a queue (no redrive policy names it), "
                "so it has no source queue to send its messages back to"
            )
        result = Redriven(queue)
        if message_id is None and self._move_tasks:
            answer = self._sqs.start_message_move_task(SourceArn=queue.arn)
            result.task_handle = answer.get("TaskHandle")
            return result
        held: list[dict[str, Any]] = []  # received, not the one wanted: made visible again at the end
        try:
            while True:
                got = self._receive(queue, _RECEIVE_MAX, _MOVE_VISIBILITY)
                if not got:
                    break
                for message in got:
                    if message_id is not None and message["MessageId"] != message_id:
                        held.append(message)
                        continue
                    self._move(queue, message)
                    result.moved.append(message["MessageId"])
                if message_id is not None and result.moved:
                    break
        finally:
            self._release(queue, held)
        if message_id is not None and not result.moved:
            result.missing = message_id
        return result

    def _source_url(self, queue: DeadLetterQueue, message: dict[str, Any]) -> str:
        source_arn = message.get("Attributes", {}).get("DeadLetterQueueSourceArn")
        if source_arn:
            for url in queue.sources:
                if queue_name_of_url(url) == queue_name(source_arn):
                    return url
        if len(queue.sources) == 1:
            return queue.sources[0]
        raise UnknownQueueError(
            f"message {message['MessageId']} of {queue.short} does not say which of "
            f"{', '.join(queue_name_of_url(u) for u in queue.sources)} it came from"
        )

    def _move(self, queue: DeadLetterQueue, message: dict[str, Any]) -> None:
        attributes = {
            name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        request: dict[str, Any] = {"QueueUrl": self._source_url(queue, message), "MessageBody": message["Body"]}
        if attributes:
            request["MessageAttributes"] = attributes
        self._sqs.send_message(**request)
        self._sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
