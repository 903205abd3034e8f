"""`hub.ports.QueueMessages` on SQS: what the dead-letter tools (hub.services.deadletters) ask of a queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.domain.deadletters import QueueMessage

__all__ = ["SqsQueues"]

_BATCH = 10
_KEPT = ("DataType", "StringValue", "BinaryValue")  # what SendMessage takes of a received attribute


class SqsQueues:
    def __init__(self, client: Any) -> None:
        self._sqs = client

    def attributes(self, url: str) -> dict[str, str]:
        return dict(self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])

    def receive(self, url: str, count: int, visibility: int) -> list[QueueMessage]:
        got = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(count, _BATCH),
            VisibilityTimeout=visibility,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return [
            QueueMessage(
                message_id=m["MessageId"],
                body=m.get("Body", ""),
                receipt=m["ReceiptHandle"],
                attributes=dict(m.get("Attributes") or {}),
                message_attributes={
                    name: {k: v for k, v in value.items() if k in _KEPT}
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
            )
            for m in got
        ]

    def release(self, url: str, receipts: Sequence[str]) -> None:
        """Make received messages visible again at once."""
        for start in range(0, len(receipts), _BATCH):
            chunk = receipts[start : start + _BATCH]
            self._sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0} for i, r in enumerate(chunk)],
            )

    def send(self, url: str, body: str, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        request: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            request["MessageAttributes"] = {name: dict(value) for name, value in attributes.items()}
        self._sqs.send_message(**request)

    def delete(self, url: str, receipt: str) -> None:
        self._sqs.delete_message(QueueUrl=url, ReceiptHandle=receipt)

    def start_move_task(self, source_arn: str) -> str | None:
        # No DestinationArn: SQS sends each message back to the queue it came from.
        return self._sqs.start_message_move_task(SourceArn=source_arn).get("TaskHandle")
