"""webhook_intake's HTTP edge: the request as the intake reads it, and each outcome's answer and metric.

functions/webhook_intake routes to these; the error answers go by branch of hub.errors (a refusal
its own 4xx, a downstream that failed 503 so the sender retries), never by message text.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response

from hub.api.responses import error_response
from hub.errors import MalformedPayloadError, RefusedError, RetryableError, SignatureError
from hub.intake.model import IntakeResult
from hub.observability import MetricUnit, logger, metrics
from hub.ports import WebhookRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2


def _headers(event: APIGatewayProxyEventV2) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.headers or {}).items()}


def webhook_request(event: APIGatewayProxyEventV2) -> WebhookRequest:
    """A delivery as sent: the body's bytes (base64 decoded), lower-cased headers, the caller's address."""
    try:
        body = (
            base64.b64decode(event.body or "", validate=True)
            if event.is_base64_encoded
            else (event.body or "").encode()
        )
    except binascii.Error as exc:
        raise MalformedPayloadError("the body is not valid base64") from exc
    caller = ((event.raw_event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    return WebhookRequest(_headers(event), body, event.query_string_parameters or {}, source_ip=caller)


def challenge_request(event: APIGatewayProxyEventV2) -> WebhookRequest:
    """A registration challenge (a GET): its headers and query, no body."""
    return WebhookRequest(_headers(event), b"", event.query_string_parameters or {})


def accepted(result: IntakeResult) -> dict:
    """The body answered for a delivery taken (or a duplicate), counted as Webhook<Status>."""
    metrics.add_metric(name=f"Webhook{result.status.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("webhook %s", result.status, extra={"event_ids": result.event_ids})
    return result.body()


def refused(exc: RefusedError) -> Response:
    logger.warning("webhook refused", extra={"status": exc.status_code, "reason": str(exc)})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    if isinstance(exc, SignatureError):
        # The 401 alarm's metric: a genuine delivery is refused only when its secret is wrong.
        metrics.add_metric(name="WebhookUnauthorized", unit=MetricUnit.Count, value=1)
    return error_response(exc.status_code, str(exc))


def retryable(exc: RetryableError) -> Response:
    # Not durable (the bus, the delivery log, a signing key's host): 503 saying what failed, so the
    # sender retries.
    logger.warning("webhook refused", extra={"status": 503, "reason": str(exc)})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    return error_response(503, str(exc))


def unexpected(_exc: Exception) -> Response:
    # Nothing was acknowledged: answering 503 makes the sender retry, so the delivery is not lost.
    logger.exception("webhook failed unexpectedly")
    metrics.add_metric(name="WebhookFailed", unit=MetricUnit.Count, value=1)
    return error_response(503, "the hub could not take this delivery right now; please retry it")
