"""A small fake of the BigCommerce REST API: the store behind events/payloads/bigcommerce_*.json.

The same fake answers through `httpx.MockTransport` (unit and functional tests) and over real HTTP
on 127.0.0.1 (end to end, where the local stack's functions call it). It checks X-Auth-Token, can
be told to fail the next reads, and records every path it was asked for.

Its order listing, for the reconciler (developer.bigcommerce.com/docs/rest-management/orders,
"Get All Orders", V2): `GET /v2/orders` with `min_date_modified` (inclusive; RFC 2822 or ISO 8601),
`sort` (`field:asc|desc`), `page` and `limit` (at most 250); 204 No Content when no order matches.
A date it cannot read, a `limit` over 250 or an unknown sort field is refused with 400, as V2 does.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.loopback import Request, json_transport, serving_json

STORE_HASH = "k7qd3x2m9f"
ACCESS_TOKEN = "local-bigcommerce-access-token"
ORDER_ID = 3108
CUSTOMER_ID = 274
PRODUCT_ID = 1142
VARIANT_ID = 5087

_ORDER = {
    "id": ORDER_ID,
    "customer_id": CUSTOMER_ID,
    "date_created": "Fri, 20 Nov 2026 18:10:09 +0000",
    "date_modified": "Fri, 20 Nov 2026 18:10:12 +0000",
    "date_shipped": "",
    "status_id": 11,
    "status": "Awaiting Fulfillment",
    "custom_status": "Awaiting Fulfillment",
    "subtotal_ex_tax": "86.0000",
    "subtotal_inc_tax": "93.1000",
    "subtotal_tax": "7.1000",
    "base_shipping_cost": "8.5000",
    "shipping_cost_ex_tax": "8.5000",
    "shipping_cost_inc_tax": "8.5000",
    "total_ex_tax": "94.5000",
    "total_inc_tax": "101.6000",
    "total_tax": "7.1000",
    "items_total": 3,
    "items_shipped": 0,
    "payment_method": "Credit Card",
    "payment_status": "captured",
    "refunded_amount": "0.0000",
    "order_is_digital": False,
    "ip_address": "198.51.100.23",
    "currency_id": 1,
    "currency_code": "USD",
    "currency_exchange_rate": "1.0000000000",
    "default_currency_code": "USD",
    "discount_amount": "0.0000",
    "channel_id": 1,
    "order_source": "www",
    "billing_address": {
        "first_name": "Theo",
        "last_name": "Lindqvist",
        "street_1": "2210 N Clybourn Ave",
        "city": "Chicago",
        "state": "Illinois",
        "zip": "60614",
        "country": "United States",
        "country_iso2": "US",
        "phone": "+1 312 555 0199",
        "email": "theo.lindqvist@example.com",
    },
    "products": {
        "url": f"https://api.bigcommerce.com/stores/{STORE_HASH}/v2/orders/{ORDER_ID}/products",
        "resource": f"/orders/{ORDER_ID}/products",
    },
    "shipping_addresses": {
        "url": f"https://api.bigcommerce.com/stores/{STORE_HASH}/v2/orders/{ORDER_ID}/shipping_addresses",
        "resource": f"/orders/{ORDER_ID}/shipping_addresses",
    },
}
_ORDER_PRODUCTS = [
    {
        "id": 9001,
        "order_id": ORDER_ID,
        "product_id": PRODUCT_ID,
        "variant_id": VARIANT_ID,
        "name": "Ceramic Pour-Over Dripper - Slate",
        "sku": "DRIP-CER-SLT",
        "type": "physical",
        "base_price": "28.0000",
        "price_ex_tax": "28.0000",
        "price_inc_tax": "30.3100",
        "total_ex_tax": "56.0000",
        "total_inc_tax": "60.6200",
        "quantity": 2,
        "quantity_shipped": 0,
    },
    {
        "id": 9002,
        "order_id": ORDER_ID,
        "product_id": 1150,
        "variant_id": 5120,
        "name": "Unbleached Paper Filters (100)",
        "sku": "FILTER-100",
        "type": "physical",
        "base_price": "30.0000",
        "price_ex_tax": "30.0000",
        "price_inc_tax": "32.4800",
        "total_ex_tax": "30.0000",
        "total_inc_tax": "32.4800",
        "quantity": 1,
        "quantity_shipped": 0,
    },
]
_SHIPPING_ADDRESSES = [
    {
        "id": 2291,
        "order_id": ORDER_ID,
        "first_name": "Theo",
        "last_name": "Lindqvist",
        "street_1": "2210 N Clybourn Ave",
        "city": "Chicago",
        "state": "Illinois",
        "zip": "60614",
        "country": "United States",
        "country_iso2": "US",
        "shipping_method": "Flat Rate",
    }
]
_CUSTOMERS = {
    "data": [
        {
            "id": CUSTOMER_ID,
            "email": "theo.lindqvist@example.com",
            "first_name": "Theo",
            "last_name": "Lindqvist",
            "company": "",
            "phone": "+1 312 555 0199",
            "date_created": "2026-02-11T15:40:02Z",
            "date_modified": "2026-11-20T18:11:03Z",
            "customer_group_id": 0,
            "accepts_product_review_abandoned_cart_emails": True,
            "channel_ids": [1],
        }
    ],
    "meta": {"pagination": {"total": 1, "count": 1, "per_page": 50, "current_page": 1, "total_pages": 1}},
}
_VARIANT = {
    "data": {
        "id": VARIANT_ID,
        "product_id": PRODUCT_ID,
        "sku": "DRIP-CER-SLT",
        "sku_id": 6011,
        "inventory_level": 31,
        "inventory_warning_level": 5,
        "bin_picking_number": "A-14",
        "option_values": [{"id": 180, "label": "Slate", "option_id": 112, "option_display_name": "Colour"}],
    },
    "meta": {},
}
_PRODUCT = {
    "data": {
        "id": PRODUCT_ID,
        "name": "Ceramic Pour-Over Dripper",
        "type": "physical",
        "sku": "DRIP-CER",
        "inventory_level": 0,
        "inventory_tracking": "variant",
        "date_modified": "2026-11-20T18:10:12+00:00",
    },
    "meta": {},
}

# The product as `GET /v3/catalog/products/{id}?include=variants,images` answers (shaped on the
# "Get a Product" response example, developer.bigcommerce.com/docs/rest-catalog/products#get-a-product,
# and its variants' example, /docs/rest-catalog/product-variants): prices are JSON numbers; a
# variant's `price`/`sale_price` are null when it inherits the product's; `calculated_price` is the
# storefront's derived price; `retail_price` the MSRP.
PRODUCT_WITH_CONTENT = {
    "data": {
        **_PRODUCT["data"],
        "description": "<p>Hand-thrown stoneware dripper.</p>",
        "price": 34.95,
        "cost_price": 0,
        "retail_price": 39.95,
        "sale_price": 0,
        "map_price": 0,
        "calculated_price": 34.95,
        "is_visible": True,
        "availability": "available",
        "base_variant_id": None,
        "custom_url": {"url": "/ceramic-pour-over-dripper/", "is_customized": False},
        "images": [
            {
                "id": 372,
                "product_id": PRODUCT_ID,
                "is_thumbnail": False,
                "sort_order": 2,
                "url_zoom": "https://cdn11.bigcommerce.com/s-k7qd3x2m9f/images/stencil/1280x1280/products/1142/372/side.jpg",
                "url_standard": "https://cdn11.bigcommerce.com/s-k7qd3x2m9f/images/stencil/500x659/products/1142/372/side.jpg",
            },
            {
                "id": 371,
                "product_id": PRODUCT_ID,
                "is_thumbnail": True,
                "sort_order": 1,
                "url_zoom": "https://cdn11.bigcommerce.com/s-k7qd3x2m9f/images/stencil/1280x1280/products/1142/371/front.jpg",
                "url_standard": "https://cdn11.bigcommerce.com/s-k7qd3x2m9f/images/stencil/500x659/products/1142/371/front.jpg",
            },
        ],
        "variants": [
            {
                "id": VARIANT_ID,
                "product_id": PRODUCT_ID,
                "sku": "DRIP-CER-SLT",
                "sku_id": 6011,
                "price": None,
                "calculated_price": 34.95,
                "sale_price": None,
                "retail_price": None,
                "inventory_level": 31,
                "option_values": [{"id": 180, "label": "Slate", "option_id": 112, "option_display_name": "Colour"}],
            },
            {
                "id": VARIANT_ID + 1,
                "product_id": PRODUCT_ID,
                "sku": "DRIP-CER-CRM",
                "sku_id": 6012,
                "price": 36.5,
                "calculated_price": 32,
                "sale_price": 32,
                "retail_price": None,
                "inventory_level": 12,
                "option_values": [{"id": 181, "label": "Cream", "option_id": 112, "option_display_name": "Colour"}],
            },
        ],
    },
    "meta": {},
}


def default_documents() -> dict[str, Any]:
    base = f"/stores/{STORE_HASH}"
    return copy.deepcopy(
        {
            f"{base}/v2/orders/{ORDER_ID}": _ORDER,
            f"{base}/v2/orders/{ORDER_ID}/products": _ORDER_PRODUCTS,
            f"{base}/v2/orders/{ORDER_ID}/shipping_addresses": _SHIPPING_ADDRESSES,
            f"{base}/v3/customers?id:in={CUSTOMER_ID}": _CUSTOMERS,
            f"{base}/v3/catalog/products/{PRODUCT_ID}": _PRODUCT,
            f"{base}/v3/catalog/products/{PRODUCT_ID}?include=variants,images": PRODUCT_WITH_CONTENT,
            f"{base}/v3/catalog/products/{PRODUCT_ID}/variants/{VARIANT_ID}": _VARIANT,
        }
    )


def _when(value: str):
    """An RFC 2822 date (as V2 writes them) or an ISO 8601 one (as V2 also reads them)."""
    from datetime import UTC, datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FakeBigCommerce:
    def __init__(self, token: str = ACCESS_TOKEN) -> None:
        self.token = token
        self.documents = default_documents()
        self.fail_next = 0
        self.fail_status = 503
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def order(self, order_id: int = ORDER_ID) -> dict[str, Any]:
        return self.documents[f"/stores/{STORE_HASH}/v2/orders/{order_id}"]

    def add_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        """Another order like the default one (same products and address), with `changes` applied."""
        base = f"/stores/{STORE_HASH}/v2/orders"
        with self._lock:
            order = {**copy.deepcopy(_ORDER), "id": order_id, **changes}
            self.documents[f"{base}/{order_id}"] = order
            self.documents[f"{base}/{order_id}/products"] = [
                {**item, "order_id": order_id} for item in copy.deepcopy(_ORDER_PRODUCTS)
            ]
            self.documents[f"{base}/{order_id}/shipping_addresses"] = [
                {**address, "order_id": order_id} for address in copy.deepcopy(_SHIPPING_ADDRESSES)
            ]
        return order

    def answer(self, path: str, query: str, token: str | None) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(f"{path}?{query}" if query else path)
            if self.fail_next:
                self.fail_next -= 1
                return self.fail_status, {"status": self.fail_status, "title": "Service Unavailable"}
        if token != self.token:
            return 401, {"status": 401, "title": "You are not authorized"}
        params = parse_qs(query)
        if path == f"/stores/{STORE_HASH}/v2/orders":
            return self._orders({k: v[-1] for k, v in params.items()})
        if "page" in params:  # v2 lists: everything on page 1, then 204 No Content
            return (
                (200, self.documents.get(path)) if params["page"] == ["1"] and path in self.documents else (204, None)
            )
        key = f"{path}?{query}" if query else path
        if key in self.documents:
            return 200, self.documents[key]
        return 404, {"status": 404, "title": "The requested resource was not found"}

    def _orders(self, query: dict[str, str]) -> tuple[int, Any]:
        limit, page = int(query.get("limit", 50)), int(query.get("page", 1))
        if not 1 <= limit <= 250:
            return 400, [{"status": 400, "message": "The field 'limit' is invalid."}]
        field, _, direction = query.get("sort", "id:asc").partition(":")
        if field not in (
            "id",
            "customer_id",
            "date_created",
            "date_modified",
            "status_id",
            "channel_id",
            "external_id",
        ):
            return 400, [{"status": 400, "message": "The field 'sort' is invalid."}]
        base = f"/stores/{STORE_HASH}/v2/orders/"
        with self._lock:
            orders = [doc for key, doc in self.documents.items() if key.startswith(base) and key[len(base) :].isdigit()]
        if "min_date_modified" in query:
            try:
                since = _when(query["min_date_modified"])
            except (TypeError, ValueError):
                return 400, [{"status": 400, "message": "The field 'min_date_modified' is invalid."}]
            orders = [o for o in orders if _when(o["date_modified"]) >= since]
        if field in ("date_created", "date_modified"):
            orders.sort(key=lambda o: (_when(o[field]), o["id"]), reverse=direction == "desc")
        else:
            orders.sort(key=lambda o: (o.get(field) or 0, o["id"]), reverse=direction == "desc")
        chunk = orders[(page - 1) * limit : page * limit]
        return (200, copy.deepcopy(chunk)) if chunk else (204, None)

    def reply(self, request: Request) -> tuple[int, Any]:
        return self.answer(request.path, request.query, request.headers.get("X-Auth-Token"))

    def transport(self) -> httpx.MockTransport:
        return json_transport(self.reply)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the fake on 127.0.0.1; yields its base URL (a channel's api_url)."""
        with serving_json(self.reply) as url:
            yield url
