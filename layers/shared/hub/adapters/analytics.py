"""GA4 Measurement Protocol and Meta Conversions API: the request bodies, the sinks the analytics
forwarder calls (`Ga4Sink`, `MetaSink`, implementing `hub.ports.AnalyticsSink`), and the clients
over the outbound client (timeouts, retries).

The request bodies are built here, from the hub's facts; personal data goes out only normalised
and SHA-256 hashed (Meta) or not at all (GA4), and is never logged. The customer key (the salted
erasure key) seeds GA4's client id and, hashed, is Meta's `external_id`; Meta's SHA-256 of the email
is made from the event's email while the purchase is sent and is never stored, so a refund, built
from the stored facts, matches by `external_id`.

Both APIs take their credential in the query string (GA4 `api_secret`, Meta `access_token`), so
no error raised here ever carries a URL, a request or a response body that could echo it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
from httpx_retries import Retry

from hub.adapters.http import outbound_client, outbound_error
from hub.config import AnalyticsConfig
from hub.domain.analytics import Contact, NotYet, Purchase, RefundMade
from hub.domain.pii import hashed, is_sha256, split_name
from hub.errors import AnalyticsConfigError, OutboundError
from hub.money import format_minor
from hub.ports import AnalyticsSink
from hub.secrets import SecretsProvider

__all__ = [
    "META_MAX_AGE",
    "Ga4Client",
    "Ga4Sink",
    "MetaClient",
    "MetaSink",
    "analytics_sinks",
    "ga4_client_id",
    "ga4_purchase",
    "ga4_refund",
    "meta_purchase",
    "meta_refund",
    "meta_user_data",
]


def _post(client: httpx.Client, path: str, params: dict[str, str], body: dict[str, Any], what: str) -> httpx.Response:
    try:
        response = client.post(
            path, params=params, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        # Not chained: the httpx error holds the request, whose URL holds the credential.
        raise OutboundError(f"{what} failed: {type(exc).__name__}") from None
    if not response.is_success:
        raise outbound_error(response, what)  # status, code, request id: never the body
    return response


class Ga4Client:
    """POST /mp/collect; `validate` asks /debug/mp/collect, which answers validation messages."""

    def __init__(
        self,
        measurement_id: str,
        api_secret: str,
        base_url: str = "https://www.google-analytics.com",
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._params = {"measurement_id": measurement_id, "api_secret": api_secret}
        self._http = outbound_client(base_url, transport=transport, retry=retry)

    def send(self, body: dict[str, Any]) -> None:
        # GA4 answers 2xx even for a malformed event: the body is checked by tests against /debug.
        _post(self._http, "/mp/collect", self._params, body, "GA4 collect")

    def validate(self, body: dict[str, Any]) -> list[dict[str, str]]:
        """The validation server's messages ({fieldPath, description, validationCode}); empty when valid."""
        response = _post(self._http, "/debug/mp/collect", self._params, body, "GA4 validation")
        return list(response.json().get("validationMessages", []))


class MetaClient:
    """POST /{api_version}/{pixel_id}/events; every event must be received."""

    def __init__(
        self,
        pixel_id: str,
        api_version: str,
        access_token: str,
        base_url: str = "https://graph.facebook.com",
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._path = f"/{api_version}/{pixel_id}/events"
        self._params = {"access_token": access_token}
        self._http = outbound_client(base_url, transport=transport, retry=retry)

    def send(self, body: dict[str, Any]) -> None:
        response = _post(self._http, self._path, self._params, body, "Meta Conversions API")
        try:
            received = response.json().get("events_received")
        except ValueError:
            received = None
        if received != len(body["data"]):
            raise OutboundError(f"Meta Conversions API received {received} of {len(body['data'])} events")


def analytics_sinks(
    config: AnalyticsConfig,
    secrets: SecretsProvider,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[AnalyticsSink]:
    """The configured destinations, each with its credential from the hub secret."""
    timing = {"clock": clock} if clock else {}
    sinks: list[AnalyticsSink] = []
    if config.ga4 is not None:
        secret = secrets.get("GA4_API_SECRET")
        if not secret:
            raise AnalyticsConfigError("analytics.ga4 is configured but GA4_API_SECRET is not in the hub secret")
        ga4 = Ga4Client(config.ga4.measurement_id, secret, config.ga4.api_url, transport=transport, retry=retry)
        sinks.append(Ga4Sink(ga4, **timing))
    if config.meta is not None:
        token = secrets.get("META_ACCESS_TOKEN")
        if not token:
            raise AnalyticsConfigError("analytics.meta is configured but META_ACCESS_TOKEN is not in the hub secret")
        meta = config.meta
        pixel = MetaClient(meta.pixel_id, meta.api_version, token, meta.api_url, transport=transport, retry=retry)
        sinks.append(MetaSink(pixel, action_source=meta.action_source, test_event_code=meta.test_event_code, **timing))
    return sinks


GA4_MAX_AGE = timedelta(hours=72)  # older events are sent without timestamp_micros (GA4 rejects them)


META_MAX_AGE = timedelta(days=7)  # Meta rejects the whole request when an event_time is older


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
class _JsonSender(Protocol):
    """What the sinks post through (Ga4Client, MetaClient): private to this module."""

    def send(self, body: dict[str, Any]) -> None:
        """POST the body; raises OutboundError when the API refuses it after every retry."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Ga4Sink:
    """Purchases and refunds as GA4 `purchase` and `refund` events."""

    name = "ga4"

    def __init__(self, client: _JsonSender, clock: Callable[[], datetime] = _utcnow) -> None:
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
        client: _JsonSender,
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
