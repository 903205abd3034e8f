"""Why a queue record failed, in words safe to keep: what `commerce-hub dlq show` reads back.

SQS cannot add an attribute to a message when its handler fails, so the batch processor records
each failure beside the state, keyed by the SQS message id (which a message keeps when the queue
moves it to its dead-letter queue): the queue, the order and event the record names, the exception
class and its text passed through `hub.redaction` (a validation error shows fields and problems,
never values). No I/O here: `hub.adapters.failures` stores what `failure_of` describes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hub.errors import RedactedError
from hub.redaction import describe, redacted

__all__ = ["MAX_REASON", "RecordFailure", "failure_of", "queue_name"]

MAX_REASON = 500  # characters of the reason kept; enough for a vendor's status, code and request id
# pydantic names a union's members in each error's path (`tagged-union[OrderPlaced,...,ShipmentTracked]`):
# hundreds of characters that say nothing the member's own name after it does not.
_UNION_LABEL = re.compile(r"[\w-]+\[[^\]]*\]\.")


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """One failed attempt at one queue record."""

    message_id: str
    queue: str  # the queue's name, as its ARN ends
    error: str  # the exception's class name
    reason: str  # its redacted text
    receive_count: int | None = None  # SQS's ApproximateReceiveCount of this attempt
    order_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None


def queue_name(arn: str | None) -> str:
    """`arn:aws:sqs:us-east-1:123456789012:commerce-hub-crm-dev` -> `commerce-hub-crm-dev`."""
    return (arn or "").rsplit(":", 1)[-1]


def _field(record: Any, *names: str) -> Any:
    """The first of `names` a record has, whichever shape Powertools handed over (model, data class, dict)."""
    for name in names:
        if isinstance(record, dict):
            if name in record:
                return record[name]
        elif hasattr(record, "raw_event"):  # Powertools' SQSRecord data class wraps the raw dict
            if name in record.raw_event:
                return record.raw_event[name]
        elif hasattr(record, name):
            return getattr(record, name)
    return None


def _receive_count(record: Any) -> int | None:
    attributes = _field(record, "attributes")
    count = _field(attributes, "ApproximateReceiveCount") if attributes is not None else None
    try:
        return int(count) if count is not None else None
    except (TypeError, ValueError):
        return None


def _subject(body: Any) -> tuple[str | None, str | None, str | None]:
    """(order id, event id, event type) a record's body names, from its parsed model or its raw JSON."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None, None, None
    detail = _field(body, "detail")
    if detail is not None:
        data = _field(detail, "data")
        order_id = _field(data, "order_id") if data is not None else None
        event_type = _field(detail, "type") or _field(body, "detail-type", "detail_type")
        return _text(order_id), _text(_field(detail, "event_id")), _text(event_type)
    due = _field(body, "marketing_due")  # what a marketing schedule delivers
    if due is not None and _field(due, "subject_kind") == "order":
        return _text(_field(due, "subject_id")), None, "MarketingDue"
    return None, None, None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def failure_of(record: Any, exception: BaseException) -> RecordFailure | None:
    """What to keep of one record's failure; None when the record carries no SQS message id."""
    message_id = _text(_field(record, "messageId", "message_id"))
    if message_id is None:
        return None
    safe = redacted(exception)
    error = safe.original if isinstance(safe, RedactedError) else type(exception).__name__
    reason = _UNION_LABEL.sub("", describe(safe)).removeprefix(f"{error}: ") or error
    order_id, event_id, event_type = _subject(_field(record, "body"))
    return RecordFailure(
        message_id=message_id,
        queue=queue_name(_field(record, "eventSourceARN", "event_source_arn")),
        error=error,
        reason=reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…",
        receive_count=_receive_count(record),
        order_id=order_id,
        event_id=event_id,
        event_type=event_type,
    )
