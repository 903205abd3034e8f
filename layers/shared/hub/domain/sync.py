"""Multi-channel stock sync: a SKU's ids on a platform, and what the hub knows it pushed where."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["PUSH_KEY_NAMESPACE", "PlatformIds", "PushTarget", "StockPush", "SyncState"]

# Fixed, so a push's idempotency key is the same in every process and after every redeploy.
PUSH_KEY_NAMESPACE = uuid.UUID("6f1c3a52-27d9-4b0e-9c55-2f7e1b9a4d10")


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
    compare: int | None = None  # what the hub knows the location holds (Shopify changeFromQuantity)
    reference: str | None = None  # why, as a URI (Shopify referenceDocumentUri); names the ledger version

    def idempotency_key(self, generation: int = 0) -> str:
        """A UUID named by everything the push sends: the same for every retry of this push (so the
        storefront applies it once), different for any other push (another level or ledger version,
        or another count to change from, which Shopify would refuse under a key already used).
        `generation` moves to a fresh key when the storefront says an attempt under the key failed."""
        ids = (self.ids.item_id, self.ids.product_id, self.ids.variation_id)
        parts = (self.channel, self.sku, *map(str, ids), str(self.platform_location), str(self.quantity))
        name = "\x1f".join((*parts, str(self.compare), str(self.reference), str(generation)))
        return str(uuid.uuid5(PUSH_KEY_NAMESPACE, name))
