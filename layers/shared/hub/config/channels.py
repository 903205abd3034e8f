"""Where the hub sells and keeps stock: its channels (storefronts and the point of sale), the
gateways whose payments belong to them, the stock locations and how the ledger keeps stock."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from hub.config.base import StrictModel, https_or_loopback
from hub.domain.platforms import (
    ANY_LOCATION,
    AUTH_CHOICES,
    MAGENTO_DEFAULT_SOURCE,
    STANDARD_WEBHOOK_SECRETS,
    Platform,
)
from hub.domain.stock import MAX_SHARDS

__all__ = [
    "ChannelConfig",
    "Gateway",
    "GatewayConfig",
    "LocationConfig",
    "ReconcileConfig",
    "SkuIds",
    "StockConfig",
    "StorefrontAuth",
]

Gateway = Literal["stripe", "paypal", "square"]
StorefrontAuth = Literal["basic", "query_string", "oauth1", "bearer"]


class ReconcileConfig(StrictModel):
    """How often a channel's or gateway's reconciler lists what changed through the vendor's API
    (docs/reconciliation.md)."""

    every_minutes: int = Field(
        default=5, ge=0, le=1440, description="minutes between runs; 0 turns this reconciler off"
    )

    @property
    def enabled(self) -> bool:
        return self.every_minutes > 0


class SkuIds(StrictModel):
    """A SKU's ids on one platform, for the stock the hub pushes and the levels it is told."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    item_id: str | None = Field(default=None, description="Shopify inventory item, Square catalog object")
    product_id: str | None = Field(default=None, description="WooCommerce / BigCommerce product")
    variation_id: str | None = Field(default=None, description="WooCommerce variation / BigCommerce variant")


class ChannelConfig(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    platform: Platform
    site_url: str | None = Field(default=None, description="WooCommerce / Magento base URL")
    shop_domain: str | None = Field(default=None, description="Shopify *.myshopify.com domain")
    shop_id: str | None = Field(
        default=None, description="Shopify shop id; when set, privacy requests must carry it as shop_id"
    )
    store_hash: str | None = Field(default=None, description="BigCommerce store hash")
    adobe_io_source: str | None = Field(
        default=None,
        description=(
            "Adobe Commerce: the `source` of this store's Adobe I/O events (urn:uuid:...), so the reconciler "
            "names the changes it finds as those events do. Unset: the store sends no Adobe I/O events "
            "(open-source Magento 2), and its reconciler is its intake (docs/reconciliation.md)"
        ),
    )
    api_url: str | None = Field(
        default=None,
        description=(
            "the platform API's base URL: BigCommerce's (default https://api.bigcommerce.com); for Shopify, "
            "WooCommerce and Magento it replaces https://{shop_domain} or site_url (a local fake in tests)"
        ),
    )
    locations: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "platform location id (Shopify location, Magento source code, Square location; '*' for any "
            "other, and for platforms without locations) -> hub location id; empty: everything is the "
            "first configured hub location"
        ),
    )
    sku_map: dict[str, SkuIds] = Field(
        default_factory=dict, description="SKU -> its ids on this platform (else learned from the webhooks)"
    )
    auth: StorefrontAuth | None = Field(
        default=None,
        description=(
            "how the hub authenticates to the platform's REST API. WooCommerce: `basic` (default, HTTP Basic) or "
            "`query_string` (consumer_key/consumer_secret query parameters, for hosts that strip the "
            "Authorization header). Adobe Commerce: `oauth1` (default, OAuth 1.0a HMAC-SHA256 with the "
            "integration's four values) or `bearer` (the access token alone, only if the store allows it)"
        ),
    )
    webhook_secret: str | None = Field(
        default=None,
        pattern=r"^[A-Z][A-Z0-9_]{0,127}$",
        description=(
            "the key of this channel's webhook secret in the hub secret (locally an environment variable of "
            "that name); default the platform's standard key (SHOPIFY_WEBHOOK_SECRET, WOOCOMMERCE_WEBHOOK_SECRET, "
            "BIGCOMMERCE_CLIENT_SECRET). Deliveries claiming this channel's store verify with this secret only"
        ),
    )
    reconcile: ReconcileConfig = Field(
        default_factory=ReconcileConfig,
        description="the reconciler that lists the orders changed through the platform's API (default every 5 minutes)",
    )

    @field_validator("auth")
    @classmethod
    def _auth_of_platform(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        allowed = AUTH_CHOICES.get(str(platform), ())
        if value is not None and value not in allowed:
            choices = f"one of {', '.join(allowed)}" if allowed else "not set"
            raise ValueError(f"'{value}' is not a {platform} choice: it is {choices}")
        return value

    @field_validator("site_url", "api_url")
    @classmethod
    def _woocommerce_over_https(cls, value: str | None, info: ValidationInfo) -> str | None:
        # WooCommerce takes Basic or query-string credentials only over HTTPS (over HTTP it wants OAuth
        # 1.0a, which the hub does not speak): refuse the address rather than fail every call with 401.
        if value is None or info.data.get("platform") != "woocommerce":
            return value
        if info.field_name == "site_url" and not value.lower().startswith("https://"):
            raise ValueError("must start with https://: WooCommerce accepts its REST API keys only over HTTPS")
        if info.field_name == "api_url" and not https_or_loopback(value):
            raise ValueError(
                "must start with https:// (http:// only for a local fake on 127.0.0.1, ::1 or localhost): "
                "WooCommerce accepts its REST API keys only over HTTPS"
            )
        return value

    def identity(self) -> str | None:
        """What names this channel's store in a delivery: shop domain, site URL or store hash."""
        if self.platform == "shopify":
            return self.shop_domain.lower() if self.shop_domain else None
        if self.platform == "woocommerce":
            return self.site_url.rstrip("/") if self.site_url else None
        if self.platform == "bigcommerce":
            return self.store_hash
        return None

    def secret_key(self) -> str | None:
        """The key of the secret deliveries of this channel are verified with (None: not a storefront
        whose webhooks carry a shared secret)."""
        return self.webhook_secret or STANDARD_WEBHOOK_SECRETS.get(self.platform)

    def hub_location(self, platform_location_id: str | None, hub_locations: list[str]) -> str | None:
        """The hub location a level reported at `platform_location_id` belongs to (None: not mapped)."""
        if not self.locations:
            return hub_locations[0]
        if platform_location_id is not None and platform_location_id in self.locations:
            return self.locations[platform_location_id]
        if self.platform == "magento" and ANY_LOCATION not in self.locations:
            # A stock item names the legacy stock, not a source: it is the `default` source's count.
            return self.locations.get(MAGENTO_DEFAULT_SOURCE)
        return self.locations.get(ANY_LOCATION)

    def sells_from(self, hub_location: str, hub_locations: list[str]) -> tuple[bool, str | None]:
        """Whether this channel's stock is `hub_location`, and under which platform location id
        (None: the channel's default location, or a platform without locations)."""
        if not self.locations:
            return hub_location == hub_locations[0], None
        for platform_id, location in self.locations.items():
            if location == hub_location:
                return True, None if platform_id == ANY_LOCATION else platform_id
        return False, None

    def sku_for_item(self, item_id: str) -> str | None:
        """The configured SKU whose item, variation or product id is `item_id`."""
        for sku, ids in self.sku_map.items():
            if item_id in (ids.item_id, ids.variation_id) or (ids.variation_id is None and ids.product_id == item_id):
                return sku
        return None


class GatewayConfig(StrictModel):
    channel: str
    invoice_prefix: str | None = Field(
        default=None, description="PayPal invoice_id prefix before the order number (e.g. 'WC-')"
    )
    reconcile: ReconcileConfig = Field(
        default_factory=ReconcileConfig,
        description="the reconciler that lists the payments changed through the gateway's API (default every 5 minutes)",
    )
    api_url: str | None = Field(
        default=None,
        description=(
            "the gateway API's base URL for the reconciler (default https://api.stripe.com, "
            "https://connect.squareup.com, https://api-m.paypal.com; a sandbox, or a local fake in tests)"
        ),
    )

    @field_validator("api_url")
    @classmethod
    def _api_over_https(cls, value: str | None) -> str | None:
        # The gateway's API key travels in a header: never over plain HTTP to anything but a local fake.
        if value is not None and not https_or_loopback(value):
            raise ValueError("must start with https:// (http:// only for a local fake on 127.0.0.1, ::1 or localhost)")
        return value.rstrip("/") if value else value


class LocationConfig(StrictModel):
    id: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class StockConfig(StrictModel):
    """How the ledger keeps stock. `shards` splits a hot SKU's units at each location over N rows so
    that a flash sale's orders write to different items (docs/stock.md#hot-skus-sharded-stock)."""

    shards: dict[str, int] = Field(
        default_factory=dict, description="SKU -> shards per location (1 = not sharded), for hot SKUs"
    )
    default_shards: int = Field(default=1, ge=1, le=MAX_SHARDS, description="shards of every other SKU")

    @field_validator("shards")
    @classmethod
    def _shard_counts(cls, value: dict[str, int]) -> dict[str, int]:
        for sku, count in value.items():
            if not 1 <= count <= MAX_SHARDS:
                raise ValueError(f"'{sku}': {count} shards; give 1 to {MAX_SHARDS}")
        return value

    def shards_for(self, sku: str) -> int:
        return self.shards.get(sku, self.default_shards)
