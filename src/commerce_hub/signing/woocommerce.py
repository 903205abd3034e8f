"""WooCommerce: X-WC-Webhook-Signature, base64 HMAC-SHA256 of the raw body with the webhook's secret.

The topic "ping" sends what WooCommerce posts when a webhook is saved: `webhook_id=N`, form-encoded,
with no X-WC headers and no signature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from commerce_hub.signing.base import SignedDelivery, b64_hmac_sha256, newest_secret

DEFAULT_SITE = "https://larkspur-supply.example/"
WEBHOOK_ID = "14"
USER_AGENT = "WooCommerce/9.6.0 Hookshot (WordPress/6.7.2)"

# WordPress keeps the secret HTML-escaped and decodes it before keying the HMAC.
_ENTITIES = (("&quot;", '"'), ("&#039;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _wp_decode(secret: str) -> str:
    for entity, char in _ENTITIES:
        secret = secret.replace(entity, char)
    return secret


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
) -> SignedDelivery:
    topic = topic or "order.created"
    if topic == "ping":
        return SignedDelivery({"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}, body)
    resource, _, event = topic.partition(".")
    secret = _wp_decode(newest_secret(secrets, "WOOCOMMERCE_WEBHOOK_SECRET"))
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": account or DEFAULT_SITE,
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": b64_hmac_sha256(secret, body),
            "X-WC-Webhook-ID": WEBHOOK_ID,
            # WooCommerce's delivery ids are wp_hash(id . time): 32 hex digits, new for every delivery.
            "X-WC-Webhook-Delivery-ID": hashlib.md5(delivery_id.encode(), usedforsecurity=False).hexdigest(),
        },
        body,
    )
