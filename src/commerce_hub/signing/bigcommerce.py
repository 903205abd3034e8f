"""BigCommerce: Standard Webhooks. `webhook-signature: v1,<base64 HMAC-SHA256>` over
`{webhook-id}.{webhook-timestamp}.{body}`, keyed with the app's client secret."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping

from commerce_hub.signing.base import SignedDelivery, b64_hmac_sha256, newest_secret


def _key(secret: str) -> bytes:
    # A whsec_ secret is Standard Webhooks' base64 form; a BigCommerce client secret is the key itself.
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_") + "==")
    return secret.encode()


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
    timestamp: int | None = None,
) -> SignedDelivery:
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    key = _key(newest_secret(secrets, "BIGCOMMERCE_CLIENT_SECRET"))
    signature = b64_hmac_sha256(key, f"{delivery_id}.{sent_at}.".encode() + body)
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": sent_at,
            "webhook-signature": f"v1,{signature}",
        },
        body,
    )
