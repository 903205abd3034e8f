"""The hub's configuration: a typed, validated YAML document.

Locally it is the file at $HUB_CONFIG; in AWS it is the SSM parameter named by
$HUB_CONFIG_PARAMETER. It is read when first used and cached for the life of the sandbox
(five minutes at most, so a changed parameter is picked up without a deploy).
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub.domain.customers import is_contact_field
from hub.domain.stock import MAX_SHARDS, LocationRef
from hub.errors import ConfigError, UnknownChannelError
from hub.vendor_versions import KLAVIYO_REVISION, META_GRAPH_VERSION, SALESFORCE_API_VERSION

__all__ = [
    "STANDARD_WEBHOOK_SECRETS",
    "AnalyticsConfig",
    "CarrierAddress",
    "CarrierConfig",
    "ChannelConfig",
    "CrmConfig",
    "FrequencyCap",
    "Ga4Config",
    "GatewayConfig",
    "HubConfig",
    "KlaviyoConfig",
    "MailchimpConfig",
    "MarketingConfig",
    "MarketingRules",
    "MetaConfig",
    "ParcelConfig",
    "ReconcileConfig",
    "SalesforceCrmConfig",
    "ServiceLevel",
    "SkuIds",
    "StockConfig",
    "load_config",
    "parse_config",
]

# Square is a point of sale: a channel whose stock counts the hub takes in (never one it pushes to).
Platform = Literal["shopify", "woocommerce", "bigcommerce", "magento", "square"]
Gateway = Literal["stripe", "paypal", "square"]
PLATFORMS: tuple[str, ...] = ("shopify", "woocommerce", "bigcommerce", "magento")


# The key of the webhook secret a storefront channel verifies with unless it names its own.
STANDARD_WEBHOOK_SECRETS: dict[str, str] = {
    "shopify": "SHOPIFY_WEBHOOK_SECRET",
    "woocommerce": "WOOCOMMERCE_WEBHOOK_SECRET",
    "bigcommerce": "BIGCOMMERCE_CLIENT_SECRET",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


StorefrontAuth = Literal["basic", "query_string", "oauth1", "bearer"]
# Platform -> its `auth` choices, the default first.
_AUTH_CHOICES: dict[str, tuple[str, ...]] = {"woocommerce": ("basic", "query_string"), "magento": ("oauth1", "bearer")}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    return parts.scheme.lower() == "http" and (parts.hostname or "").lower() in _LOOPBACK_HOSTS


ANY_LOCATION = "*"
MAGENTO_DEFAULT_SOURCE = "default"
# Platforms whose stock has no locations: one count per product (or variation).
_LOCATIONLESS = ("woocommerce", "bigcommerce")


class ReconcileConfig(_Strict):
    """How often a channel's or gateway's reconciler lists what changed through the vendor's API
    (docs/reconciliation.md)."""

    every_minutes: int = Field(
        default=5, ge=0, le=1440, description="minutes between runs; 0 turns this reconciler off"
    )

    @property
    def enabled(self) -> bool:
        return self.every_minutes > 0


class SkuIds(_Strict):
    """A SKU's ids on one platform, for the stock the hub pushes and the levels it is told."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    item_id: str | None = Field(default=None, description="Shopify inventory item, Square catalog object")
    product_id: str | None = Field(default=None, description="WooCommerce / BigCommerce product")
    variation_id: str | None = Field(default=None, description="WooCommerce variation / BigCommerce variant")


class ChannelConfig(_Strict):
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
        allowed = _AUTH_CHOICES.get(str(platform), ())
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
        if info.field_name == "api_url" and not _https_or_loopback(value):
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


class GatewayConfig(_Strict):
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
        if value is not None and not _https_or_loopback(value):
            raise ValueError("must start with https:// (http:// only for a local fake on 127.0.0.1, ::1 or localhost)")
        return value.rstrip("/") if value else value


class LocationConfig(_Strict):
    id: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class StockConfig(_Strict):
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


class CarrierAddress(_Strict):
    """A ship-from address, as carriers want it."""

    name: str | None = None
    company: str | None = None
    street1: str
    street2: str | None = None
    city: str
    state: str | None = None
    zip: str
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    phone: str | None = None
    email: str | None = None


class ParcelConfig(_Strict):
    """The default parcel: inches and ounces (EasyPost's units; sent to Shippo with their unit names)."""

    length: float = Field(default=10, gt=0)
    width: float = Field(default=8, gt=0)
    height: float = Field(default=4, gt=0)
    weight: float = Field(default=16, gt=0, description="ounces")


class ServiceLevel(_Strict):
    """Which rates qualify; the cheapest qualifying rate is bought."""

    max_days: int | None = Field(default=None, ge=0, description="at most this many delivery days")
    services: list[str] = Field(default_factory=list, description="allowed service names or tokens (any if empty)")
    carriers: list[str] = Field(default_factory=list, description="allowed carriers (any if empty)")


# The label formats each carrier API takes: Shippo's `label_file_type` tokens (docs.goshippo.com
# "Shipping label sizes"; shippo-python-sdk LabelFileTypeEnum), where ZPL is spelt ZPLII (ZPL here is
# sent as ZPLII), and EasyPost's `options.label_format`.
SHIPPO_LABEL_FILE_TYPES = (
    "PNG", "PNG_2.3x7.5", "PDF", "PDF_2.3x7.5", "PDF_4x6", "PDF_4x8", "PDF_A4", "PDF_A5", "PDF_A6", "ZPLII",
)  # fmt: skip
LABEL_FORMATS: dict[str, tuple[str, ...]] = {
    "shippo": (*SHIPPO_LABEL_FILE_TYPES, "ZPL"),
    "easypost": ("PDF", "PNG", "ZPL", "EPL2"),
    "none": ("PDF", "PNG", "ZPL"),
}


class CarrierConfig(_Strict):
    """The carrier API labels are bought from; `none` leaves fulfilments waiting for a tracking number."""

    provider: Literal["easypost", "shippo", "none"] = "none"
    service_level: ServiceLevel = Field(default_factory=ServiceLevel)
    from_address: CarrierAddress | None = None
    from_addresses: dict[str, CarrierAddress] = Field(
        default_factory=dict, description="location id -> ship-from address (else from_address)"
    )
    parcel: ParcelConfig = Field(default_factory=ParcelConfig)
    label_format: str = Field(
        default="PDF",
        description=(
            "PDF, PNG or ZPL (Shippo's ZPLII), or a size only one carrier sells: Shippo's PDF_4x6, PDF_4x8, "
            "PDF_A4, PDF_A5, PDF_A6, PDF_2.3x7.5, PNG_2.3x7.5 (label_file_type); EasyPost's EPL2"
        ),
    )
    api_url: str | None = Field(
        default=None, description="the carrier API's base URL (https://api.easypost.com, https://api.goshippo.com)"
    )

    @model_validator(mode="after")
    def _ship_from(self) -> CarrierConfig:
        if self.provider != "none" and self.from_address is None and not self.from_addresses:
            raise ValueError(f"carrier.provider {self.provider} needs carrier.from_address (or from_addresses)")
        formats = LABEL_FORMATS.get(self.provider)
        if formats is not None and self.label_format not in formats:
            raise ValueError(
                f"carrier.label_format {self.label_format!r} is not one {self.provider} sells; "
                f"one of {', '.join(formats)}"
            )
        return self

    def ship_from(self, location: str | None) -> CarrierAddress | None:
        return self.from_addresses.get(location or "", self.from_address)


ActionSource = Literal["system_generated", "other", "website", "email", "phone_call", "chat", "physical_store"]


class Ga4Config(_Strict):
    """Google Analytics 4 Measurement Protocol. The API secret is GA4_API_SECRET in the hub secret."""

    measurement_id: str = Field(pattern=r"^G-[A-Z0-9]+$", description="the web data stream's id, G-XXXXXXXXXX")
    api_url: str = Field(
        default="https://www.google-analytics.com", description="the Measurement Protocol's base URL (a fake in tests)"
    )


class MetaConfig(_Strict):
    """Meta Conversions API. The access token is META_ACCESS_TOKEN in the hub secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    pixel_id: str = Field(pattern=r"^[0-9]+$", description="the pixel (dataset) id")
    api_version: str = Field(
        default=META_GRAPH_VERSION,
        pattern=r"^v[0-9]+\.[0-9]+$",
        description="the Graph API version; default the one pinned in hub.vendor_versions",
    )
    api_url: str = Field(default="https://graph.facebook.com", description="the Graph API's base URL (a fake in tests)")
    action_source: ActionSource = Field(
        default="other",
        description="where the conversions happen; `website` needs the browser's user agent, which webhooks lack",
    )
    test_event_code: str | None = Field(default=None, description="send to Events Manager's Test Events tab")


class AnalyticsConfig(_Strict):
    """The daily report's attribution window, and where purchases and refunds are forwarded (if anywhere)."""

    attribution_window_days: int = Field(
        default=7, ge=1, le=90, description="an order placed this many days after a marketing message is attributed"
    )
    ga4: Ga4Config | None = None
    meta: MetaConfig | None = None


class SalesforceCrmConfig(_Strict):
    """Where contacts go in Salesforce: upserted by an External ID field that holds the email."""

    object: str = Field(default="Contact", pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="the sObject: Contact, Lead")
    external_id_field: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="an External ID (and Unique) text field holding the normalised email, e.g. Hub_Email__c",
    )
    api_version: str = Field(
        default=SALESFORCE_API_VERSION,
        pattern=r"^v[0-9]+\.[0-9]$",
        description="the REST API version; default the one pinned in hub.vendor_versions (sObject Collections"
        " upserts need 46.0 or later)",
    )


# What Salesforce refuses to create a record without (REQUIRED_FIELD_MISSING) and a profile may lack.
# The last name is the profile's, so its fallback goes with every push; a Lead's Company is not in
# the profile at all, so it is sent only to create one (sending it always would overwrite the
# company a salesperson entered): see `salesforce_create_defaults`.
_SALESFORCE_REQUIRED: dict[str, dict[str, str]] = {"Contact": {"LastName": "Unknown"}, "Lead": {"LastName": "Unknown"}}
_SALESFORCE_CREATE_ONLY: dict[str, dict[str, str]] = {"Lead": {"Company": "Unknown"}}


class CrmConfig(_Strict):
    """The CRM customer profiles are pushed to; `none` keeps them in the hub only."""

    provider: Literal["hubspot", "salesforce", "none"] = "none"
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="CRM property -> profile field (hub.domain.customers.CONTACT_FIELDS); empty: the provider's defaults",
    )
    fallbacks: dict[str, str] = Field(
        default_factory=dict, description="CRM property -> value sent when the profile has none (e.g. LastName)"
    )
    salesforce: SalesforceCrmConfig | None = None
    api_url: str | None = Field(
        default=None,
        description="the API's base URL: HubSpot https://api.hubapi.com; Salesforce the instance URL (a fake in tests)",
    )

    @field_validator("properties")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(f for f in value.values() if not is_contact_field(f))
        if unknown:
            raise ValueError(f"unknown profile fields {', '.join(unknown)}; map from one of the documented fields")
        return value

    @model_validator(mode="after")
    def _salesforce_target(self) -> CrmConfig:
        if self.provider == "salesforce" and self.salesforce is None:
            raise ValueError("crm.provider salesforce needs crm.salesforce.external_id_field")
        return self

    def mapping(self) -> dict[str, str]:
        """CRM property -> profile field: the configured mapping, else the provider's defaults."""
        if self.properties:
            return dict(self.properties)
        if self.provider == "salesforce":
            return {"Email": "email", "FirstName": "first_name", "LastName": "last_name", "Phone": "phone"}
        return {"email": "email", "firstname": "first_name", "lastname": "last_name", "phone": "phone"}

    def defaults(self) -> dict[str, str]:
        """Values for empty properties: the configured fallbacks, over the LastName Salesforce requires
        of a Contact or Lead (a profile may have no last name)."""
        if self.provider != "salesforce":
            return dict(self.fallbacks)
        target = self.salesforce.object if self.salesforce else "Contact"
        return {**_SALESFORCE_REQUIRED.get(target, {}), **self.fallbacks}

    def salesforce_create_defaults(self) -> dict[str, str]:
        """Fields Salesforce requires only to create the record, with the value to create it with,
        unless the mapping or the fallbacks already send them (a Lead's Company)."""
        target = self.salesforce.object if self.salesforce else "Contact"
        sent = set(self.mapping()) | set(self.defaults())
        return {k: v for k, v in _SALESFORCE_CREATE_ONLY.get(target, {}).items() if k not in sent}


# ------------------------------------------------------------------------------------------ marketing
MarketingChannel = Literal["ses", "klaviyo", "mailchimp"]


class PostPurchaseRule(_Strict):
    """A follow-up after delivery; after payment when the hub never learns of a delivery."""

    enabled: bool = True
    days_after_delivery: int = Field(default=7, ge=0, le=365)
    days_after_payment_when_no_delivery: int = Field(default=14, ge=0, le=365)


class AbandonedCheckoutRule(_Strict):
    """A reminder for a checkout that no order came from within `hours`."""

    enabled: bool = True
    hours: int = Field(default=4, ge=1, le=720)


class ReviewRequestRule(_Strict):
    enabled: bool = True
    days_after_delivery: int = Field(default=10, ge=0, le=365)


class WinBackRule(_Strict):
    enabled: bool = True
    days_without_order: int = Field(default=90, ge=1, le=1095)


class BackInStockRule(_Strict):
    """A note to customers whose order ran into a shortage, once the SKU's level rises again."""

    enabled: bool = True


class MarketingRules(_Strict):
    """Each rule is off unless listed; a listed rule is on unless `enabled: false`."""

    post_purchase: PostPurchaseRule | None = None
    abandoned_checkout: AbandonedCheckoutRule | None = None
    review_request: ReviewRequestRule | None = None
    win_back: WinBackRule | None = None
    back_in_stock: BackInStockRule | None = None

    def active(self, name: str) -> bool:
        rule = getattr(self, name, None)
        return rule is not None and bool(rule.enabled)


class FrequencyCap(_Strict):
    """At most `max_messages` marketing messages to one customer in any `per_days` days."""

    max_messages: int = Field(default=3, ge=1, le=100)
    per_days: int = Field(default=7, ge=1, le=365)


class KlaviyoConfig(_Strict):
    """Klaviyo's events API. The private key is KLAVIYO_API_KEY in the hub secret."""

    api_url: str = Field(default="https://a.klaviyo.com", description="the API's base URL (a fake in tests)")
    revision: str = Field(
        default=KLAVIYO_REVISION,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.pre)?$",
        description="the `revision` header; default the one pinned in hub.vendor_versions",
    )

    @field_validator("revision", mode="before")
    @classmethod
    def _date_as_written(cls, value: object) -> object:
        # YAML reads an unquoted 2025-01-15 as a date.
        return value.isoformat() if isinstance(value, date) else value


class MailchimpConfig(_Strict):
    """A Mailchimp audience. The API key (ending in -<dc>) is MAILCHIMP_API_KEY in the hub secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    list_id: str = Field(min_length=1, description="the audience (list) id")
    api_url: str | None = Field(
        default=None, description="the API's base URL; default https://<dc>.api.mailchimp.com from the key's suffix"
    )


class MarketingConfig(_Strict):
    """Marketing automation: which rules run, how messages go out, and how often a customer hears from the shop."""

    channels: list[MarketingChannel] = Field(default_factory=lambda: ["ses"], min_length=1)
    sender: str | None = Field(default=None, description="the SES From address, e.g. 'Ada Goods <news@ada.example>'")
    reply_to: str | None = None
    shop_name: str = Field(default="our shop", min_length=1)
    shop_url: str | None = Field(default=None, description="links in messages point here")
    review_url: str | None = Field(
        default=None, description="where a review request sends the customer (else shop_url)"
    )
    unsubscribe_url: str | None = Field(
        default=None, description="the page unsubscribe links open; default the hub's own GET /unsubscribe"
    )
    suggestions: int = Field(
        default=3, ge=0, le=10, description="products suggested from what others bought with theirs"
    )
    rules: MarketingRules = Field(default_factory=MarketingRules)
    frequency_cap: FrequencyCap = Field(default_factory=FrequencyCap)
    klaviyo: KlaviyoConfig | None = None
    mailchimp: MailchimpConfig | None = None

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each channel may be listed once")
        return value

    @model_validator(mode="after")
    def _channel_settings(self) -> MarketingConfig:
        if "ses" in self.channels and (not self.sender or "@" not in self.sender):
            raise ValueError("marketing.channels has ses, so marketing.sender needs a From address")
        if "mailchimp" in self.channels and self.mailchimp is None:
            raise ValueError("marketing.channels has mailchimp, so marketing.mailchimp.list_id is needed")
        return self

    def klaviyo_settings(self) -> KlaviyoConfig:
        return self.klaviyo or KlaviyoConfig()


class HubConfig(_Strict):
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    gateways: dict[Gateway, GatewayConfig] = Field(default_factory=dict)
    locations: list[LocationConfig] = Field(min_length=1)
    low_stock_threshold: int = Field(default=5, ge=0)
    stock: StockConfig = Field(default_factory=StockConfig)
    carrier: CarrierConfig = Field(default_factory=CarrierConfig)
    crm: CrmConfig = Field(default_factory=CrmConfig)
    marketing: MarketingConfig | None = Field(
        default=None, description="marketing automation; none: the hub sends no marketing"
    )
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)

    @model_validator(mode="after")
    def _unique_locations(self) -> HubConfig:
        ids = [loc.id for loc in self.locations]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"location ids must be unique: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _channel_locations(self) -> HubConfig:
        known = self.location_ids()
        for name, channel in self.channels.items():
            seen: dict[str, str] = {}
            for platform_id, location in channel.locations.items():
                where = f"channels.{name}.locations.{platform_id}"
                if location not in known:
                    raise ValueError(f"'{where}': '{location}' is not a configured location ({', '.join(known)})")
                if location in seen:
                    raise ValueError(f"'{where}': {location} is already the hub location of '{seen[location]}'")
                if channel.platform in _LOCATIONLESS and platform_id != ANY_LOCATION:
                    raise ValueError(f"'{where}': {channel.platform} stock has no locations; map '*' instead")
                seen[location] = platform_id
        return self

    @model_validator(mode="after")
    def _channels_told_apart(self) -> HubConfig:
        """Deliveries choose their channel by the store they name, so channels of one platform must
        name different stores; at most one may name none (it takes every store not named)."""
        for platform in STANDARD_WEBHOOK_SECRETS:
            named: dict[str, str] = {}
            unnamed: list[str] = []
            for name, channel in self.channels.items():
                if channel.platform != platform:
                    continue
                identity = channel.identity()
                if identity is None:
                    unnamed.append(name)
                elif identity in named:
                    raise ValueError(
                        f"'channels.{name}': channel '{named[identity]}' is already the {platform} store {identity}"
                    )
                else:
                    named[identity] = name
            if len(unnamed) > 1:
                field = {"shopify": "shop_domain", "woocommerce": "site_url", "bigcommerce": "store_hash"}[platform]
                raise ValueError(
                    f"'channels.{unnamed[1]}': {', '.join(unnamed)} are {platform} channels without a {field}; "
                    f"give each its {field} so deliveries can be told apart"
                )
        return self

    def invoice_prefix(self, gateway: str) -> str | None:
        """What the gateway's invoice ids put before the order number (PayPal), when configured."""
        gateway_config = self.gateways.get(gateway)  # type: ignore[call-overload]
        return gateway_config.invoice_prefix if gateway_config else None

    def webhook_channel(self, platform: str, account: str | None) -> tuple[str, ChannelConfig]:
        """The channel a storefront delivery claiming store `account` belongs to, before it is verified.

        With no channel of that platform configured, the default channel named after the platform;
        with one, that channel (its secret alone decides: a store named differently, www. or http://,
        must not lock a single store out). With several, the one naming the store; else the one
        naming no store (it takes every other store). UnknownChannelError when none is this store.
        """
        candidates = [(name, ch) for name, ch in self.channels.items() if ch.platform == platform]
        if not candidates:
            return platform, ChannelConfig(platform=platform)  # type: ignore[arg-type]
        if len(candidates) == 1:
            return candidates[0]
        wanted = _normalise_account(platform, account)
        for name, channel in candidates:
            if wanted is not None and channel.identity() == wanted:
                return name, channel
        for name, channel in candidates:
            if channel.identity() is None:
                return name, channel
        raise UnknownChannelError(
            f"no {platform} channel of this hub is the store {str(account)[:100]!r}; configure it under channels"
        )

    def channel_settings(self, name: str, platform: str | None = None) -> ChannelConfig | None:
        """The channel's configuration, else the defaults of a channel named after its platform."""
        configured = self.channels.get(name)
        if configured is not None:
            return configured
        platform = platform or name
        if platform in (*PLATFORMS, "square"):
            return ChannelConfig(platform=platform)  # type: ignore[arg-type]
        return None

    def location_refs(self) -> list[LocationRef]:
        return [LocationRef(loc.id, loc.country) for loc in self.locations]

    def location_ids(self) -> list[str]:
        return [loc.id for loc in self.locations]

    def channel_for(self, source: str, account: str | None = None) -> str:
        """The channel a storefront delivery belongs to: a configured channel of that platform
        (matched on its shop domain, site URL or store hash when several exist), else the source."""
        candidates = [(name, ch) for name, ch in self.channels.items() if ch.platform == source]
        if account:
            for name, ch in candidates:
                if account in {ch.shop_domain, ch.site_url, ch.store_hash, ch.adobe_io_source}:
                    return name
        if candidates:
            return candidates[0][0]
        return source


def _normalise_account(platform: str, account: str | None) -> str | None:
    if not account:
        return None
    if platform == "shopify":
        return account.strip().lower()
    if platform == "woocommerce":
        return account.strip().rstrip("/")
    return account.strip()


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key '{where}'")
        elif item["type"] == "missing":
            problems.append(f"missing key '{where}'")
        else:
            problems.append(f"'{where}': {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def parse_config(text: str) -> HubConfig:
    """Parse and validate the YAML document; ConfigError says which key is wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid configuration: not valid YAML ({exc})") from exc
    if not isinstance(document, dict):
        raise ConfigError("invalid configuration: the document must be a mapping of keys")
    try:
        return HubConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


_CACHE_SECONDS = 300
_cached: tuple[float, HubConfig] | None = None


def load_config(*, refresh: bool = False) -> HubConfig:
    """The configuration for this sandbox: $HUB_CONFIG (a file) when set, else the SSM parameter."""
    global _cached
    if _cached and not refresh and time.monotonic() - _cached[0] < _CACHE_SECONDS:
        return _cached[1]
    path = os.environ.get("HUB_CONFIG")
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        name = os.environ.get("HUB_CONFIG_PARAMETER")
        if not name:
            raise ConfigError("neither HUB_CONFIG (a file) nor HUB_CONFIG_PARAMETER (SSM) is set")
        # Imported here so the domain and tests that only parse never pull in boto3.
        from aws_lambda_powertools.utilities import parameters

        text = parameters.get_parameter(name, max_age=_CACHE_SECONDS)
    config = parse_config(text)
    _cached = (time.monotonic(), config)
    return config
