"""The daily report's attribution window, where purchases and refunds are forwarded (GA4, Meta), and
where the site's traffic is read from (the GA4 Data API)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from hub.config.base import StrictModel, https_or_loopback
from hub.vendor_versions import META_GRAPH_VERSION

__all__ = ["ActionSource", "AnalyticsConfig", "Ga4Config", "Ga4TrafficConfig", "MetaConfig", "TrafficConfig"]


ActionSource = Literal["system_generated", "other", "website", "email", "phone_call", "chat", "physical_store"]


class Ga4Config(StrictModel):
    """Google Analytics 4 Measurement Protocol. The API secret is GA4_API_SECRET in the hub secret."""

    measurement_id: str = Field(pattern=r"^G-[A-Z0-9]+$", description="the web data stream's id, G-XXXXXXXXXX")
    api_url: str = Field(
        default="https://www.google-analytics.com", description="the Measurement Protocol's base URL (a fake in tests)"
    )


class MetaConfig(StrictModel):
    """Meta Conversions API. The access token is META_ACCESS_TOKEN in the hub secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    pixel_id: str = Field(pattern=r"^[0-9]+$", description="the pixel (dataset) id")
    api_version: str = Field(
        default=META_GRAPH_VERSION,
        pattern=r"^v[0-9]+\.[0-9]+$",
        description="the Graph API version; default the one pinned in hub.vendor_versions",
    )
    api_url: str = Field(default="https://graph.facebook.com", description="the Graph API's base URL (a fake in tests)")
    action_source: ActionSource = Field(
        default="other",
        description="where the conversions happen; `website` needs the browser's user agent, which webhooks lack",
    )
    test_event_code: str | None = Field(default=None, description="send to Events Manager's Test Events tab")


class Ga4TrafficConfig(StrictModel):
    """The GA4 Data API (runReport), read on a schedule by traffic_import. The service account's key
    file (its whole JSON) is GA4_SERVICE_ACCOUNT_JSON in the hub's traffic secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    properties: dict[str, str] = Field(
        min_length=1,
        description="channel -> the numeric id of the GA4 property that measures that storefront's site",
    )
    lookback_days: int = Field(
        default=3, ge=1, le=30, description="each run reads today and the days before it again (GA4 settles in ~48 h)"
    )
    top_sources: int = Field(default=10, ge=0, le=50, description="source/medium pairs kept per channel and day")
    api_url: str = Field(
        default="https://analyticsdata.googleapis.com", description="the Data API's base URL (a fake in tests)"
    )
    token_url: str | None = Field(
        default=None, description="the OAuth token endpoint; default the key file's token_uri (a fake in tests)"
    )

    @field_validator("properties")
    @classmethod
    def _numeric_properties(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for channel, property_id in value.items():
            if not property_id.isdigit():
                raise ValueError(
                    f"'{channel}': {property_id!r} is not a GA4 property id; write the numeric id "
                    "(Admin > Property details), not the measurement id G-..."
                )
            if property_id in seen:
                raise ValueError(
                    f"'{channel}': property {property_id} already measures '{seen[property_id]}'; "
                    "each storefront has its own property"
                )
            seen[property_id] = channel
        return value

    @field_validator("api_url", "token_url")
    @classmethod
    def _safe_url(cls, value: str | None) -> str | None:
        if value is not None and not https_or_loopback(value):
            raise ValueError(f"{value!r}: credentials go to HTTPS addresses only (or http://127.0.0.1 in tests)")
        return value


class TrafficConfig(StrictModel):
    """Website traffic beside the daily report; today read from GA4 only."""

    ga4: Ga4TrafficConfig


class AnalyticsConfig(StrictModel):
    """The daily report's attribution window, and where purchases and refunds are forwarded (if anywhere)."""

    attribution_window_days: int = Field(
        default=7, ge=1, le=90, description="an order placed this many days after a marketing message is attributed"
    )
    ga4: Ga4Config | None = None
    meta: MetaConfig | None = None
    traffic: TrafficConfig | None = Field(
        default=None, description="sessions and users per channel and day; none: the report says they are unavailable"
    )
