"""webhook_intake: POST /webhooks/{source}. Verify, normalise, publish once, answer fast.

Routing only: reading the request and answering each outcome are in hub.intake.http."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.api.responses import error_response, json_response
from hub.bootstrap import Sandbox
from hub.errors import RefusedError, RetryableError
from hub.intake import http
from hub.observability import logger, metrics

app = APIGatewayHttpResolver()
sandbox = Sandbox()


@app.post("/webhooks/<source>")
def receive(source: str) -> dict:
    request = http.webhook_request(app.current_event)
    logger.append_keys(source=source, topic=request.headers.get("x-shopify-topic"))
    sandbox.register_context(app.lambda_context)
    return http.accepted(sandbox.intake.receive(source, request))


@app.get("/webhooks/<source>")
def challenge(source: str) -> Response:
    """A vendor's registration challenge (Adobe I/O Events sends GET ?challenge=...)."""
    answer = sandbox.intake.challenge(source, http.challenge_request(app.current_event))
    logger.info("registration challenge answered", extra={"source": source})
    return json_response(200, answer)


app.exception_handler(RefusedError)(http.refused)
app.exception_handler(RetryableError)(http.retryable)
app.exception_handler(Exception)(http.unexpected)


@app.not_found
def _not_found(_exc: Exception) -> Response:
    return error_response(404, "no such route; webhooks go to POST /webhooks/{source}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
