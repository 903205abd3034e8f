"""Multi-channel stock sync: a SKU's ids on a platform, and what the hub knows it pushed where."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlatformIds", "PushTarget", "StockPush", "SyncState"]


@dataclass(frozen=True, slots=True)
class PlatformIds:
    """A SKU's ids on one channel (Shopify inventory item, WooCommerce product and variation, ...)."""

    item_id: str | None = None
    product_id: str | None = None
    variation_id: str | None = None

    def key(self) -> str | None:
        """The most specific id: what a level report of this item names."""
        return self.item_id or self.variation_id or self.product_id

    def __bool__(self) -> bool:
        return any((self.item_id, self.product_id, self.variation_id))


@dataclass(frozen=True, slots=True)
class PushTarget:
    """One channel to push a location's level to, at its own location id (None: its default)."""

    channel: str
    platform: str
    location: str
    platform_location: str | None


@dataclass(frozen=True, slots=True)
class SyncState:
    """Per channel, SKU and hub location: the highest ledger version claimed for a push, whether that
    push is still in flight (until `lease_until`, epoch ms), and the quantity the channel is known to
    hold (the last value pushed to it or reported by it; None when unknown)."""

    version: int = 0
    pending: bool = False
    lease_until: int = 0
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class StockPush:
    """Set `quantity` units available for `sku` at one of a channel's locations."""

    channel: str
    sku: str
    quantity: int
    ids: PlatformIds
    platform_location: str | None  # Shopify location id, Magento source code; None: the default, or none
    compare: int | None = None  # what the hub knows the location holds (Shopify compare-and-set)
    reference: str | None = None  # why, as a URI (Shopify referenceDocumentUri)
