"""Carrier APIs that sell labels: EasyPost and Shippo, over the shared outbound client.

Booking a label is two calls apart: create the shipment (its id is kept by the caller before
anything is bought), then buy the cheapest rate that meets the service level. Both are safe to
repeat: every POST carries an Idempotency-Key derived from the fulfilment id (Shippo honours it;
EasyPost's handling of the header is not documented, so the EasyPost buy first reads the shipment
and reuses a label already bought), and the shipment carries the fulfilment id as its reference.

The API key or token is only ever put in the auth header; errors name the call and the status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx
from httpx_retries import Retry

from hub.adapters.http import OutboundError, check, outbound_client
from hub.config import CarrierAddress, CarrierConfig
from hub.domain.fulfilment import Rate, choose_rate
from hub.domain.orders import Address, Fulfilment, Order
from hub.secrets import SecretsProvider

__all__ = [
    "EASYPOST_URL",
    "SHIPPO_URL",
    "EasyPostCarrier",
    "Label",
    "NoRateError",
    "ShipmentRequest",
    "ShippoCarrier",
    "carrier_for",
    "shipment_request",
]

EASYPOST_URL = "https://api.easypost.com"
SHIPPO_URL = "https://api.goshippo.com"


class NoRateError(OutboundError):
    """No rate offered for the shipment meets the configured service level."""


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
        self._client = outbound_client(
            base_url or EASYPOST_URL,
            auth=httpx.BasicAuth(api_key, ""),
            headers={"Accept": "application/json"},
            transport=transport,
            retry=retry,
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

    def buy(self, shipment_id: str, request: ShipmentRequest) -> Label:
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
            response = self._client.post(
                f"/v2/shipments/{shipment_id}/buy",
                json={"rate": {"id": rate.rate_id}},
                headers={"Idempotency-Key": request.key("label")},
            )
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
    ):
        self._client = outbound_client(
            base_url or SHIPPO_URL,
            headers={"Authorization": f"ShippoToken {token}", "Accept": "application/json"},
            transport=transport,
            retry=retry,
        )

    def create_shipment(self, request: ShipmentRequest) -> str:
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
        response = self._client.post("/shipments/", json=body, headers={"Idempotency-Key": request.key("shipment")})
        shipment = _json(check(response, "Shippo create shipment"), "Shippo create shipment")
        if not shipment.get("object_id"):
            raise OutboundError("Shippo create shipment answered without an object_id", response.status_code)
        return str(shipment["object_id"])

    def buy(self, shipment_id: str, request: ShipmentRequest) -> Label:
        what = f"Shippo shipment {shipment_id}"
        shipment = _json(check(self._client.get(f"/shipments/{shipment_id}"), f"{what} read"), what)
        rates = [
            Rate(
                str(r.get("object_id")),
                str(r.get("provider") or ""),
                str((r.get("servicelevel") or {}).get("token") or (r.get("servicelevel") or {}).get("name") or ""),
                str(r.get("amount") or ""),
                str(r.get("currency") or ""),
                _days(r.get("estimated_days")),
            )
            for r in shipment.get("rates") or []
        ]
        rate = _pick(rates, request, "Shippo")
        response = self._client.post(
            "/transactions/",
            json={
                "rate": rate.rate_id,
                "label_file_type": request.carrier.label_format,
                "metadata": request.reference,
                "async": False,
            },
            headers={"Idempotency-Key": request.key("label")},
        )
        transaction = _json(check(response, f"{what} transaction"), f"{what} transaction")
        if transaction.get("status") != "SUCCESS" or not transaction.get("tracking_number"):
            messages = "; ".join(str(m.get("text", m)) for m in transaction.get("messages") or [] if m)[:200]
            raise OutboundError(
                f"Shippo could not buy the label for {request.reference}: status {transaction.get('status')} "
                f"{messages}".strip()
            )
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
