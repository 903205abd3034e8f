"""Shopify: X-Shopify-Hmac-Sha256, base64 HMAC-SHA256 of the raw body with the app secret."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from commerce_hub.signing.base import SignedDelivery, b64_hmac_sha256, newest_secret

DEFAULT_SHOP = "commerce-hub-local.myshopify.com"


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
) -> SignedDelivery:
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic or "orders/create",
            "X-Shopify-Shop-Domain": account or DEFAULT_SHOP,
            "X-Shopify-Webhook-Id": delivery_id,
            "X-Shopify-Event-Id": delivery_id,
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Hmac-Sha256": b64_hmac_sha256(newest_secret(secrets, "SHOPIFY_WEBHOOK_SECRET"), body),
        },
        body,
    )
