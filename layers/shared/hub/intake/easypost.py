"""EasyPost: tracker webhooks (`tracker.created`, `tracker.updated`) as ShipmentTracked.

Signature: `X-Hmac-Signature: hmac-sha256-hex=<hex>`, HMAC-SHA256 over the raw body keyed with the
webhook secret after Unicode NFKD normalisation, exactly as EasyPost's own client libraries verify
it (`validate_webhook`). EasyPost documents a newer scheme (`X-Hmac-Signature-V2` with
`X-Timestamp` and `X-Path`) that its libraries do not verify yet; it is not checked here, and the
legacy header is required. The secret is EASYPOST_WEBHOOK_SECRET (a JSON array of strings during a rotation).

Deliveries are deduplicated on EasyPost's event id; the canonical id derives from the tracker, its
status and its update time, so one tracking state reaches consumers once.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.config import HubConfig
from hub.errors import MalformedPayloadError, SignatureError
from hub.events import ProviderRef, ShipmentTracked, ShipmentTrackedData, TrackingStatus, event_id_for
from hub.intake.service import load_json_object
from hub.intake.signatures import any_match
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

__all__ = ["EasyPostSource", "easypost_signature"]

SIGNATURE_HEADER = "x-hmac-signature"
TRACKER_EVENTS = ("tracker.created", "tracker.updated")

# EasyPost tracker statuses -> the hub's tracking statuses.
_STATUS: dict[str, TrackingStatus] = {
    "pre_transit": "pre_transit",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "out_for_delivery",
    "delivered": "delivered",
    "return_to_sender": "returned",
    "failure": "failure",
    "error": "failure",
    "cancelled": "cancelled",
    "unknown": "unknown",
}


def easypost_signature(secret: str, body: bytes) -> str:
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EasyPostTracker(_Wire):
    id: str
    tracking_code: str
    status: str = "unknown"
    status_detail: str | None = None
    carrier: str | None = None
    shipment_id: str | None = None
    updated_at: datetime | None = None


class EasyPostEvent(_Wire):
    id: str
    description: str
    created_at: datetime | None = None
    result: dict[str, Any] | None = None


class EasyPostSource:
    name = "easypost"

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise SignatureError("missing X-Hmac-Signature header; set a webhook secret on the EasyPost webhook")
        candidates = secrets.candidates("EASYPOST_WEBHOOK_SECRET")
        if not candidates:
            raise SignatureError("no EasyPost webhook secret is configured, so the signature cannot be checked")
        if not any_match([easypost_signature(secret, request.body) for secret in candidates], [header]):
            raise SignatureError("the X-Hmac-Signature does not match the body; check the EasyPost webhook secret")

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        body = load_json_object(request.body, "EasyPost")
        try:
            event = EasyPostEvent.model_validate(body)
        except ValidationError as exc:
            raise MalformedPayloadError("not an EasyPost event: it needs 'id' and 'description'") from exc
        dedupe_key = f"easypost:{event.id}"
        if event.description not in TRACKER_EVENTS:
            return Delivery(
                dedupe_key, event.description, [], ignored_reason=f"the hub does not use {event.description}"
            )
        try:
            tracker = EasyPostTracker.model_validate(event.result or {})
        except ValidationError as exc:
            raise MalformedPayloadError("not an EasyPost tracker event: 'result' is not a Tracker") from exc
        status = _STATUS.get(tracker.status.lower(), "unknown")
        when = tracker.updated_at or event.created_at or datetime.now(UTC)
        tracked = ShipmentTracked(
            event_id=event_id_for("easypost", tracker.id, status, when.isoformat()),
            source="easypost",
            channel="easypost",
            occurred_at=when,
            provider=ProviderRef(topic=event.description, event_id=event.id),
            data=ShipmentTrackedData(
                carrier=tracker.carrier,
                tracking_number=tracker.tracking_code,
                status=status,
                status_detail=tracker.status_detail,
                tracker_id=tracker.id,
                shipment_id=tracker.shipment_id,
            ),
        )
        return Delivery(dedupe_key, event.description, [tracked])
