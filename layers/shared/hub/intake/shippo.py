"""Shippo: tracking webhooks (`track_updated`) as ShipmentTracked.

Shippo does not sign its webhooks by default, so the URL registered with Shippo carries a secret
token: `https://<hub>/webhooks/shippo?token=<SHIPPO_WEBHOOK_TOKEN>` (comma-separated values for
rotation). A delivery without the right token is refused (401) before its body is read. Keep the
URL secret like any credential; the token is never logged or echoed. (Shippo can also sign
deliveries with an HMAC header on request; that is not checked here.)

Shippo sends no event id: a tracking state is identified by the carrier, the tracking number, the
status and its date.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.config import HubConfig
from hub.events import ProviderRef, ShipmentTracked, ShipmentTrackedData, event_id_for
from hub.intake.errors import MalformedPayloadError, SignatureError
from hub.intake.model import Delivery, WebhookRequest
from hub.intake.service import load_json_object
from hub.secrets import SecretsProvider

__all__ = ["ShippoSource"]

TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a token

_STATUS = {
    "PRE_TRANSIT": "pre_transit",
    "TRANSIT": "in_transit",
    "DELIVERED": "delivered",
    "RETURNED": "returned",
    "FAILURE": "failure",
    "UNKNOWN": "unknown",
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ShippoTrackingStatus(_Wire):
    status: str = "UNKNOWN"
    status_details: str | None = None
    status_date: datetime | None = None
    object_id: str | None = None


class ShippoTrack(_Wire):
    carrier: str | None = None
    tracking_number: str
    tracking_status: ShippoTrackingStatus | None = None
    transaction: str | None = None
    metadata: str | None = None


class ShippoEvent(_Wire):
    event: str
    data: dict | None = None


class ShippoSource:
    name = "shippo"

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        given = request.query.get(TOKEN_PARAMETER)
        if not given:
            raise SignatureError("missing ?token= on the webhook URL; register the URL with the hub's Shippo token")
        candidates = secrets.candidates("SHIPPO_WEBHOOK_TOKEN")
        if not candidates:
            raise SignatureError("no Shippo webhook token is configured, so the delivery cannot be checked")
        matched = False
        for token in candidates:
            matched |= hmac.compare_digest(token.encode(), given.encode())
        if not matched:
            raise SignatureError("the webhook URL's token is wrong; check SHIPPO_WEBHOOK_TOKEN")

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        body = load_json_object(request.body, "Shippo")
        try:
            event = ShippoEvent.model_validate(body)
        except ValidationError as exc:
            raise MalformedPayloadError("not a Shippo webhook: it needs 'event' and 'data'") from exc
        if event.event != "track_updated":
            key = f"shippo:{event.event}:{hashlib.sha256(request.body).hexdigest()}"
            return Delivery(key, event.event, [], ignored_reason=f"the hub does not use Shippo event '{event.event}'")
        try:
            track = ShippoTrack.model_validate(event.data or {})
        except ValidationError as exc:
            raise MalformedPayloadError("not a Shippo track_updated event: 'data.tracking_number' is missing") from exc
        state = track.tracking_status or ShippoTrackingStatus()
        status = _STATUS.get(state.status.upper(), "unknown")
        when = state.status_date or datetime.now(UTC)
        fact = state.object_id or f"{state.status}:{when.isoformat()}"
        tracked = ShipmentTracked(
            event_id=event_id_for("shippo", track.carrier or "", track.tracking_number, status, fact),
            source="shippo",
            channel="shippo",
            occurred_at=when,
            provider=ProviderRef(topic=event.event, event_id=state.object_id),
            data=ShipmentTrackedData(
                carrier=track.carrier,
                tracking_number=track.tracking_number,
                status=status,  # type: ignore[arg-type]
                status_detail=state.status_details,
                shipment_id=track.transaction,
                reference=track.metadata,
            ),
        )
        return Delivery(f"shippo:{track.carrier}:{track.tracking_number}:{fact}", event.event, [tracked])
