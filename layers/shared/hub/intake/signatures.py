"""Signature checks shared by the sources: HMAC over the raw bytes, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from hub.errors import SignatureError


def any_match(expected: Iterable[bytes | str], given: Iterable[bytes | str]) -> bool:
    """True when some value in `expected` equals some value in `given`.

    Every pair is compared with `hmac.compare_digest`, and the loop goes on after a match: the time
    taken depends on how many candidates there are, never on which one matched (or how close a
    wrong one came), so rotated secrets and several signatures leak nothing. Text is compared as
    its UTF-8 bytes, so a header with characters outside ASCII is a mismatch, not a TypeError.
    Either side empty is no match.
    """
    wanted = [_as_bytes(value) for value in expected]
    offered = [_as_bytes(value) for value in given]
    matched = False
    for mine in wanted:
        for theirs in offered:
            matched |= hmac.compare_digest(mine, theirs)
    return matched


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


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
    if not any_match([hmac_sha256_b64(secret, message) for secret in candidates], [header]):
        which = secret_name or f"the {source} secret"
        raise SignatureError(f"the {header_name} signature does not match the body; check {which}")
