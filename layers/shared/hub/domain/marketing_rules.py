"""Marketing rules: which events schedule which messages, for when, what cancels them, and whether a
message that comes due still applies. Pure functions of their arguments; no I/O.

A message is one trigger about one subject (an order or a checkout, plus a SKU for back in stock).
Its `message_key` names it for once-only sending; its `schedule_name` names the one-time schedule
that delivers it, deterministically, so a redelivered event finds the schedule already there.

| trigger | scheduled by | due | cancelled by | skipped when it comes due |
|---|---|---|---|---|
| post_purchase | OrderStatusChanged paid | paid + days_after_payment_when_no_delivery | delivered (replaced), cancelled, refunded | the order is gone, on hold or delivered (the delivery's own message takes over) |
| post_purchase | OrderStatusChanged delivered | delivered + days_after_delivery | cancelled, refunded | the order is gone or on hold |
| review_request | OrderStatusChanged delivered | delivered + days_after_delivery | cancelled, refunded | the order is gone or on hold |
| win_back | OrderPlaced (the customer's latest) | placed + days_without_order | a newer order of the customer | the customer ordered since |
| abandoned_checkout | CheckoutStarted (not completed) | started + hours | its order (linked by checkout id, else the same email at or after the start) | converted, or an order since |
| back_in_stock | StockShortage, sent on a rise of the SKU (StockLevelChanged) | at once | - | the order went ahead (paid or beyond) |

"Gone" is cancelled or refunded. An erasure (CustomerErased) deletes every schedule of the customer
and of the orders it names. Consent, opt-outs, erasures and the frequency cap are checked for every
message when it is sent (`hub.services.marketing`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from hub.config.marketing import MarketingRules

__all__ = [
    "STALE_AFTER",
    "Due",
    "Situation",
    "Trigger",
    "admit",
    "co_purchase_pairs",
    "for_checkout",
    "for_order_placed",
    "for_shortage",
    "for_status",
    "order_schedule_names",
    "schedule_name",
    "skip_reason",
    "suggest",
]

# A message that comes due this long after its time (a replay, a long outage) is not sent at all.
STALE_AFTER = timedelta(days=2)
# Co-purchases are counted for at most this many distinct SKUs of an order (n * (n - 1) pairs).
MAX_PAIRED_SKUS = 9


class Trigger(StrEnum):
    POST_PURCHASE = "post_purchase"
    ABANDONED_CHECKOUT = "abandoned_checkout"
    REVIEW_REQUEST = "review_request"
    WIN_BACK = "win_back"
    BACK_IN_STOCK = "back_in_stock"


SubjectKind = Literal["order", "checkout"]


def schedule_name(trigger: Trigger, basis: str, message_key: str) -> str:
    """A valid EventBridge Scheduler name (at most 64 of [0-9A-Za-z_.-]) that only this message has."""
    digest = hashlib.sha256(message_key.encode()).hexdigest()[:32]
    return f"{trigger.value}-{basis}-{digest}"


@dataclass(frozen=True)
class Due:
    """A message to send at `due_at`: what a schedule carries (no personal data)."""

    trigger: Trigger
    subject_kind: SubjectKind
    subject_id: str
    basis: str  # what the time counts from: paid, delivered, placed, started, restocked
    channel: str  # the storefront channel the message is about
    due_at: datetime
    customer: str | None = None  # the customer's erasure key, when known
    sku: str | None = None  # back in stock: the SKU that came back

    @property
    def message_key(self) -> str:
        """At most one message per trigger and subject, however often events are redelivered."""
        key = f"{self.trigger.value}:{self.subject_kind}:{self.subject_id}"
        return f"{key}:{self.sku}" if self.sku else key

    @property
    def schedule_name(self) -> str:
        return schedule_name(self.trigger, self.basis, self.message_key)

    def to_payload(self) -> dict[str, Any]:
        """The schedule's target Input: the queue receives exactly this."""
        return {
            "marketing_due": {
                "trigger": self.trigger.value,
                "subject_kind": self.subject_kind,
                "subject_id": self.subject_id,
                "basis": self.basis,
                "channel": self.channel,
                "due_at": self.due_at.isoformat(),
                "customer": self.customer,
                "sku": self.sku,
            }
        }


@dataclass(frozen=True)
class Plan:
    """What one event asks for: messages to schedule and schedules to cancel (by name)."""

    schedule: tuple[Due, ...] = ()
    cancel: tuple[str, ...] = ()


def _order_due(trigger: Trigger, basis: str, order_id: str, channel: str, at: datetime, customer: str | None) -> Due:
    return Due(trigger, "order", order_id, basis, channel, at, customer)


def order_schedule_names(order_id: str) -> tuple[str, ...]:
    """Every schedule an order can have: what an erasure deletes."""
    return tuple(
        schedule_name(trigger, basis, Due(trigger, "order", order_id, basis, "", datetime.min).message_key)
        for trigger, basis in (
            (Trigger.POST_PURCHASE, "paid"),
            (Trigger.POST_PURCHASE, "delivered"),
            (Trigger.REVIEW_REQUEST, "delivered"),
            (Trigger.WIN_BACK, "placed"),
        )
    )


_GONE = frozenset({"cancelled", "refunded"})


def for_status(
    rules: MarketingRules, order_id: str, channel: str, status: str, at: datetime, customer: str | None = None
) -> Plan:
    """OrderStatusChanged: what it schedules and cancels."""
    schedule: list[Due] = []
    cancel: list[str] = []
    # rules.active(name) is true only when the rule is set; the `is not None` says so to the checker.
    if status == "paid" and rules.post_purchase is not None and rules.active("post_purchase"):
        days = rules.post_purchase.days_after_payment_when_no_delivery
        schedule.append(
            _order_due(Trigger.POST_PURCHASE, "paid", order_id, channel, at + timedelta(days=days), customer)
        )
    elif status == "delivered":
        paid_one = _order_due(Trigger.POST_PURCHASE, "paid", order_id, channel, at, customer)
        cancel.append(paid_one.schedule_name)
        if rules.post_purchase is not None and rules.active("post_purchase"):
            days = rules.post_purchase.days_after_delivery
            schedule.append(
                _order_due(Trigger.POST_PURCHASE, "delivered", order_id, channel, at + timedelta(days=days), customer)
            )
        if rules.review_request is not None and rules.active("review_request"):
            days = rules.review_request.days_after_delivery
            schedule.append(
                _order_due(Trigger.REVIEW_REQUEST, "delivered", order_id, channel, at + timedelta(days=days), customer)
            )
    elif status in _GONE:
        # The win-back stays: it is about the customer, who may yet come back.
        cancel.extend(name for name in order_schedule_names(order_id) if not name.startswith(Trigger.WIN_BACK.value))
    return Plan(tuple(schedule), tuple(cancel))


def for_order_placed(
    rules: MarketingRules,
    order_id: str,
    channel: str,
    placed_at: datetime,
    customer: str | None,
    previous_order: str | None,
) -> Plan:
    """The customer's newest order: a win-back from it, and none from the order before."""
    cancel: tuple[str, ...] = ()
    if previous_order and previous_order != order_id:
        previous = _order_due(Trigger.WIN_BACK, "placed", previous_order, channel, placed_at, customer)
        cancel = (previous.schedule_name,)
    if rules.win_back is None or not rules.active("win_back"):
        return Plan((), cancel)
    due = placed_at + timedelta(days=rules.win_back.days_without_order)
    return Plan((_order_due(Trigger.WIN_BACK, "placed", order_id, channel, due, customer),), cancel)


def for_checkout(
    rules: MarketingRules, checkout_id: str, channel: str, started_at: datetime, customer: str | None
) -> Due | None:
    if rules.abandoned_checkout is None or not rules.active("abandoned_checkout"):
        return None
    due = started_at + timedelta(hours=rules.abandoned_checkout.hours)
    return Due(Trigger.ABANDONED_CHECKOUT, "checkout", checkout_id, "started", channel, due, customer)


def for_shortage(order_id: str, channel: str, sku: str, at: datetime, customer: str | None = None) -> Due:
    return Due(Trigger.BACK_IN_STOCK, "order", order_id, "restocked", channel, at, customer, sku)


# ------------------------------------------------------------------------------ when it comes due
@dataclass(frozen=True)
class Situation:
    """What is true of the subject when its message comes due."""

    order_status: str | None = None  # None: no such order (or not an order message)
    delivered: bool = False  # the order reached delivered (even if it moved on since)
    checkout_converted: bool = False
    ordered_since: bool = False  # the customer placed an order at or after the checkout started
    newer_order: bool = False  # the customer ordered again after this order


_WENT_AHEAD = frozenset({"paid", "fulfilling", "shipped", "delivered", "partially_refunded"})


def skip_reason(due: Due, situation: Situation) -> str | None:
    """Why the message no longer applies, or None when it should go out."""
    if due.subject_kind == "order" and situation.order_status is None:
        return "no_order"
    status = situation.order_status
    if due.trigger in (Trigger.POST_PURCHASE, Trigger.REVIEW_REQUEST):
        if status in _GONE:
            return f"order_{status}"
        if status == "on_hold":
            return "order_on_hold"
        if due.trigger is Trigger.POST_PURCHASE and due.basis == "paid" and situation.delivered:
            return "delivered_since"
    elif due.trigger is Trigger.WIN_BACK:
        if situation.newer_order:
            return "ordered_since"
    elif due.trigger is Trigger.ABANDONED_CHECKOUT:
        if situation.checkout_converted:
            return "checkout_converted"
        if situation.ordered_since:
            return "ordered_since"
    elif due.trigger is Trigger.BACK_IN_STOCK and status in _WENT_AHEAD:
        return "order_went_ahead"
    return None


# ------------------------------------------------------------------------------------ frequency cap
def admit(
    sent: Mapping[str, int], message_key: str, now: int, max_messages: int, per_days: int
) -> tuple[bool, dict[str, int]]:
    """A sliding window: may `message_key` go out at `now` (epoch seconds), given the customer's
    messages in the window (message key -> epoch seconds)? Returns the answer and the window to keep.

    A message already counted is admitted again without counting twice (a retry).
    """
    start = now - per_days * 86400
    kept = {key: at for key, at in sent.items() if at > start}
    if message_key in kept:
        return True, kept
    if len(kept) >= max_messages:
        return False, kept
    kept[message_key] = now
    return True, kept


# ------------------------------------------------------------------------------------ suggestions
def co_purchase_pairs(skus: Iterable[str]) -> list[tuple[str, str]]:
    """Every ordered pair of distinct SKUs bought together (both directions), for the first
    MAX_PAIRED_SKUS distinct SKUs in sorted order."""
    distinct = sorted(set(skus))[:MAX_PAIRED_SKUS]
    return [(a, b) for a in distinct for b in distinct if a != b]


def suggest(bought: Sequence[str], counts: Mapping[str, Mapping[str, int]], limit: int) -> list[str]:
    """The SKUs most often bought together with what the customer bought, not already bought.

    `counts` is sku -> {other sku: orders that had both}; ties go to the SKU that sorts first.
    """
    owned = set(bought)
    totals: dict[str, int] = {}
    for sku in owned:
        for other, count in counts.get(sku, {}).items():
            if other not in owned and count > 0:
                totals[other] = totals.get(other, 0) + count
    return [sku for sku, _ in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]]
