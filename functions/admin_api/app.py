"""admin_api: the read/admin API over orders and inventory (IAM auth in AWS, bearer token locally)."""

from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.errors import BadRequestError, NotFoundError, RefusedError
from hub.observability import logger, metrics
from hub.views import customer_view, inventory_view, lineage_view, order_view
from pydantic import BaseModel, ConfigDict, Field, ValidationError

app = APIGatewayHttpResolver()
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class NewShipment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking_number: str = Field(min_length=1, max_length=100)
    carrier: str = Field(min_length=1, max_length=100)
    tracking_url: str | None = Field(default=None, max_length=2000)
    fulfilment_id: str | None = Field(default=None, min_length=1)


class SetLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location: str = Field(min_length=1)
    available: int = Field(ge=0)


sandbox = Sandbox()


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict:
    order_id = unquote(order_id)
    order = sandbox.ledger.get_order(order_id)
    if order is None:
        raise NotFoundError(f"no order '{order_id}'; order ids look like shopify:5849162203412")
    return order_view(order)


@app.get("/orders/<order_id>/lineage")
def get_order_lineage(order_id: str) -> dict:
    """Every delivery, decision and outbound call that concerned the order, in time order."""
    order_id = unquote(order_id)
    entries = sandbox.lineage_reader.lineage(order_id)
    if entries is None:
        raise NotFoundError(
            f"the hub has heard nothing of an order '{order_id}'; order ids look like shopify:5849162203412"
        )
    return lineage_view(order_id, entries)


@app.post("/orders/<order_id>/shipments")
def post_shipment(order_id: str) -> Response:
    """Mark a fulfilment shipped with the tracking number a person gives (no carrier configured)."""
    order_id = unquote(order_id)
    try:
        body = NewShipment.model_validate(app.current_event.json_body)
    except (ValidationError, json.JSONDecodeError, TypeError) as exc:
        raise BadRequestError(
            'send JSON {"tracking_number": "...", "carrier": "UPS"} (optional: "tracking_url", "fulfilment_id")'
        ) from exc
    order = sandbox.manual_fulfilment.ship_manually(
        order_id,
        tracking_number=body.tracking_number,
        carrier=body.carrier,
        tracking_url=body.tracking_url,
        fulfilment_id=body.fulfilment_id,
    )
    logger.info("shipment recorded", extra={"order_id": order_id})
    return Response(200, content_types.APPLICATION_JSON, json.dumps(order_view(order)))


@app.get("/inventory/<sku>")
def get_inventory(sku: str) -> dict:
    sku = unquote(sku)
    levels = sandbox.ledger.levels_for(sku)
    if not levels:
        raise NotFoundError(f"no stock is recorded for SKU '{sku}'; set it with PUT /inventory/{sku}")
    return inventory_view(sku, levels)


@app.put("/inventory/<sku>")
def put_inventory(sku: str) -> dict:
    sku = unquote(sku)
    try:
        body = SetLevel.model_validate(app.current_event.json_body)
    except (ValidationError, json.JSONDecodeError, TypeError) as exc:
        raise BadRequestError('send JSON {"location": "<location id>", "available": <units, 0 or more>}') from exc
    sandbox.admin_stock.set_level(sku, body.location, body.available, origin="admin")
    logger.info("stock level set", extra={"sku": sku, "location": body.location})
    return inventory_view(sku, sandbox.ledger.levels_for(sku))


@app.get("/customers/<email>")
def get_customer(email: str) -> dict:
    profile = sandbox.profiles.get(unquote(email))
    if profile is None:
        raise NotFoundError("no customer with that email; one appears once an order or a customer event names it")
    return customer_view(profile)


@app.get("/reports/daily")
def get_daily_report() -> dict:
    params = app.current_event.query_string_parameters or {}
    return sandbox.reports.daily(_report_day(params.get("date")), params.get("channel") or None)


def _report_day(raw: str | None) -> date:
    example = "e.g. ?date=2026-11-20 (a UTC day)"
    if not raw:
        raise BadRequestError(f"say which day: date=YYYY-MM-DD, {example}")
    if not _DAY.fullmatch(raw):
        raise BadRequestError(f"date must be a day written YYYY-MM-DD, {example}")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequestError(f"{raw} is not a day of the calendar; {example}") from exc


def _error(status: int, message: str) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps({"error": message}))


@app.exception_handler(RefusedError)
def _refused(exc: RefusedError) -> Response:
    # By branch (hub.errors): a refusal answers its own 4xx (NotFoundError 404, BadRequestError and
    # UnknownLocationError 400, ShipError the status it names).
    return _error(exc.status_code, str(exc))


@app.not_found
def _no_route(_exc: Exception) -> Response:
    return _error(404, "no such route")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
