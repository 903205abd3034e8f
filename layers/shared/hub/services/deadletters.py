"""The stack's dead-letter queues: what is in them, why it failed, and moving it back. One
implementation for `commerce-hub dlq` and the console's dead-letters page.

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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from hub.domain.deadletters import (
    DeadLetter,
    DeadLetterQueue,
    QueueMessage,
    QueueSummary,
    Redriven,
    UnknownQueueError,
    queue_name_of_url,
    sent_at,
    short_name,
    subject,
)
from hub.failures import queue_name
from hub.ports import FailureReader, QueueMessages

__all__ = ["DeadLetters"]

_PEEK_VISIBILITY = 20  # seconds a peeked message stays hidden if making it visible again fails
_MOVE_VISIBILITY = 60
_RECEIVE_MAX = 10
_SAMPLE = 10


class DeadLetters:
    """The dead-letter queues of one stack (see the module docstring)."""

    def __init__(
        self,
        sqs: QueueMessages,
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

    def now(self) -> datetime:
        return self._clock()

    @staticmethod
    def discover(sqs: QueueMessages, queue_urls: Mapping[str, str]) -> list[DeadLetterQueue]:
        """The dead-letter queues among a stack's queues (logical id -> URL), with their depths."""
        attributes = {logical_id: sqs.attributes(url) for logical_id, url in queue_urls.items()}
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
    def _peek(self, queue: DeadLetterQueue, limit: int) -> list[QueueMessage]:
        """Up to `limit` messages, made visible again before returning."""
        seen: dict[str, QueueMessage] = {}
        try:
            while len(seen) < limit:
                got = self._sqs.receive(queue.url, min(limit - len(seen), _RECEIVE_MAX), _PEEK_VISIBILITY)
                fresh = [m for m in got if m.message_id not in seen]
                if not fresh:
                    break
                seen.update((m.message_id, m) for m in fresh)
        finally:
            self._sqs.release(queue.url, [m.receipt for m in seen.values()])
        return list(seen.values())

    def show(self, queue: DeadLetterQueue, limit: int = 50) -> list[DeadLetter]:
        """Up to `limit` messages, oldest first, each with its recorded failure and its order."""
        messages = self._peek(queue, limit)
        failures = self._failures.find(m.message_id for m in messages)
        letters = []
        for message in messages:
            order_id, event_type, event_id = subject(message.body)
            failure = failures.get(message.message_id)
            receives = message.attributes.get("ApproximateReceiveCount")
            letters.append(
                DeadLetter(
                    message_id=message.message_id,
                    sent_at=sent_at(message),
                    receive_count=int(receives) if receives else None,
                    order_id=order_id or (failure.order_id if failure else None),
                    event_type=event_type or (failure.event_type if failure else None),
                    event_id=event_id or (failure.event_id if failure else None),
                    failure=failure,
                    source_arn=message.attributes.get("DeadLetterQueueSourceArn"),
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
            result.task_handle = self._sqs.start_move_task(queue.arn)
            return result
        held: list[QueueMessage] = []  # received, not the one wanted: made visible again at the end
        try:
            while True:
                got = self._sqs.receive(queue.url, _RECEIVE_MAX, _MOVE_VISIBILITY)
                if not got:
                    break
                for message in got:
                    if message_id is not None and message.message_id != message_id:
                        held.append(message)
                        continue
                    self._move(queue, message)
                    result.moved.append(message.message_id)
                if message_id is not None and result.moved:
                    break
        finally:
            self._sqs.release(queue.url, [m.receipt for m in held])
        if message_id is not None and not result.moved:
            result.missing = message_id
        return result

    def _source_url(self, queue: DeadLetterQueue, message: QueueMessage) -> str:
        source_arn = message.attributes.get("DeadLetterQueueSourceArn")
        if source_arn:
            for url in queue.sources:
                if queue_name_of_url(url) == queue_name(source_arn):
                    return url
        if len(queue.sources) == 1:
            return queue.sources[0]
        raise UnknownQueueError(
            f"message {message.message_id} of {queue.short} does not say which of "
            f"{', '.join(queue_name_of_url(u) for u in queue.sources)} it came from"
        )

    def _move(self, queue: DeadLetterQueue, message: QueueMessage) -> None:
        self._sqs.send(self._source_url(queue, message), message.body, message.message_attributes)
        self._sqs.delete(queue.url, message.receipt)
