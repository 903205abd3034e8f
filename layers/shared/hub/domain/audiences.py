"""Ad audiences: which segments a customer belongs to, which audiences that puts them in, and what
must be sent to bring each audience in step (adds and removes). No I/O.

A customer is in an audience only with consent (an explicit, current yes: unknown is no); then:
- recent_buyers: their latest counted order was placed within the last `days` days;
- lapsed: they have ordered, and their latest order is `after_days` days old or older;
- high_value: what they spent in the threshold's currency (paid orders less refunds) reaches it,
  or they placed at least `min_orders` orders. Spend is never added up across currencies.

Identifiers go out only as SHA-256 hex of each vendor's normal form:
- Meta (Custom Audiences, the same rules as the Conversions API: hub.domain.pii): EMAIL trimmed and
  lower-cased; PHONE digits only with the country code; FN and LN lower-case without punctuation.
  The profile holds no address, so CT, ST, ZIP and COUNTRY are not sent.
- Google (Customer Match): email trimmed and lower-cased, and for gmail.com and googlemail.com the
  dots before the @ removed; phone in E.164 (`+` and digits). A phone without its country code
  (no leading `+` or `00`) cannot be made E.164 and is left out for Google.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from hub.domain.customers import CustomerProfile
from hub.domain.pii import hashed

__all__ = [
    "HIGH_VALUE",
    "LAPSED",
    "META_SCHEMA",
    "RECENT_BUYERS",
    "SEGMENTS",
    "Audience",
    "AudienceChange",
    "AudienceRecord",
    "Identifiers",
    "Membership",
    "SegmentInputs",
    "SegmentRules",
    "google_email",
    "google_identifiers",
    "google_phone",
    "identifiers_of",
    "inputs_of",
    "meta_row",
    "next_review",
    "plan",
    "segments_of",
    "wanted_audiences",
]

RECENT_BUYERS = "recent_buyers"
LAPSED = "lapsed"
HIGH_VALUE = "high_value"
SEGMENTS = (RECENT_BUYERS, LAPSED, HIGH_VALUE)

Destination = Literal["meta", "google"]

# One schema for every row the hub sends Meta, so rows of many customers share one request; a field
# the customer has no value for is an empty string (Meta's multi-key matching allows it).
META_SCHEMA: tuple[str, ...] = ("EMAIL", "PHONE", "FN", "LN")


@dataclass(frozen=True, order=True)
class Audience:
    """One audience at one vendor: a Meta custom audience or a Google Ads user list, by id."""

    destination: Destination
    audience_id: str

    @property
    def name(self) -> str:
        return f"{self.destination}:{self.audience_id}"

    @classmethod
    def parse(cls, name: str) -> Audience:
        destination, audience_id = name.split(":", 1)
        if destination not in ("meta", "google"):
            raise ValueError(f"unknown audience destination {destination!r}")
        return cls(destination, audience_id)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SegmentRules:
    """The configured thresholds (hub.config.audiences, read by the service); None: segment off."""

    recent_days: int | None = None
    lapsed_after_days: int | None = None
    min_spend: tuple[str, int] | None = None  # (currency, minor units)
    min_orders: int | None = None
    targets: Mapping[str, tuple[Audience, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentInputs:
    """What segment membership is decided from: kept with the customer's audience record, so the daily
    review decides time-based changes without the profile."""

    consent: bool
    last_order_at: datetime | None
    order_count: int
    total_spent: Mapping[str, int]


@dataclass(frozen=True)
class Identifiers:
    """A customer's hashed identifiers as each vendor takes them."""

    meta: tuple[str, ...]  # one row in META_SCHEMA's order
    google: tuple[tuple[str, str], ...]  # (field, hash): hashedEmail, hashedPhoneNumber


@dataclass(frozen=True)
class Membership:
    """What the hub last sent one audience about a customer."""

    member: bool
    at: datetime
    answer: str


@dataclass(frozen=True)
class AudienceChange:
    """One customer's add to (or removal from) one audience."""

    audience: Audience
    add: bool
    identifiers: Identifiers


def inputs_of(profile: CustomerProfile, consent: str = "email_marketing") -> SegmentInputs:
    """The profile's segment inputs; `consent` names the consent required (`any`: either)."""
    if consent == "sms_marketing":
        consented = profile.may_text
    elif consent == "any":
        consented = profile.may_email or profile.may_text
    else:
        consented = profile.may_email
    return SegmentInputs(
        consent=consented,
        last_order_at=profile.last_order_at,
        order_count=profile.order_count,
        total_spent=dict(profile.total_spent),
    )


def segments_of(inputs: SegmentInputs, rules: SegmentRules, now: datetime) -> frozenset[str]:
    """The configured segments the customer is in now; none without consent."""
    if not inputs.consent:
        return frozenset()
    found: set[str] = set()
    last = inputs.last_order_at
    if last is not None and rules.recent_days is not None and now - last < timedelta(days=rules.recent_days):
        found.add(RECENT_BUYERS)
    if (
        last is not None
        and rules.lapsed_after_days is not None
        and now - last >= timedelta(days=rules.lapsed_after_days)
    ):
        found.add(LAPSED)
    spent = rules.min_spend is not None and inputs.total_spent.get(rules.min_spend[0], 0) >= rules.min_spend[1]
    ordered = rules.min_orders is not None and inputs.order_count >= rules.min_orders
    if spent or ordered:
        found.add(HIGH_VALUE)
    return frozenset(found)


def next_review(inputs: SegmentInputs, rules: SegmentRules, now: datetime) -> datetime | None:
    """The next time the passing of time alone changes the customer's segments (the recent-buyer
    window closes, or they become lapsed); None when it never will."""
    if not inputs.consent or inputs.last_order_at is None:
        return None
    moments = []
    if rules.recent_days is not None:
        moments.append(inputs.last_order_at + timedelta(days=rules.recent_days))
    if rules.lapsed_after_days is not None:
        moments.append(inputs.last_order_at + timedelta(days=rules.lapsed_after_days))
    later = [m for m in moments if m > now]
    return min(later) if later else None


def wanted_audiences(segments: Iterable[str], rules: SegmentRules) -> frozenset[Audience]:
    return frozenset(a for s in segments for a in rules.targets.get(s, ()))


def plan(
    wanted: frozenset[Audience],
    members: Mapping[Audience, Membership],
    identifiers: Identifiers | None,
    sent: Identifiers | None,
    every: Iterable[Audience],
) -> list[AudienceChange]:
    """The adds and removes that bring each audience in step with `wanted`.

    An add goes out when the customer is not a member yet, or is one under other identifiers (a new
    phone): the vendor matches on the new ones too. A remove goes out, with the identifiers last sent
    (`sent`), for every audience the customer is a member of and should not be, including audiences
    no longer configured (`members` names them) and every one when `wanted` is empty (no consent, or
    an erasure). Nothing goes out twice: a redelivered change finds its membership recorded.
    """
    changes: list[AudienceChange] = []
    for audience in sorted(set(every) | set(members)):
        member = members.get(audience)
        is_member = member is not None and member.member
        if audience in wanted and identifiers is not None:
            if not is_member or sent != identifiers:
                changes.append(AudienceChange(audience, True, identifiers))
        elif is_member and sent is not None:
            changes.append(AudienceChange(audience, False, sent))
    return changes


# -------------------------------------------------------------------------------- identifiers
def meta_row(email: str | None, phone: str | None, first_name: str | None, last_name: str | None) -> tuple[str, ...]:
    """One row in META_SCHEMA's order: each value Meta-normalised and SHA-256 hashed, or ""."""
    values = (hashed("em", email), hashed("ph", phone), hashed("fn", first_name), hashed("ln", last_name))
    return tuple(v or "" for v in values)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def google_email(email: str) -> str | None:
    """Google's normal form of an email: trimmed, lower-cased, and without dots before the @ of a
    gmail.com or googlemail.com address."""
    value = email.strip().lower()
    if "@" not in value:
        return None
    local, domain = value.rsplit("@", 1)
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"{local}@{domain}" if local and domain else None


def google_phone(phone: str) -> str | None:
    """E.164 (`+` and the digits) when the number carries its country code, else None."""
    value = phone.strip()
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        pass
    elif value.startswith("00"):
        digits = digits[2:]
    else:
        return None
    return f"+{digits}" if 8 <= len(digits) <= 15 else None


def google_identifiers(email: str | None, phone: str | None) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    normal_email = google_email(email) if email else None
    if normal_email:
        found.append(("hashedEmail", _sha256(normal_email)))
    normal_phone = google_phone(phone) if phone else None
    if normal_phone:
        found.append(("hashedPhoneNumber", _sha256(normal_phone)))
    return tuple(found)


def identifiers_of(profile: CustomerProfile) -> Identifiers:
    return Identifiers(
        meta=meta_row(profile.email, profile.phone, profile.first_name, profile.last_name),
        google=google_identifiers(profile.email, profile.phone),
    )


@dataclass(frozen=True)
class AudienceRecord:
    """What the hub keeps of one customer's audiences, under their erasure key: per audience what was
    last sent (member or not, when, the vendor's answer); the identifiers last sent, to remove them
    later; the segment inputs and when time alone changes them next (the daily review). After an
    erasure only the memberships (all `member: False`) remain: no identifier, no input."""

    erasure_key: str
    members: Mapping[Audience, Membership] = field(default_factory=dict)
    sent: Identifiers | None = None
    inputs: SegmentInputs | None = None
    review_at: datetime | None = None
