"""webhook_intake: POST /webhooks/{source}. Verify, normalise, publish once, answer fast."""

from __future__ import annotations

import base64
import binascii
import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.errors import MalformedPayloadError, RefusedError, RetryableError, SignatureError
from hub.intake import WebhookRequest
from hub.observability import MetricUnit, logger, metrics

app = APIGatewayHttpResolver()


sandbox = Sandbox()


def _error(status: int, message: str) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps({"error": message}))


@app.post("/webhooks/<source>")
def receive(source: str) -> dict:
    event = app.current_event
    try:
        body = (
            base64.b64decode(event.body or "", validate=True)
            if event.is_base64_encoded
            else (event.body or "").encode()
        )
    except binascii.Error as exc:
        raise MalformedPayloadError("the body is not valid base64") from exc
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    logger.append_keys(source=source, topic=headers.get("x-shopify-topic"))
    sandbox.register_context(app.lambda_context)
    caller = ((event.raw_event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    request = WebhookRequest(headers, body, event.query_string_parameters or {}, source_ip=caller)
    result = sandbox.intake.receive(source, request)
    metrics.add_metric(name=f"Webhook{result.status.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("webhook %s", result.status, extra={"event_ids": result.event_ids})
    return result.body()


@app.get("/webhooks/<source>")
def challenge(source: str) -> Response:
    """A vendor's registration challenge (Adobe I/O Events sends GET ?challenge=...)."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    answer = sandbox.intake.challenge(source, WebhookRequest(headers, b"", event.query_string_parameters or {}))
    logger.info("registration challenge answered", extra={"source": source})
    return Response(200, content_types.APPLICATION_JSON, json.dumps(answer))


@app.exception_handler(RefusedError)
def _refused(exc: RefusedError) -> Response:
    logger.warning("webhook refused", extra={"status": exc.status_code, "reason": str(exc)})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    if isinstance(exc, SignatureError):
        # The 401 alarm's metric: a genuine delivery is refused only when its secret is wrong.
        metrics.add_metric(name="WebhookUnauthorized", unit=MetricUnit.Count, value=1)
    return _error(exc.status_code, str(exc))


@app.exception_handler(RetryableError)
def _retryable(exc: RetryableError) -> Response:
    # Not durable (the bus, the delivery log, a signing key's host): 503 saying what failed, so the
    # sender retries.
    logger.warning("webhook refused", extra={"status": 503, "reason": str(exc)})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    return _error(503, str(exc))


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    # Nothing was acknowledged: answering 503 makes the sender retry, so the delivery is not lost.
    logger.exception("webhook failed unexpectedly")
    metrics.add_metric(name="WebhookFailed", unit=MetricUnit.Count, value=1)
    return _error(503, "the hub could not take this delivery right now; please retry it")


@app.not_found
def _not_found(_exc: Exception) -> Response:
    return _error(404, "no such route; webhooks go to POST /webhooks/{source}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
