"""In-memory fakes of the multi-channel stock ports, with the guarantees of hub.adapters.stock_tables,
and a fake storefront API (Shopify GraphQL, WooCommerce and Magento REST) that records every request.

The storefront fake answers through httpx.MockTransport (unit and functional tests) and over real
HTTP on 127.0.0.1 (end to end, where the local stack's channel_sync calls it).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from hub.domain.sync import PlatformIds, SyncState
from hub.errors import SyncBusyError, SyncStaleError

from tests.loopback import Reply, Request, serving_json
from tests.magento_oauth import MAGENTO_OAUTH_SECRETS, MagentoOAuthCheck
from tests.woocommerce_auth import refusal as woocommerce_refusal

SHOPIFY_TOKEN = "shpat_local_test_token"
WOO_KEY, WOO_SECRET = "ck_local_test", "cs_local_test"
MAGENTO_TOKEN = MAGENTO_OAUTH_SECRETS["MAGENTO_ACCESS_TOKEN"]
STOREFRONT_SECRETS = {
    "SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN,
    "WOOCOMMERCE_CONSUMER_KEY": WOO_KEY,
    "WOOCOMMERCE_CONSUMER_SECRET": WOO_SECRET,
    **MAGENTO_OAUTH_SECRETS,
}


class FakeCatalog:
    def __init__(self) -> None:
        self.mappings: dict[tuple[str, str], PlatformIds] = {}
        self.items: dict[tuple[str, str], str] = {}
        self.locations: dict[tuple[str, str], str] = {}

    def ids(self, channel: str, sku: str) -> PlatformIds | None:
        return self.mappings.get((channel, sku))

    def sku_for(self, channel: str, item_key: str) -> str | None:
        return self.items.get((channel, item_key))

    def learn(self, channel: str, sku: str, ids: PlatformIds, at: datetime) -> None:
        old = self.mappings.get((channel, sku), PlatformIds())
        self.mappings[(channel, sku)] = PlatformIds(
            ids.item_id or old.item_id, ids.product_id or old.product_id, ids.variation_id or old.variation_id
        )
        if ids.key():
            self.items[(channel, ids.key())] = sku

    def platform_location(self, channel: str, location: str) -> str | None:
        return self.locations.get((channel, location))

    def learn_location(self, channel: str, location: str, platform_location: str) -> None:
        self.locations[(channel, location)] = platform_location


class FakeSyncLog:
    def __init__(self) -> None:
        self.states: dict[tuple[str, str, str], SyncState] = {}

    def state(self, channel: str, sku: str, location: str) -> SyncState | None:
        return self.states.get((channel, sku, location))

    def claim(self, channel: str, sku: str, location: str, version: int, *, now_ms: int, lease_ms: int) -> None:
        key = (channel, sku, location)
        old = self.states.get(key)
        free = old is None or not old.pending or old.lease_until < now_ms
        if old is None or (old.version < version and free) or (old.version == version and old.pending and free):
            self.states[key] = SyncState(version, True, now_ms + lease_ms, old.quantity if old else None)
            return
        if old.version < version or (old.version == version and old.pending):
            raise SyncBusyError(f"{key} busy")
        raise SyncStaleError(f"{key} has version {old.version}")

    def complete(self, channel: str, sku: str, location: str, version: int, quantity: int) -> None:
        key = (channel, sku, location)
        old = self.states[key]
        if old.version != version:
            raise SyncStaleError(f"{key} overtaken")
        self.states[key] = SyncState(version, False, 0, quantity)

    def abandon(self, channel: str, sku: str, location: str, version: int) -> None:
        key = (channel, sku, location)
        old = self.states.get(key)
        if old and old.version == version and old.pending:
            self.states[key] = dataclasses.replace(old, lease_until=0)

    def note_known(self, channel: str, sku: str, location: str, quantity: int) -> None:
        key = (channel, sku, location)
        self.states[key] = dataclasses.replace(self.states.get(key) or SyncState(), quantity=quantity)


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeStorefronts:
    """Shopify, WooCommerce and Magento stock endpoints on one base URL. It checks each platform's
    credentials, keeps the levels it was set to, can answer THROTTLED or fail the next calls, and
    records every request.

    Its Shopify refuses what Admin API 2026-10 refuses (shopify.dev/docs/api/admin-graphql/2026-10,
    mutations/inventorySetQuantities, input-objects/InventoryQuantityInput; changelog "Making
    idempotency mandatory for inventory adjustments and refund mutations"; usage/implementing-
    idempotency):
    - a path of another API version (an app pinned to a retired version would silently fall forward);
    - `compareQuantity` or `ignoreCompareQuantity`, which 2026-04 removed (a variable error, as GraphQL
      answers an input field the schema does not define);
    - a quantity without `changeFromQuantity` (it must be present; `null` skips the check);
    - a mutation without `@idempotent(key:)` or with an empty key (mandatory from 2026-04);
    - a `changeFromQuantity` that is not the level it holds (`CHANGE_FROM_QUANTITY_STALE`).
    A key seen before answers what it answered the first time; with other variables it is
    `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`, and after a refused attempt `IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`.
    The fulfilment side (orders, fulfillment orders per location) is FakeShopifyOrders, shopify_fake.py.
    Its Magento checks credentials as a 2.4.4+ store does: OAuth 1.0a (tests.magento_oauth).
    """

    API_VERSION = "2026-10"

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.levels: dict[tuple[str, str], int] = {}  # (inventory item gid, location gid) -> available
        self.fail_next = 0
        self.fail_status = 503
        self.throttle_next = 0
        self.keys: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # idempotency key -> (input, answer)
        self.orders: Any = None  # a FakeShopifyOrders answers the fulfilment queries and mutations
        self.feed: Any = None  # a FakeOrderFeed (order_feed_fakes.py) answers the reconcilers' order listings
        self.magento = MagentoOAuthCheck()
        self.strips_authorization = False  # a WooCommerce host that drops the Authorization header
        self._lock = threading.Lock()

    def answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, url: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """`url` is the whole URL the request went to (Commerce signs it); `path` may carry a query."""
        status, body, _headers = self.respond(method, path, headers, raw, url)
        return status, body

    def respond(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, url: str | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        """The answer with its response headers (WooCommerce's X-WP-TotalPages, for the order listings)."""
        if self.feed is not None and method == "GET" and self.feed.handles(path):
            with self._lock:
                self.requests.append(Seen(method, path, {k.lower(): v for k, v in headers.items()}, None))
                if self.fail_next:
                    self.fail_next -= 1
                    return self.fail_status, {"errors": "unavailable"}, {}
            where = url or f"http://{headers.get('host') or headers.get('Host')}{path}"
            return self.feed.rest(method, where, {k.lower(): v for k, v in headers.items()}, self)
        status, body = self._answer(method, path, headers, raw, url)
        return status, body, {}

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, url: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append(Seen(method, path, {k.lower(): v for k, v in headers.items()}, body))
            if self.fail_next:
                self.fail_next -= 1
                return self.fail_status, {"errors": "unavailable"}
        headers = {k.lower(): v for k, v in headers.items()}
        if path.split("?", 1)[0].endswith("/graphql.json"):
            if headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
                return 401, {"errors": "[API] Invalid API key or access token"}
            if path != f"/admin/api/{self.API_VERSION}/graphql.json":
                return 404, {"errors": "Not Found"}
            return 200, self._graphql(body)
        if path.startswith("/wp-json/wc/v3/products/"):
            where = url or f"http://{headers.get('host')}{path}"
            refused = woocommerce_refusal(
                where, headers, WOO_KEY, WOO_SECRET, strips_authorization=self.strips_authorization
            )
            if refused:
                return refused
            return 200, {"id": int(path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]), **body}
        if path.split("?", 1)[0] == "/rest/V1/inventory/source-items":
            refused = self.magento.check(method, url or f"http://{headers.get('host')}{path}", headers)
            if refused:
                return refused
            return 200, []
        return 404, {"error": f"no route {path}"}

    def _graphql(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self.throttle_next:
                self.throttle_next -= 1
                return {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": 10,
                            "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 0, "restoreRate": 50},
                        }
                    },
                }
        query = body.get("query") or ""
        if self.feed is not None and ("orders(" in query or "query MoreLines" in query):
            return self.feed.shopify(query, body.get("variables") or {})
        if "inventorySetQuantities" not in query:
            if self.orders is None:
                return {"errors": [{"message": "no orders in this fake", "extensions": {"code": "NOT_FOUND"}}]}
            return self.orders.graphql(query, body.get("variables") or {})
        with self._lock:
            return self._set_quantities(query, body.get("variables") or {})

    @staticmethod
    def _undefined(field: str, on: str) -> dict[str, Any]:
        return {
            "errors": [
                {
                    "message": f"Variable $input of type InventorySetQuantitiesInput! was provided invalid value for {field}",
                    "extensions": {
                        "problems": [{"path": field.split("."), "explanation": f"Field is not defined on {on}"}]
                    },
                }
            ]
        }

    def _set_quantities(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        payload = variables["input"]
        if "ignoreCompareQuantity" in payload:
            return self._undefined("ignoreCompareQuantity", "InventorySetQuantitiesInput")
        for index, quantity in enumerate(payload["quantities"]):
            if "compareQuantity" in quantity:
                return self._undefined(f"quantities.{index}.compareQuantity", "InventoryQuantityInput")
        key = variables.get("idempotencyKey")
        if "@idempotent(key: $idempotencyKey)" not in query or not isinstance(key, str) or not key.strip():
            # Shopify documents the refusal ("will result in an error at runtime"), not its code.
            return {"errors": [{"message": "An idempotency key is required for this mutation.", "extensions": {}}]}
        if key in self.keys:
            first, answered = self.keys[key]
            if first != payload:
                return self._user_errors([("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "key used with other parameters")])
            if answered["data"]["inventorySetQuantities"]["userErrors"]:
                return self._user_errors([("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", "retry with a new key")])
            return answered
        errors = []
        for index, quantity in enumerate(payload["quantities"]):
            if "changeFromQuantity" not in quantity:
                errors.append((None, f"quantities.{index}.changeFromQuantity must be given (null skips the check)"))
                continue
            expected = quantity["changeFromQuantity"]
            if (
                expected is not None
                and self.levels.get((quantity["inventoryItemId"], quantity["locationId"])) != expected
            ):
                errors.append(
                    ("CHANGE_FROM_QUANTITY_STALE", "The changeFromQuantity value does not match persisted value.")
                )
        if not errors:
            for quantity in payload["quantities"]:
                self.levels[(quantity["inventoryItemId"], quantity["locationId"])] = quantity["quantity"]
        answered = self._user_errors(errors) if errors else self._user_errors([], group={"reason": payload["reason"]})
        self.keys[key] = (payload, answered)
        return answered

    @staticmethod
    def _user_errors(errors: list[tuple[str | None, str]], group: dict[str, Any] | None = None) -> dict[str, Any]:
        listed = [{"code": code, "field": ["input"], "message": message} for code, message in errors]
        return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": listed}}}

    def of(self, platform: str) -> list[Seen]:
        marker = {"shopify": "/graphql.json", "woocommerce": "/wp-json/", "magento": "/rest/V1/"}[platform]
        return [r for r in self.requests if marker in r.path]

    # -------------------------------------------------------------------------------- transports
    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            status, body, headers = self.respond(
                request.method, request.url.path, dict(request.headers), request.content, str(request.url)
            )
            if status == 204:
                return httpx.Response(204, headers=headers)
            return httpx.Response(status, json=body, headers=headers)

        return httpx.MockTransport(handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the fake on 127.0.0.1; yields its base URL."""

        def reply(request: Request) -> Reply:
            status, body, headers = self.respond(request.method, request.target, dict(request.headers), request.body)
            return status, None if status == 204 else body, headers

        with serving_json(reply) as url:
            yield url
