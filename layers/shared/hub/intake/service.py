"""The intake use case, the same for every source."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from hub.config import HubConfig
from hub.events import HubEvent
from hub.intake.errors import MalformedPayloadError, MethodNotAllowedError, PayloadTooLargeError, UnknownSourceError
from hub.intake.model import Delivery, IntakeResult, WebhookRequest
from hub.secrets import SecretsProvider

MAX_BODY_BYTES = 1024 * 1024


class WebhookSource(Protocol):
    name: str

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        """Raise SignatureError unless the raw bytes carry a valid signature."""

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        """Turn a verified delivery into canonical events; MalformedPayloadError if it is not one."""


class DeliveryLog(Protocol):
    def publish_once(self, dedupe_key: str, events: Sequence[HubEvent]) -> bool:
        """Publish unless this delivery was already published; True when published now.

        A failed publish leaves no trace, so the sender's retry publishes.
        """


def load_json_object(body: bytes, source: str, *, exact_numbers: bool = False) -> dict[str, Any]:
    """The body as a JSON object; with `exact_numbers`, numbers with a fraction are read as Decimal
    (a vendor's amount sent as a JSON number is never a float)."""
    try:
        document = json.loads(body, parse_float=Decimal) if exact_numbers else json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayloadError(f"the body is not valid JSON, as {source} sends it") from exc
    if not isinstance(document, dict):
        raise MalformedPayloadError(f"the body must be a JSON object, as {source} sends it")
    return document


class IntakeService:
    def __init__(
        self,
        sources: Mapping[str, WebhookSource],
        secrets: SecretsProvider,
        config: Callable[[], HubConfig],
        deliveries: DeliveryLog,
    ) -> None:
        self._sources = sources
        self._secrets = secrets
        self._config = config
        self._deliveries = deliveries

    def _source(self, source_name: str) -> WebhookSource:
        source = self._sources.get(source_name)
        if source is None:
            known = ", ".join(sorted(self._sources))
            raise UnknownSourceError(f"unknown webhook source '{source_name[:40]}'; this hub accepts: {known}")
        return source

    def challenge(self, source_name: str, request: WebhookRequest) -> dict[str, str]:
        """Answer a registration challenge (a GET), for the sources whose vendor sends one."""
        source = self._source(source_name)
        answer = getattr(source, "answer_challenge", None)
        if answer is None:
            raise MethodNotAllowedError(
                f"{source_name} webhooks are POSTed to /webhooks/{source_name}; "
                "only magento (Adobe I/O Events) sends a GET registration challenge"
            )
        return answer(request)

    def receive(self, source_name: str, request: WebhookRequest) -> IntakeResult:
        source = self._source(source_name)
        if len(request.body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"the body is {len(request.body)} bytes; the limit is {MAX_BODY_BYTES}")
        # Verify the raw bytes before anything parses them.
        source.verify(request, self._secrets)
        delivery = source.parse(request, self._config())
        if delivery.ignored_reason:
            return IntakeResult("ignored", source_name, delivery.topic, reason=delivery.ignored_reason)
        ids = [e.event_id for e in delivery.events]
        published = self._deliveries.publish_once(delivery.dedupe_key, delivery.events)
        return IntakeResult("accepted" if published else "duplicate", source_name, delivery.topic, ids)
