"""marketing_unsubscribe: the public unsubscribe link of marketing email.

GET shows a confirmation page and records nothing (mail scanners follow links); POST records the
opt-out: the page's button, and the one-click unsubscribe mail clients send (RFC 8058,
`List-Unsubscribe=One-Click`). A valid signed token names the customer; see hub.marketing.pages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.marketing.pages import Page, confirmation_page, invalid_link_page, unsubscribed_page
from hub.marketing.unsubscribe import verify
from hub.observability import MetricUnit, logger, metrics

app = APIGatewayHttpResolver()


sandbox = Sandbox()


def _shop_name() -> str:
    from hub.errors import ConfigError

    try:
        marketing = sandbox.config().marketing
    except ConfigError:
        return "the shop"
    return marketing.shop_name if marketing else "the shop"


def _respond(page: Page) -> Response:
    return Response(status_code=page.status, content_type=content_types.TEXT_HTML, body=page.html, headers=page.headers)


def _token() -> str:
    """The token from the link's query string; for a form post without it, from the form."""
    event = app.current_event
    token = event.get_query_string_value("token", "") or ""
    if not token and event.http_method == "POST" and event.decoded_body:
        token = (parse_qs(event.decoded_body).get("token") or [""])[0]
    return token


def _customer(token: str) -> str | None:
    customer = verify(token, sandbox.secrets.candidates("MARKETING_UNSUBSCRIBE_SECRET"))
    if customer is None:
        metrics.add_metric(name="UnsubscribeRefused", unit=MetricUnit.Count, value=1)
    return customer


@app.get("/unsubscribe")
def confirm() -> Response:
    """The link opened: ask, record nothing (a scanner or a preview may be the one opening it)."""
    token = _token()
    if _customer(token) is None:
        return _respond(invalid_link_page())
    return _respond(confirmation_page(_shop_name(), token))


@app.post("/unsubscribe")
def unsubscribe() -> Response:
    """The page's button, or a mail client's one-click POST: record the opt-out."""
    customer = _customer(_token())
    if customer is None:
        return _respond(invalid_link_page())
    sandbox.marketing_store.opt_out(customer, datetime.now(UTC))
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    logger.info("unsubscribed")  # the erasure key is the only name the customer has here; not logged either
    return _respond(unsubscribed_page(_shop_name()))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
