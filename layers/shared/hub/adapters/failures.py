"""Record failures in the hub table, one item per SQS message: `FAILURE#<message id>` / `FAILURE`.

Each failed attempt updates the message's item: the latest error and reason, the first ones (kept
from the first attempt), how many attempts failed, and a TTL a day past the fourteen days a
dead-letter queue keeps a message. `commerce-hub dlq show` joins a dead letter to its item by
message id, which SQS keeps when it moves a message to the dead-letter queue and back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.adapters.keys import FAILURE
from hub.adapters.table import Table
from hub.domain.deadletters import StoredFailure
from hub.failures import RecordFailure

__all__ = ["KEEP_FOR", "DynamoFailureLog", "StoredFailure"]

KEEP_FOR = timedelta(days=15)  # longer than a dead-letter queue's 14 days of retention
_SK = "FAILURE"


def _stored(item: dict[str, Any]) -> StoredFailure:
    return StoredFailure(
        message_id=str(item["pk"]).removeprefix(FAILURE),
        queue=str(item.get("queue", "")),
        attempts=int(item.get("attempts", 0)),
        error=str(item.get("error", "")),
        reason=str(item.get("reason", "")),
        first_error=str(item.get("first_error", item.get("error", ""))),
        first_reason=str(item.get("first_reason", item.get("reason", ""))),
        first_failed_at=str(item.get("first_failed_at", "")),
        last_failed_at=str(item.get("last_failed_at", "")),
        order_id=item.get("order_id"),
        event_id=item.get("event_id"),
        event_type=item.get("event_type"),
    )


class DynamoFailureLog:
    """`hub.ports.FailureLog` on the hub table, plus the read `commerce-hub dlq` needs."""

    def __init__(self, client: Any, table_name: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self._table = Table(client, table_name)
        self._clock = clock or (lambda: datetime.now(UTC))

    def record(self, failure: RecordFailure) -> None:
        now = self._clock()
        names = {"#queue": "queue", "#error": "error", "#reason": "reason"}
        values: dict[str, Any] = {
            ":queue": failure.queue,
            ":error": failure.error,
            ":reason": failure.reason,
            ":at": now.isoformat(timespec="seconds"),
            ":expires": int((now + KEEP_FOR).timestamp()),
            ":one": 1,
        }
        sets = [
            "#queue = :queue",
            "#error = :error",
            "#reason = :reason",
            "last_failed_at = :at",
            "expires_at = :expires",
            "first_error = if_not_exists(first_error, :error)",
            "first_reason = if_not_exists(first_reason, :reason)",
            "first_failed_at = if_not_exists(first_failed_at, :at)",
        ]
        optional = {
            "order_id": failure.order_id,
            "event_id": failure.event_id,
            "event_type": failure.event_type,
        }
        for name, value in optional.items():
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        if failure.receive_count is not None:
            sets.append("receive_count = :receives")
            values[":receives"] = failure.receive_count
        self._table.update(
            FAILURE(failure.message_id),
            _SK,
            f"SET {', '.join(sets)} ADD attempts :one",
            values,
            what=f"record the failure of message {failure.message_id}",
            names=names,
        )

    def find(self, message_ids: Iterable[str]) -> dict[str, StoredFailure]:
        """The stored failures of these messages, by message id (messages never failed are absent)."""
        keys = [(FAILURE(m), _SK) for m in dict.fromkeys(message_ids)]
        items = self._table.batch_get(keys, what="read recorded failures", tries=5).values()
        return {stored.message_id: stored for stored in map(_stored, items)}
