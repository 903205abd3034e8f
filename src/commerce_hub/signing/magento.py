"""Adobe Commerce through Adobe I/O Events: RSA-SHA256 (PKCS#1 v1.5) signatures of the raw body.

Adobe signs with keys only it holds; locally the checkout's own Adobe key pair stands in (its public
half is what the local stack trusts as ADOBE_IO_PUBLIC_KEY). A PEM private key under
ADOBE_IO_PRIVATE_KEY in `secrets` signs instead, for tests with keys of their own.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from commerce_hub.signing.base import SignedDelivery


def _private_key_pem(secrets: Mapping[str, str]) -> str:
    if secrets.get("ADOBE_IO_PRIVATE_KEY"):
        return secrets["ADOBE_IO_PRIVATE_KEY"]
    from commerce_hub.local.keys import local_signing_keys
    from commerce_hub.local.template import find_project_root

    return local_signing_keys(find_project_root()).adobe_private_key


def rsa_sha256_b64(private_key_pem: str, body: bytes) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the Adobe I/O signing key is not an RSA private key")
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def sign(
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str,
    account: str | None = None,
    url: str | None = None,
) -> SignedDelivery:
    signature = rsa_sha256_b64(_private_key_pem(secrets), body)
    return SignedDelivery(
        {
            "Content-Type": "application/json",
            "User-Agent": "Adobe I/O Events",
            # Adobe signs with its current and its next key; locally one key signs both.
            "x-adobe-digital-signature-1": signature,
            "x-adobe-digital-signature-2": signature,
            "x-adobe-public-key1-path": "/prod/keys/pub-key-local-1.pem",
            "x-adobe-public-key2-path": "/prod/keys/pub-key-local-2.pem",
            "x-adobe-retry-count": "0",
        },
        body,
    )
