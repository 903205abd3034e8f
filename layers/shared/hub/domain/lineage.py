"""An order's lineage: what reached the hub about it, what the hub decided, and what it called.

Three kinds of step, each recorded where its result is known:

| step | recorded by | result |
|---|---|---|
| `delivery` | intake, for each order a delivery's events name (`via` webhook or reconciler) | `accepted`, `duplicate` |
| `decision` | the order's timeline (applied or not, and why), and the consumers for what never reaches it | `applied`, `not_applied`, `duplicate`, `waiting` |
| `call` | the service that made an outbound call for the order (CRM push, label, write-back, ...) | `ok`, `failed`, `skipped` |

An entry carries ids, names and reasons only: never an email, a name or an address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hub.domain.orders import TimelineEntry

__all__ = [
    "Call",
    "CallResult",
    "DecisionResult",
    "DeliveryResult",
    "LineageEntry",
    "Step",
    "decision_from_timeline",
    "in_time_order",
]


class Step(StrEnum):
    DELIVERY = "delivery"
    DECISION = "decision"
    CALL = "call"


class DeliveryResult(StrEnum):
    ACCEPTED = "accepted"  # published now
    DUPLICATE = "duplicate"  # a redelivery of something already published


class DecisionResult(StrEnum):
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"  # recorded on the timeline, state unchanged (older, illegal move, ...)
    DUPLICATE = "duplicate"  # the event was applied before: a redelivery changed nothing
    WAITING = "waiting"  # kept until the order it names is recorded


class Call(StrEnum):
    """The outbound calls made for an order."""

    CRM_PUSH = "crm_push"
    STOCK_PUSH = "stock_push"
    WRITE_BACK = "write_back"
    LABEL = "label"
    EMAIL = "email"
    ANALYTICS = "analytics"


class CallResult(StrEnum):
    OK = "ok"
    FAILED = "failed"  # the record is retried; a later entry says how the retry went
    SKIPPED = "skipped"  # no call was needed (nothing new to send, already done)


# Within one instant, what arrived comes before what was decided about it, and that before the calls.
_STEP_RANK = {Step.DELIVERY: 0, Step.DECISION: 1, Step.CALL: 2}


@dataclass(frozen=True, slots=True)
class LineageEntry:
    order_id: str
    at: datetime  # when the hub received, decided or called (UTC)
    step: Step
    result: str  # one of DeliveryResult, DecisionResult, CallResult for its step
    source: str | None = None  # delivery: the vendor (shopify, stripe); call: the system called (hubspot)
    via: str | None = None  # delivery: webhook | reconciler
    ref: str | None = None  # delivery: its delivery id; call: the id the system gave what it made
    event_ids: tuple[str, ...] = ()
    event_type: str | None = None  # decision: the event decided on
    call: Call | None = None
    detail: str = ""  # why, in words; never personal data

    @property
    def key(self) -> str:
        """A sortable, unique name: the time to the microsecond, then a digest of what it says, so
        that writing the same entry again replaces it instead of adding a second."""
        moment = self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        at = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        said = "\x1f".join(
            [
                self.step.value,
                self.result,
                self.source or "",
                self.via or "",
                self.ref or "",
                ",".join(self.event_ids),
                self.event_type or "",
                self.call.value if self.call else "",
                self.detail,
            ]
        )
        return f"{at}#{_STEP_RANK[self.step]}#{hashlib.sha256(said.encode()).hexdigest()[:12]}"


def decision_from_timeline(order_id: str, entry: TimelineEntry) -> LineageEntry:
    """The timeline already says, for every event the order stored, whether it applied and why."""
    return LineageEntry(
        order_id=order_id,
        at=entry.applied_at,
        step=Step.DECISION,
        result=DecisionResult.APPLIED if entry.applied else DecisionResult.NOT_APPLIED,
        event_ids=(entry.event_id,),
        event_type=entry.type,
        detail=entry.summary,
    )


def in_time_order(entries: Iterable[LineageEntry]) -> list[LineageEntry]:
    """Oldest first; at one instant deliveries, then decisions, then calls."""
    return sorted(entries, key=lambda e: e.key)
