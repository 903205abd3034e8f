"""marketing_unsubscribe: the public unsubscribe link of marketing email.

GET shows a confirmation page and records nothing (mail scanners follow links); POST records the
opt-out: the page's button, and the one-click unsubscribe mail clients send (RFC 8058,
`List-Unsubscribe=One-Click`). A valid signed token names the customer; see hub.marketing.http.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.marketing import http
from hub.observability import logger, metrics

app = APIGatewayHttpResolver()
sandbox = Sandbox()


@app.get("/unsubscribe")
def confirm() -> Response:
    return http.confirm(sandbox, http.token_of(app.current_event))


@app.post("/unsubscribe")
def unsubscribe() -> Response:
    return http.unsubscribe(sandbox, http.token_of(app.current_event))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
