"""What a signer returns, and the primitives several vendors share."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.secrets import secret_values


@dataclass(frozen=True)
class SignedDelivery:
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # query parameters (Shippo's URL token)


def newest_secret(secrets: Mapping[str, str], name: str) -> str:
    """The secret a vendor signs with: the value itself, or the last (newest) of a rotation's JSON
    array. A value is never split on commas (hub.secrets.secret_values is the one rule)."""
    values = secret_values(name, secrets.get(name))
    if not values:
        raise ValueError(f"{name} is not set, so there is nothing to sign with")
    return values[-1]


def b64_hmac_sha256(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
