"""Pushing a stock level to a storefront, each through its own API:

- Shopify (GraphQL Admin, the version pinned in hub.vendor_versions, `X-Shopify-Access-Token`):
  `inventorySetQuantities` with name `available`, reason `correction`, and compare-and-swap: each
  quantity carries `changeFromQuantity`, the quantity the hub knows the location holds, so a count
  Shopify changed meanwhile (a sale the hub has not heard of yet) is not overwritten
  (`CHANGE_FROM_QUANTITY_STALE` fails the push, to be retried once the hub has heard); `null` when
  the hub has never known the count (from 2026-04 the field must be present, `null` opting out).
  The mutation carries `@idempotent(key: $idempotencyKey)` (mandatory from 2026-04): the key is
  derived from the push (StockPush.idempotency_key), so a retry of the same push is applied once
  and any other push has its own key. When Shopify says an earlier attempt under the key failed
  (`IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`) the push moves to the key's next generation; while one is
  in progress (`IDEMPOTENCY_CONCURRENT_REQUEST`) it waits and asks again.
  Shopify's cost-based rate limit answers `THROTTLED` in a 200: the push waits for the bucket to
  refill (from `throttleStatus`) and tries again, a few times, then fails.
- WooCommerce (REST v3, the consumer key and secret as HTTP Basic or query parameters):
  `PUT /products/{id}` or `/products/{product}/variations/{id}` with `manage_stock` and `stock_quantity`.
- Adobe Commerce / Magento (REST, OAuth 1.0a or bearer): `POST /V1/inventory/source-items` with the
  SKU's source item (source code, quantity, in-stock status).

How WooCommerce and Adobe Commerce calls are authenticated is hub.adapters.storefront_auth.

Every call goes through hub.adapters.http (timeouts; retries with backoff and jitter on 429 and 5xx,
honouring Retry-After). Base URLs come from the channel's configuration (`shop_domain`, `site_url`;
`api_url` replaces both, for tests and the local stack); credentials from the hub secret, never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from httpx_retries import Retry

from hub.adapters.http import check, vendor_error
from hub.adapters.storefront_auth import StorefrontClients
from hub.config import ChannelConfig
from hub.domain.platforms import MAGENTO_DEFAULT_SOURCE, PUSH_PLATFORMS
from hub.domain.sync import StockPush
from hub.errors import ChangeFromQuantityStaleError, OutboundError
from hub.ports import StockPusher
from hub.secrets import SecretsProvider
from hub.vendor_versions import SHOPIFY_ADMIN_API_VERSION

__all__ = [
    "SET_QUANTITIES",
    "SHOPIFY_API_VERSION",
    "CompareQuantityStaleError",
    "StorefrontStock",
]

SHOPIFY_API_VERSION = SHOPIFY_ADMIN_API_VERSION
_PUSH = "pushing stock to"  # BigCommerce and Square levels come in only

SET_QUANTITIES = """mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason }
    userErrors { code field message }
  }
}"""

_STALE = {"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"}
# Key generations tried in one push; each is only used after Shopify said the one before failed.
_KEY_GENERATIONS = 4


CompareQuantityStaleError = ChangeFromQuantityStaleError  # the name before Shopify 2026-04


def _gid(kind: str, value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise OutboundError(f"{what} answered with a body that is not JSON", response.status_code) from exc


class ShopifyStock:
    def __init__(
        self,
        client: httpx.Client,
        api_version: str = SHOPIFY_API_VERSION,
        *,
        sleep: Callable[[float], None] = time.sleep,
        throttle_attempts: int = 4,
    ) -> None:
        self._client = client
        self._path = f"/admin/api/{api_version}/graphql.json"
        self._sleep = sleep
        self._attempts = throttle_attempts

    @staticmethod
    def variables(push: StockPush, generation: int = 0) -> dict[str, Any]:
        if not push.ids.item_id:
            raise OutboundError(f"no Shopify inventory item is known for {push.sku}")
        if not push.platform_location:
            raise OutboundError(f"no Shopify location is known for {push.sku}")
        quantity: dict[str, Any] = {
            "inventoryItemId": _gid("InventoryItem", push.ids.item_id),
            "locationId": _gid("Location", push.platform_location),
            "quantity": push.quantity,
            # Always present: null when the hub has never known this location's count.
            "changeFromQuantity": push.compare,
        }
        payload: dict[str, Any] = {"name": "available", "reason": "correction", "quantities": [quantity]}
        if push.reference:
            payload["referenceDocumentUri"] = push.reference
        return {"input": payload, "idempotencyKey": push.idempotency_key(generation)}

    def push(self, push: StockPush) -> None:
        generation = 0
        waits = 0
        while True:
            body = {"query": SET_QUANTITIES, "variables": self.variables(push, generation)}
            response = check(self._client.post(self._path, json=body), "Shopify inventorySetQuantities")
            document = _json(response, "Shopify inventorySetQuantities")
            errors = document.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                waits += 1
                if waits >= self._attempts:
                    raise OutboundError("Shopify throttled inventorySetQuantities after every retry", 429)
                self._sleep(_throttle_wait(document, waits))
                continue
            if errors:
                # Codes and the request id only: GraphQL messages can quote the values sent.
                said = vendor_error(response)
                raise OutboundError(
                    f"Shopify inventorySetQuantities failed: {said.code or 'errors without a code'}"
                    + (f" (request id {said.request_id})" if said.request_id else ""),
                    response.status_code,
                    code=said.code,
                    request_id=said.request_id,
                )
            result = (document.get("data") or {}).get("inventorySetQuantities") or {}
            user_errors = result.get("userErrors") or []
            codes = {e.get("code") for e in user_errors}
            if codes & _STALE:
                raise ChangeFromQuantityStaleError(
                    f"Shopify's count of {push.sku} is no longer {push.compare}; retried once the hub hears it",
                    409,
                    code="CHANGE_FROM_QUANTITY_STALE",
                )
            if "IDEMPOTENCY_CONCURRENT_REQUEST" in codes:
                # The same push is being applied right now (a retry overlapping the first attempt).
                waits += 1
                if waits >= self._attempts:
                    raise OutboundError(
                        f"Shopify was still applying the level of {push.sku}",
                        409,
                        code="IDEMPOTENCY_CONCURRENT_REQUEST",
                    )
                self._sleep(min(0.5 * 2**waits, 10.0))
                continue
            if "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED" in codes and generation + 1 < _KEY_GENERATIONS:
                # Nothing was applied under that key: the same push under its next key is safe.
                generation += 1
                continue
            if user_errors:
                listed = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in user_errors)[:200]
                raise OutboundError(f"Shopify refused the level of {push.sku}: {listed}", response.status_code)
            return


def _throttle_wait(document: dict[str, Any], attempt: int) -> float:
    """Seconds until the bucket holds what the query costs (Shopify's throttleStatus), else backoff."""
    cost = (document.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("requestedQueryCost", 10)) - float(status["currentlyAvailable"])
        return min(max(needed / float(status["restoreRate"]), 0.5), 10.0)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return min(0.5 * 2**attempt, 10.0)


class WooCommerceStock:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @staticmethod
    def request(push: StockPush) -> tuple[str, dict[str, Any]]:
        if not push.ids.product_id:
            raise OutboundError(f"no WooCommerce product is known for {push.sku}")
        path = f"/wp-json/wc/v3/products/{push.ids.product_id}"
        if push.ids.variation_id:
            path += f"/variations/{push.ids.variation_id}"
        return path, {"manage_stock": True, "stock_quantity": push.quantity}

    def push(self, push: StockPush) -> None:
        path, body = self.request(push)
        check(self._client.put(path, json=body), f"WooCommerce stock of {push.sku}")


class MagentoStock:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @staticmethod
    def body(push: StockPush) -> dict[str, Any]:
        item = {
            "sku": push.sku,
            "source_code": push.platform_location or MAGENTO_DEFAULT_SOURCE,
            "quantity": push.quantity,
            "status": 1 if push.quantity > 0 else 0,
        }
        return {"sourceItems": [item]}

    def push(self, push: StockPush) -> None:
        check(
            self._client.post("/rest/V1/inventory/source-items", json=self.body(push)), f"Magento stock of {push.sku}"
        )


class StorefrontStock:
    """The pusher of each configured channel; clients are built on first use, once per channel."""

    def __init__(
        self,
        secrets: SecretsProvider,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: Retry | None = None,
    ) -> None:
        self._clients = StorefrontClients(secrets, transport, retry)
        self._sleep = sleep
        self._pushers: dict[str, StockPusher] = {}

    @staticmethod
    def base_url(config: ChannelConfig) -> str | None:
        """Where the channel's API is; None when it is not a channel the hub pushes stock to."""
        if config.platform not in PUSH_PLATFORMS:
            return None
        if config.api_url:
            return config.api_url
        if config.platform == "shopify":
            return f"https://{config.shop_domain}" if config.shop_domain else None
        return config.site_url

    def pusher(self, channel: str, config: ChannelConfig) -> StockPusher:
        if channel in self._pushers:
            return self._pushers[channel]
        base = self.base_url(config)
        if base is None:
            raise OutboundError(f"channel {channel} has no API address to push stock to")
        client = self._clients.client(channel, config, base, _PUSH)
        pusher: StockPusher
        if config.platform == "shopify":
            pusher = ShopifyStock(client, sleep=self._sleep)
        elif config.platform == "woocommerce":
            pusher = WooCommerceStock(client)
        else:
            pusher = MagentoStock(client)
        self._pushers[channel] = pusher
        return pusher
