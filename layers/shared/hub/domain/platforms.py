"""What the hub knows of each platform a channel can be on, in one table: the configuration, intake,
the stock services and the storefront adapters read their lists from it instead of keeping their own.

| platform | storefront | stock pushed | stock locations | webhook secret | store named by | REST auth | counts own orders |
|---|---|---|---|---|---|---|---|
| shopify | yes | yes | yes | SHOPIFY_WEBHOOK_SECRET | shop_domain | - | when placed |
| woocommerce | yes | yes | no | WOOCOMMERCE_WEBHOOK_SECRET | site_url | basic, query_string | when paid |
| bigcommerce | yes | no (levels come in only) | no | BIGCOMMERCE_CLIENT_SECRET | store_hash | - | when placed |
| magento | yes | yes | yes (sources) | - (signed otherwise) | - | oauth1, bearer | never (reservations) |
| square | no (a point of sale) | no (levels come in only) | yes | - | - | - | - |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ANY_LOCATION",
    "AUTH_CHOICES",
    "CATALOG_PLATFORMS",
    "COUNTS_OWN_ORDERS",
    "LOCATIONLESS",
    "MAGENTO_DEFAULT_SOURCE",
    "NO_ARCHIVE",
    "PLATFORMS",
    "PUSH_PLATFORMS",
    "STANDARD_WEBHOOK_SECRETS",
    "STOREFRONTS",
    "STORE_FIELDS",
    "Platform",
    "PlatformFacts",
]

Platform = Literal["shopify", "woocommerce", "bigcommerce", "magento", "square"]

# A channel's `locations` key for every platform location not listed (and the only key of a platform
# without locations).
ANY_LOCATION = "*"
# The Adobe Commerce (MSI) source a legacy stock item's count belongs to.
MAGENTO_DEFAULT_SOURCE = "default"


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """One platform's row of the table above."""

    storefront: bool  # it takes orders (Square is a point of sale: its stock counts only come in)
    pushes_stock: bool  # the hub pushes stock levels to it
    has_locations: bool  # its stock is counted per location (else one count per product or variation)
    webhook_key: str | None = None  # the standard key, in the hub secret, of its webhooks' shared secret
    store_field: str | None = None  # the ChannelConfig field naming its store in a delivery
    auth_choices: tuple[str, ...] = ()  # its REST API's `auth` choices, the default first
    counts_own_orders: str | None = None  # when its reported count stops including an order: placed, paid
    archives_products: bool = False  # a product can be archived there (else only active or draft)


_TABLE: Mapping[str, PlatformFacts] = MappingProxyType(
    {
        "shopify": PlatformFacts(
            storefront=True,
            pushes_stock=True,
            has_locations=True,
            webhook_key="SHOPIFY_WEBHOOK_SECRET",
            store_field="shop_domain",
            counts_own_orders="placed",
            archives_products=True,
        ),
        "woocommerce": PlatformFacts(
            storefront=True,
            pushes_stock=True,
            has_locations=False,
            webhook_key="WOOCOMMERCE_WEBHOOK_SECRET",
            store_field="site_url",
            auth_choices=("basic", "query_string"),
            counts_own_orders="paid",
        ),
        "bigcommerce": PlatformFacts(
            storefront=True,
            pushes_stock=False,
            has_locations=False,
            webhook_key="BIGCOMMERCE_CLIENT_SECRET",
            store_field="store_hash",
            counts_own_orders="placed",
        ),
        # Adobe Commerce (MSI) keeps the source quantity until shipment and deducts open orders as
        # reservations, so its count never excludes them.
        "magento": PlatformFacts(
            storefront=True, pushes_stock=True, has_locations=True, auth_choices=("oauth1", "bearer")
        ),
        "square": PlatformFacts(storefront=False, pushes_stock=False, has_locations=True),
    }
)

# What the rest of the hub reads, derived from the table.
STOREFRONTS: tuple[str, ...] = tuple(name for name, facts in _TABLE.items() if facts.storefront)
PLATFORMS: tuple[str, ...] = tuple(_TABLE)
# Catalog sync pushes products to every storefront (hub.adapters.storefront_catalog).
CATALOG_PLATFORMS: tuple[str, ...] = STOREFRONTS
# Where an archived product is held as a draft (WooCommerce, BigCommerce and Adobe Commerce have no archive).
NO_ARCHIVE: tuple[str, ...] = tuple(name for name, facts in _TABLE.items() if not facts.archives_products)
PUSH_PLATFORMS: tuple[str, ...] = tuple(name for name, facts in _TABLE.items() if facts.pushes_stock)
LOCATIONLESS: tuple[str, ...] = tuple(name for name, facts in _TABLE.items() if not facts.has_locations)
STANDARD_WEBHOOK_SECRETS: Mapping[str, str] = MappingProxyType(
    {name: facts.webhook_key for name, facts in _TABLE.items() if facts.webhook_key}
)
STORE_FIELDS: Mapping[str, str] = MappingProxyType(
    {name: facts.store_field for name, facts in _TABLE.items() if facts.store_field}
)
AUTH_CHOICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: facts.auth_choices for name, facts in _TABLE.items() if facts.auth_choices}
)
COUNTS_OWN_ORDERS: Mapping[str, str] = MappingProxyType(
    {name: facts.counts_own_orders for name, facts in _TABLE.items() if facts.counts_own_orders}
)
