"""Signing sample deliveries as each vendor would, for `commerce-hub send`, the demo and tests.

One module per source, each with `sign(body, *, topic, secrets, delivery_id, account, url)`
returning a `SignedDelivery`; a source's module is imported only when it is used.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Mapping

from commerce_hub.signing.base import SignedDelivery

__all__ = ["SOURCES", "SignedDelivery", "sign_delivery"]

SOURCES = ("shopify", "woocommerce", "bigcommerce", "magento", "stripe", "paypal", "square", "easypost", "shippo")


def sign_delivery(
    source: str,
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str | None = None,
    account: str | None = None,
    url: str | None = None,
) -> SignedDelivery:
    """Headers as the vendor would send them, signed with the newest configured secret (the last
    of a rotation's JSON array).

    `url` is the stack's base URL (Square signs the notification URL with the body).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source '{source}'; sources that can be sent: {', '.join(SOURCES)}")
    try:
        module = importlib.import_module(f"commerce_hub.signing.{source}")
    except ModuleNotFoundError as exc:
        raise ValueError(f"signing for '{source}' is not available in this checkout") from exc
    return module.sign(
        body,
        topic=topic,
        secrets=secrets,
        delivery_id=delivery_id or str(uuid.uuid4()),
        account=account,
        url=url,
    )
