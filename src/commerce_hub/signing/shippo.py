"""Shippo: unsigned; the webhook URL carries the hub's secret token as `?token=`."""

from __future__ import annotations

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
    return SignedDelivery(
        {"Content-Type": "application/json", "User-Agent": "Shippo"},
        body,
        params={"token": newest_secret(secrets, "SHIPPO_WEBHOOK_TOKEN")},
    )
