"""Customers: one profile per person, derived from the facts events state about them.

A profile is never updated in place. Each event that says something about a customer or an order
becomes one `Fact`, kept under its event id; the profile is a pure function of the set of facts
(`build_profile`). Sets have no order and a fact stored twice is the same fact, so the profile is
the same whatever order the events arrive in and however often they are redelivered.

Rules, each a function of the set and never of the arrival order:
- A customer is their email, trimmed and lower-cased (`normalise_email`).
- An order belongs to the email of its placement (the latest placement fact, if a storefront sent
  several); failing that, to the email of its earliest gateway payment.
- An order counts once it is placed and not cancelled; it counts towards money spent once it is
  paid (the storefront said so, the hub moved it to a paid status, or gateway payments cover its
  total). Money spent is its total less what was refunded.
- A refund reported by both the storefront and the gateway is the same money: an order's refunded
  amount is the largest of the storefront's refunds, the gateway's refunds and the storefront's own
  refunded total, never more than the order's total.
- Names and phone: the latest non-empty statement wins, by the time the storefront gives for it.
- Marketing consent, per channel of contact (email, SMS): the latest statement wins, by its time,
  whichever storefront made it; a storefront that says nothing does not count. Two statements at
  the same instant that disagree resolve to "not subscribed". No statement at all is `None`
  (unknown), which marketing must treat as no consent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from hub.money import exponent

__all__ = [
    "CONTACT_FIELDS",
    "STATUSES_ALWAYS_TOLD",
    "UNPAID_STATUSES",
    "ConsentStatement",
    "Contact",
    "CustomerProfile",
    "Fact",
    "FactKind",
    "OrderRef",
    "OrderSummary",
    "ProductBought",
    "build_profile",
    "contact_value",
    "erasure_key",
    "is_contact_field",
    "normalise_email",
    "owner_of",
    "placed_lines",
    "status_tells_a_summary",
    "summarise_order",
    "summary_for",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# Statuses the hub's ledger only reaches once an order was paid.
_PAID_STATUSES = frozenset({"paid", "fulfilling", "shipped", "delivered", "partially_refunded", "refunded"})
# What a status can tell a summary: cancelled, all refunded, or paid (any of _PAID_STATUSES).
STATUSES_ALWAYS_TOLD = ("cancelled", "refunded")
# The statuses an order leaves when the ledger moves it to a paid status for the first time.
UNPAID_STATUSES = ("pending_payment", "on_hold", "cancelled")


def status_tells_a_summary(previous: str | None, status: str) -> bool:
    """Whether the hub's move of an order from `previous` to `status` can change a summary of it.

    Only cancelled, refunded and paid do (`summarise_order`). A move into a paid status counts only
    when it comes from an unpaid one: a move between two paid statuses (fulfilling, shipped,
    delivered...) follows a move into a paid status the summary already has, and an order recorded as
    paid (`previous` None) was recorded so because its placement, which is also a fact, said paid.
    Statuses that say nothing (pending payment, on hold) tell nothing. crm_upsert's event rule
    (template.yaml, CrmRule) lets through exactly these moves; tests/test_template.py holds the two
    to the same answer for every pair of statuses."""
    if status in STATUSES_ALWAYS_TOLD:
        return True
    return status in _PAID_STATUSES and previous in UNPAID_STATUSES


def normalise_email(value: str | None) -> str | None:
    """The key of a customer: the email trimmed and lower-cased; None when it is not an email."""
    if not value:
        return None
    email = value.strip().lower()
    return email if _EMAIL.match(email) else None


def erasure_key(email: str, salt: str) -> str:
    """A non-reversible key for a customer (HMAC-SHA256 of the normalised email with a secret salt).

    It names a customer in erasure records and in `CustomerErased` without the email itself, and
    is the key other parts of the hub keep beside anything they schedule for a customer, so an
    erasure can reach it. (Unlike a plain SHA-256 of the email, it cannot be recomputed from a
    list of addresses without the salt.)
    """
    normalised = normalise_email(email) or email.strip().lower()
    return "ck_" + hmac.new(salt.encode(), normalised.encode(), hashlib.sha256).hexdigest()[:40]


class FactKind(StrEnum):
    CUSTOMER = "customer"  # CustomerUpserted: names, phone, consent, platform id
    PLACED = "placed"  # OrderPlaced: currency, total, paid, lines
    STOREFRONT_UPDATE = "storefront_update"  # OrderUpdated: paid, cancelled, refunded_total
    STOREFRONT_PAID = "storefront_paid"  # OrderPaid
    CANCELLED = "cancelled"  # OrderCancelled
    STOREFRONT_REFUND = "storefront_refund"  # RefundIssued: refund_id, amount, currency
    PAYMENT = "payment"  # PaymentSucceeded: amount, currency (and the payer's email, sometimes)
    GATEWAY_REFUND = "gateway_refund"  # PaymentRefunded: refund_id, amount, currency, completed
    STATUS = "status"  # OrderStatusChanged: the hub's own status of the order


@dataclass(frozen=True)
class Fact:
    """What one event said about a customer or an order. `data` holds JSON values only."""

    event_id: str
    kind: FactKind
    occurred_at: datetime
    channel: str
    email: str | None = None  # normalised
    order_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[datetime, str]:
        """The deterministic order of facts: time, then event id."""
        return (self.occurred_at, self.event_id)

    def stated_at(self) -> datetime:
        """When the storefront says the statement was made (its updated_at), else when it occurred."""
        value = self.data.get("stated_at")
        return datetime.fromisoformat(value) if value else self.occurred_at


@dataclass(frozen=True)
class OrderSummary:
    """One order as the profile sees it; money in minor units of `currency`."""

    order_id: str
    channel: str
    placed_at: datetime
    currency: str
    total: int
    paid: bool
    cancelled: bool
    refunded: int
    refund_count: int
    lines: tuple[tuple[str, str | None, int], ...]  # sku, title, quantity
    updated_at: datetime  # the latest of the facts it was derived from


@dataclass(frozen=True)
class OrderRef:
    order_id: str
    channel: str
    placed_at: datetime
    currency: str
    total: int


@dataclass(frozen=True)
class ProductBought:
    sku: str
    title: str | None
    quantity: int
    orders: int
    last_bought_at: datetime


@dataclass(frozen=True)
class ConsentStatement:
    """The consent that holds for one channel of contact: None means nobody said."""

    subscribed: bool | None = None
    stated_at: datetime | None = None
    channel: str | None = None  # the storefront channel whose statement holds


@dataclass(frozen=True)
class CustomerProfile:
    email: str
    erasure_key: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    channels: tuple[str, ...]
    platform_customer_ids: Mapping[str, str]
    order_ids: tuple[str, ...]
    order_count: int
    cancelled_order_count: int
    first_order: OrderRef | None
    last_order: OrderRef | None
    total_spent: Mapping[str, int]  # currency -> minor units, paid orders less refunds
    average_order_value: Mapping[str, int]  # currency -> minor units, over paid orders
    refund_count: int
    refunded: Mapping[str, int]  # currency -> minor units
    products: tuple[ProductBought, ...]
    email_marketing: ConsentStatement
    sms_marketing: ConsentStatement
    tags: tuple[str, ...]
    updated_at: datetime

    @property
    def first_order_at(self) -> datetime | None:
        return self.first_order.placed_at if self.first_order else None

    @property
    def last_order_at(self) -> datetime | None:
        return self.last_order.placed_at if self.last_order else None

    @property
    def may_email(self) -> bool:
        """Only an explicit, current yes is consent."""
        return self.email_marketing.subscribed is True

    @property
    def may_text(self) -> bool:
        return self.sms_marketing.subscribed is True


# ---------------------------------------------------------------------------------------- orders
_LINES_BUDGET = 64 * 1024  # characters of JSON an order's lines may take in a fact
_TITLE_CHARS = 100


def placed_lines(lines: Iterable[tuple[str, str | None, int]]) -> list[dict[str, Any]]:
    """An order's lines as its PLACED fact keeps them: as sent, unless they would take more than
    _LINES_BUDGET (thousands of lines); then one line per distinct SKU (its quantities summed, its
    first title, cut to _TITLE_CHARS), and without titles if that is still too long. The profile
    sums quantities per SKU and takes a SKU's first title, so it shows the same either way."""
    given: list[dict[str, Any]] = [{"sku": sku, "title": title, "quantity": qty} for sku, title, qty in lines]
    if len(json.dumps(given)) <= _LINES_BUDGET:
        return given
    merged: dict[str, dict[str, Any]] = {}
    for line in given:
        entry = merged.setdefault(line["sku"], {"sku": line["sku"], "title": None, "quantity": 0})
        entry["quantity"] += line["quantity"]
        entry["title"] = entry["title"] or (line["title"][:_TITLE_CHARS] if line["title"] else None)
    out = list(merged.values())
    if len(json.dumps(out)) > _LINES_BUDGET:
        out = [{**line, "title": None} for line in out]
    return out


def _amount(fact: Fact, currency: str) -> int:
    if (fact.data.get("currency") or currency).upper() != currency:
        return 0
    return int(fact.data.get("amount") or 0)


def _distinct_refunds(facts: Iterable[Fact], kind: FactKind, currency: str) -> dict[str, int]:
    refunds: dict[str, int] = {}
    for fact in sorted((f for f in facts if f.kind is kind), key=lambda f: f.order):
        if kind is FactKind.GATEWAY_REFUND and not fact.data.get("completed", True):
            continue
        refunds[str(fact.data.get("refund_id") or fact.event_id)] = _amount(fact, currency)
    return refunds


def summarise_order(order_id: str, facts: Iterable[Fact]) -> OrderSummary | None:
    """The order from its facts; None until its placement is known."""
    facts = tuple(facts)
    placed = [f for f in facts if f.kind is FactKind.PLACED]
    if not placed:
        return None
    latest = max(placed, key=lambda f: f.order)
    currency = str(latest.data["currency"]).upper()
    total = int(latest.data["total"])
    statuses = {f.data.get("status") for f in facts if f.kind is FactKind.STATUS}
    updates = [f for f in facts if f.kind is FactKind.STOREFRONT_UPDATE]
    payments = sum(_amount(f, currency) for f in facts if f.kind is FactKind.PAYMENT)
    paid = (
        any(bool(f.data.get("paid")) for f in placed)
        or any(f.kind is FactKind.STOREFRONT_PAID for f in facts)
        or any(f.data.get("paid") is True for f in updates)
        or bool(statuses & _PAID_STATUSES)
        or (total > 0 and payments >= total)
    )
    cancelled = (
        any(f.kind is FactKind.CANCELLED for f in facts)
        or any(f.data.get("cancelled") is True for f in updates)
        or "cancelled" in statuses
    )
    storefront = _distinct_refunds(facts, FactKind.STOREFRONT_REFUND, currency)
    gateway = _distinct_refunds(facts, FactKind.GATEWAY_REFUND, currency)
    reported = [int(f.data["refunded_total"]) for f in updates if f.data.get("refunded_total") is not None]
    refunded = max(sum(storefront.values()), sum(gateway.values()), max(reported, default=0))
    if "refunded" in statuses:
        refunded = max(refunded, total)
    refunded = min(refunded, total)
    count = max(len([a for a in storefront.values() if a]), len([a for a in gateway.values() if a]))
    lines = tuple((str(ln["sku"]), ln.get("title"), int(ln["quantity"])) for ln in latest.data.get("lines", []))
    return OrderSummary(
        order_id=order_id,
        channel=latest.channel,
        placed_at=min(f.occurred_at for f in placed),
        currency=currency,
        total=total,
        paid=paid,
        cancelled=cancelled,
        refunded=refunded,
        refund_count=count or (1 if refunded else 0),
        lines=lines,
        updated_at=max(f.occurred_at for f in facts),
    )


def owner_of(facts: Iterable[Fact]) -> str | None:
    """Whose order it is: the email of its placement, else of its earliest payment."""
    facts = [f for f in facts if f.email]
    placed = [f for f in facts if f.kind is FactKind.PLACED]
    if placed:
        return max(placed, key=lambda f: f.order).email
    payments = [f for f in facts if f.kind is FactKind.PAYMENT]
    return min(payments, key=lambda f: f.order).email if payments else None


# --------------------------------------------------------------------------------------- profile
def _latest_value(facts: Sequence[Fact], name: str) -> str | None:
    stated = [(f.stated_at(), f.event_id, f.data[name]) for f in facts if f.data.get(name)]
    return str(max(stated)[2]) if stated else None


def _consent(facts: Sequence[Fact], name: str) -> ConsentStatement:
    stated = [(f.stated_at(), f.data[name], f.channel, f.event_id) for f in facts if f.data.get(name) is not None]
    if not stated:
        return ConsentStatement()
    # The latest time wins; at the same instant False sorts first, so a withdrawal is never lost
    # to a simultaneous opt-in; channel and event id only make the choice deterministic.
    latest = max(at for at, *_ in stated)
    at, value, channel, _ = min((s for s in stated if s[0] == latest), key=lambda s: (s[1], s[2], s[3]))
    return ConsentStatement(bool(value), at, channel)


def _ref(order: OrderSummary) -> OrderRef:
    return OrderRef(order.order_id, order.channel, order.placed_at, order.currency, order.total)


def _average(total: int, count: int) -> int:
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _products(orders: Sequence[OrderSummary]) -> tuple[ProductBought, ...]:
    bought: dict[str, dict[str, Any]] = {}
    for order in sorted(orders, key=lambda o: (o.placed_at, o.order_id)):
        for sku in {sku for sku, _title, _qty in order.lines}:
            lines = [ln for ln in order.lines if ln[0] == sku]
            entry = bought.setdefault(sku, {"quantity": 0, "orders": 0, "title": None, "last": order.placed_at})
            entry["quantity"] += sum(qty for _sku, _title, qty in lines)
            entry["orders"] += 1
            entry["title"] = next((t for _s, t, _q in lines if t), None) or entry["title"]
            entry["last"] = order.placed_at
    return tuple(
        ProductBought(sku, e["title"], e["quantity"], e["orders"], e["last"]) for sku, e in sorted(bought.items())
    )


def summary_for(email: str, order_id: str, facts: Iterable[Fact]) -> OrderSummary | None:
    """The order as it counts for `email`: None unless it is placed and belongs to them (`owner_of`)."""
    facts = tuple(facts)
    return summarise_order(order_id, facts) if owner_of(facts) == email else None


def build_profile(
    email: str,
    key: str,
    customer_facts: Iterable[Fact],
    orders: Iterable[OrderSummary],
) -> CustomerProfile | None:
    """The profile of `email` from its customer facts and the summaries of its orders (`summary_for`).

    None when nothing is known.
    """
    about = sorted((f for f in customer_facts if f.kind is FactKind.CUSTOMER), key=lambda f: f.order)
    summaries = sorted(orders, key=lambda o: o.order_id)
    if not about and not summaries:
        return None
    counted = [o for o in summaries if not o.cancelled]
    spent = [o for o in counted if o.paid]
    total_spent: dict[str, int] = {}
    gross: dict[str, list[int]] = {}
    refunded: dict[str, int] = {}
    for order in spent:
        total_spent[order.currency] = total_spent.get(order.currency, 0) + order.total - order.refunded
        gross.setdefault(order.currency, []).append(order.total)
    for order in summaries:
        if order.refunded:
            refunded[order.currency] = refunded.get(order.currency, 0) + order.refunded
    by_time = sorted(counted, key=lambda o: (o.placed_at, o.order_id))
    channels = tuple(sorted({f.channel for f in about} | {o.channel for o in summaries}))
    platform_ids: dict[str, str] = {}
    for fact in about:
        if fact.data.get("platform_customer_id"):
            platform_ids[fact.channel] = str(fact.data["platform_customer_id"])
    email_consent = _consent(about, "email_marketing")
    refund_count = sum(o.refund_count for o in summaries)
    tags = {f"channel:{c}" for c in channels}
    if len(channels) > 1:
        tags.add("multichannel")
    if len(spent) > 1:
        tags.add("repeat-customer")
    if refund_count:
        tags.add("refunded")
    if email_consent.subscribed:
        tags.add("email-subscriber")
    return CustomerProfile(
        email=email,
        erasure_key=key,
        first_name=_latest_value(about, "first_name"),
        last_name=_latest_value(about, "last_name"),
        phone=_latest_value(about, "phone"),
        channels=channels,
        platform_customer_ids=platform_ids,
        order_ids=tuple(o.order_id for o in summaries),
        order_count=len(counted),
        cancelled_order_count=len(summaries) - len(counted),
        first_order=_ref(by_time[0]) if by_time else None,
        last_order=_ref(by_time[-1]) if by_time else None,
        total_spent=dict(sorted(total_spent.items())),
        average_order_value={c: _average(sum(v), len(v)) for c, v in sorted(gross.items())},
        refund_count=refund_count,
        refunded=dict(sorted(refunded.items())),
        products=_products(counted),
        email_marketing=email_consent,
        sms_marketing=_consent(about, "sms_marketing"),
        tags=tuple(sorted(tags)),
        updated_at=max([f.occurred_at for f in about] + [o.updated_at for o in summaries]),
    )


# ------------------------------------------------------------------------------ contact fields
@dataclass(frozen=True)
class Contact:
    """A customer as a CRM receives it: keyed by the normalised email, with the mapped properties."""

    email: str
    properties: Mapping[str, Any]


_MONEY_FIELDS = ("total_spent", "average_order_value", "refunded")
CONTACT_FIELDS: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "order_count",
    "cancelled_order_count",
    "first_order_at",
    "last_order_at",
    "last_order_id",
    "refund_count",
    "channels",
    "tags",
    "skus",
    "email_marketing",
    "sms_marketing",
    "erasure_key",
    *(f"{name}.<CURRENCY>" for name in _MONEY_FIELDS),
)
_MONEY_FIELD = re.compile(rf"^({'|'.join(_MONEY_FIELDS)})\.([A-Z]{{3}})$")


def is_contact_field(name: str) -> bool:
    """A profile field a CRM property can be mapped from (money fields name their currency)."""
    return (name in CONTACT_FIELDS and "<" not in name) or bool(_MONEY_FIELD.match(name))


def contact_value(profile: CustomerProfile, name: str) -> Any:
    """The value of one mappable field: str, int, bool, Decimal, datetime, a list of str, or None."""
    money = _MONEY_FIELD.match(name)
    if money:
        minor = getattr(profile, money.group(1)).get(money.group(2))
        return None if minor is None else Decimal(minor).scaleb(-exponent(money.group(2)))
    simple: dict[str, Any] = {
        "first_order_at": profile.first_order_at,
        "last_order_at": profile.last_order_at,
        "last_order_id": profile.last_order.order_id if profile.last_order else None,
        "channels": list(profile.channels),
        "tags": list(profile.tags),
        "skus": [p.sku for p in profile.products],
        "email_marketing": profile.email_marketing.subscribed,
        "sms_marketing": profile.sms_marketing.subscribed,
    }
    return simple[name] if name in simple else getattr(profile, name)
