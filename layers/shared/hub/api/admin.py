"""The admin API's routes as functions of the sandbox's services (functions/admin_api routes to them).

Each takes the path parameter as API Gateway sent it (still percent-encoded) and answers the view
the route returns; a refusal is a `RefusedError` the handler answers with its `status_code`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config.catalog import HUB_MASTER
from hub.domain.order_search import Cursor, OrderPage, OrderQuery
from hub.domain.orders import OrderStatus
from hub.domain.stock import StockPage
from hub.domain.webhook_activity import HOURS
from hub.errors import BadRequestError, NotFoundError
from hub.events import CatalogItem, CatalogOptionData, ProductData, ProductUpdated, hub_event
from hub.intake.envelopes import validation_problem
from hub.observability import logger
from hub.services.catalog import product_from_event
from hub.services.customer_lookup import CustomerRecord
from hub.services.stock_list import decode_cursor, encode_cursor
from hub.views import (
    customer_view,
    inventory_view,
    lineage_view,
    order_page_view,
    order_view,
    product_view,
    sku_stock_view,
    stock_change_view,
)

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_Model = TypeVar("_Model", bound=BaseModel)


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


class ProductOptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    values: list[str] = Field(min_length=1)


class ProductVariantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=255)
    price: str = Field(description="a decimal string in catalog.currency")
    compare_at_price: str | None = None
    option_values: list[str] = Field(default_factory=list)


class ProductBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=255)
    description: str = ""
    status: Literal["active", "draft", "archived"]
    url: str | None = Field(default=None, max_length=2000)
    images: list[str] = Field(default_factory=list)
    options: list[ProductOptionBody] = Field(default_factory=list)
    variants: list[ProductVariantBody] = Field(min_length=1)


_PRODUCT_HINT = (
    'send JSON {"title": ..., "status": "active" | "draft" | "archived", "description": ..., "images": [...], '
    '"options": [{"name": ..., "values": [...]}], "variants": [{"sku": ..., "price": "24.00", '
    '"compare_at_price": null, "option_values": [...]}]}'
)


def _parse(model: type[_Model], json_body: Callable[[], Any], hint: str) -> _Model:
    """The request body as `model`; `json_body` reads it (Powertools' `current_event.json_body`)."""
    try:
        return model.model_validate(json_body())
    except (ValidationError, json.JSONDecodeError, TypeError) as exc:
        raise BadRequestError(hint) from exc


def get_order(sandbox: Sandbox, order_id: str) -> dict:
    order_id = unquote(order_id)
    order = sandbox.ledger.get_order(order_id)
    if order is None:
        raise NotFoundError(f"no order '{order_id}'; order ids look like shopify:5849162203412")
    return order_view(order)


def list_orders(sandbox: Sandbox, params: Mapping[str, str] | None) -> dict:
    """GET /orders?status=&channel=&date=&email=&cursor=: a page of orders, newest first."""
    return order_page_view(find_orders(sandbox, order_query(params or {})))


def find_orders(sandbox: Sandbox, query: OrderQuery) -> OrderPage:
    return sandbox.order_search.search(query)


_STATUSES = tuple(s.value for s in OrderStatus)


def order_query(params: Mapping[str, str]) -> OrderQuery:
    """The filters of GET /orders (and of the console's orders page, which names the range's ends
    `from` and `to`): every one optional, an empty one ignored. BadRequestError names the one wrong."""
    status = (params.get("status") or "").strip() or None
    if status is not None and status not in _STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(_STATUSES)}")
    channel = (params.get("channel") or "").strip() or None
    if channel is not None and len(channel) > 100:
        raise BadRequestError("channel is a channel id (at most 100 characters)")
    email = (params.get("email") or "").strip() or None
    if email is not None and (len(email) > 320 or "@" not in email):
        raise BadRequestError("email must be a customer's email address")
    first = last = None
    raw = (params.get("date") or "").strip()
    if raw:
        start, _, end = raw.partition("..")
        first, last = _query_day(start, "date"), _query_day(end or start, "date")
    else:
        first = _query_day(params.get("from"), "from") if (params.get("from") or "").strip() else None
        last = _query_day(params.get("to"), "to") if (params.get("to") or "").strip() else None
        if first is not None and last is None:
            last = max(first, datetime.now(UTC).date())  # from a day on: up to today
    cursor = (params.get("cursor") or "").strip()
    return OrderQuery(
        status=status,
        channel=channel,
        email=email,
        first=first,
        last=last,
        cursor=Cursor.decode(cursor) if cursor else None,
    )


def _query_day(raw: str | None, name: str) -> date:
    example = "a UTC day written YYYY-MM-DD, or for a range YYYY-MM-DD..YYYY-MM-DD"
    text = (raw or "").strip()
    return _day(text, misspelt=f"{name} must be {example}", impossible=f"{name}: {text} is not a day of the calendar")


def _day(text: str, *, misspelt: str, impossible: str) -> date:
    """A day written YYYY-MM-DD; a 400 saying `misspelt` or, for a day no calendar has, `impossible`."""
    if not _DAY.fullmatch(text):
        raise BadRequestError(misspelt)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequestError(impossible) from exc


def get_order_lineage(sandbox: Sandbox, order_id: str) -> dict:
    """Every delivery, decision and outbound call that concerned the order, in time order."""
    order_id = unquote(order_id)
    entries = sandbox.lineage_reader.lineage(order_id)
    if entries is None:
        raise NotFoundError(
            f"the hub has heard nothing of an order '{order_id}'; order ids look like shopify:5849162203412"
        )
    return lineage_view(order_id, entries)


def post_shipment(sandbox: Sandbox, order_id: str, json_body: Callable[[], Any]) -> dict:
    """Mark a fulfilment shipped with the tracking number a person gives (no carrier configured)."""
    order_id = unquote(order_id)
    body = _parse(
        NewShipment,
        json_body,
        'send JSON {"tracking_number": "...", "carrier": "UPS"} (optional: "tracking_url", "fulfilment_id")',
    )
    order = sandbox.manual_fulfilment.ship_manually(
        order_id,
        tracking_number=body.tracking_number,
        carrier=body.carrier,
        tracking_url=body.tracking_url,
        fulfilment_id=body.fulfilment_id,
    )
    logger.info("shipment recorded", extra={"order_id": order_id})
    return order_view(order)


def get_inventory(sandbox: Sandbox, sku: str) -> dict:
    sku = unquote(sku)
    levels = sandbox.ledger.levels_for(sku)
    if not levels:
        raise NotFoundError(f"no stock is recorded for SKU '{sku}'; set it with PUT /inventory/{sku}")
    # The latest changes, newest first (docs/stock.md, change history): one more read of its own partition.
    return {**inventory_view(sku, levels), "changes": [stock_change_view(c) for c in sandbox.stock_history.latest(sku)]}


def inventory_page(sandbox: Sandbox, cursor: str | None) -> StockPage:
    return sandbox.stock_list.page(decode_cursor(cursor))


def list_inventory(sandbox: Sandbox, params: Mapping[str, str] | None) -> dict:
    """GET /inventory?cursor=: every SKU with a level, in SKU order, 50 a page (docs/console.md)."""
    found = inventory_page(sandbox, (params or {}).get("cursor"))
    return {
        "inventory": [sku_stock_view(row) for row in found.skus],
        "low_stock_threshold": sandbox.config().low_stock_threshold,
        "next_cursor": encode_cursor(found.next_after) if found.next_after else None,
    }


def put_inventory(sandbox: Sandbox, sku: str, json_body: Callable[[], Any]) -> dict:
    sku = unquote(sku)
    body = _parse(SetLevel, json_body, 'send JSON {"location": "<location id>", "available": <units, 0 or more>}')
    sandbox.admin_stock.set_level(sku, body.location, body.available, origin="admin")
    logger.info("stock level set", extra={"sku": sku, "location": body.location})
    return inventory_view(sku, sandbox.ledger.levels_for(sku))


def get_customer(sandbox: Sandbox, email: str) -> dict:
    found = find_customer(sandbox, unquote(email))
    return customer_view(found.profile, found.messages)


def find_customer(sandbox: Sandbox, email: str) -> CustomerRecord:
    """The customer's profile and the marketing messages sent to them; a 404 without a profile."""
    found = sandbox.customer_lookup.find(email)
    if found is None:
        raise NotFoundError("no customer with that email; one appears once an order or a customer event names it")
    return found


def get_daily_report(sandbox: Sandbox, params: Mapping[str, str] | None) -> dict:
    """GET /reports/daily?date=: one day's report; ?from=&to=: each day of a range, and the range's."""
    params = params or {}
    channel = params.get("channel") or None
    if "from" in params or "to" in params:
        if "date" in params:
            raise BadRequestError("ask for one day (date=) or a range (from= and to=), not both")
        first, last = report_range(params)
        return sandbox.reports.between(first, last, channel)
    return sandbox.reports.daily(_report_day(params.get("date")), channel)


def report_range(params: Mapping[str, str]) -> tuple[date, date]:
    """The `from` and `to` days of a report over a range (GET /reports/daily, the console's Reports):
    both needed, each a UTC day; BadRequestError names the one wrong. The range's length is checked
    by the report itself (ReportingService.between)."""
    return report_end(params, "from"), report_end(params, "to")


def report_end(params: Mapping[str, str], name: str) -> date:
    """One end (`from` or `to`) of a report's range; BadRequestError naming it."""
    example = "a UTC day written YYYY-MM-DD, e.g. from=2026-11-01&to=2026-11-30"
    text = (params.get(name) or "").strip()
    if not text:
        raise BadRequestError(f"a range needs both ends: {name} must be {example}")
    return _day(text, misspelt=f"{name} must be {example}", impossible=f"{name}: {text} is not a day of the calendar")


def _report_day(raw: str | None) -> date:
    example = "e.g. ?date=2026-11-20 (a UTC day)"
    if not raw:
        raise BadRequestError(f"say which day: date=YYYY-MM-DD, {example}")
    return _day(
        raw,
        misspelt=f"date must be a day written YYYY-MM-DD, {example}",
        impossible=f"{raw} is not a day of the calendar; {example}",
    )


def webhook_activity(sandbox: Sandbox) -> dict:
    """GET /webhooks/activity: per source, the last 24 hours of deliveries by outcome and the latest
    refusals with their reason, as the console's webhooks page shows them (docs/console.md#webhooks)."""
    return {"hours": HOURS, "sources": [row.as_dict() for row in sandbox.webhook_activity.last_day()]}


def get_product(sandbox: Sandbox, sku: str) -> dict:
    """GET /products/{sku}: the hub's catalog product one of whose variants is `sku` (docs/catalog.md)."""
    sku = unquote(sku)
    if sandbox.config().catalog is None:
        raise NotFoundError("catalog sync is off: add a catalog section to the configuration (docs/catalog.md)")
    product = sandbox.product_records.product_for_sku(sku)
    stored = sandbox.product_records.product(product.key) if product else None
    if stored is None:
        raise NotFoundError(f"no product of the catalog has SKU '{sku}'")
    return {**product_view(stored.product), "version": stored.version, "published": stored.published}


def catalog_drift(sandbox: Sandbox, params: Mapping[str, str] | None) -> dict:
    """GET /catalog/drift?limit=N: changes made on channels that are not the master, newest first."""
    raw = (params or {}).get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequestError("limit must be a whole number from 1 to 500")
    return {
        "drift": [
            {
                "channel": d.channel,
                "product_key": d.product_key,
                "skus": list(d.skus),
                "fields": list(d.fields),
                "detected_at": d.detected_at,
                "event_id": d.event_id,
            }
            for d in sandbox.catalog_push_log.drift(int(raw))
        ]
    }


def put_product(sandbox: Sandbox, sku: str, json_body: Callable[[], Any]) -> dict:
    """PUT /products/{sku}: set the product one of whose variants is `sku`, when the hub itself is the
    catalog master (`catalog.master: hub`). It is checked here and published as the hub's own
    ProductUpdated; catalog_sync records it and pushes it, as it does a master channel's change."""
    sku = unquote(sku)
    settings = sandbox.config().catalog
    if settings is None:
        raise NotFoundError("catalog sync is off: add a catalog section to the configuration (docs/catalog.md)")
    if settings.master != HUB_MASTER:
        raise BadRequestError(
            f"the catalog master is the channel '{settings.master}': change products there (PUT /products is for master: hub)"
        )
    try:
        body = ProductBody.model_validate(json_body())
    except ValidationError as exc:
        raise BadRequestError(f"{validation_problem(exc)}; {_PRODUCT_HINT}") from exc
    except (json.JSONDecodeError, TypeError) as exc:
        raise BadRequestError(_PRODUCT_HINT) from exc
    if sku not in {v.sku for v in body.variants}:
        raise BadRequestError(f"no variant of the body has the SKU '{sku}' of the path")
    existing = sandbox.product_records.product_for_sku(sku)
    key = existing.key if existing else f"{HUB_MASTER}:{sku}"
    now = datetime.now(UTC)
    data = ProductData(
        platform_product_id=key.removeprefix(f"{HUB_MASTER}:"),
        items=[
            CatalogItem(sku=v.sku, price=v.price, compare_at_price=v.compare_at_price, option_values=v.option_values)
            for v in body.variants
        ],
        updated_at=now,
        catalog=True,
        title=body.title,
        description=body.description,
        status=body.status,
        url=body.url,
        images=body.images,
        options=[CatalogOptionData(name=o.name, values=o.values) for o in body.options],
    )
    event = hub_event(
        ProductUpdated,
        key=("product", key, now.isoformat()),
        channel=HUB_MASTER,
        occurred_at=now,
        topic="product/set",
        data=data,
    )
    try:
        product = product_from_event(event, key, settings.currency)  # refuses what catalog_sync would
    except ValueError as exc:  # MoneyError included
        raise BadRequestError(str(exc)) from exc
    sandbox.publisher.publish([event])
    logger.info("catalog product set", extra={"product_key": key, "event_id": event.event_id})
    return {"status": "accepted", "event_id": event.event_id, "product": product_view(product)}
