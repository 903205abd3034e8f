"""reporting's use case: each event becomes a fact about an order, a checkout or a customer, and the
daily counters move by what that fact changes (hub.domain.reporting); purchases and refunds are
then forwarded to the analytics destinations that are configured (hub.services.analytics).

Every write is conditional on the version the facts were read at, and carries the counter
changes in the same transaction, so concurrent consumers and redeliveries never count twice.
An order's facts are copied to its customer's (the customer key, never the email: the erasure key,
keyed with the deployment's salt, hub.domain.pii.customer_key): both are read together and written
together, each on its version, with the sum of their counter changes (the store writes them one
after the other only when they do not fit in one transaction). Both copies only ever grow, so
whichever writer comes second sees the other's facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from hub.config import HubConfig
from hub.domain.analytics import Contact, Purchase, RefundMade
from hub.domain.payments import order_id_for
from hub.domain.pii import customer_key
from hub.domain.reporting import (
    CheckoutFacts,
    CheckoutStart,
    Contribution,
    CustomerFacts,
    Facts,
    FactsWrite,
    Message,
    OrderFacts,
    Placement,
    Refund,
    StoredFacts,
    daily_report,
    difference,
    range_report,
    report_days,
    stamp,
)
from hub.domain.traffic import Traffic
from hub.errors import BadRequestError, ReportConflictError
from hub.events import (
    CheckoutStarted,
    HubEvent,
    MarketingMessageSent,
    OrderPlaced,
    OrderStatusChanged,
    PaymentRefunded,
    RefundIssued,
)
from hub.ports import ReportStore, TrafficStore
from hub.services.analytics import AnalyticsForwarder

__all__ = ["ReportChange", "ReportingService"]

_MAX_ATTEMPTS = 8
_COMPLETED = ("completed", "succeeded")

_F = TypeVar("_F", bound=Facts)


def _held(empty: _F, stored: StoredFacts | None) -> _F:
    """The facts stored for `empty`'s kind and key, else `empty` itself."""
    if stored is None:
        return empty
    # The store decodes each item by the kind it is kept under (facts_from_json), so what is read
    # for a kind is always that kind's class.
    assert isinstance(stored.facts, type(empty))
    return stored.facts


@dataclass
class ReportChange:
    """What one event did: `delta` is the change to the daily counters of its order or checkout."""

    outcome: str  # applied | duplicate | ignored
    delta: Contribution = field(default_factory=dict)
    forwarded: list[str] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReportingService:
    def __init__(
        self,
        store: ReportStore,
        config: Callable[[], HubConfig],
        forwarder: AnalyticsForwarder | None = None,
        salt: Callable[[], str] | None = None,
        traffic: TrafficStore | None = None,
    ) -> None:
        """`salt` is the erasure key salt (the same for every function of the deployment); only the
        report's reader (daily) may go without it. `traffic` is where the website traffic is kept
        (the reader's); without it the report says traffic is unavailable."""
        self._store = store
        self._traffic = traffic
        self._config = config
        self._forwarder = forwarder
        self._salt = salt

    def _key(self, email_or_key: str | None) -> str | None:
        if not email_or_key:
            return None
        if self._salt is None:
            raise RuntimeError("ReportingService was built without the salt that keys customers")
        return customer_key(email_or_key, self._salt())

    # ------------------------------------------------------------------ events
    def handle(self, event: HubEvent) -> ReportChange:
        if isinstance(event, OrderPlaced):
            return self._placed(event)
        if isinstance(event, OrderStatusChanged) and event.data.status == "cancelled":
            _, delta = self._update_order(OrderFacts(event.data.order_id), lambda f: f.with_cancellation())
            return ReportChange("applied" if delta else "duplicate", delta)
        if isinstance(event, RefundIssued | PaymentRefunded):
            return self._refund(event)
        if isinstance(event, CheckoutStarted):
            start = CheckoutStart(stamp(event.occurred_at), event.event_id, event.channel, _upper(event.data.currency))
            done = event.data.completed
            _, delta = self._update(
                CheckoutFacts(event.data.checkout_id),
                lambda f: f.with_start(start).with_completion() if done else f.with_start(start),
            )
            return ReportChange("applied" if delta else "duplicate", delta)
        if isinstance(event, MarketingMessageSent):
            key = self._key(event.data.customer)
            if key is None:
                return ReportChange("ignored")
            message = Message(stamp(event.data.sent_at), event.channel)
            _, delta = self._update(
                CustomerFacts(key, self._window()),
                lambda f: f.with_window(self._window()).with_message(event.event_id, message),
            )
            return ReportChange("applied" if delta else "duplicate")
        return ReportChange("ignored")

    def _placed(self, event: OrderPlaced) -> ReportChange:
        data = event.data
        placement = Placement(
            event_id=event.event_id,
            at=stamp(event.occurred_at),
            channel=event.channel,
            currency=data.currency.upper(),
            total=data.total,
            lines=tuple((line.sku, line.quantity, line.unit_price) for line in data.lines),
            customer=self._key(data.customer_email),
        )
        facts, delta = self._update_order(
            OrderFacts(data.order_id), lambda f: f.with_placement(placement), customer=placement.customer
        )
        if data.checkout_id:
            # The order completed a checkout; it counts in the conversion rate once the checkout is known.
            self._update(CheckoutFacts(data.checkout_id), lambda f: f.with_completion())
        change = ReportChange("applied" if delta else "duplicate", delta)
        if self._forwarder is not None and not facts.cancelled:
            change.forwarded = self._forwarder.purchase(_purchase(event, placement.customer))
        return change

    def _refund(self, event: RefundIssued | PaymentRefunded) -> ReportChange:
        data = event.data
        if isinstance(event, RefundIssued):
            order_id, key, origin = event.data.order_id, f"storefront:{data.refund_id}", "storefront"
        else:
            if (event.data.status or "completed").lower() not in _COMPLETED:
                return ReportChange("ignored")
            ref = event.data.reference
            found = order_id_for(
                event.channel, ref.order_id, ref.invoice_id, self._config().invoice_prefix(event.data.gateway)
            )
            # A refund that names no order still moved money: it counts under its payment.
            order_id = found or f"{event.channel}:unmatched-payment:{event.data.gateway}:{event.data.payment_id}"
            key, origin = f"{event.data.gateway}:{data.refund_id}", "gateway"
        if data.amount <= 0 or not data.currency:
            return ReportChange("ignored")
        refund = Refund(origin, stamp(event.occurred_at), data.amount, data.currency.upper(), event.channel)
        facts, delta = self._update(OrderFacts(order_id), lambda f: f.with_refund(key, refund))
        change = ReportChange("applied" if delta else "duplicate", delta)
        if self._forwarder is not None:
            change.forwarded = self._forwarder.refunds(facts, refund.currency, _refund_made(facts, event))
        return change

    def _update_order(
        self, empty: OrderFacts, change: Callable[[OrderFacts], OrderFacts], customer: str | None = None
    ) -> tuple[OrderFacts, Contribution]:
        """Apply one fact to an order's facts and copy the order to its customer's facts, both read
        in one request and written in one (see the module docstring); the order's counter change.

        `customer` is the customer the order is expected to name, read with it; an order that names
        another (or a change that names none, a cancellation) has its customer's facts read after."""
        for _attempt in range(_MAX_ATTEMPTS):
            window = self._window()
            wanted = [(empty.kind, empty.key)] + ([("customer", customer)] if customer else [])
            stored = self._store.load_many(wanted)
            order = stored.get((empty.kind, empty.key))
            current = _held(empty, order)
            new = change(current)
            writes: list[FactsWrite] = []
            delta: Contribution = {}
            if new != current:
                delta = self._write(writes, new, order)
            summary = new.customer_order()
            who = new.placement.customer if new.placement else None
            if summary is not None and who is not None:
                kept = stored.get(("customer", who)) if who == customer else self._store.load("customer", who)
                before = _held(CustomerFacts(who, window), kept)
                after = before.with_window(window).with_order(new.order_id, summary)
                if after != before:
                    self._write(writes, after, kept)
            if not writes:
                return new, {}
            try:
                self._store.save_all(writes)
            except ReportConflictError:
                continue
            return new, delta
        raise ReportConflictError(f"order {empty.key}: kept changing over {_MAX_ATTEMPTS} attempts")

    @staticmethod
    def _write(writes: list[FactsWrite], new: Facts, stored: StoredFacts | None) -> Contribution:
        after = new.contribution()
        delta = difference(stored.contribution if stored else {}, after)
        writes.append(FactsWrite(new, after, stored.version if stored else None, delta))
        return delta

    def _window(self) -> int:
        return self._config().analytics.attribution_window_days

    def _update(self, empty: _F, change: Callable[[_F], _F]) -> tuple[_F, Contribution]:
        """Apply one fact to the stored facts of `empty.key`; the counter change it made (empty: none)."""
        for _attempt in range(_MAX_ATTEMPTS):
            stored = self._store.load(empty.kind, empty.key)
            current = _held(empty, stored)
            new = change(current)
            if new == current:
                return new, {}
            before = stored.contribution if stored else {}
            after = new.contribution()
            delta = difference(before, after)
            try:
                self._store.save(new, after, stored.version if stored else None, delta)
            except ReportConflictError:
                continue
            return new, delta
        raise ReportConflictError(f"{empty.kind} {empty.key}: kept changing over {_MAX_ATTEMPTS} attempts")

    # ------------------------------------------------------------------ the report
    def daily(self, day: date, channel: str | None = None) -> dict[str, Any]:
        rows = self._store.day(day.isoformat())
        traffic = self._traffic_of([day.isoformat()])
        return daily_report(day.isoformat(), rows, window_days=self._window(), channel=channel, traffic=traffic)

    def between(self, first: date, last: date, channel: str | None = None) -> dict[str, Any]:
        """The report of each day from `first` to `last` and of the whole range (range_report), read
        in one go; a range backwards or over MAX_REPORT_DAYS is a BadRequestError saying so."""
        try:
            days = [day.isoformat() for day in report_days(first, last)]
        except ValueError as exc:
            raise BadRequestError(str(exc)) from exc
        rows = self._store.days(days)
        traffic = self._traffic_of(days)
        return range_report(first, last, rows, window_days=self._window(), channel=channel, traffic=traffic)

    def _traffic_of(self, days: list[str]) -> Traffic:
        """The traffic of `days`; read only when traffic is configured (else: not configured, no read)."""
        configured = self._config().analytics.traffic
        if configured is None or self._traffic is None:
            return Traffic()
        return Traffic(frozenset(configured.ga4.properties), self._traffic.read(days))


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


def _purchase(event: OrderPlaced, customer: str | None) -> Purchase:
    data = event.data
    address = data.shipping_address
    name = address.name if address else None
    return Purchase(
        order_id=data.order_id,
        platform_order_id=data.platform_order_id,
        channel=event.channel,
        currency=data.currency.upper(),
        total=data.total,
        lines=tuple((line.sku, line.quantity, line.unit_price, line.title) for line in data.lines),
        at=event.occurred_at,
        customer=customer,
        contact=Contact(
            email=data.customer_email,
            phone=address.phone if address else None,
            name=name,
            city=address.city if address else None,
            state=address.state if address else None,
            postal_code=address.postal_code if address else None,
            country=(address.country if address and address.country else data.shipping_country),
        ),
    )


def _refund_made(facts: OrderFacts, event: RefundIssued | PaymentRefunded) -> RefundMade:
    """The refund to forward; the storefront's report names the refunded lines (a gateway's does not)."""
    items: tuple[tuple[str, int, int | None], ...] = ()
    if isinstance(event, RefundIssued):
        prices = {sku: price for sku, _quantity, price in facts.placement.lines} if facts.placement else {}
        items = tuple(
            (line.sku, line.quantity, prices.get(line.sku))
            for line in event.data.lines
            if line.sku and line.quantity > 0
        )
    return RefundMade(
        order_id=facts.order_id,
        platform_order_id=facts.order_id.split(":", 1)[-1],
        at=event.occurred_at,
        customer=facts.placement.customer if facts.placement else None,
        items=items,
    )
