"""Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 of the notification URL + the raw body.

The URL is SQUARE_NOTIFICATION_URL (the local stack defaults it to its own /webhooks/square), else
the stack's base URL + /webhooks/square.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from commerce_hub.signing.base import SignedDelivery, b64_hmac_sha256, newest_secret


def notification_url(secrets: Mapping[str, str], url: str | None) -> str:
    if secrets.get("SQUARE_NOTIFICATION_URL"):
        return newest_secret(secrets, "SQUARE_NOTIFICATION_URL")
    if url:
        return f"{url.rstrip('/')}/webhooks/square"
    raise ValueError("Square signs the notification URL: set SQUARE_NOTIFICATION_URL or give the stack's URL")


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
) -> SignedDelivery:
    key = newest_secret(secrets, "SQUARE_WEBHOOK_SIGNATURE_KEY")
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "User-Agent": "Square Connect v2",
            "square-environment": "Sandbox",
            "square-initial-delivery-timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "x-square-hmacsha256-signature": b64_hmac_sha256(key, notification_url(secrets, url).encode() + body),
        },
        body,
    )
