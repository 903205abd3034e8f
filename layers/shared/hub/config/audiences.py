"""Ad audiences: which segments of consenting customers are kept in Meta Custom Audiences and Google
Ads Customer Match lists, and where those APIs are. Absent: the hub keeps no audience.

The audiences themselves are created by the merchant (Meta Ads Manager, a "customer list" custom
audience; Google Ads, a Customer Match user list) and named here by id; the hub only adds and
removes members. Credentials are keys of the hub's `audiences` secret: META_ADS_ACCESS_TOKEN, and
GOOGLE_ADS_DEVELOPER_TOKEN, GOOGLE_ADS_CLIENT_ID, GOOGLE_ADS_CLIENT_SECRET, GOOGLE_ADS_REFRESH_TOKEN.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator, model_validator

from hub.config.base import ApiUrl, StrictModel
from hub.money import parse_minor
from hub.vendor_versions import GOOGLE_ADS_API_VERSION, META_GRAPH_VERSION

__all__ = [
    "AudiencesConfig",
    "GoogleAdsAudiencesConfig",
    "HighValueSegment",
    "LapsedSegment",
    "MetaAudiencesConfig",
    "MinSpend",
    "RecentBuyersSegment",
    "SegmentsConfig",
]

_DIGITS = r"^[0-9]+$"


class MetaAudiencesConfig(StrictModel):
    """Meta Marketing API (Custom Audiences). The token is META_ADS_ACCESS_TOKEN: a system user's
    token with the ads_management permission on the ad account."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    ad_account_id: str = Field(pattern=r"^(act_)?[0-9]+$", description="the ad account the audiences belong to")
    api_version: str = Field(default=META_GRAPH_VERSION, pattern=r"^v[0-9]+\.[0-9]+$")
    api_url: ApiUrl = Field(
        default="https://graph.facebook.com", description="the Graph API's base URL (a fake in tests)"
    )


class GoogleAdsAudiencesConfig(StrictModel):
    """Google Ads API (Customer Match through OfflineUserDataJobService). Credentials:
    GOOGLE_ADS_DEVELOPER_TOKEN, and an OAuth client (GOOGLE_ADS_CLIENT_ID, GOOGLE_ADS_CLIENT_SECRET)
    with a refresh token (GOOGLE_ADS_REFRESH_TOKEN) of a user with access to the account."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    customer_id: str = Field(description="the Google Ads account holding the user lists, digits (dashes allowed)")
    login_customer_id: str | None = Field(default=None, description="the manager account the call is made through")
    api_version: str = Field(default=GOOGLE_ADS_API_VERSION, pattern=r"^v[0-9]+$")
    api_url: ApiUrl = Field(
        default="https://googleads.googleapis.com", description="the API's base URL (a fake in tests)"
    )
    token_url: ApiUrl = Field(
        default="https://oauth2.googleapis.com/token", description="Google's OAuth token endpoint"
    )

    @field_validator("customer_id", "login_customer_id")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.replace("-", "")
        if not digits.isdigit() or len(digits) != 10:
            raise ValueError("a Google Ads customer id is 10 digits, e.g. 123-456-7890")
        return digits


class _Targets(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    meta_audience_id: str | None = Field(default=None, pattern=_DIGITS, description="the Meta custom audience id")
    google_user_list_id: str | None = Field(default=None, pattern=_DIGITS, description="the Google Ads user list id")


class RecentBuyersSegment(_Targets):
    """Customers whose latest order was placed within the last `days` days."""

    days: int = Field(default=30, ge=1, le=540)


class LapsedSegment(_Targets):
    """Customers who have ordered, but not in the last `after_days` days."""

    after_days: int = Field(default=180, ge=1, le=3650)


class MinSpend(StrictModel):
    """An amount in one currency: compared with what the customer spent in that currency only."""

    amount: str = Field(description='a decimal string, e.g. "500.00"')
    currency: str = Field(pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _exact(self) -> MinSpend:
        parse_minor(self.amount, self.currency, field="min_spend.amount")
        return self

    @property
    def minor(self) -> int:
        return parse_minor(self.amount, self.currency)


class HighValueSegment(_Targets):
    """Customers who spent at least `min_spend` (net of refunds, in its currency), or placed at
    least `min_orders` orders; either threshold qualifies when both are given."""

    min_spend: MinSpend | None = None
    min_orders: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _threshold(self) -> HighValueSegment:
        if self.min_spend is None and self.min_orders is None:
            raise ValueError("high_value needs min_spend or min_orders")
        return self


class SegmentsConfig(StrictModel):
    recent_buyers: RecentBuyersSegment | None = None
    lapsed: LapsedSegment | None = None
    high_value: HighValueSegment | None = None


class AudiencesConfig(StrictModel):
    """Segments of consenting customers kept in step with the merchant's ad audiences."""

    meta: MetaAudiencesConfig | None = None
    google_ads: GoogleAdsAudiencesConfig | None = None
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    consent: str = Field(
        default="email_marketing",
        pattern=r"^(email_marketing|sms_marketing|any)$",
        description="the consent a customer must have given to be in an audience (unknown is no)",
    )

    @model_validator(mode="after")
    def _targets_have_destinations(self) -> AudiencesConfig:
        for name in ("recent_buyers", "lapsed", "high_value"):
            segment = getattr(self.segments, name)
            if segment is None:
                continue
            if segment.meta_audience_id and self.meta is None:
                raise ValueError(f"'audiences.segments.{name}.meta_audience_id' needs audiences.meta")
            if segment.google_user_list_id and self.google_ads is None:
                raise ValueError(f"'audiences.segments.{name}.google_user_list_id' needs audiences.google_ads")
        return self
