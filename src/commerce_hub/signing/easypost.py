"""EasyPost: `X-Hmac-Signature: hmac-sha256-hex=<hex>` of the raw body, keyed with the NFKD-normalised secret."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping

from commerce_hub.signing.base import SignedDelivery, newest_secret


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
) -> SignedDelivery:
    key = unicodedata.normalize("NFKD", newest_secret(secrets, "EASYPOST_WEBHOOK_SECRET")).encode()
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "User-Agent": "EasyPost WebHook Agent 1.0",
            "X-Hmac-Signature": "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        },
        body,
    )
