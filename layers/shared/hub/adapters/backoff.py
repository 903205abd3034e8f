"""Retry with backoff on SQS: a failed message is hidden longer after each receive.

SQS by itself brings a failed message back after the queue's fixed visibility timeout; changing the
visibility of the failing receipt stretches the gaps (30 s, 1, 2, 4, 8 min, then every 15 min) until
maxReceiveCount moves the message to its dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["SqsBackoff"]


class SqsBackoff:
    def __init__(self, client: Any, queue_url: str, *, base_seconds: int = 30, cap_seconds: int = 900) -> None:
        self._client = client
        self._queue_url = queue_url
        self._base = base_seconds
        self._cap = cap_seconds

    def delay_for(self, receive_count: int) -> int:
        return min(self._cap, self._base * 2 ** max(0, min(receive_count, 16) - 1))

    def postpone(self, receipt_handle: str, receive_count: int) -> bool:
        """Hide the message for its next delay; False when SQS refused (the queue's own timeout applies)."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=self.delay_for(receive_count)
            )
        except (BotoCoreError, ClientError):
            return False
        return True
