"""The intake use case, the same for every source."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from hub.config import HubConfig
from hub.domain.webhook_activity import UNKNOWN_SOURCE, Outcome
from hub.errors import (
    MalformedPayloadError,
    MethodNotAllowedError,
    MoneyError,
    PayloadTooLargeError,
    RefusedError,
    UnknownSourceError,
)
from hub.intake.model import IntakeResult
from hub.ports import Delivery, DeliveryLog, StorefrontSource, WebhookRequest, WebhookSource
from hub.secrets import SecretsProvider

if TYPE_CHECKING:
    from hub.services.lineage import LineageRecorder
    from hub.services.webhook_activity import WebhookActivity

MAX_BODY_BYTES = 1024 * 1024
# The deepest any vendor's payload nests is about ten levels; a document deeper than this is refused.
MAX_JSON_DEPTH = 64


def load_json(body: bytes, source: str, *, parse_float: Callable[[str], Any] | None = None) -> Any:
    """The body as JSON, or MalformedPayloadError: not JSON, or nested deeper than any vendor nests.

    Python's parser raises RecursionError (not a ValueError) on very deep nesting; a document a
    little shallower than that parses, but would exhaust the stack of whatever walks it next, so
    nesting is bounded here, once, for every source.
    """
    try:
        document = json.loads(body, parse_float=parse_float)
    except RecursionError:
        raise MalformedPayloadError(
            f"the body is nested more than {MAX_JSON_DEPTH} levels deep; {source} sends no such JSON"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayloadError(f"the body is not valid JSON, as {source} sends it") from exc
    if _depth_exceeds(document, MAX_JSON_DEPTH):
        raise MalformedPayloadError(
            f"the body is nested more than {MAX_JSON_DEPTH} levels deep; {source} sends no such JSON"
        )
    return document


def _depth_exceeds(document: Any, limit: int) -> bool:
    # Iterative, so that checking depth cannot itself exhaust the stack.
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def load_json_object(body: bytes, source: str, *, parse_float: Callable[[str], Any] | None = None) -> dict[str, Any]:
    document = load_json(body, source, parse_float=parse_float)
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
        lineage: LineageRecorder | None = None,
        *,
        activity: WebhookActivity | None = None,
    ) -> None:
        self._sources = sources
        self._secrets = secrets
        self._config = config
        self._deliveries = deliveries
        self._lineage = lineage
        self._activity = activity

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
        """Take one delivery, and count its outcome for the webhooks page (hub.services.webhook_activity):
        the answer is the same whether or not the count could be written."""
        try:
            result = self._receive(source_name, request)
        except RefusedError as exc:
            # A name the hub does not accept is the caller's choice: all of them share one bucket.
            counted = UNKNOWN_SOURCE if isinstance(exc, UnknownSourceError) else source_name
            self._count(counted, "refused", status=exc.status_code, reason=str(exc))
            raise
        except Exception:
            self._count(source_name, "failed")  # answered 503 (RetryableError or unforeseen): retried
            raise
        if result.status == "ignored":  # accepted and duplicate deliveries are counted as they publish
            self._count(source_name, result.status)
        return result

    def _count(
        self, source_name: str, outcome: Outcome, *, status: int | None = None, reason: str | None = None
    ) -> None:
        if self._activity is not None:
            self._activity.record(source_name, outcome, status=status, reason=reason)

    def _receive(self, source_name: str, request: WebhookRequest) -> IntakeResult:
        received_at = datetime.now(UTC)
        source = self._source(source_name)
        if len(request.body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"the body is {len(request.body)} bytes; the limit is {MAX_BODY_BYTES}")
        # Verify the raw bytes before anything parses them; a storefront's claimed store chooses the
        # one secret that may verify it (its channel's), so one store's secret never verifies another's.
        if isinstance(source, StorefrontSource):
            source.verify(request, self._secrets, source.secret_key_for(request, self._config()))
        else:
            source.verify(request, self._secrets)
        delivery = self._parse(source, request)
        if delivery.ignored_reason:
            return IntakeResult("ignored", source_name, delivery.topic, reason=delivery.ignored_reason)
        return self.publish(source_name, delivery, received_at=received_at)

    def publish(
        self, source_name: str, delivery: Delivery, *, via: str = "webhook", received_at: datetime | None = None
    ) -> IntakeResult:
        """Publish a verified delivery's events once, and record for each order they name that it
        came, and whether it was new: `via` "webhook", or "reconciler" for a change a reconciler
        read from the vendor's API (same events, same dedupe key, so one change seen both ways is
        published once)."""
        ids = [e.event_id for e in delivery.events]
        published = self._deliveries.publish_once(delivery.dedupe_key, delivery.events)
        outcome: Literal["accepted", "duplicate"] = "accepted" if published else "duplicate"
        # A webhook's count rides in the request that keeps its lineage, so counting the busiest
        # deliveries (orders, payments) costs no request of its own; a delivery that names no order
        # writes no lineage and is counted on its own. A reconciler's find is no delivery: not counted.
        count = (
            self._activity.delivery_count(source_name, outcome, delivery.dedupe_key)
            if via == "webhook" and self._activity is not None
            else None
        )
        carried = False
        if self._lineage is not None:
            carried = self._lineage.delivery(
                delivery.events,
                self._config(),
                source=source_name,
                delivery_id=delivery.dedupe_key,
                accepted=published,
                via=via,
                at=received_at,
                count=count,
            )
        if count is not None and not carried:
            self._count(source_name, outcome)
        return IntakeResult(outcome, source_name, delivery.topic, ids)

    def _parse(self, source: WebhookSource, request: WebhookRequest) -> Delivery:
        """The source's parse, with every way a verified body can be unrecordable answered 400.

        Sources name the vendor's field where they can; this catches what a source could not
        foresee, such as a value that passes the vendor's model but not the canonical event's
        (a line of 10**12 units), so that bad input is never mistaken for an outage (503) and
        retried by the vendor for days.
        """
        config = self._config()
        try:
            return source.parse(request, config)
        except ValidationError as exc:
            raise MalformedPayloadError(f"this {source.name} delivery cannot be recorded: {_problem(exc)}") from exc
        except MoneyError as exc:
            raise MalformedPayloadError(f"this {source.name} delivery cannot be recorded: {exc}") from exc
        except ArithmeticError as exc:  # decimal.InvalidOperation, Overflow: a number read without a guard
            raise MalformedPayloadError(f"a number in this {source.name} delivery cannot be read exactly") from exc
        except RecursionError:
            raise MalformedPayloadError(f"the {source.name} body is nested too deeply to read") from None


def _problem(exc: ValidationError) -> str:
    """The first problem, naming the field as the model spells it ('LineItem.quantity: ...')."""
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"'{exc.title}.{where}': {first['msg']}" if where else f"'{exc.title}': {first['msg']}"
