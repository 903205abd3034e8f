"""Social posting, decided without I/O: the post's text from its template, quiet hours, the day a
per-day cap counts in, when a stock change brings a SKU back in stock, and the keys that make each
post happen once per product, event and network (docs/social.md).

A post names a product, never a person: nothing here is personal data."""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hub.money import format_minor

__all__ = [
    "DEFAULT_TEMPLATE",
    "NETWORKS",
    "PLACEHOLDERS",
    "PostClaim",
    "SocialDue",
    "SocialPost",
    "SocialProduct",
    "SocialTrigger",
    "back_in_stock",
    "clock_minutes",
    "posting_day",
    "quiet_until",
    "render_text",
    "template_problem",
]

NETWORKS = ("facebook", "instagram", "pinterest")
# The networks that post an image: a product without one is skipped there (and posted elsewhere).
IMAGE_NETWORKS = frozenset({"instagram", "pinterest"})
PLACEHOLDERS = ("title", "price", "link")
DEFAULT_TEMPLATE = "{title} — {price} {link}"
# What each network accepts: Instagram captions 2,200 characters, Pinterest descriptions 800 and
# titles 100; a Facebook Page post is far longer than any template renders.
TEXT_LIMITS = {"facebook": 5000, "instagram": 2200, "pinterest": 800}
PIN_TITLE_LIMIT = 100
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


class SocialTrigger(StrEnum):
    NEW_PRODUCT = "new_product"
    BACK_IN_STOCK = "back_in_stock"


@dataclass(frozen=True, slots=True)
class SocialProduct:
    """What a post shows of a product: its title, price (minor units of `currency`), page and image."""

    key: str
    title: str
    url: str | None = None
    image_url: str | None = None
    price: int | None = None
    currency: str | None = None

    def price_text(self) -> str:
        """`12.50 EUR`, exact (never through float); empty when the price is unknown."""
        if self.price is None or not self.currency:
            return ""
        return f"{format_minor(self.price, self.currency)} {self.currency}"


@dataclass(frozen=True, slots=True)
class SocialPost:
    """One post on one network."""

    network: str
    key: str  # once per product, event and network: the marker's key
    text: str
    title: str
    link: str | None
    image_url: str | None


@dataclass(frozen=True, slots=True)
class PostClaim:
    """A post's once-only marker, as one attempt finds it.

    claimed: this attempt may post (`container`: the Instagram container an earlier attempt made,
    `admitted`: the day's cap already counted it); posted: it went out before (`post_id`); capped:
    the day's cap refused it; skipped: the network could not take it (no image); busy: another
    attempt holds it now."""

    status: Literal["claimed", "posted", "capped", "skipped", "busy"]
    container: str | None = None
    admitted: bool = False
    post_id: str | None = None


# ------------------------------------------------------------------ the text
def template_problem(template: str) -> str | None:
    """What is wrong with a post template, in words; None when it is fine."""
    if not template.strip():
        return "the post template is empty"
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"the post template is not valid ({exc}); write a literal brace as {{{{ or }}}}"
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"the post template has an unknown placeholder {{{name}}}; use {known}"
        if spec or conversion:
            return f"the post template's {{{name}}} takes no format or conversion"
    return None


def render_text(template: str, product: SocialProduct, limit: int | None = None) -> str:
    """The post's text: the template with the product's title, price and link, spaces tidied where
    a value is empty, cut to `limit` characters (ending in "…") when it is longer."""
    text = template.format(title=product.title, price=product.price_text(), link=product.url or "")
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# ------------------------------------------------------------------ when
def clock_minutes(value: str) -> int:
    """Minutes since midnight of an `HH:MM` time; ValueError saying what is wrong."""
    match = _CLOCK.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return int(match.group(1)) * 60 + int(match.group(2))


def quiet_until(now: datetime, start: str, end: str, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours `now` falls in end (UTC); None when `now` is outside them.

    Times are local to `zone`; quiet hours whose end is before their start run across midnight
    (21:00-08:00). The end is found on the local calendar, so a daylight-saving change between now
    and then moves it with the clock on the wall."""
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    first, last = clock_minutes(start), clock_minutes(end)
    across_midnight = last < first
    inside = (first <= minute or minute < last) if across_midnight else first <= minute < last
    if not inside:
        return None
    day = local.date()
    if across_midnight and minute >= first:
        day += timedelta(days=1)
    wall = datetime.combine(day, time(last // 60, last % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def posting_day(at: datetime, zone: ZoneInfo) -> str:
    """The local day (ISO date) a post made at `at` counts against the per-day cap."""
    return at.astimezone(zone).date().isoformat()


def back_in_stock(available: int, previous: int | None, total_available: int | None) -> bool:
    """Whether a level change brought the SKU back in stock: its units available at every location
    rose from 0 or below to above 0. Without the total, the location's own level decides."""
    before = previous if previous is not None else 0
    if total_available is None:
        return before <= 0 < available
    total_before = total_available - (available - before)
    return available > before and total_before <= 0 < total_available


# ------------------------------------------------------------------ what a schedule carries
@dataclass(frozen=True, slots=True)
class SocialDue:
    """Posts to make about one product for one event: what a quiet-hours schedule carries.

    `occasion` tells events of one product apart: a product is new once ("new"); it comes back in
    stock once per day of the shop's time zone (the day it happened), however often its SKUs'
    levels move that day and however often the event is delivered."""

    trigger: SocialTrigger
    product: SocialProduct
    occasion: str
    channel: str
    occurred_at: datetime

    @property
    def key(self) -> str:
        return f"{self.trigger.value}:{self.product.key}:{self.occasion}"

    def post_key(self, network: str) -> str:
        return f"{self.key}:{network}"

    @property
    def schedule_name(self) -> str:
        """Deterministic, within Scheduler's 64 characters: a redelivered event finds it there."""
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"social-{self.trigger.value}-{digest}"

    def post(self, network: str, template: str) -> SocialPost:
        product = self.product
        return SocialPost(
            network=network,
            key=self.post_key(network),
            text=render_text(template, product, TEXT_LIMITS.get(network)),
            title=product.title[:PIN_TITLE_LIMIT],
            link=product.url,
            image_url=product.image_url,
        )

    def to_payload(self) -> dict[str, Any]:
        product = self.product
        return {
            "social_due": {
                "trigger": self.trigger.value,
                "occasion": self.occasion,
                "channel": self.channel,
                "occurred_at": self.occurred_at.isoformat(),
                "product": {
                    "key": product.key,
                    "title": product.title,
                    "url": product.url,
                    "image_url": product.image_url,
                    "price": product.price,
                    "currency": product.currency,
                },
            }
        }

    @classmethod
    def for_event(
        cls, trigger: SocialTrigger, product: SocialProduct, channel: str, occurred_at: datetime, zone: ZoneInfo
    ) -> SocialDue:
        occasion = "new" if trigger is SocialTrigger.NEW_PRODUCT else posting_day(occurred_at, zone)
        return cls(trigger, product, occasion, channel, occurred_at)
