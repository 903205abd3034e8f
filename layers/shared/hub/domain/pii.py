"""Personal data, normalised and hashed by Meta's Conversions API rules; the hub's customer key. No I/O.

Meta accepts contact information only as the SHA-256 hex of its normalised form:
em trimmed and lower-cased; ph digits only with the country code (no `+`, no leading `00`);
fn/ln lower-case without punctuation; ct lower-case without spaces or punctuation; st the
lower-case code; zp lower-case without spaces or dashes (US: the first 5 digits); country the
lower-case ISO 3166-1 alpha-2 code. A value that is already a SHA-256 hex is passed through.

The customer key (reports, attribution, marketing events, GA4's client id) is the erasure key:
an HMAC-SHA256 of the normalised email keyed with the deployment's secret salt
(hub.domain.customers.erasure_key), so the hub never keeps an email where a key will do, one
customer has one pseudonym everywhere, and nobody without the salt can confirm a guessed email by
hashing it. Meta's SHA-256 hashes are made only while a request to Meta is built, never kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from hub.domain.customers import erasure_key

__all__ = [
    "customer_key",
    "hashed",
    "is_customer_key",
    "is_sha256",
    "normalise",
    "normalise_city",
    "normalise_country",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "normalise_state",
    "normalise_zip",
    "split_name",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CUSTOMER_KEY = re.compile(r"^ck_[0-9a-f]{40}$")


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


def _without_punctuation(value: str) -> str:
    return "".join(ch for ch in value if not unicodedata.category(ch).startswith(("P", "S")))


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[2:] if digits.startswith("00") else digits


def normalise_name(value: str) -> str:
    return _without_punctuation(value.strip().lower()).strip()


def normalise_city(value: str) -> str:
    return "".join(_without_punctuation(value.lower()).split())


def normalise_state(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def normalise_zip(value: str, country: str | None = None) -> str:
    compact = "".join(ch for ch in value.lower() if ch not in " -")
    if (country or "").upper() == "US" and re.match(r"^\d{5}", compact):
        return compact[:5]
    return compact


def normalise_country(value: str) -> str:
    return value.strip().lower()


_NORMALISERS = {
    "em": normalise_email,
    "ph": normalise_phone,
    "fn": normalise_name,
    "ln": normalise_name,
    "ct": normalise_city,
    "st": normalise_state,
    "country": normalise_country,
}


def normalise(field: str, value: str, *, country: str | None = None) -> str:
    """The normalised form of one Meta customer information field (em, ph, fn, ln, ct, st, zp, country)."""
    if field == "zp":
        return normalise_zip(value, country)
    return _NORMALISERS[field](value)


def hashed(field: str, value: str | None, *, country: str | None = None) -> str | None:
    """SHA-256 hex of the normalised value; None when there is nothing left to hash."""
    if value is None:
        return None
    stripped = value.strip()
    if is_sha256(stripped):
        return stripped
    normal = normalise(field, stripped, country=country)
    return hashlib.sha256(normal.encode("utf-8")).hexdigest() if normal else None


def is_customer_key(value: str) -> bool:
    return bool(_CUSTOMER_KEY.match(value))


def customer_key(email_or_key: str | None, salt: str) -> str | None:
    """The hub's key for a customer: the erasure key of the normalised email with `salt`.

    A customer key is returned as is. None for nothing, and for a bare SHA-256 hex (the unsalted key
    of earlier versions, still in archived events): it cannot be turned into the keyed one.
    """
    if email_or_key is None:
        return None
    value = email_or_key.strip()
    if not value or is_sha256(value.lower()):
        return None
    if is_customer_key(value):
        return value
    if not salt:
        raise ValueError("a customer key needs the deployment's salt")
    return erasure_key(value, salt)


def split_name(full_name: str | None) -> tuple[str | None, str | None]:
    """'Ada King Lovelace' -> ('Ada', 'Lovelace'): the first and the last word."""
    words = (full_name or "").split()
    if not words:
        return None, None
    return words[0], (words[-1] if len(words) > 1 else None)
