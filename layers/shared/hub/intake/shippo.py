"""Shippo: tracking webhooks (`track_updated`) as ShipmentTracked.

Shippo does not sign its webhooks by default, so the URL registered with Shippo carries a secret
token: `https://<hub>/webhooks/shippo?token=<SHIPPO_WEBHOOK_TOKEN>` (during a rotation the secret holds
a JSON array, `["old", "new"]`, and either is accepted). A delivery without the right token is refused
(401) before its body is read. Keep the URL secret like any credential; the token is never logged or
echoed. (Shippo can also sign deliveries with an HMAC header on request; that is not checked here.)

Refusals are rate-limited (RefusalLimiter): a caller refused 10 times in a minute, or 100 refusals
in all, gets 429 without its token being compared at all until the minute has passed, so guessing
at the token is slow and noisy. The counts are kept in memory, per Lambda sandbox: the token is
long and random, so the limit sheds load and noise rather than being the only barrier, and API
Gateway's route throttling bounds the whole.

Shippo sends no event id: a tracking state is identified by the carrier, the tracking number, the
status and its date.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.config import HubConfig
from hub.errors import MalformedPayloadError, SignatureError, TooManyRefusalsError
from hub.events import ProviderRef, ShipmentTracked, ShipmentTrackedData, TrackingStatus, event_id_for
from hub.intake.service import load_json_object
from hub.intake.signatures import any_match
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

__all__ = ["RefusalLimiter", "ShippoSource"]

TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a token

_STATUS: dict[str, TrackingStatus] = {
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


class RefusalLimiter:
    """Counts refusals in the last minute, per caller and in all; `limited` says whether to refuse unheard."""

    def __init__(
        self,
        *,
        per_caller: int = 10,
        overall: int = 100,
        window_seconds: float = 60.0,
        max_callers: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_caller, self.overall, self.window = per_caller, overall, window_seconds
        self._max_callers = max_callers
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._all: deque[float] = deque()
        self._callers: dict[str, deque[float]] = {}

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def limited(self, caller: str | None) -> bool:
        now = self._monotonic()
        with self._lock:
            self._trim(self._all, now)
            if len(self._all) >= self.overall:
                return True
            times = self._callers.get(caller or "?")
            if times is None:
                return False
            self._trim(times, now)
            return len(times) >= self.per_caller

    def refused(self, caller: str | None) -> None:
        now = self._monotonic()
        with self._lock:
            self._all.append(now)
            if len(self._callers) >= self._max_callers:  # bounded memory: forget the quiet callers
                for key in [k for k, t in self._callers.items() if not t or t[-1] <= now - self.window]:
                    del self._callers[key]
                if len(self._callers) >= self._max_callers:
                    self._callers.clear()
            self._callers.setdefault(caller or "?", deque()).append(now)


class ShippoSource:
    name = "shippo"

    def __init__(self, *, limiter: RefusalLimiter | None = None) -> None:
        self._limiter = limiter or RefusalLimiter()

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        if self._limiter.limited(request.source_ip):
            raise TooManyRefusalsError(
                "too many refused deliveries this minute; check the ?token= of the Shippo webhook URL, then retry"
            )
        try:
            self._check_token(request, secrets)
        except SignatureError:
            self._limiter.refused(request.source_ip)
            raise

    @staticmethod
    def _check_token(request: WebhookRequest, secrets: SecretsProvider) -> None:
        given = request.query.get(TOKEN_PARAMETER)
        if not given:
            raise SignatureError("missing ?token= on the webhook URL; register the URL with the hub's Shippo token")
        candidates = secrets.candidates("SHIPPO_WEBHOOK_TOKEN")
        if not candidates:
            raise SignatureError("no Shippo webhook token is configured, so the delivery cannot be checked")
        if not any_match(candidates, [given]):
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
                status=status,
                status_detail=state.status_details,
                shipment_id=track.transaction,
                reference=track.metadata,
            ),
        )
        return Delivery(f"shippo:{track.carrier}:{track.tracking_number}:{fact}", event.event, [tracked])
