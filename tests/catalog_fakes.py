"""Fakes for catalog sync: in-memory product records and push log with the guarantees of
hub.adapters.catalog_store, and one fake of the storefronts' product APIs that records every request,
checks each platform's credentials, keeps each product as the store would, and writes the webhook
body the store would send after a change (its echo).

The vendor shapes it answers with (vendor docs):
- Shopify `productSet` (shopify.dev/docs/api/admin-graphql/2026-10/mutations/productSet): a
  `ProductSetPayload` {product {id}, userErrors [{code, field, message}]}; THROTTLED in a 200 with
  `extensions.cost.throttleStatus` (shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits);
- WooCommerce (woocommerce.github.io/woocommerce-rest-api-docs, #update-a-product,
  #batch-update-product-variations): the product resource with prices as decimal strings; 429 with
  Retry-After from hosts that rate-limit;
- BigCommerce (developer.bigcommerce.com/docs/rest-catalog/products#update-a-product,
  /products/variants#update-variants-batch): `{"data": ..., "meta": {}}`; 429 with
  `X-Rate-Limit-Time-Reset-Ms` (developer.bigcommerce.com/docs/start/best-practices/api-rate-limits);
- Adobe Commerce `PUT /V1/products/{sku}` (developer.adobe.com/commerce/webapi/rest/): the product.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx
from hub.domain.catalog import CatalogProduct, Drift, PushState, StoredProduct
from hub.errors import CatalogConflictError, SyncBusyError, SyncStaleError

from tests.loopback import Reply, Request, json_transport, serving_json
from tests.magento_oauth import MagentoOAuthCheck
from tests.stock_fakes import SHOPIFY_TOKEN, STOREFRONT_SECRETS, WOO_KEY, WOO_SECRET
from tests.woocommerce_auth import refusal as woocommerce_refusal

BIGCOMMERCE_TOKEN = "bc_local_test_token"
STORE_HASH = "abc123"
CATALOG_SECRETS = {**STOREFRONT_SECRETS, "BIGCOMMERCE_ACCESS_TOKEN": BIGCOMMERCE_TOKEN}
SHOPIFY_VERSION = "2026-10"


class FakeProductRecords:
    def __init__(self) -> None:
        self.items: dict[str, StoredProduct] = {}
        self.index: dict[str, str] = {}

    def product(self, key: str) -> StoredProduct | None:
        return self.items.get(key)

    def product_for_sku(self, sku: str) -> CatalogProduct | None:
        key = self.index.get(sku)
        return self.items[key].product if key in self.items else None

    def save(
        self, product: CatalogProduct, expected_version: int, previous: CatalogProduct | None = None, *, as_of=None
    ) -> int:
        old = self.items.get(product.key)
        if (old.version if old else 0) != expected_version:
            raise CatalogConflictError(f"{product.key} changed")
        for sku in previous.skus if previous else ():
            self.index.pop(sku, None)
        for sku in product.skus:
            self.index[sku] = product.key
        self.items[product.key] = StoredProduct(product, expected_version + 1, as_of, old.published if old else False)
        return expected_version + 1

    def mark_published(self, key: str) -> bool:
        old = self.items[key]
        if old.published:
            return False
        self.items[key] = dataclasses.replace(old, published=True)
        return True


class FakeCatalogPushLog:
    def __init__(self) -> None:
        self.states: dict[tuple[str, str], PushState] = {}
        self.drifts: dict[str, Drift] = {}

    def pushed(self, channel: str, key: str) -> PushState | None:
        return self.states.get((channel, key))

    def claim(self, channel: str, key: str, version: int, *, now_ms: int, lease_ms: int) -> None:
        old = self.states.get((channel, key))
        free = old is None or not old.pending or old.lease_until < now_ms
        if old is None or (old.version < version and free) or (old.version == version and old.pending and free):
            self.states[(channel, key)] = PushState(version, True, now_ms + lease_ms, old.digest if old else None)
            return
        if old.version < version or (old.version == version and old.pending):
            raise SyncBusyError(f"{channel} {key} busy")
        raise SyncStaleError(f"{channel} has version {old.version} of {key}")

    def complete(self, channel: str, key: str, version: int, digest: str) -> None:
        old = self.states[(channel, key)]
        if old.version != version:
            raise SyncStaleError("overtaken")
        self.states[(channel, key)] = PushState(version, False, 0, digest)

    def abandon(self, channel: str, key: str, version: int) -> None:
        old = self.states.get((channel, key))
        if old and old.version == version and old.pending:
            self.states[(channel, key)] = dataclasses.replace(old, lease_until=0)

    def record_drift(self, drift: Drift) -> None:
        self.drifts[f"{drift.detected_at}#{drift.event_id}"] = drift

    def drift(self, limit: int) -> list[Drift]:
        return [self.drifts[k] for k in sorted(self.drifts, reverse=True)][:limit]


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # JSON numbers read as Decimal, exactly as written
    raw: bytes = b""


def _plain(document: Any) -> Any:
    """An answer's document as JSON can carry it (the Decimals a request held, as numbers)."""
    return json.loads(json.dumps(document, default=float))


class FakeProductApis:
    """Shopify GraphQL `productSet`, WooCommerce products and variations, BigCommerce catalog
    products and variants, Adobe Commerce products, on one base URL. `throttle_next` makes Shopify
    answer THROTTLED; `limit_next` makes the REST stores answer 429 (with their retry header);
    `fail_next` answers 503."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.woocommerce: dict[int, dict[str, Any]] = {}  # product id -> the product as the store holds it
        self.bigcommerce: dict[int, dict[str, Any]] = {}
        self.woo_variations: dict[int, list[dict[str, Any]]] = {}  # product id -> its variations
        self.shopify: dict[str, dict[str, Any]] = {}  # product gid -> the last input set
        self.magento: dict[str, dict[str, Any]] = {}  # sku -> product
        self.magento_oauth = MagentoOAuthCheck()
        self.throttle_next = 0
        self.limit_next = 0
        self.fail_next = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ store state
    def woo_product(self, product_id: int, sku: str, **fields: Any) -> None:
        """A simple product as the WooCommerce store holds it before the hub writes it."""
        self.woocommerce[product_id] = {
            "id": product_id,
            "name": "",
            "type": "simple",
            "status": "publish",
            "description": "",
            "sku": sku,
            "price": "0.00",
            "regular_price": "0.00",
            "sale_price": "",
            "permalink": f"https://shop.example/product/{product_id}/",
            "images": [],
            "date_modified_gmt": "2026-11-20T10:00:00",
            **fields,
        }

    def woo_variable(
        self, product_id: int, attribute: str, variations: dict[str, tuple[str, str]], **fields: Any
    ) -> None:
        """A variable product and its variations (`{sku: (option, regular price)}`), as the store holds
        them (woocommerce.github.io/woocommerce-rest-api-docs/#product-variation-properties: the
        variation's `attributes` name the option it is; prices are decimal strings, "" when unset)."""
        options = [option for option, _ in variations.values()]
        self.woo_product(
            product_id,
            "",
            type="variable",
            price="",
            regular_price="",
            attributes=[
                {"id": 0, "name": attribute, "position": 0, "visible": True, "variation": True, "options": options}
            ],
            variations=[product_id * 10 + n for n in range(len(variations))],
            **fields,
        )
        self.woo_variations[product_id] = [
            {
                "id": product_id * 10 + n,
                "sku": sku,
                "status": "publish",
                "price": price,
                "regular_price": price,
                "sale_price": "",
                "attributes": [{"id": 0, "name": attribute, "option": option}],
            }
            for n, (sku, (option, price)) in enumerate(variations.items())
        ]

    def woo_webhook(self, product_id: int, modified: str) -> dict[str, Any]:
        """The body of the product.updated webhook the store sends for the product as it holds it."""
        with self._lock:
            product = dict(self.woocommerce[product_id])
        product["date_modified_gmt"] = modified
        product["price"] = product["sale_price"] or product["regular_price"]
        product["on_sale"] = bool(product["sale_price"])
        product["manage_stock"] = False
        return product

    def of(self, platform: str) -> list[Seen]:
        marker = {
            "shopify": "/graphql.json",
            "woocommerce": "/wp-json/",
            "bigcommerce": "/v3/catalog/",
            "magento": "/rest/V1/",
        }[platform]
        return [r for r in self.requests if marker in r.path]

    # ------------------------------------------------------------------------------ answers
    def answer(self, request: Request) -> Reply:
        body = json.loads(request.body, parse_float=Decimal) if request.body else None
        headers = request.lowered_headers()
        path = request.path
        with self._lock:
            self.requests.append(Seen(request.method, request.target, headers, body, request.body))
            if self.fail_next:
                self.fail_next -= 1
                return 503, {"errors": "unavailable"}
            if self.limit_next and not path.endswith("/graphql.json"):
                self.limit_next -= 1
                if "/v3/catalog/" in path:
                    return 429, {"status": 429, "title": "Too many requests"}, {"X-Rate-Limit-Time-Reset-Ms": "50"}
                return 429, {"code": "too_many_requests", "message": "Too many requests"}, {"Retry-After": "0"}
        if path.endswith("/graphql.json"):
            return self._shopify(path, headers, body)
        if path.startswith("/wp-json/wc/v3/products/"):
            refused = woocommerce_refusal(request.url, headers, WOO_KEY, WOO_SECRET)
            if refused:
                return refused
            return self._woocommerce(request.method, path, body, request.query)
        if "/v3/catalog/" in path:
            if headers.get("x-auth-token") != BIGCOMMERCE_TOKEN:
                return 401, {"status": 401, "title": "Unauthorized"}
            return self._bigcommerce(path, body)
        if path.startswith("/rest/V1/products/") and request.method == "GET":
            refused = self.magento_oauth.check(request.method, request.url, headers)
            if refused:
                return refused
            return self._magento_product(unquote(path.removeprefix("/rest/V1/products/")))
        if path.startswith("/rest/V1/products/") and request.method == "PUT":
            refused = self.magento_oauth.check(request.method, request.url, headers)
            if refused:
                return refused
            product = body["product"]
            with self._lock:
                self.magento[product["sku"]] = product
            return 200, _plain({"id": 1, **product})
        return 404, {"error": f"no route {path}"}

    def _shopify(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        if headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
            return 401, {"errors": "[API] Invalid API key or access token"}
        if path != f"/admin/api/{SHOPIFY_VERSION}/graphql.json":
            return 404, {"errors": "Not Found"}
        with self._lock:
            if self.throttle_next:
                self.throttle_next -= 1
                return 200, {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": 10,
                            "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": 0, "restoreRate": 100},
                        }
                    },
                }
        if "productSet(" not in body.get("query", ""):
            return 200, {"errors": [{"message": "unsupported by this fake", "extensions": {"code": "NOT_FOUND"}}]}
        variables = body["variables"]
        product_id = variables["identifier"]["id"]
        errors = []
        names = [o["name"] for o in variables["input"]["productOptions"]]
        for n, variant in enumerate(variables["input"]["variants"]):
            if [v["optionName"] for v in variant["optionValues"]] != names:
                errors.append({"code": "INVALID_VARIANT", "field": ["input", "variants", str(n)], "message": "x"})
        if errors:
            return 200, {"data": {"productSet": {"product": None, "userErrors": errors}}}
        with self._lock:
            self.shopify[product_id] = variables["input"]
        return 200, {"data": {"productSet": {"product": {"id": product_id}, "userErrors": []}}}

    def _woocommerce(self, method: str, path: str, body: dict[str, Any], query: str = "") -> Reply:
        parts = path.rstrip("/").split("/")
        product_id = int(parts[5])
        if method == "GET" and parts[6:] == ["variations"]:
            return self._woo_variation_page(product_id, query)
        with self._lock:
            product = self.woocommerce.get(product_id)
            if product is None:
                return 404, {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {}}
            if method == "PUT" and len(parts) == 6:
                product.update({k: v for k, v in body.items() if k != "images"})
                if "images" in body:  # the store sideloads each image under its own URL
                    product["images"] = [
                        {"id": 900 + n, "src": f"https://shop.example/wp-content/uploads/{n}.jpg"}
                        for n, _ in enumerate(body["images"])
                    ]
                return 200, product
            if method == "POST" and parts[6:] == ["variations", "batch"]:
                held = {v["id"]: v for v in self.woo_variations.get(product_id, [])}
                for change in body.get("update", []):
                    if change["id"] in held:
                        held[change["id"]].update(change)
                        held[change["id"]]["price"] = change.get("sale_price") or change.get("regular_price", "")
                return 200, {"update": [dict(v) for v in body.get("update", [])]}
        return 404, {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}

    def _magento_product(self, sku: str) -> Reply:
        """`GET /V1/products/{sku}` as Adobe Commerce answers (developer.adobe.com/commerce/webapi/rest/,
        catalogProductRepositoryV1 get): `price` a JSON number, `status` 1/2, the description and
        special price among `custom_attributes`, as text."""
        with self._lock:
            held = self.magento.get(sku)
        if held is None:
            return 404, {"message": "The product that was requested doesn't exist. Verify the product and try again."}
        return 200, _plain(
            {
                "id": 1982,
                "sku": sku,
                "name": held["name"],
                "attribute_set_id": 4,
                "price": held["price"],
                "status": held["status"],
                "visibility": 4,
                "type_id": "simple",
                "created_at": "2026-03-02 09:14:40",
                "updated_at": held.get("updated_at", "2026-11-20 16:05:41"),
                "custom_attributes": held.get("custom_attributes", []),
            }
        )

    def _woo_variation_page(self, product_id: int, query: str) -> Reply:
        """`GET .../variations?per_page=&page=`: one page, with X-WP-Total and X-WP-TotalPages."""
        from urllib.parse import parse_qs

        params = {k: v[-1] for k, v in parse_qs(query).items()}
        per_page, page = int(params.get("per_page", 10)), int(params.get("page", 1))
        if not 1 <= per_page <= 100:
            return 400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page", "data": {}}
        with self._lock:
            if product_id not in self.woocommerce:
                return 404, {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {}}
            listed = [dict(v) for v in self.woo_variations.get(product_id, [])]
        pages = max(1, -(-len(listed) // per_page))
        chunk = listed[(page - 1) * per_page : page * per_page]
        return 200, chunk, {"X-WP-Total": str(len(listed)), "X-WP-TotalPages": str(pages)}

    def _bigcommerce(self, path: str, body: Any) -> Reply:
        tail = path.split("/v3/catalog/", 1)[1].strip("/").split("/")
        with self._lock:
            if tail[0] == "products" and len(tail) == 2:
                product = self.bigcommerce.setdefault(int(tail[1]), {"id": int(tail[1])})
                product.update(body)
                return 200, _plain({"data": product, "meta": {}})
            if tail == ["variants"]:
                return 200, _plain({"data": body, "meta": {}})
        return 404, {"status": 404, "title": "Not found"}

    # ------------------------------------------------------------------------------ transports
    def transport(self) -> httpx.MockTransport:
        return json_transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()
