"""Every webhook source the hub accepts, by the name in POST /webhooks/{source}."""

from __future__ import annotations

from hub.intake.service import WebhookSource
from hub.intake.shopify import ShopifySource

SOURCES: dict[str, WebhookSource] = {s.name: s for s in (ShopifySource(),)}
