"""Pushing a product to a storefront, each through its own API (docs/catalog.md, Vendor calls):

- Shopify (GraphQL Admin at the version pinned in hub.vendor_versions, `X-Shopify-Access-Token`):
  `productSet(identifier: {id}, input: ..., synchronous: true)`: title, descriptionHtml, status,
  productOptions, files (images) and every variant (its `id` when known, `sku`, `price`,
  `compareAtPrice`, `optionValues`). productSet sets list fields whole: a variant the input leaves
  out is deleted, so the input always carries every variant of the master's product. Shopify's cost
  based throttle answers `THROTTLED` in a 200: the push waits for the bucket (throttleStatus), then
  tries again a few times.
- WooCommerce (REST v3): `PUT /wp-json/wc/v3/products/{id}` (name, description, status,
  regular_price / sale_price for a simple product, images); a variable product's prices through
  `POST /wp-json/wc/v3/products/{id}/variations/batch` (`update`: id, regular_price, sale_price).
- BigCommerce (REST v3, `X-Auth-Token`): `PUT /stores/{hash}/v3/catalog/products/{id}` (name,
  description, is_visible, price / sale_price); several variants' prices through
  `PUT /stores/{hash}/v3/catalog/variants` (a batch of id, price, sale_price).
- Adobe Commerce (REST): `PUT /rest/V1/products/{sku}` per variant SKU (name, status 1/2, price,
  special_price, description).

A compare-at price is the storefront's regular price with the price as its sale price (WooCommerce
regular/sale, BigCommerce price/sale_price, Adobe Commerce price/special_price). Amounts go out as
each API documents them, exactly: decimal strings to Shopify (`Money`) and WooCommerce, JSON numbers
written from the Decimal's own digits (never through a float) to BigCommerce and Adobe Commerce. Every call goes through hub.adapters.http: timeouts, retries with backoff on 429
and 5xx honouring Retry-After, the circuit breaker; a failure is an OutboundError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from httpx_retries import Retry

from hub.adapters.http import check, vendor_error
from hub.adapters.storefront_auth import StorefrontClients, magento_client, woocommerce_client
from hub.adapters.storefront_stock import _throttle_wait
from hub.config import ChannelConfig
from hub.domain.catalog import CatalogProduct, CatalogVariant
from hub.domain.sync import PlatformIds
from hub.errors import TOO_MANY_VARIATIONS, OutboundError
from hub.money import format_minor
from hub.ports import ProductPusher
from hub.secrets import SecretsProvider
from hub.vendor_versions import SHOPIFY_ADMIN_API_VERSION

__all__ = [
    "PRODUCT_SET",
    "BigCommerceCatalog",
    "MagentoCatalog",
    "MagentoProductReader",
    "ShopifyCatalog",
    "StorefrontCatalog",
    "WooCommerceCatalog",
    "WooCommerceVariationReader",
    "exact_json",
]

_PUSH = "pushing products to"
_READ = "reading product variations from"
_READ_PRODUCT = "reading products from"
BIGCOMMERCE_API_URL = "https://api.bigcommerce.com"

PRODUCT_SET = """mutation ProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input, synchronous: true) {
    product { id }
    userErrors { code field message }
  }
}"""

_SHOPIFY_STATUS = {"active": "ACTIVE", "draft": "DRAFT", "archived": "ARCHIVED"}
_WOO_STATUS = {"active": "publish", "draft": "draft", "archived": "draft"}


def _gid(kind: str, value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def _amount(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


def exact_json(document: Any) -> bytes:
    """JSON text with each Decimal written as the number it is ("40.00" -> 40.00), never a float."""

    def encode(value: Any) -> str:
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, dict):
            return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list | tuple):
            return "[" + ",".join(encode(v) for v in value) + "]"
        return json.dumps(value)

    return encode(document).encode()


def _number(minor: int, currency: str) -> Decimal:
    return Decimal(format_minor(minor, currency))


def _regular_and_sale_numbers(variant: CatalogVariant) -> tuple[Decimal, Decimal]:
    """(regular, sale) as numbers; a sale price of 0 is none (BigCommerce, Adobe Commerce)."""
    if variant.compare_at_price is None:
        return _number(variant.price, variant.currency), Decimal(0)
    return _number(variant.compare_at_price, variant.currency), _number(variant.price, variant.currency)


def _regular_and_sale(variant: CatalogVariant) -> tuple[str, str]:
    """(regular, sale) as WooCommerce, BigCommerce and Adobe Commerce hold a compare-at price."""
    price = format_minor(variant.price, variant.currency)
    if variant.compare_at_price is None:
        return price, ""
    return format_minor(variant.compare_at_price, variant.currency), price


def _product_id(product: CatalogProduct, ids: Mapping[str, PlatformIds], platform: str) -> str:
    found = {i.product_id for i in (ids.get(sku) for sku in product.skus) if i and i.product_id}
    if not found:
        raise OutboundError(f"no {platform} product is known for {product.key}")
    if len(found) > 1:
        raise OutboundError(f"the SKUs of {product.key} are on {len(found)} different {platform} products")
    return found.pop()


class ShopifyCatalog:
    def __init__(
        self,
        client: httpx.Client,
        api_version: str = SHOPIFY_ADMIN_API_VERSION,
        *,
        sleep: Callable[[float], None] = time.sleep,
        throttle_attempts: int = 4,
    ) -> None:
        self._client = client
        self._path = f"/admin/api/{api_version}/graphql.json"
        self._sleep = sleep
        self._attempts = throttle_attempts

    @staticmethod
    def variables(product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> dict[str, Any]:
        product_id = _product_id(product, ids, "Shopify")
        # A product without options is one option "Title" valued "Default Title" to Shopify.
        options = [(o.name, list(o.values)) for o in product.options] or [("Title", ["Default Title"])]
        variants = []
        for variant in product.variants:
            values = list(variant.option_values) if product.options else ["Default Title"]
            entry: dict[str, Any] = {
                "sku": variant.sku,
                "price": format_minor(variant.price, variant.currency),
                "compareAtPrice": _amount(variant.compare_at_price, variant.currency),
                "optionValues": [
                    {"optionName": name, "name": value} for (name, _), value in zip(options, values, strict=True)
                ],
            }
            known = ids.get(variant.sku)
            if known and known.variation_id:
                entry = {"id": _gid("ProductVariant", known.variation_id), **entry}
            variants.append(entry)
        payload: dict[str, Any] = {
            "title": product.title,
            "descriptionHtml": product.description,
            "status": _SHOPIFY_STATUS[product.status],
            "productOptions": [
                {"name": name, "position": n, "values": [{"name": v} for v in values]}
                for n, (name, values) in enumerate(options, start=1)
            ],
            "variants": variants,
        }
        if product.images:
            payload["files"] = [{"originalSource": src, "contentType": "IMAGE"} for src in product.images]
        return {"identifier": {"id": _gid("Product", product_id)}, "input": payload}

    def push(self, product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> None:
        body = {"query": PRODUCT_SET, "variables": self.variables(product, ids)}
        waits = 0
        while True:
            response = check(self._client.post(self._path, json=body), "Shopify productSet")
            try:
                document = response.json()
            except ValueError as exc:
                raise OutboundError("Shopify productSet answered with a body that is not JSON", 502) from exc
            errors = document.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                waits += 1
                if waits >= self._attempts:
                    raise OutboundError("Shopify throttled productSet after every retry", 429)
                self._sleep(_throttle_wait(document, waits))
                continue
            if errors:
                said = vendor_error(response)
                raise OutboundError(
                    f"Shopify productSet failed: {said.code or 'errors without a code'}",
                    response.status_code,
                    code=said.code,
                    request_id=said.request_id,
                )
            result = (document.get("data") or {}).get("productSet") or {}
            user_errors = result.get("userErrors") or []
            if user_errors:
                # Codes and fields only: messages can quote the values sent.
                listed = "; ".join(f"{e.get('code')} at {'.'.join(e.get('field') or [])}" for e in user_errors)
                raise OutboundError(f"Shopify refused product {product.key}: {listed[:200]}", 422)
            return


class WooCommerceCatalog:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @staticmethod
    def requests(product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> list[tuple[str, str, dict[str, Any]]]:
        """(method, path, body) of each call, in order."""
        product_id = _product_id(product, ids, "WooCommerce")
        base = f"/wp-json/wc/v3/products/{product_id}"
        body: dict[str, Any] = {
            "name": product.title,
            "description": product.description,
            "status": _WOO_STATUS[product.status],
        }
        if product.images:
            body["images"] = [{"src": src} for src in product.images]
        variations = []
        for variant in product.variants:
            known = ids.get(variant.sku)
            regular, sale = _regular_and_sale(variant)
            if known and known.variation_id:
                variations.append({"id": int(known.variation_id), "regular_price": regular, "sale_price": sale})
            elif len(product.variants) == 1:
                body["regular_price"], body["sale_price"] = regular, sale
        calls: list[tuple[str, str, dict[str, Any]]] = [("PUT", base, body)]
        if variations:
            calls.append(("POST", f"{base}/variations/batch", {"update": variations}))
        return calls

    def push(self, product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> None:
        for method, path, body in self.requests(product, ids):
            check(self._client.request(method, path, json=body), f"WooCommerce product {product.key}")


class BigCommerceCatalog:
    def __init__(self, client: httpx.Client, store_hash: str) -> None:
        self._client = client
        self._base = f"/stores/{store_hash}/v3/catalog"

    def requests(self, product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> list[tuple[str, dict | list]]:
        """(path, body) of each PUT, in order."""
        product_id = _product_id(product, ids, "BigCommerce")
        body: dict[str, Any] = {
            "name": product.title,
            "description": product.description,
            "is_visible": product.status == "active",
        }
        variants = []
        for variant in product.variants:
            known = ids.get(variant.sku)
            regular, sale = _regular_and_sale_numbers(variant)
            if len(product.variants) == 1:
                body["price"], body["sale_price"] = regular, sale
            elif known and known.variation_id:
                variants.append({"id": int(known.variation_id), "price": regular, "sale_price": sale})
        calls: list[tuple[str, dict | list]] = [(f"{self._base}/products/{product_id}", body)]
        if variants:
            calls.append((f"{self._base}/variants", variants))
        return calls

    def push(self, product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> None:
        for path, body in self.requests(product, ids):
            sent = self._client.put(path, content=exact_json(body), headers={"Content-Type": "application/json"})
            check(sent, f"BigCommerce product {product.key}")


class MagentoCatalog:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @staticmethod
    def requests(product: CatalogProduct) -> list[tuple[str, dict[str, Any]]]:
        """(path, body) of the PUT of each variant SKU."""
        calls = []
        for variant in product.variants:
            regular, sale = _regular_and_sale_numbers(variant)
            attributes: list[dict[str, Any]] = [{"attribute_code": "description", "value": product.description}]
            if sale:
                # Custom attribute values are text in Adobe Commerce's schema.
                attributes.append({"attribute_code": "special_price", "value": format(sale, "f")})
            item = {
                "sku": variant.sku,
                "name": product.title if len(product.variants) == 1 else f"{product.title} {variant.sku}",
                "price": regular,
                "status": 1 if product.status == "active" else 2,
                "custom_attributes": attributes,
            }
            calls.append((f"/rest/V1/products/{quote(variant.sku, safe='')}", {"product": item}))
        return calls

    def push(self, product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> None:
        del ids  # Adobe Commerce finds products by SKU
        for path, body in self.requests(product):
            sent = self._client.put(path, content=exact_json(body), headers={"Content-Type": "application/json"})
            check(sent, f"Adobe Commerce product {product.key}")


class WooCommerceVariationReader:
    """A variable product's variations, through the channel's WooCommerce client (hub.ports
    WooCommerceVariations): `GET /wp-json/wc/v3/products/{id}/variations?per_page=100&page=n`, page
    after page until one is short or `X-WP-TotalPages` is reached (at most `max_pages`). Intake reads
    them on the sender's clock: short timeouts, one retry."""

    PER_PAGE = 100  # WooCommerce's largest page

    def __init__(
        self,
        secrets: SecretsProvider,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: float = 2.5,
        max_pages: int = 5,
        retry: Retry | None = None,
    ) -> None:
        self._secrets = secrets
        self._transport = transport
        self._timeout = timeout
        self._max_pages = max_pages
        self._retry = retry or Retry(total=1, backoff_factor=0.2)
        self._clients: dict[str, httpx.Client] = {}

    def _client(self, channel: str, config: ChannelConfig) -> httpx.Client:
        if channel not in self._clients:
            base = config.api_url or config.site_url
            if not base:
                raise OutboundError(f"channel {channel} has no site_url to read variations from")
            client = woocommerce_client(
                channel, config, base, self._secrets, _READ, transport=self._transport, retry=self._retry
            )
            client.timeout = httpx.Timeout(self._timeout)
            self._clients[channel] = client
        return self._clients[channel]

    def variations(self, channel: str, config: ChannelConfig, product_id: int) -> list[dict[str, Any]]:
        client = self._client(channel, config)
        found: list[dict[str, Any]] = []
        path = f"/wp-json/wc/v3/products/{product_id}/variations"
        for page in range(1, self._max_pages + 1):
            answer = client.get(path, params={"per_page": self.PER_PAGE, "page": page})
            check(answer, f"WooCommerce variations of product {product_id}")
            try:
                batch = answer.json()
            except ValueError as exc:
                raise OutboundError(f"WooCommerce answered the variations of {product_id} with no JSON") from exc
            if not isinstance(batch, list):
                raise OutboundError(f"WooCommerce answered the variations of {product_id} with no list")
            found.extend(v for v in batch if isinstance(v, dict))
            pages = answer.headers.get("X-WP-TotalPages", "")
            if len(batch) < self.PER_PAGE or (pages.isdigit() and page >= int(pages)):
                return found
        raise OutboundError(
            f"WooCommerce product {product_id} has more than {len(found)} variations to read", code=TOO_MANY_VARIATIONS
        )


class MagentoProductReader:
    """An Adobe Commerce product by SKU through the channel's client (OAuth 1.0a or bearer):
    `GET /rest/V1/products/{sku}` (hub.ports MagentoProducts), on the sender's clock."""

    def __init__(
        self,
        secrets: SecretsProvider,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: float = 2.5,
        retry: Retry | None = None,
    ) -> None:
        self._secrets = secrets
        self._transport = transport
        self._timeout = timeout
        self._retry = retry or Retry(total=1, backoff_factor=0.2)
        self._clients: dict[str, httpx.Client] = {}

    def product(self, channel: str, config: ChannelConfig, sku: str) -> dict[str, Any]:
        if channel not in self._clients:
            base = config.api_url or config.site_url
            if not base:
                raise OutboundError(f"channel {channel} has no site_url to read products from")
            client = magento_client(
                channel, config, base, self._secrets, _READ_PRODUCT, transport=self._transport, retry=self._retry
            )
            client.timeout = httpx.Timeout(self._timeout)
            self._clients[channel] = client
        answer = check(
            self._clients[channel].get(f"/rest/V1/products/{quote(sku, safe='')}"), "Adobe Commerce product read"
        )
        try:
            document = json.loads(answer.content, parse_float=Decimal)  # prices are JSON numbers
        except ValueError as exc:
            raise OutboundError("Adobe Commerce answered a product read with no JSON") from exc
        if not isinstance(document, dict):
            raise OutboundError("Adobe Commerce answered a product read with no product")
        return document


class StorefrontCatalog:
    """The product pusher of each configured channel; clients built on first use, once per channel."""

    def __init__(
        self,
        secrets: SecretsProvider,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: Retry | None = None,
    ) -> None:
        self._clients = StorefrontClients(secrets, transport, retry)
        self._sleep = sleep
        self._pushers: dict[str, ProductPusher] = {}

    @staticmethod
    def base_url(config: ChannelConfig) -> str | None:
        if config.api_url:
            return config.api_url
        if config.platform == "shopify":
            return f"https://{config.shop_domain}" if config.shop_domain else None
        if config.platform == "bigcommerce":
            return BIGCOMMERCE_API_URL
        return config.site_url

    def pusher(self, channel: str, config: ChannelConfig) -> ProductPusher:
        if channel in self._pushers:
            return self._pushers[channel]
        base = self.base_url(config)
        if base is None:
            raise OutboundError(f"channel {channel} has no API address to push products to")
        if config.platform == "bigcommerce" and not config.store_hash:
            raise OutboundError(f"channel {channel} has no store_hash to push products to")
        if config.platform not in ("shopify", "woocommerce", "bigcommerce", "magento"):
            raise OutboundError(f"the hub does not push products to {config.platform}")
        client = self._clients.client(channel, config, base, _PUSH)
        pusher: ProductPusher
        if config.platform == "shopify":
            pusher = ShopifyCatalog(client, sleep=self._sleep)
        elif config.platform == "woocommerce":
            pusher = WooCommerceCatalog(client)
        elif config.platform == "bigcommerce":
            pusher = BigCommerceCatalog(client, str(config.store_hash))
        else:
            pusher = MagentoCatalog(client)
        self._pushers[channel] = pusher
        return pusher
