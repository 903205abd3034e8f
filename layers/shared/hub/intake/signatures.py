"""Signature checks shared by the sources: HMAC over the raw bytes, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from hub.intake.errors import SignatureError


def hmac_sha256_b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def require_base64_hmac(
    header_name: str,
    header: str | None,
    secrets: Iterable[str],
    message: bytes,
    source: str,
    *,
    secret_name: str | None = None,
) -> None:
    """Accept when any configured secret (rotation) produces `header`; `secret_name` is the key the
    secrets were read from, named in the error so the merchant knows which one to check."""
    if not header:
        raise SignatureError(f"missing {header_name} header; {source} signs every webhook")
    candidates = list(secrets)
    if not candidates:
        where = f" (expected under {secret_name})" if secret_name else ""
        raise SignatureError(f"no {source} webhook secret is configured{where}, so the signature cannot be checked")
    given = header.encode()
    # Check every candidate, so the time taken does not reveal which one matched.
    matched = False
    for secret in candidates:
        matched |= hmac.compare_digest(hmac_sha256_b64(secret, message).encode(), given)
    if not matched:
        which = secret_name or f"the {source} secret"
        raise SignatureError(f"the {header_name} signature does not match the body; check {which}")
