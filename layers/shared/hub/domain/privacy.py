"""Erasing personal data from what the hub stores: which keys go, which strings are replaced.

An order keeps no personal data once erased: its `customer_email` and `shipping_address` (and any
`billing_address`) are removed wherever they appear, and every other string that contains one of
the customer's personal values (email, name, phone, street, postal code) has that value replaced
by "[erased]". Strings that hold JSON (a timeline entry's follow-on events, a payment kept for its
order) are scrubbed as JSON, so they still parse afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ERASED",
    "REMOVED_KEYS",
    "OrderErasure",
    "address_values",
    "personal_pattern",
    "scrub",
]

ERASED = "[erased]"
REMOVED_KEYS = frozenset({"customer_email", "shipping_address", "billing_address"})
# Country and state identify nobody on their own and reports group by them; everything else goes.
_ADDRESS_KEPT = frozenset({"country", "state"})
_MIN_LENGTH = 3  # shorter values ("Al", "NY") would erase ordinary words


@dataclass(frozen=True)
class OrderErasure:
    """What erasing one order changed."""

    order_id: str
    found: bool
    order: bool = False  # the order item itself lost personal data
    timeline_entries: int = 0
    pending_payments: int = 0
    other_items: int = 0


def address_values(address: Mapping[str, Any] | None) -> list[str]:
    if not address:
        return []
    return [str(v) for k, v in address.items() if k not in _ADDRESS_KEPT and isinstance(v, str) and v.strip()]


def personal_pattern(values: Iterable[str | None]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of the values as a whole word; None if none."""
    words = sorted({v.strip() for v in values if v and len(v.strip()) >= _MIN_LENGTH}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)


def _scrub_text(text: str, pattern: re.Pattern[str] | None) -> str:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict | list):
            cleaned, changed = scrub(document, pattern)
            return json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False) if changed else text
    return pattern.sub(ERASED, text) if pattern else text


def scrub(value: Any, pattern: re.Pattern[str] | None) -> tuple[Any, bool]:
    """`value` without personal data, and whether anything was removed or replaced."""
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        changed = False
        for key, item in value.items():
            if key in REMOVED_KEYS:
                changed = changed or item is not None
                continue
            cleaned[key], was = scrub(item, pattern)
            changed = changed or was
        return cleaned, changed
    if isinstance(value, list):
        results = [scrub(item, pattern) for item in value]
        return [r[0] for r in results], any(r[1] for r in results)
    if isinstance(value, str):
        cleaned_text = _scrub_text(value, pattern)
        return cleaned_text, cleaned_text != value
    return value, False
