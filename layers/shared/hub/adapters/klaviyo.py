"""Klaviyo's events API: customer activity (Placed Order, Started Checkout) and the hub's marketing
triggers, as events on the customer's Klaviyo profile. Klaviyo flows built on those metrics send.

`POST {api_url}/api/events` with `Authorization: Klaviyo-API-Key <key>`, the `revision` header and
JSON:API bodies; 202 on success. Every event carries a `unique_id` (the order, the checkout, the
message key), so Klaviyo counts a retried event once.

Erasure needs the Klaviyo profile's id (the events API answers 202 without one): `profile_id`
upserts the profile, `POST {api_url}/api/profile-import` with the email alone (200 or 201,
`data.id`), once per customer, the first time the hub sends Klaviyo anything for them; the hub
records the id under the customer's erasure key.
`delete_contact` asks Klaviyo to delete the profile for good,
`POST {api_url}/api/data-privacy-deletion-jobs` naming the profile by id (202; Klaviyo deletes
asynchronously; 404 means already gone).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from hub.adapters.http import outbound_client, outbound_error
from hub.domain.marketing import OutboundMessage
from hub.domain.marketing_rules import Trigger
from hub.errors import OutboundError
from hub.vendor_versions import KLAVIYO_REVISION

__all__ = ["KLAVIYO_METRICS", "KlaviyoClient", "event_body"]

# The Klaviyo metric each marketing trigger's messages are tracked under (the flows key on it).
KLAVIYO_METRICS = {
    Trigger.POST_PURCHASE: "Post-Purchase Follow-Up",
    Trigger.ABANDONED_CHECKOUT: "Abandoned Checkout Reminder",
    Trigger.REVIEW_REQUEST: "Review Request",
    Trigger.WIN_BACK: "Win-Back",
    Trigger.BACK_IN_STOCK: "Back In Stock",
}

_CONTENT_TYPE = "application/vnd.api+json"


def _json(value: Any) -> Any:
    # Klaviyo takes money as a JSON number; the decimal string converts exactly enough for 2-3 places.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def event_body(
    metric: str,
    email: str,
    unique_id: str,
    time: datetime,
    properties: Mapping[str, Any],
    value: Decimal | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "properties": dict(properties),
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "unique_id": unique_id,
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
    }
    if value is not None:
        attributes["value"] = value
        if currency:
            attributes["value_currency"] = currency
    return {"data": {"type": "event", "attributes": attributes}}


class KlaviyoClient:
    """Both a MessageSender (channel `klaviyo`) and an ActivityTracker."""

    channel = "klaviyo"
    system = "klaviyo"

    def __init__(
        self,
        api_key: str,
        *,
        api_url: str = "https://a.klaviyo.com",
        revision: str = KLAVIYO_REVISION,
        metrics: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._metrics = dict(metrics or {})
        self._client = outbound_client(
            api_url,
            headers={
                "Authorization": f"Klaviyo-API-Key {api_key}",
                "revision": revision,
                "Accept": _CONTENT_TYPE,
                "Content-Type": _CONTENT_TYPE,
            },
            transport=transport,
        )

    def track(
        self,
        metric: str,
        email: str,
        unique_id: str,
        time: datetime,
        properties: Mapping[str, Any],
        value: Decimal | None = None,
        currency: str | None = None,
    ) -> None:
        body = event_body(metric, email, unique_id, time, properties, value, currency)
        response = self._client.post("/api/events", content=json.dumps(body, default=_json).encode())
        if not response.is_success:
            # Klaviyo's error details can repeat the email: only its codes and the request id are kept.
            raise outbound_error(response, f"Klaviyo {metric} event")

    def send(self, message: OutboundMessage) -> None:
        metric = self._metrics.get(message.trigger, message.trigger)
        properties = {k: v for k, v in message.properties.items() if v not in (None, [], "")}
        self.track(metric, message.email, message.message_key, message.time or datetime.now(UTC), properties)

    def profile_id(self, email: str) -> str:
        """Create or find the profile of `email`; its Klaviyo id."""
        body = {"data": {"type": "profile", "attributes": {"email": email}}}
        response = self._client.post("/api/profile-import", content=json.dumps(body).encode())
        if not response.is_success:
            raise outbound_error(response, "Klaviyo profile import")
        try:
            profile_id = response.json()["data"]["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise OutboundError("Klaviyo profile import answered without a profile id", response.status_code) from exc
        return str(profile_id)

    def delete_contact(self, contact_id: str) -> bool:
        body = {
            "data": {
                "type": "data-privacy-deletion-job",
                "attributes": {"profile": {"data": {"type": "profile", "id": contact_id}}},
            }
        }
        response = self._client.post("/api/data-privacy-deletion-jobs", content=json.dumps(body).encode())
        if response.is_success:
            return True
        if response.status_code == 404:
            return False
        raise outbound_error(response, "Klaviyo profile deletion")
