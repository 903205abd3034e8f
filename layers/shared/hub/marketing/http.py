"""marketing_unsubscribe's routes as functions of the sandbox (functions/marketing_unsubscribe routes
to them): the token read from the link or the form, checked, and the page answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types

from hub.errors import ConfigError
from hub.marketing.pages import Page, confirmation_page, invalid_link_page, unsubscribed_page
from hub.marketing.unsubscribe import verify
from hub.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from hub.bootstrap import Sandbox


def token_of(event: APIGatewayProxyEventV2) -> str:
    """The token from the link's query string; for a form post without it, from the form."""
    token = event.get_query_string_value("token", "") or ""
    if not token and event.http_method == "POST" and event.decoded_body:
        token = (parse_qs(event.decoded_body).get("token") or [""])[0]
    return token


def confirm(sandbox: Sandbox, token: str) -> Response:
    """The link opened: ask, record nothing (a scanner or a preview may be the one opening it)."""
    if _customer(sandbox, token) is None:
        return _respond(invalid_link_page())
    return _respond(confirmation_page(_shop_name(sandbox), token))


def unsubscribe(sandbox: Sandbox, token: str) -> Response:
    """The page's button, or a mail client's one-click POST: record the opt-out."""
    customer = _customer(sandbox, token)
    if customer is None:
        return _respond(invalid_link_page())
    sandbox.marketing_store.opt_out(customer, datetime.now(UTC))
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    logger.info("unsubscribed")  # the erasure key is the only name the customer has here; not logged either
    return _respond(unsubscribed_page(_shop_name(sandbox)))


def _shop_name(sandbox: Sandbox) -> str:
    try:
        marketing = sandbox.config().marketing
    except ConfigError:
        return "the shop"
    return marketing.shop_name if marketing else "the shop"


def _respond(page: Page) -> Response:
    return Response(status_code=page.status, content_type=content_types.TEXT_HTML, body=page.html, headers=page.headers)


def _customer(sandbox: Sandbox, token: str) -> str | None:
    customer = verify(token, sandbox.secrets.candidates("MARKETING_UNSUBSCRIBE_SECRET"))
    if customer is None:
        metrics.add_metric(name="UnsubscribeRefused", unit=MetricUnit.Count, value=1)
    return customer
