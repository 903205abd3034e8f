"""What a signer returns, and the primitives several vendors share."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignedDelivery:
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # query parameters (Shippo's URL token)


def first_secret(secrets: Mapping[str, str], name: str) -> str:
    """The first of a comma-separated (rotating) secret: the one a vendor signs with."""
    return secrets[name].split(",")[0].strip()


def b64_hmac_sha256(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
