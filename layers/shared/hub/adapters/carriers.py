"""Carrier APIs that sell labels: EasyPost and Shippo, over the shared outbound client.

Booking a label is two calls apart: create the shipment (its id is kept by the caller before
anything is bought), then buy the cheapest rate that meets the service level. The shipment carries
the fulfilment id as its reference, and every POST an Idempotency-Key derived from it; neither
carrier documents that header for these endpoints (Shippo only for its automations endpoint), so
nothing relies on it:

- A purchase is never retried blindly. The HTTP client sends it with `purchase_retry`: retried on
  a 429 or a connection never made, not on a timeout or a 5xx, after which the label may have been
  bought. The next attempt (the SQS record's retry) first looks for what was bought: EasyPost reads
  the shipment, which holds at most one label (a second buy is refused); Shippo lists the
  transactions of the rate it would buy (`GET /transactions/?rate=`, the documented filter), reuses
  a successful one and waits while one is still queued.
- Shippo sells a rate only while it is less than 7 days old. Older rates are refreshed before
  buying: a new shipment is created with the same details (that is how Shippo re-rates) and kept as
  the fulfilment's booking (`rebook`) before anything is bought on it.
- Label formats are each API's own: Shippo's `label_file_type` spells ZPL `ZPLII`.

The API key or token is only ever put in the auth header; errors name the call and the status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from httpx_retries import Retry

from hub.adapters.http import check, default_retry, outbound_client, purchase_retry
from hub.config import CarrierAddress, CarrierConfig
from hub.domain.fulfilment import Rate, choose_rate
from hub.domain.orders import Address, Fulfilment, Order
from hub.errors import NoRateError, OutboundError
from hub.secrets import SecretsProvider

__all__ = [
    "EASYPOST_URL",
    "SHIPPO_URL",
    "EasyPostCarrier",
    "Label",
    "ShipmentRequest",
    "ShippoCarrier",
    "carrier_for",
    "shipment_request",
    "shippo_label_file_type",
]

EASYPOST_URL = "https://api.easypost.com"
SHIPPO_URL = "https://api.goshippo.com"
# "Transactions can only be created for Rates that are less than 7 days old"; refreshed an hour early.
SHIPPO_RATE_LIFETIME = timedelta(days=7)
_RATE_MARGIN = timedelta(hours=1)


def shippo_label_file_type(label_format: str) -> str:
    """Shippo's `label_file_type` token for a configured format: ZPL is ZPLII there."""
    return "ZPLII" if label_format == "ZPL" else label_format


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ShipmentRequest:
    reference: str  # the fulfilment id
    to_address: Address
    from_address: CarrierAddress
    carrier: CarrierConfig

    def key(self, step: str) -> str:
        return f"{self.reference}-{step}"


@dataclass(frozen=True)
class Label:
    shipment_id: str
    carrier: str | None
    service: str | None
    tracking_number: str
    tracking_url: str | None
    label_url: str | None


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise OutboundError(f"{what} answered with a body that is not JSON", response.status_code) from exc
    if not isinstance(body, dict):
        raise OutboundError(f"{what} answered with an unexpected body", response.status_code)
    return body


def _pick(rates: list[Rate], request: ShipmentRequest, provider: str) -> Rate:
    level = request.carrier.service_level
    rate = choose_rate(rates, max_days=level.max_days, services=level.services, carriers=level.carriers)
    if rate is None:
        offered = ", ".join(f"{r.carrier} {r.service} {r.amount} ({r.days} days)" for r in rates) or "none"
        raise NoRateError(
            f"{provider} offered no rate for {request.reference} that meets the service level "
            f"(max_days={level.max_days}, services={level.services or 'any'}, carriers={level.carriers or 'any'}); "
            f"offered: {offered}"
        )
    return rate


def _days(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _address(address: Address | CarrierAddress) -> dict[str, Any]:
    if isinstance(address, CarrierAddress):
        values = address.model_dump(exclude_none=True)
    else:
        values = {
            "name": address.name,
            "company": address.company,
            "street1": address.street1,
            "street2": address.street2,
            "city": address.city,
            "state": address.state,
            "zip": address.postal_code,
            "country": address.country,
            "phone": address.phone,
            "email": address.email,
        }
    return {k: v for k, v in values.items() if v}


class EasyPostCarrier:
    """EasyPost: HTTP Basic with the API key as the user name; POST /v2/shipments, then /buy."""

    name = "easypost"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ):
        self._retry = retry or default_retry()
        self._client = outbound_client(
            base_url or EASYPOST_URL,
            auth=httpx.BasicAuth(api_key, ""),
            headers={"Accept": "application/json"},
            transport=transport,
            retry=self._retry,
        )

    def create_shipment(self, request: ShipmentRequest) -> str:
        parcel = request.carrier.parcel
        body = {
            "shipment": {
                "reference": request.reference,
                "to_address": _address(request.to_address),
                "from_address": _address(request.from_address),
                "parcel": {
                    "length": parcel.length,
                    "width": parcel.width,
                    "height": parcel.height,
                    "weight": parcel.weight,
                },
                "options": {"label_format": request.carrier.label_format},
            }
        }
        response = self._client.post("/v2/shipments", json=body, headers={"Idempotency-Key": request.key("shipment")})
        shipment = _json(check(response, "EasyPost create shipment"), "EasyPost create shipment")
        if not shipment.get("id"):
            raise OutboundError("EasyPost create shipment answered without a shipment id", response.status_code)
        return str(shipment["id"])

    def buy(self, shipment_id: str, request: ShipmentRequest, rebook: Callable[[str], str] | None = None) -> Label:
        """The shipment's label, bought unless it already has one (EasyPost re-rates in place: no rebook)."""
        what = f"EasyPost shipment {shipment_id}"
        shipment = _json(check(self._client.get(f"/v2/shipments/{shipment_id}"), f"{what} read"), what)
        if not (shipment.get("postage_label") and shipment.get("tracking_code")):
            rates = [
                Rate(
                    str(r.get("id")),
                    str(r.get("carrier") or ""),
                    str(r.get("service") or ""),
                    str(r.get("rate") or ""),
                    str(r.get("currency") or ""),
                    _days(r.get("delivery_days") if r.get("delivery_days") is not None else r.get("est_delivery_days")),
                )
                for r in shipment.get("rates") or []
            ]
            rate = _pick(rates, request, "EasyPost")
            try:
                response = self._client.post(
                    f"/v2/shipments/{shipment_id}/buy",
                    json={"rate": {"id": rate.rate_id}},
                    headers={"Idempotency-Key": request.key("label")},
                    extensions={"retry": purchase_retry(self._retry)},
                )
            except httpx.TransportError as exc:
                raise OutboundError(
                    f"{what} buy got no answer ({type(exc).__name__}); the retry reads the shipment before buying"
                ) from exc
            shipment = _json(check(response, f"{what} buy"), f"{what} buy")
        label = shipment.get("postage_label") or {}
        selected = shipment.get("selected_rate") or {}
        tracker = shipment.get("tracker") or {}
        tracking = shipment.get("tracking_code")
        if not tracking:
            raise OutboundError(f"{what} was bought but has no tracking code yet")
        return Label(
            shipment_id=shipment_id,
            carrier=selected.get("carrier"),
            service=selected.get("service"),
            tracking_number=str(tracking),
            tracking_url=tracker.get("public_url"),
            label_url=label.get("label_url"),
        )


class ShippoCarrier:
    """Shippo: `Authorization: ShippoToken <token>`; POST /shipments/, then /transactions/ for a rate."""

    name = "shippo"

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ):
        self._retry = retry or default_retry()
        self._clock = clock
        self._client = outbound_client(
            base_url or SHIPPO_URL,
            headers={"Authorization": f"ShippoToken {token}", "Accept": "application/json"},
            transport=transport,
            retry=self._retry,
        )

    def create_shipment(self, request: ShipmentRequest, *, key: str = "shipment") -> str:
        parcel = request.carrier.parcel
        body = {
            "address_from": _address(request.from_address),
            "address_to": _address(request.to_address),
            "parcels": [
                {
                    "length": str(parcel.length),
                    "width": str(parcel.width),
                    "height": str(parcel.height),
                    "distance_unit": "in",
                    "weight": str(parcel.weight),
                    "mass_unit": "oz",
                }
            ],
            "metadata": request.reference,
            "async": False,
        }
        response = self._client.post("/shipments/", json=body, headers={"Idempotency-Key": request.key(key)})
        shipment = _json(check(response, "Shippo create shipment"), "Shippo create shipment")
        if not shipment.get("object_id"):
            raise OutboundError("Shippo create shipment answered without an object_id", response.status_code)
        return str(shipment["object_id"])

    def buy(self, shipment_id: str, request: ShipmentRequest, rebook: Callable[[str], str] | None = None) -> Label:
        """The label of the rate the service level picks: one already bought on it, else a new one.

        Rates too old to buy are refreshed first: a new shipment, kept through `rebook` before
        anything is bought on it (a purchase that times out is then found on the kept shipment)."""
        what = f"Shippo shipment {shipment_id}"
        shipment = _json(check(self._client.get(f"/shipments/{shipment_id}"), f"{what} read"), what)
        rate, created = self._rate(shipment, request)
        bought = self._bought(rate, request)
        if bought is not None:
            return self._label(shipment_id, rate, bought)
        if created is not None and self._clock() - created >= SHIPPO_RATE_LIFETIME - _RATE_MARGIN:
            fresh = self.create_shipment(request, key=f"shipment-{shipment_id}")
            kept = rebook(fresh) if rebook is not None else fresh
            if kept != fresh:
                raise OutboundError(f"the booking of {request.reference} changed while its rates were refreshed")
            return self._buy_fresh(fresh, request)
        return self._purchase(shipment_id, rate, request)

    def _buy_fresh(self, shipment_id: str, request: ShipmentRequest) -> Label:
        what = f"Shippo shipment {shipment_id}"
        shipment = _json(check(self._client.get(f"/shipments/{shipment_id}"), f"{what} read"), what)
        rate, _created = self._rate(shipment, request)
        return self._purchase(shipment_id, rate, request)

    def _rate(self, shipment: dict[str, Any], request: ShipmentRequest) -> tuple[Rate, datetime | None]:
        """The rate to buy, and when it was made (the rate's object_created, else the shipment's)."""
        offered = [r for r in shipment.get("rates") or [] if isinstance(r, dict)]
        rates = [
            Rate(
                str(r.get("object_id")),
                str(r.get("provider") or ""),
                str((r.get("servicelevel") or {}).get("token") or (r.get("servicelevel") or {}).get("name") or ""),
                str(r.get("amount") or ""),
                str(r.get("currency") or ""),
                _days(r.get("estimated_days")),
            )
            for r in offered
        ]
        rate = _pick(rates, request, "Shippo")
        source = next((r for r in offered if str(r.get("object_id")) == rate.rate_id), {})
        return rate, _instant(source.get("object_created")) or _instant(shipment.get("object_created"))

    def _bought(self, rate: Rate, request: ShipmentRequest) -> dict[str, Any] | None:
        """A successful transaction already made for the rate; raises while one is still being made."""
        what = f"Shippo transactions of rate {rate.rate_id}"
        response = self._client.get("/transactions/", params={"rate": rate.rate_id, "results": 100})
        listing = _json(check(response, what), what)
        transactions = [t for t in listing.get("results") or [] if isinstance(t, dict)]
        for transaction in transactions:
            if transaction.get("status") == "SUCCESS" and transaction.get("tracking_number"):
                return transaction
        if any(t.get("status") in ("QUEUED", "WAITING") for t in transactions):
            raise OutboundError(f"Shippo is still buying the label for {request.reference}; looked for again later")
        return None

    def _purchase(self, shipment_id: str, rate: Rate, request: ShipmentRequest) -> Label:
        what = f"Shippo shipment {shipment_id}"
        try:
            response = self._client.post(
                "/transactions/",
                json={
                    "rate": rate.rate_id,
                    "label_file_type": shippo_label_file_type(request.carrier.label_format),
                    "metadata": request.reference,
                    "async": False,
                },
                headers={"Idempotency-Key": request.key("label")},
                extensions={"retry": purchase_retry(self._retry)},
            )
        except httpx.TransportError as exc:
            raise OutboundError(
                f"{what} transaction got no answer ({type(exc).__name__}); "
                "the retry looks for the label before buying again"
            ) from exc
        transaction = _json(check(response, f"{what} transaction"), f"{what} transaction")
        if transaction.get("status") in ("QUEUED", "WAITING"):
            raise OutboundError(f"Shippo is still buying the label for {request.reference}; looked for again later")
        if transaction.get("status") != "SUCCESS" or not transaction.get("tracking_number"):
            messages = "; ".join(str(m.get("text", m)) for m in transaction.get("messages") or [] if m)[:200]
            raise OutboundError(
                f"Shippo could not buy the label for {request.reference}: status {transaction.get('status')} "
                f"{messages}".strip()
            )
        return self._label(shipment_id, rate, transaction)

    @staticmethod
    def _label(shipment_id: str, rate: Rate, transaction: dict[str, Any]) -> Label:
        return Label(
            shipment_id=shipment_id,
            carrier=rate.carrier,
            service=rate.service,
            tracking_number=str(transaction["tracking_number"]),
            tracking_url=transaction.get("tracking_url_provider"),
            label_url=transaction.get("label_url"),
        )


def shipment_request(order: Order, fulfilment: Fulfilment, config: CarrierConfig) -> ShipmentRequest | None:
    """What the carrier needs for one fulfilment; None when an address is missing (it waits for a label)."""
    to = order.shipping_address
    ship_from = config.ship_from(fulfilment.location)
    if to is None or ship_from is None or not (to.street1 and to.country):
        return None
    if not to.email and order.customer_email:
        to = replace(to, email=order.customer_email)
    return ShipmentRequest(fulfilment.fulfilment_id, to, ship_from, config)


def carrier_for(
    config: CarrierConfig, secrets: SecretsProvider, transport: httpx.BaseTransport | None = None
) -> EasyPostCarrier | ShippoCarrier:
    """The configured carrier with its credentials from the hub secret."""
    if config.provider == "easypost":
        key = secrets.get("EASYPOST_API_KEY")
        if not key:
            raise OutboundError("EASYPOST_API_KEY is not in the hub secret, so no label can be bought")
        return EasyPostCarrier(key, config.api_url, transport)
    if config.provider == "shippo":
        token = secrets.get("SHIPPO_API_TOKEN")
        if not token:
            raise OutboundError("SHIPPO_API_TOKEN is not in the hub secret, so no label can be bought")
        return ShippoCarrier(token, config.api_url, transport)
    raise ValueError("no carrier is configured (carrier.provider is none)")
