"""PayPal: SHA256withRSA over "transmission_id|transmission_time|webhook_id|crc32(raw body)".

PayPal signs with a private key only it holds. Locally the checkout's own key pair stands in
(commerce_hub.local.keys): the stack trusts its certificate through PAYPAL_CERT, and this module
signs with its private key. PAYPAL-CERT-URL names a PayPal host, as PayPal's would; the hub checks
that before using the configured certificate.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from commerce_hub.signing.base import SignedDelivery, newest_secret

CERT_URL = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-commerce-hub-local"


def transmission_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()


def _local_private_key() -> str:
    from commerce_hub.local.errors import LocalStackError
    from commerce_hub.local.keys import local_signing_keys
    from commerce_hub.local.template import find_project_root

    try:
        root = find_project_root()
    except LocalStackError:
        root = Path(__file__).resolve().parents[3]  # the checkout this package was installed from
    return local_signing_keys(root).paypal_private_key


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
    private_key_pem: str | None = None,
    cert_url: str = CERT_URL,
    transmission_time: str | None = None,
) -> SignedDelivery:
    """Sign with `private_key_pem`, default the checkout's local PayPal key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key((private_key_pem or _local_private_key()).encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the PayPal signing key must be an RSA key")
    sent_at = transmission_time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = transmission_message(delivery_id, sent_at, newest_secret(secrets, "PAYPAL_WEBHOOK_ID"), body)
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "User-Agent": "PayPal/AUHD-214.0-58391792",
            "PAYPAL-TRANSMISSION-ID": delivery_id,
            "PAYPAL-TRANSMISSION-TIME": sent_at,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-AUTH-VERSION": "v2",
        },
        body,
    )
