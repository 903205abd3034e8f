"""The hub's product catalog: one product as every channel sells it, and the pure decisions of
catalog sync (a channel's price override, the content hash that tells an echo from drift).

Money is integer minor units of the product's currency; a channel's override turns it into minor
units of the channel's currency with exact decimal maths (docs/catalog.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from hub.domain.platforms import NO_ARCHIVE
from hub.errors import MoneyError
from hub.money import exponent

__all__ = [
    "COMPARED_FIELDS",
    "CONTENT_FIELDS",
    "ONE_PRODUCT_PER_SKU",
    "PRODUCT_STATUSES",
    "CatalogOption",
    "CatalogProduct",
    "CatalogVariant",
    "Drift",
    "PriceOverride",
    "ProductStatus",
    "PushState",
    "StoredProduct",
    "apply_override",
    "as_reported",
    "channel_view",
    "content_hash",
    "differing_fields",
    "first_activation",
]

ProductStatus = Literal["active", "draft", "archived"]
PRODUCT_STATUSES: tuple[str, ...] = get_args(ProductStatus)
# The fields catalog sync owns and pushes to channels; of those, what drift and echoes compare.
CONTENT_FIELDS = ("title", "description", "status", "images", "options", "variants")
COMPARED_FIELDS = ("title", "description", "status", "options", "variants")


@dataclass(frozen=True, slots=True)
class CatalogOption:
    """A product option (Size, Colour) and its values, in the storefront's order."""

    name: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogVariant:
    """One sellable variant: its SKU, price and compare-at price in minor units of `currency`, and
    its value for each of the product's options (in the options' order)."""

    sku: str
    price: int
    currency: str
    compare_at_price: int | None = None
    option_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sku:
            raise ValueError("a variant needs a SKU")
        exponent(self.currency)
        object.__setattr__(self, "currency", self.currency.upper())
        if self.price < 0 or (self.compare_at_price is not None and self.compare_at_price < 0):
            raise MoneyError(f"variant {self.sku}: a price cannot be negative")


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """A product as the hub keeps it: `key` is the hub's product key (docs/catalog.md), `url` the
    product page on its channel when one is known (vendor-neutral, for links)."""

    key: str
    title: str
    status: ProductStatus
    variants: tuple[CatalogVariant, ...]
    description: str = ""
    url: str | None = None
    images: tuple[str, ...] = ()
    options: tuple[CatalogOption, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a product needs a key")
        if self.status not in PRODUCT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(PRODUCT_STATUSES)}, not {self.status!r}")
        if not self.variants:
            raise ValueError(f"product {self.key} has no variant with a SKU")
        skus = [variant.sku for variant in self.variants]
        if len(set(skus)) != len(skus):
            raise ValueError(f"product {self.key} names a SKU twice")
        for variant in self.variants:
            if len(variant.option_values) != len(self.options):
                raise ValueError(
                    f"variant {variant.sku} has {len(variant.option_values)} option values; "
                    f"product {self.key} has {len(self.options)} options"
                )
        if len({variant.currency for variant in self.variants}) > 1:
            raise MoneyError(f"product {self.key} has variants priced in different currencies")

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(variant.sku for variant in self.variants)

    @property
    def currency(self) -> str:
        return self.variants[0].currency

    @property
    def image(self) -> str | None:
        return self.images[0] if self.images else None

    def variant(self, sku: str) -> CatalogVariant | None:
        return next((variant for variant in self.variants if variant.sku == sku), None)

    def content(self) -> dict[str, object]:
        """The synced content as plain JSON values (no key, no url: those are per channel)."""
        return {
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "images": list(self.images),
            "options": [{"name": o.name, "values": list(o.values)} for o in self.options],
            "variants": [
                {
                    "sku": v.sku,
                    "price": v.price,
                    "currency": v.currency,
                    "compare_at_price": v.compare_at_price,
                    "option_values": list(v.option_values),
                }
                for v in sorted(self.variants, key=lambda v: v.sku)
            ],
        }


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A channel's prices from the master's: converted at `rate` (channel currency per master
    currency unit) into `currency`, raised by `markup_percent`, then rounded half-up to a multiple of
    `round_to` minor units. Every number is a Decimal read from configuration text, never a float."""

    currency: str | None = None
    rate: Decimal = Decimal(1)
    markup_percent: Decimal = Decimal(0)
    round_to: int = 1

    def price(self, minor: int, currency: str) -> tuple[int, str]:
        """`minor` units of `currency` as minor units of the channel's currency."""
        target = (self.currency or currency).upper()
        units = Decimal(minor).scaleb(-exponent(currency))
        value = units * self.rate * (1 + self.markup_percent / 100)
        scaled = value.scaleb(exponent(target))
        step = Decimal(self.round_to)
        rounded = (scaled / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
        return int(rounded), target


def apply_override(product: CatalogProduct, override: PriceOverride | None) -> CatalogProduct:
    """The product as a channel sells it: every price and compare-at price through `override`."""
    if override is None:
        return product
    variants = []
    for variant in product.variants:
        price, currency = override.price(variant.price, variant.currency)
        compare = None
        if variant.compare_at_price is not None:
            compare, _ = override.price(variant.compare_at_price, variant.currency)
        variants.append(replace(variant, price=price, compare_at_price=compare, currency=currency))
    return replace(product, variants=tuple(variants))


def channel_view(product: CatalogProduct, platform: str) -> CatalogProduct:
    """The product as `platform` can hold it (and so as its own webhooks will report it back)."""
    if product.status == "archived" and platform in NO_ARCHIVE:
        return replace(product, status="draft")
    return product


# Stores that hold each variant SKU as a product of its own, without options (the hub pushes Adobe
# Commerce one simple product per variant SKU, named "<title> <sku>" when there are several).
ONE_PRODUCT_PER_SKU = frozenset({"magento"})


def as_reported(product: CatalogProduct, platform: str, skus: tuple[str, ...]) -> CatalogProduct:
    """What a channel's event about `skus` reports of `product` when the channel holds it as the hub
    pushes it: on a store with one product per SKU, only those variants, without options, and the
    title the hub gave each; elsewhere the product as a whole."""
    if platform not in ONE_PRODUCT_PER_SKU:
        return product
    variants = tuple(replace(v, option_values=()) for v in product.variants if v.sku in skus)
    if not variants:
        return product
    title = product.title
    if len(product.variants) > 1 and len(variants) == 1:
        title = f"{product.title} {variants[0].sku}"
    return replace(product, title=title, options=(), variants=variants)


def _comparable(product: CatalogProduct) -> dict[str, object]:
    # Images are pushed but not compared: every storefront re-hosts what it is sent under its own
    # URLs, so its webhook never names the URL the hub pushed.
    content = product.content()
    return {name: content[name] for name in COMPARED_FIELDS}


def content_hash(product: CatalogProduct) -> str:
    """A stable digest of the compared content: what the hub pushed to a channel, to know its echo."""
    text = json.dumps(_comparable(product), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def differing_fields(expected: CatalogProduct, seen: CatalogProduct) -> tuple[str, ...]:
    """The compared fields in which `seen` (what a channel reports) differs from `expected`."""
    left, right = _comparable(expected), _comparable(seen)
    return tuple(name for name in COMPARED_FIELDS if left[name] != right[name])


@dataclass(frozen=True, slots=True)
class StoredProduct:
    """A product as the hub's records hold it: its version (1 for the first record, +1 per change),
    when the master last changed it (None when set through the admin API), and whether
    ProductPublished was announced for it."""

    product: CatalogProduct
    version: int
    as_of: str | None = None
    published: bool = False


@dataclass(frozen=True, slots=True)
class Drift:
    """A change made on a channel that is not the master: recorded, never pushed back."""

    channel: str
    product_key: str
    skus: tuple[str, ...]
    fields: tuple[str, ...]
    detected_at: str  # ISO 8601
    event_id: str
    details: Mapping[str, object] = field(default_factory=dict)


def first_activation(current: CatalogProduct, published_before: bool) -> bool:
    """True when `current` is active and ProductPublished was never announced for it: it is
    announced then, and never again (archiving and reactivating a product is no news)."""
    return current.status == "active" and not published_before


@dataclass(frozen=True, slots=True)
class PushState:
    """What the push log holds for a product on a channel: the highest version claimed, whether
    that push is in flight (until `lease_until`, epoch ms), and the content hash the channel holds
    since the hub's last completed push (None before the first)."""

    version: int
    pending: bool
    lease_until: int
    digest: str | None
