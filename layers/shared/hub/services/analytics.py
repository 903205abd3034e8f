"""Purchases and refunds forwarded to GA4 (Measurement Protocol) and Meta (Conversions API), once each.

Each destination keeps a sent marker per order: `purchase` once sent, and for refunds the total
refunded so far, so a refund reported by both the storefront and the gateway, or redelivered, is
forwarded once, and a later partial refund forwards only what it adds. The marker is written
after the call succeeds; a call that fails raises, which fails the SQS record (retried, then
dead-lettered). The vendors' own deduplication (Meta's event_id, GA4's transaction_id) covers
the moment between a successful call and its marker.

GA4 counts a `refund` event without `items` as a full refund of the transaction, so a refund that
does not give back the whole order at once carries the refunded items (the storefront's refund
lines). A partial refund whose lines are not known yet (the gateway reported it first) is not sent
to GA4 and leaves no marker (`NotYet`), so the storefront's report of the same refund, which names
the lines, forwards it.

The request bodies are built here, from the hub's facts; personal data goes out only normalised
and SHA-256 hashed (Meta) or not at all (GA4), and is never logged. The customer key (the salted
erasure key) seeds GA4's client id and, hashed, is Meta's `external_id`; Meta's SHA-256 of the email is made
from the event's email while the purchase is sent and is never stored, so a refund, built from the
stored facts, matches by `external_id`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from hub.domain.lineage import Call, CallResult, LineageEntry
from hub.domain.pii import hashed, is_sha256, split_name
from hub.domain.reporting import OrderFacts, refunded_total
from hub.money import format_minor
from hub.services.lineage import LineageRecorder, failure_detail

__all__ = [
    "META_MAX_AGE",
    "AnalyticsForwarder",
    "AnalyticsSink",
    "Contact",
    "Ga4Sink",
    "JsonSender",
    "MetaSink",
    "NotYet",
    "Purchase",
    "RefundMade",
    "SentMarker",
    "SentMarkers",
    "ga4_client_id",
    "ga4_purchase",
    "ga4_refund",
    "meta_purchase",
    "meta_refund",
    "meta_user_data",
]

GA4_MAX_AGE = timedelta(hours=72)  # older events are sent without timestamp_micros (GA4 rejects them)
META_MAX_AGE = timedelta(days=7)  # Meta rejects the whole request when an event_time is older


@dataclass(frozen=True)
class Contact:
    """Personal data, kept in memory only while a request is built."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def __repr__(self) -> str:  # never print personal data, even by accident
        return "Contact(<redacted>)"


@dataclass(frozen=True)
class Purchase:
    order_id: str
    platform_order_id: str
    channel: str
    currency: str
    total: int
    lines: tuple[tuple[str, int, int, str | None], ...]  # sku, quantity, unit price, title
    at: datetime
    customer: str | None = None  # customer key
    contact: Contact = Contact()


@dataclass(frozen=True)
class RefundMade:
    order_id: str
    platform_order_id: str
    at: datetime
    customer: str | None = None
    currency: str = ""
    amount: int = 0  # what this forward adds
    total_refunded: int = 0
    items: tuple[tuple[str, int, int | None], ...] = ()  # refunded sku, quantity, unit price (if known)
    whole_order: bool = False  # this forward gives back the whole order at once


class NotYet(str):
    """A sink's reason for not sending a refund *yet*: no marker is written, a later report retries."""


@dataclass(frozen=True)
class SentMarker:
    total: int
    note: str | None = None


class SentMarkers(Protocol):
    def sent(self, destination: str, order_id: str, what: str) -> SentMarker | None:
        """The marker of what was forwarded, or None."""

    def mark_sent(
        self, destination: str, order_id: str, what: str, *, previous: SentMarker | None, total: int, note: str | None
    ) -> bool:
        """Record what was forwarded, if the marker is still `previous`; False when it was not."""


class AnalyticsSink(Protocol):
    name: str

    def purchase(self, purchase: Purchase) -> str | None:
        """Forward a purchase; None when sent, else why it was not (the marker keeps the reason)."""

    def refund(self, refund: RefundMade) -> str | None:
        """Forward a refund (amount: what it adds); None when sent, else why not (`NotYet`: not yet)."""


class AnalyticsForwarder:
    def __init__(
        self,
        markers: SentMarkers,
        sinks: Callable[[], Sequence[AnalyticsSink]],
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._markers = markers
        self._sinks = sinks
        self._lineage = lineage or LineageRecorder(None)

    def purchase(self, purchase: Purchase) -> list[str]:
        """Forward to every destination that has not had it yet; the destinations it was sent to."""
        sent = []
        with self._calls(purchase.order_id, "purchase") as done:
            for sink in self._sinks():
                if self._markers.sent(sink.name, purchase.order_id, "purchase") is not None:
                    continue
                done.sink = sink.name
                skipped = sink.purchase(purchase)
                self._markers.mark_sent(
                    sink.name, purchase.order_id, "purchase", previous=None, total=purchase.total, note=skipped
                )
                done.finished(sink.name, skipped)
                if skipped is None:
                    sent.append(sink.name)
        return sent

    @contextmanager
    def _calls(self, order_id: str, what: str) -> Iterator[_Calls]:
        """The order's lineage of one forwarding: each destination sent or skipped, and the one whose
        call failed (the record is retried), in one write."""
        calls = _Calls(self._lineage, order_id, what)
        try:
            yield calls
        except Exception as exc:
            if calls.sink:
                calls.failed(exc)
            self._lineage.record(calls.entries)
            raise
        self._lineage.record(calls.entries)

    def refunds(self, facts: OrderFacts, currency: str, refund: RefundMade) -> list[str]:
        """Forward what the order's refunds add to what each destination was told so far."""
        order_currency = facts.placement.currency if facts.placement else currency
        if currency != order_currency:
            return []
        target = refunded_total(facts, currency)
        sent = []
        with self._calls(facts.order_id, "refund") as done:
            for sink in self._sinks():
                marker = self._markers.sent(sink.name, facts.order_id, "refund")
                told = marker.total if marker else 0
                if target <= told:
                    continue
                whole = facts.placement is not None and told == 0 and target >= facts.placement.total
                made = replace(
                    refund, currency=currency, amount=target - told, total_refunded=target, whole_order=whole
                )
                done.sink = sink.name
                skipped = sink.refund(made)
                if isinstance(skipped, NotYet):
                    done.sink = None
                    continue
                self._markers.mark_sent(
                    sink.name, facts.order_id, "refund", previous=marker, total=target, note=skipped
                )
                done.finished(sink.name, skipped)
                if skipped is None:
                    sent.append(sink.name)
        return sent


class _Calls:
    """What one forwarding did at each destination, as lineage entries."""

    def __init__(self, lineage: LineageRecorder, order_id: str, what: str) -> None:
        self._lineage = lineage
        self._order_id = order_id
        self._what = what
        self.sink: str | None = None  # the destination being called
        self.entries: list[LineageEntry] = []

    def finished(self, sink: str, skipped: str | None) -> None:
        result = CallResult.OK if skipped is None else CallResult.SKIPPED
        detail = f"{self._what} sent" if skipped is None else f"{self._what} not sent: {skipped}"
        self.entries.append(
            self._lineage.call_entry(self._order_id, Call.ANALYTICS, result, system=sink, detail=detail)
        )
        self.sink = None

    def failed(self, exc: BaseException) -> None:
        detail = f"{self._what}: retried later: {failure_detail(exc)}"
        self.entries.append(
            self._lineage.call_entry(self._order_id, Call.ANALYTICS, CallResult.FAILED, system=self.sink, detail=detail)
        )


# --------------------------------------------------------------------------------- request bodies
def _amount(minor: int, currency: str) -> float:
    """A JSON number for the vendors; the shortest float repr of a decimal amount is that decimal."""
    return float(Decimal(format_minor(minor, currency)))


def _micros(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def ga4_client_id(customer: str | None, order_id: str) -> str:
    """A stable pseudonymous client id (GA4 needs one; the shopper's _ga cookie is not in webhooks).

    Seeded by the customer key's hex digits (a key of an earlier version is a bare hex digest)."""
    seed = customer.removeprefix("ck_") if customer else hashlib.sha256(order_id.encode()).hexdigest()
    return f"{int(seed[:8], 16)}.{int(seed[8:16], 16)}"


def _ga4_envelope(customer: str | None, order_id: str, at: datetime, now: datetime, event: dict) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": ga4_client_id(customer, order_id)}
    if now - at <= GA4_MAX_AGE:
        body["timestamp_micros"] = _micros(at)
    body["events"] = [event]
    return body


def ga4_purchase(purchase: Purchase, now: datetime) -> dict[str, Any]:
    items = []
    for sku, quantity, unit_price, title in purchase.lines[:200]:
        item: dict[str, Any] = {"item_id": sku}
        if title:
            item["item_name"] = title
        item.update(price=_amount(unit_price, purchase.currency), quantity=quantity)
        items.append(item)
    params = {
        "transaction_id": purchase.platform_order_id,
        "value": _amount(purchase.total, purchase.currency),
        "currency": purchase.currency,
        "affiliation": purchase.channel,
        "items": items,
    }
    return _ga4_envelope(purchase.customer, purchase.order_id, purchase.at, now, {"name": "purchase", "params": params})


def ga4_refund(refund: RefundMade, now: datetime) -> dict[str, Any]:
    """GA4's `refund`: without items it refunds the whole transaction, so a partial one lists them
    (developers.google.com/analytics/devguides/collection/ga4/reference/events#refund)."""
    params: dict[str, Any] = {
        "transaction_id": refund.platform_order_id,
        "value": _amount(refund.amount, refund.currency),
        "currency": refund.currency,
    }
    if not refund.whole_order and refund.items:
        items = []
        for sku, quantity, unit_price in refund.items[:200]:
            item: dict[str, Any] = {"item_id": sku, "quantity": quantity}
            if unit_price is not None:
                item["price"] = _amount(unit_price, refund.currency)
            items.append(item)
        params["items"] = items
    return _ga4_envelope(refund.customer, refund.order_id, refund.at, now, {"name": "refund", "params": params})


def _customer_ids(customer: str | None) -> dict[str, list[str]]:
    """Meta's `external_id`: the SHA-256 of the customer key (Meta asks for it hashed; the key is
    already a keyed pseudonym). The key of an order placed before keys were salted is the SHA-256
    of its email, which is what that order's purchase sent Meta as `em`, so it goes as `em`."""
    if not customer:
        return {}
    if is_sha256(customer):
        return {"em": [customer]}
    return {"external_id": [hashlib.sha256(customer.encode()).hexdigest()]}


def meta_user_data(contact: Contact, customer: str | None = None) -> dict[str, list[str]]:
    """Meta's customer information parameters, each normalised and SHA-256 hashed, and the customer key."""
    first, last = split_name(contact.name)
    country = contact.country
    values = {
        "em": hashed("em", contact.email),
        "ph": hashed("ph", contact.phone),
        "fn": hashed("fn", first),
        "ln": hashed("ln", last),
        "ct": hashed("ct", contact.city),
        "st": hashed("st", contact.state),
        "zp": hashed("zp", contact.postal_code, country=country),
        "country": hashed("country", country),
    }
    data = {name: [value] for name, value in values.items() if value}
    return {**_customer_ids(customer), **data}


def _meta_event(name: str, event_id: str, at: datetime, action_source: str, user_data: dict, custom: dict) -> dict:
    return {
        "event_name": name,
        "event_time": int(at.timestamp()),
        "event_id": event_id,
        "action_source": action_source,
        "user_data": user_data,
        "custom_data": custom,
    }


def _meta_body(event: dict, test_event_code: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": [event]}
    if test_event_code:
        body["test_event_code"] = test_event_code
    return body


def meta_purchase(purchase: Purchase, *, action_source: str, test_event_code: str | None = None) -> dict[str, Any]:
    """Purchase with event_id = the storefront's order id, as the browser pixel sends it."""
    custom = {
        "currency": purchase.currency,
        "value": _amount(purchase.total, purchase.currency),
        "order_id": purchase.platform_order_id,
        "content_type": "product",
        "contents": [
            {"id": sku, "quantity": quantity, "item_price": _amount(unit_price, purchase.currency)}
            for sku, quantity, unit_price, _title in purchase.lines
        ],
        "num_items": sum(quantity for _sku, quantity, _price, _title in purchase.lines),
    }
    user_data = meta_user_data(purchase.contact, purchase.customer)
    event = _meta_event("Purchase", purchase.platform_order_id, purchase.at, action_source, user_data, custom)
    return _meta_body(event, test_event_code)


def meta_refund(refund: RefundMade, *, action_source: str, test_event_code: str | None = None) -> dict[str, Any]:
    """A custom `Refund` event; its id names the order and the refunded total it brings the order to."""
    custom = {
        "currency": refund.currency,
        "value": _amount(refund.amount, refund.currency),
        "order_id": refund.platform_order_id,
    }
    user_data = _customer_ids(refund.customer)
    event_id = f"{refund.platform_order_id}:refund:{refund.total_refunded}"
    event = _meta_event("Refund", event_id, refund.at, action_source, user_data, custom)
    return _meta_body(event, test_event_code)


# ------------------------------------------------------------------------------------------ sinks
class JsonSender(Protocol):
    def send(self, body: dict[str, Any]) -> None:
        """POST the body; raises OutboundError when the API refuses it after every retry."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Ga4Sink:
    """Purchases and refunds as GA4 `purchase` and `refund` events."""

    name = "ga4"

    def __init__(self, client: JsonSender, clock: Callable[[], datetime] = _utcnow) -> None:
        self._client = client
        self._clock = clock

    def purchase(self, purchase: Purchase) -> str | None:
        self._client.send(ga4_purchase(purchase, self._clock()))
        return None

    def refund(self, refund: RefundMade) -> str | None:
        if not refund.whole_order and not refund.items:
            return NotYet("a partial refund whose refunded items are not known yet (GA4 would count it in full)")
        self._client.send(ga4_refund(refund, self._clock()))
        return None


class MetaSink:
    """Purchases and refunds as Conversions API `Purchase` and `Refund` events."""

    name = "meta"

    def __init__(
        self,
        client: JsonSender,
        *,
        action_source: str,
        test_event_code: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._client = client
        self._action_source = action_source
        self._test_event_code = test_event_code
        self._clock = clock

    def _send(self, body: dict[str, Any], at: datetime) -> str | None:
        if self._clock() - at > META_MAX_AGE:
            return "older than the 7 days Meta accepts"
        if not body["data"][0]["user_data"]:
            return "no customer information to match on"
        self._client.send(body)
        return None

    def purchase(self, purchase: Purchase) -> str | None:
        body = meta_purchase(purchase, action_source=self._action_source, test_event_code=self._test_event_code)
        return self._send(body, purchase.at)

    def refund(self, refund: RefundMade) -> str | None:
        body = meta_refund(refund, action_source=self._action_source, test_event_code=self._test_event_code)
        return self._send(body, refund.at)
