"""Marketing automation: which rules run (hub.domain.marketing_rules decides with them), how
messages go out, and how often a customer hears from the shop."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from hub.config.base import StrictModel
from hub.config.social import SocialConfig
from hub.vendor_versions import KLAVIYO_REVISION

__all__ = [
    "AbandonedCheckoutRule",
    "BackInStockRule",
    "FrequencyCap",
    "KlaviyoConfig",
    "MailchimpConfig",
    "MarketingChannel",
    "MarketingConfig",
    "MarketingRules",
    "PostPurchaseRule",
    "ReviewRequestRule",
    "WinBackRule",
]

MarketingChannel = Literal["ses", "klaviyo", "mailchimp"]


class PostPurchaseRule(StrictModel):
    """A follow-up after delivery; after payment when the hub never learns of a delivery."""

    enabled: bool = True
    days_after_delivery: int = Field(default=7, ge=0, le=365)
    days_after_payment_when_no_delivery: int = Field(default=14, ge=0, le=365)


class AbandonedCheckoutRule(StrictModel):
    """A reminder for a checkout that no order came from within `hours`."""

    enabled: bool = True
    hours: int = Field(default=4, ge=1, le=720)


class ReviewRequestRule(StrictModel):
    enabled: bool = True
    days_after_delivery: int = Field(default=10, ge=0, le=365)


class WinBackRule(StrictModel):
    enabled: bool = True
    days_without_order: int = Field(default=90, ge=1, le=1095)


class BackInStockRule(StrictModel):
    """A note to customers whose order ran into a shortage, once the SKU's level rises again."""

    enabled: bool = True


class MarketingRules(StrictModel):
    """Each rule is off unless listed; a listed rule is on unless `enabled: false`."""

    post_purchase: PostPurchaseRule | None = None
    abandoned_checkout: AbandonedCheckoutRule | None = None
    review_request: ReviewRequestRule | None = None
    win_back: WinBackRule | None = None
    back_in_stock: BackInStockRule | None = None

    def active(self, name: str) -> bool:
        rule = getattr(self, name, None)
        return rule is not None and bool(rule.enabled)


class FrequencyCap(StrictModel):
    """At most `max_messages` marketing messages to one customer in any `per_days` days."""

    max_messages: int = Field(default=3, ge=1, le=100)
    per_days: int = Field(default=7, ge=1, le=365)


class KlaviyoConfig(StrictModel):
    """Klaviyo's events API. The private key is KLAVIYO_API_KEY in the hub secret."""

    api_url: str = Field(default="https://a.klaviyo.com", description="the API's base URL (a fake in tests)")
    revision: str = Field(
        default=KLAVIYO_REVISION,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.pre)?$",
        description="the `revision` header; default the one pinned in hub.vendor_versions",
    )

    @field_validator("revision", mode="before")
    @classmethod
    def _date_as_written(cls, value: object) -> object:
        # YAML reads an unquoted 2025-01-15 as a date.
        return value.isoformat() if isinstance(value, date) else value


class MailchimpConfig(StrictModel):
    """A Mailchimp audience. The API key (ending in -<dc>) is MAILCHIMP_API_KEY in the hub secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    list_id: str = Field(min_length=1, description="the audience (list) id")
    api_url: str | None = Field(
        default=None, description="the API's base URL; default https://<dc>.api.mailchimp.com from the key's suffix"
    )


def _ses_only() -> list[MarketingChannel]:
    return ["ses"]


class MarketingConfig(StrictModel):
    """Marketing automation: which rules run, how messages go out, and how often a customer hears from the shop."""

    channels: list[MarketingChannel] = Field(default_factory=_ses_only, min_length=1)
    sender: str | None = Field(default=None, description="the SES From address, e.g. 'Ada Goods <news@ada.example>'")
    reply_to: str | None = None
    shop_name: str = Field(default="our shop", min_length=1)
    shop_url: str | None = Field(default=None, description="links in messages point here")
    review_url: str | None = Field(
        default=None, description="where a review request sends the customer (else shop_url)"
    )
    unsubscribe_url: str | None = Field(
        default=None, description="the page unsubscribe links open; default the hub's own GET /unsubscribe"
    )
    suggestions: int = Field(
        default=3, ge=0, le=10, description="products suggested from what others bought with theirs"
    )
    rules: MarketingRules = Field(default_factory=MarketingRules)
    frequency_cap: FrequencyCap = Field(default_factory=FrequencyCap)
    klaviyo: KlaviyoConfig | None = None
    mailchimp: MailchimpConfig | None = None
    social: SocialConfig | None = Field(
        default=None, description="posts to a Facebook Page, Instagram and Pinterest (docs/social.md); none: no posts"
    )

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each channel may be listed once")
        return value

    @model_validator(mode="after")
    def _channel_settings(self) -> MarketingConfig:
        if "ses" in self.channels and (not self.sender or "@" not in self.sender):
            raise ValueError("marketing.channels has ses, so marketing.sender needs a From address")
        if "mailchimp" in self.channels and self.mailchimp is None:
            raise ValueError("marketing.channels has mailchimp, so marketing.mailchimp.list_id is needed")
        return self

    def klaviyo_settings(self) -> KlaviyoConfig:
        return self.klaviyo or KlaviyoConfig()
