"""marketing_unsubscribe: the public unsubscribe link of marketing email (GET), and the one-click
unsubscribe mail clients send (POST, RFC 8058). A valid signed token records the opt-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from html import escape
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.marketing.unsubscribe import verify
from hub.observability import MetricUnit, logger, metrics

app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class _Root:
    store: Any  # hub.adapters.marketing_store.DynamoMarketingStore
    secrets: Any  # hub.secrets.SecretsProvider


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.marketing_store import DynamoMarketingStore
    from hub.secrets import SecretsProvider
    from hub.settings import settings

    return _Root(DynamoMarketingStore(boto3.client("dynamodb"), settings().table), SecretsProvider())


def _shop_name() -> str:
    from hub.config import ConfigError, load_config

    try:
        marketing = load_config().marketing
    except ConfigError:
        return "the shop"
    return marketing.shop_name if marketing else "the shop"


def _page(status: int, title: str, text: str) -> Response:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f'<body style="font-family:Helvetica,Arial,sans-serif;max-width:36em;margin:3em auto">'
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    )
    return Response(status_code=status, content_type=content_types.TEXT_HTML, body=body)


@app.route("/unsubscribe", method=["GET", "POST"])
def unsubscribe() -> Response:
    root = _root()
    token = app.current_event.get_query_string_value("token", "") or ""
    customer = verify(token, root.secrets.candidates("MARKETING_UNSUBSCRIBE_SECRET"))
    if customer is None:
        metrics.add_metric(name="UnsubscribeRefused", unit=MetricUnit.Count, value=1)
        return _page(400, "This link is not valid", "Use the unsubscribe link of the email, whole and unchanged.")
    root.store.opt_out(customer, datetime.now(UTC))
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    logger.info("unsubscribed")  # the erasure key is the only name the customer has here; not logged either
    shop = _shop_name()
    return _page(200, "You are unsubscribed", f"You will receive no more marketing email from {shop}.")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
