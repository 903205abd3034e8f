"""Daily reports: what each order, checkout and customer contributes to which day. No I/O.

Each reported thing (an order, a checkout, a customer) keeps the set of facts known about it.
Its contribution to the daily counters is a pure function of those facts; the stored counters
are the sum of every contribution. A new fact changes one thing's facts, so the counters move by
the difference between its new and its old contribution. Merging facts is commutative and
idempotent (a set, or the earliest of several versions), so the counters come out the same
whatever order events arrive in and however often they are repeated, and a late event lands in
the day it belongs to.

Rules (docs/reporting.md):
- An order counts on its placement day (UTC), in its channel and currency: one order, its total
  as revenue, its units, and per SKU units and quantity x unit price. A cancelled order counts
  nothing, refunds included.
- Refunds count on the refund's day. The storefront and the gateway often both report one
  refund, so per order and currency the refunded amount up to a day is the larger of the two
  reports' running sums (as the order ledger does); a day counts what that adds.
- A checkout counts once, on the day it was first seen; it is completed once an order names it (or
  the storefront reports it completed), and counts as completed on that same first day, so that
  completed checkouts are a subset of started ones and their ratio (the conversion rate) lies
  between 0 and 1. Orders that name no tracked checkout do not count in the conversion rate.
- Per customer (the key of a normalised email), the first order that counts is a new customer's,
  every later one a returning customer's; an order placed within the attribution window after a
  marketing message to that customer is attributed to marketing, with its total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hub.domain.traffic import Traffic, session_figures
from hub.money import format_minor

__all__ = [
    "ATTRIBUTED_ORDERS",
    "ATTRIBUTED_REVENUE",
    "CHECKOUTS",
    "CHECKOUTS_COMPLETED",
    "MAX_REPORT_DAYS",
    "MESSAGES_SENT",
    "NEW_CUSTOMER_ORDERS",
    "ORDERS",
    "REFUNDS",
    "RETURNING_CUSTOMER_ORDERS",
    "REVENUE",
    "SKU_REVENUE",
    "SKU_UNITS",
    "UNITS",
    "Bucket",
    "BucketRow",
    "CheckoutFacts",
    "CheckoutStart",
    "Contribution",
    "CustomerFacts",
    "CustomerOrder",
    "Facts",
    "FactsWrite",
    "Message",
    "OrderFacts",
    "Placement",
    "Refund",
    "StoredFacts",
    "contribution_of",
    "daily_report",
    "day_of",
    "difference",
    "facts_from_json",
    "range_report",
    "refunded_total",
    "report_days",
    "stamp",
]

# Counter names, as stored.
ORDERS = "orders"
REVENUE = "revenue"
REFUNDS = "refunds"
UNITS = "units"
NEW_CUSTOMER_ORDERS = "new_customer_orders"
RETURNING_CUSTOMER_ORDERS = "returning_customer_orders"
ATTRIBUTED_ORDERS = "attributed_orders"
ATTRIBUTED_REVENUE = "attributed_revenue"
CHECKOUTS = "checkouts"
CHECKOUTS_COMPLETED = "checkouts_completed"
MESSAGES_SENT = "messages_sent"
SKU_UNITS = "sku_units#"
SKU_REVENUE = "sku_revenue#"

Bucket = tuple[str, str, str | None]  # (day YYYY-MM-DD, channel, currency; None for counts without money)
Contribution = dict[Bucket, dict[str, int]]


def stamp(moment: datetime) -> str:
    """A UTC instant as a fixed-width string, so stamps order as text as they do in time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_of(at: str) -> str:
    return at[:10]


def _moment(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _add(contribution: Contribution, bucket: Bucket, name: str, value: int) -> None:
    if value:
        counters = contribution.setdefault(bucket, {})
        counters[name] = counters.get(name, 0) + value


# ---------------------------------------------------------------------------------------- orders
@dataclass(frozen=True)
class Placement:
    event_id: str
    at: str
    channel: str
    currency: str
    total: int
    lines: tuple[tuple[str, int, int], ...]  # (sku, quantity, unit price in minor units)
    customer: str | None = None  # customer key, never an email

    def sort_key(self) -> tuple[str, str]:
        return self.at, self.event_id


@dataclass(frozen=True)
class Refund:
    origin: str  # storefront | gateway
    at: str
    amount: int
    currency: str
    channel: str


@dataclass(frozen=True)
class OrderFacts:
    kind = "order"
    order_id: str
    placement: Placement | None = None
    cancelled: bool = False
    refunds: Mapping[str, Refund] = field(default_factory=dict)  # "<origin>:<refund id>" -> refund

    @property
    def key(self) -> str:
        return self.order_id

    def with_placement(self, placement: Placement) -> OrderFacts:
        """Several placements of one order (a re-sent creation): the earliest is the order."""
        if self.placement is not None and self.placement.sort_key() <= placement.sort_key():
            return self
        return replace(self, placement=placement)

    def with_cancellation(self) -> OrderFacts:
        return self if self.cancelled else replace(self, cancelled=True)

    def with_refund(self, key: str, refund: Refund) -> OrderFacts:
        """One refund reported twice by the same origin (a re-sent webhook): the earliest report."""
        known = self.refunds.get(key)
        if known is not None and (known.at, known.amount) <= (refund.at, refund.amount):
            return self
        return replace(self, refunds={**self.refunds, key: refund})

    def customer_order(self) -> CustomerOrder | None:
        """What the order's customer needs to know of it (new/returning, attribution)."""
        p = self.placement
        if p is None or p.customer is None:
            return None
        return CustomerOrder(p.at, p.channel, p.currency, p.total, self.cancelled)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "order_id": self.order_id,
            "placement": asdict(self.placement) if self.placement else None,
            "cancelled": self.cancelled,
            "refunds": {k: asdict(r) for k, r in sorted(self.refunds.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderFacts:
        p = data.get("placement")
        placement = Placement(**{**p, "lines": tuple(tuple(line) for line in p["lines"])}) if p else None
        refunds = {k: Refund(**r) for k, r in data.get("refunds", {}).items()}
        return cls(data["order_id"], placement, bool(data.get("cancelled")), refunds)

    def contribution(self) -> Contribution:
        out: Contribution = {}
        if self.cancelled:
            return out
        p = self.placement
        if p is not None:
            bucket = (day_of(p.at), p.channel, p.currency)
            _add(out, bucket, ORDERS, 1)
            _add(out, bucket, REVENUE, p.total)
            for sku, quantity, unit_price in p.lines:
                _add(out, bucket, UNITS, quantity)
                _add(out, bucket, SKU_UNITS + sku, quantity)
                _add(out, bucket, SKU_REVENUE + sku, quantity * unit_price)
        channel = p.channel if p else min((r.channel for r in self.refunds.values()), default="")
        for currency in sorted({r.currency for r in self.refunds.values()}):
            for day, amount in _refunds_by_day(self.refunds.values(), currency):
                _add(out, (day, channel, currency), REFUNDS, amount)
        return out


def _refunds_by_day(refunds: Iterable[Refund], currency: str) -> list[tuple[str, int]]:
    """Per day, what the larger of the storefront's and the gateway's running refund sums adds."""
    per_day: dict[str, dict[str, int]] = {}
    for r in refunds:
        if r.currency == currency:
            origins = per_day.setdefault(day_of(r.at), {})
            origins[r.origin] = origins.get(r.origin, 0) + r.amount
    sums: dict[str, int] = {}
    counted = 0
    out = []
    for day in sorted(per_day):
        for origin, amount in per_day[day].items():
            sums[origin] = sums.get(origin, 0) + amount
        now = max(sums.values())
        if now != counted:
            out.append((day, now - counted))
            counted = now
    return out


def refunded_total(facts: OrderFacts, currency: str) -> int:
    """Everything refunded on an order in `currency`, counting a refund both origins reported once."""
    return sum(amount for _day, amount in _refunds_by_day(facts.refunds.values(), currency))


# ------------------------------------------------------------------------------------- checkouts
@dataclass(frozen=True)
class CheckoutStart:
    at: str
    event_id: str
    channel: str
    currency: str | None = None


@dataclass(frozen=True)
class CheckoutFacts:
    kind = "checkout"
    checkout_id: str
    first: CheckoutStart | None = None
    completed: bool = False  # an order named it, or the storefront reported it completed

    @property
    def key(self) -> str:
        return self.checkout_id

    def with_start(self, start: CheckoutStart) -> CheckoutFacts:
        """A checkout is reported on every change: it counts on the day it was first seen."""
        if self.first is not None and (self.first.at, self.first.event_id) <= (start.at, start.event_id):
            return self
        return replace(self, first=start)

    def with_completion(self) -> CheckoutFacts:
        """An order completed it (it may arrive before the checkout itself: it counts once both are known)."""
        return self if self.completed else replace(self, completed=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "checkout_id": self.checkout_id,
            "first": asdict(self.first) if self.first else None,
            "completed": self.completed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckoutFacts:
        first = data.get("first")
        return cls(data["checkout_id"], CheckoutStart(**first) if first else None, bool(data.get("completed")))

    def contribution(self) -> Contribution:
        out: Contribution = {}
        if self.first is not None:
            # Completed on the day it started: of the checkouts started that day, how many completed.
            bucket = (day_of(self.first.at), self.first.channel, None)
            _add(out, bucket, CHECKOUTS, 1)
            _add(out, bucket, CHECKOUTS_COMPLETED, 1 if self.completed else 0)
        return out


# ------------------------------------------------------------------------------------- customers
@dataclass(frozen=True)
class CustomerOrder:
    at: str
    channel: str
    currency: str
    total: int
    cancelled: bool = False

    def merged(self, other: CustomerOrder) -> CustomerOrder:
        """Both describe one order: its earliest placement, cancelled if either says so."""
        base = min(self, other, key=lambda o: (o.at, o.channel, o.currency, o.total))
        return replace(base, cancelled=self.cancelled or other.cancelled)


@dataclass(frozen=True)
class Message:
    at: str
    channel: str  # the storefront channel the message was about


@dataclass(frozen=True)
class CustomerFacts:
    kind = "customer"
    customer: str  # the customer key
    window_days: int = 7
    orders: Mapping[str, CustomerOrder] = field(default_factory=dict)
    messages: Mapping[str, Message] = field(default_factory=dict)  # event id -> message

    @property
    def key(self) -> str:
        return self.customer

    def with_order(self, order_id: str, order: CustomerOrder) -> CustomerFacts:
        known = self.orders.get(order_id)
        merged = order if known is None else known.merged(order)
        return self if merged == known else replace(self, orders={**self.orders, order_id: merged})

    def with_message(self, event_id: str, message: Message) -> CustomerFacts:
        if event_id in self.messages:
            return self
        return replace(self, messages={**self.messages, event_id: message})

    def with_window(self, days: int) -> CustomerFacts:
        return self if days == self.window_days else replace(self, window_days=days)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "customer": self.customer,
            "window_days": self.window_days,
            "orders": {k: asdict(o) for k, o in sorted(self.orders.items())},
            "messages": {k: asdict(m) for k, m in sorted(self.messages.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomerFacts:
        return cls(
            data["customer"],
            int(data.get("window_days", 7)),
            {k: CustomerOrder(**o) for k, o in data.get("orders", {}).items()},
            {k: Message(**m) for k, m in data.get("messages", {}).items()},
        )

    def contribution(self) -> Contribution:
        out: Contribution = {}
        window = timedelta(days=self.window_days)
        sent = sorted(_moment(m.at) for m in self.messages.values())
        counting = sorted((o.at, order_id, o) for order_id, o in self.orders.items() if not o.cancelled)
        for index, (at, _order_id, order) in enumerate(counting):
            bucket = (day_of(at), order.channel, order.currency)
            _add(out, bucket, NEW_CUSTOMER_ORDERS if index == 0 else RETURNING_CUSTOMER_ORDERS, 1)
            placed = _moment(at)
            if any(s <= placed <= s + window for s in sent):
                _add(out, bucket, ATTRIBUTED_ORDERS, 1)
                _add(out, bucket, ATTRIBUTED_REVENUE, order.total)
        for message in self.messages.values():
            _add(out, (day_of(message.at), message.channel, None), MESSAGES_SENT, 1)
        return out


Facts = OrderFacts | CheckoutFacts | CustomerFacts
_KINDS: dict[str, type[OrderFacts] | type[CheckoutFacts] | type[CustomerFacts]] = {
    "order": OrderFacts,
    "checkout": CheckoutFacts,
    "customer": CustomerFacts,
}


def facts_from_json(data: Mapping[str, Any]) -> Facts:
    return _KINDS[data["kind"]].from_json(data)


def contribution_of(facts: Facts | None) -> Contribution:
    return facts.contribution() if facts is not None else {}


def difference(old: Contribution, new: Contribution) -> Contribution:
    """new - old, per bucket and counter, without zeros."""
    out: Contribution = {}
    for bucket in old.keys() | new.keys():
        before, after = old.get(bucket, {}), new.get(bucket, {})
        for name in before.keys() | after.keys():
            _add(out, bucket, name, after.get(name, 0) - before.get(name, 0))
    return out


# ---------------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class BucketRow:
    """One day's counters for one channel and currency (currency None: checkouts and messages)."""

    channel: str
    currency: str | None
    counters: Mapping[str, int]


_MONEY_COUNTERS = (
    ORDERS,
    REVENUE,
    REFUNDS,
    UNITS,
    NEW_CUSTOMER_ORDERS,
    RETURNING_CUSTOMER_ORDERS,
    ATTRIBUTED_ORDERS,
    ATTRIBUTED_REVENUE,
)


def _ratio(numerator: int, denominator: int) -> str | None:
    if denominator <= 0:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def _average(total: int, count: int) -> int | None:
    if count <= 0:
        return None
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _currency_view(currency: str, counters: Mapping[str, int], top: int) -> dict[str, Any]:
    def money(minor: int | None) -> str | None:
        return None if minor is None else format_minor(minor, currency)

    c = {name: counters.get(name, 0) for name in _MONEY_COUNTERS}
    skus = [
        (name[len(SKU_UNITS) :], units) for name, units in counters.items() if name.startswith(SKU_UNITS) and units > 0
    ]
    revenue_of = {sku: counters.get(SKU_REVENUE + sku, 0) for sku, _units in skus}
    skus.sort(key=lambda item: (-item[1], -revenue_of[item[0]], item[0]))
    return {
        "currency": currency,
        "orders": c[ORDERS],
        "revenue": money(c[REVENUE]),
        "refunds": money(c[REFUNDS]),
        "net_revenue": money(c[REVENUE] - c[REFUNDS]),
        "average_order_value": money(_average(c[REVENUE], c[ORDERS])),
        "units": c[UNITS],
        "new_customer_orders": c[NEW_CUSTOMER_ORDERS],
        "returning_customer_orders": c[RETURNING_CUSTOMER_ORDERS],
        "attributed_orders": c[ATTRIBUTED_ORDERS],
        "attributed_revenue": money(c[ATTRIBUTED_REVENUE]),
        "top_skus": [{"sku": sku, "units": units, "revenue": money(revenue_of[sku])} for sku, units in skus[:top]],
    }


def _summary(rows: Iterable[BucketRow], top: int) -> dict[str, Any] | None:
    per_currency: dict[str, dict[str, int]] = {}
    plain: dict[str, int] = {}
    for row in rows:
        target = plain if row.currency is None else per_currency.setdefault(row.currency, {})
        for name, value in row.counters.items():
            target[name] = target.get(name, 0) + value
    currencies = [
        _currency_view(currency, counters, top)
        for currency, counters in sorted(per_currency.items())
        if any(counters.values())
    ]
    if not currencies and not any(plain.values()):
        return None
    checkouts = plain.get(CHECKOUTS, 0)
    completed = plain.get(CHECKOUTS_COMPLETED, 0)
    return {
        "orders": sum(c["orders"] for c in currencies),
        "units": sum(c["units"] for c in currencies),
        "checkouts_started": checkouts,
        "checkouts_completed": completed,
        "conversion_rate": _ratio(completed, checkouts),
        "marketing_messages_sent": plain.get(MESSAGES_SENT, 0),
        "currencies": currencies,
    }


_EMPTY_SUMMARY: dict[str, Any] = {
    "orders": 0,
    "units": 0,
    "checkouts_started": 0,
    "checkouts_completed": 0,
    "conversion_rate": None,
    "marketing_messages_sent": 0,
    "currencies": [],
}


def daily_report(
    day: str,
    rows: Iterable[BucketRow],
    *,
    window_days: int,
    channel: str | None = None,
    top: int = 10,
    traffic: Traffic | None = None,
) -> dict[str, Any]:
    """The JSON of GET /reports/daily: per channel (and currency within it), and totals per currency;
    with `traffic`, each channel's and the totals' sessions, users and session conversion rate
    (hub.domain.traffic), a channel with sessions and no orders included."""
    report = _plain_daily(day, rows, window_days=window_days, channel=channel, top=top)
    if traffic is not None:
        _add_traffic(report, traffic, [day], {(day, c["channel"]): c["orders"] for c in report["channels"]}, channel)
    return report


def _plain_daily(
    day: str, rows: Iterable[BucketRow], *, window_days: int, channel: str | None, top: int
) -> dict[str, Any]:
    selected = [r for r in rows if channel is None or r.channel == channel]
    channels = []
    for name in sorted({r.channel for r in selected}):
        summary = _summary((r for r in selected if r.channel == name), top)
        if summary is not None:
            channels.append({"channel": name, **summary})
    return {
        "date": day,
        "timezone": "UTC",
        "channel": channel,
        "attribution_window_days": window_days,
        "channels": channels,
        "totals": _summary(selected, top) or dict(_EMPTY_SUMMARY),
    }


def _add_traffic(
    report: dict[str, Any],
    traffic: Traffic,
    days: Sequence[str],
    orders: Mapping[tuple[str, str], int],
    channel: str | None,
) -> None:
    """Add the traffic figures to a report's channels and totals (in place); a channel with sessions
    but nothing else reported gets a row of its own."""
    listed = {c["channel"] for c in report["channels"]}
    extra = {ch for ch in traffic.channels_with_sessions(days) if channel in (None, ch)} - listed
    if extra:
        report["channels"] = sorted(
            [*report["channels"], *({"channel": ch, **_EMPTY_SUMMARY} for ch in extra)], key=lambda c: c["channel"]
        )
    for row in report["channels"]:
        row.update(session_figures(traffic, row["channel"], days, orders))
    report["totals"].update(session_figures(traffic, channel, days, orders))


# A report over a range reads each day's items; as the orders list, a range spans at most 92 days.
MAX_REPORT_DAYS = 92


def report_days(first: date, last: date) -> list[date]:
    """Every UTC day from `first` to `last`, both included; ValueError for a range backwards or
    longer than MAX_REPORT_DAYS."""
    if last < first:
        raise ValueError("the range of days ends before it starts; write the earlier day first")
    span = (last - first).days + 1
    if span > MAX_REPORT_DAYS:
        raise ValueError(f"a report spans at most {MAX_REPORT_DAYS} days; this range has {span}")
    return [first + timedelta(days=n) for n in range(span)]


def range_report(
    first: date,
    last: date,
    rows_by_day: Mapping[str, Sequence[BucketRow]],
    *,
    window_days: int,
    channel: str | None = None,
    top: int = 10,
    traffic: Traffic | None = None,
) -> dict[str, Any]:
    """The report of every day from `first` to `last` (each as GET /reports/daily?date= answers it,
    a day without events included, with no channels), and the whole range's `channels` and `totals`
    figured from the range's counters summed, as one day's are: its AOV, conversion rate and top
    SKUs are the range's own, not sums or averages of the days'."""
    days = report_days(first, last)
    reports = [
        daily_report(
            day.isoformat(),
            rows_by_day.get(day.isoformat(), ()),
            window_days=window_days,
            channel=channel,
            top=top,
            traffic=traffic,
        )
        for day in days
    ]
    every = [row for day in days for row in rows_by_day.get(day.isoformat(), ())]
    whole = _plain_daily(first.isoformat(), every, window_days=window_days, channel=channel, top=top)
    if traffic is not None:
        orders = {(r["date"], c["channel"]): c["orders"] for r in reports for c in r["channels"]}
        _add_traffic(whole, traffic, [d.isoformat() for d in days], orders, channel)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": "UTC",
        "channel": channel,
        "attribution_window_days": window_days,
        "days": reports,
        "channels": whole["channels"],
        "totals": whole["totals"],
    }


@dataclass(frozen=True)
class StoredFacts:
    facts: Facts
    contribution: Contribution  # what these facts have added to the counters so far
    version: int


@dataclass(frozen=True)
class FactsWrite:
    """New facts to store: their contribution, the version they were read at (None: not stored yet)
    and what they add to the daily counters."""

    facts: Facts
    contribution: Contribution
    expected_version: int | None
    delta: Contribution
