"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 of "{t}.{raw body}" keyed with the whole whsec_ secret.

Stripe sends no delivery id: the event id inside the body is what repeats on a redelivery.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from commerce_hub.signing.base import SignedDelivery, newest_secret


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


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
    """`timestamp` (unix seconds, default now) lets a test send a stale delivery."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return SignedDelivery(
        {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(body, newest_secret(secrets, "STRIPE_WEBHOOK_SECRET"), stamp),
        },
        body,
    )
