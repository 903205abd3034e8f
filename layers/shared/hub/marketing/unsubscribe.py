"""Unsubscribe links: a token that names the customer by erasure key, signed with HMAC-SHA256.

The token is `<erasure key>.<signature>`: no email travels in the link (links end up in logs and
browser histories), and only the hub, holding MARKETING_UNSUBSCRIBE_SECRET, can make one. Tokens do
not expire: an unsubscribe link must work for as long as the message exists. The secret may hold
a JSON array of strings during a rotation; the last (newest) signs, any verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from urllib.parse import urlencode

from hub.intake.signatures import any_match

__all__ = ["sign", "unsubscribe_link", "verify"]

_KEY = re.compile(r"^ck_[0-9a-f]{8,64}$")


def _signature(customer: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"unsubscribe\x1f{customer}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign(customer: str, secret: str) -> str:
    return f"{customer}.{_signature(customer, secret)}"


def verify(token: str, secrets: Sequence[str]) -> str | None:
    """The customer's erasure key when the token was signed with one of `secrets`, else None."""
    customer, _, signature = (token or "").strip().partition(".")
    if not _KEY.match(customer) or not signature:
        return None
    return customer if any_match([_signature(customer, secret) for secret in secrets], [signature]) else None


def unsubscribe_link(base_url: str, customer: str, secret: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}{urlencode({'token': sign(customer, secret)})}"
