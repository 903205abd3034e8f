"""Social posting (`marketing.social`): which networks the shop posts to, on which events, with what
text, and when not to post. Tokens are keys of the hub's social secret, never configuration.

Every network and every rule is off unless configured (docs/social.md)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from hub.config.base import ApiUrl, StrictModel
from hub.domain.social import DEFAULT_TEMPLATE, NETWORKS, clock_minutes, template_problem
from hub.vendor_versions import META_GRAPH_VERSION

__all__ = [
    "FacebookConfig",
    "InstagramConfig",
    "PinterestConfig",
    "QuietHours",
    "SocialConfig",
    "SocialRule",
    "SocialRules",
]

_GRAPH_VERSION = r"^v[0-9]{1,3}\.[0-9]$"


def _template(value: str) -> str:
    problem = template_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Template = Annotated[str, AfterValidator(_template)]


class FacebookConfig(StrictModel):
    """A Facebook Page's feed (Graph API `POST /{page-id}/feed`); FACEBOOK_PAGE_ACCESS_TOKEN in the secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    page_id: str = Field(min_length=1, pattern=r"^[0-9]+$", description="the Page's numeric id")
    api_url: ApiUrl = Field(
        default="https://graph.facebook.com", description="the Graph API's base URL (a fake in tests)"
    )
    api_version: str = Field(default=META_GRAPH_VERSION, pattern=_GRAPH_VERSION)


class InstagramConfig(StrictModel):
    """An Instagram professional account (Graph API content publishing); INSTAGRAM_ACCESS_TOKEN in the secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    ig_user_id: str = Field(min_length=1, pattern=r"^[0-9]+$", description="the Instagram professional account's id")
    api_url: ApiUrl = Field(
        default="https://graph.facebook.com", description="the Graph API's base URL (a fake in tests)"
    )
    api_version: str = Field(default=META_GRAPH_VERSION, pattern=_GRAPH_VERSION)


class PinterestConfig(StrictModel):
    """A Pinterest board (API v5 `POST /v5/pins`); PINTEREST_ACCESS_TOKEN in the secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    board_id: str = Field(min_length=1, pattern=r"^[0-9A-Za-z_-]+$", description="the board pins go to")
    api_url: ApiUrl = Field(default="https://api.pinterest.com", description="the API's base URL (a fake in tests)")


class SocialRule(StrictModel):
    """A listed rule is on unless `enabled: false`; `template` replaces social.template for it."""

    enabled: bool = True
    template: Template | None = Field(default=None, description="the post's text for this rule")


class SocialRules(StrictModel):
    """Each rule is off unless listed."""

    new_product: SocialRule | None = None
    back_in_stock: SocialRule | None = None

    def active(self, name: str) -> bool:
        rule = getattr(self, name, None)
        return rule is not None and bool(rule.enabled)


class QuietHours(StrictModel):
    """No post from `start` to `end` (local time of social.timezone; across midnight when end < start)."""

    start: str = Field(description="HH:MM, 24-hour clock")
    end: str = Field(description="HH:MM, 24-hour clock")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 21:00 as the sexagesimal number 1260 (21 * 60).
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return value

    @field_validator("start", "end")
    @classmethod
    def _valid(cls, value: str) -> str:
        clock_minutes(value)  # raises ValueError saying what is wrong
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if clock_minutes(self.start) == clock_minutes(self.end):
            raise ValueError("quiet_hours.start and quiet_hours.end are the same time; remove quiet_hours instead")
        return self


class SocialConfig(StrictModel):
    """Posts on a product published and on back in stock, to the networks configured here."""

    facebook: FacebookConfig | None = None
    instagram: InstagramConfig | None = None
    pinterest: PinterestConfig | None = None
    rules: SocialRules = Field(default_factory=SocialRules)
    template: Template = Field(default=DEFAULT_TEMPLATE, description="the post's text: {title}, {price} and {link}")
    timezone: str = Field(default="UTC", description="the IANA zone of quiet hours and of the per-day cap's day")
    quiet_hours: QuietHours | None = None
    max_posts_per_day: int = Field(default=3, ge=1, le=100, description="per network, per day of `timezone`")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from exc
        return value

    @model_validator(mode="after")
    def _some_network(self) -> SocialConfig:
        if not any(getattr(self, network) is not None for network in NETWORKS):
            raise ValueError("marketing.social needs at least one of facebook, instagram, pinterest")
        return self

    def networks(self) -> tuple[str, ...]:
        """The configured networks, in a fixed order."""
        return tuple(network for network in NETWORKS if getattr(self, network) is not None)

    def template_for(self, rule: str) -> str:
        configured = getattr(self.rules, rule, None)
        return (configured.template if configured is not None else None) or self.template

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
