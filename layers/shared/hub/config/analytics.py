"""The daily report's attribution window, and where purchases and refunds are forwarded (GA4, Meta)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from hub.config.base import StrictModel
from hub.vendor_versions import META_GRAPH_VERSION

__all__ = ["ActionSource", "AnalyticsConfig", "Ga4Config", "MetaConfig"]


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


class AnalyticsConfig(StrictModel):
    """The daily report's attribution window, and where purchases and refunds are forwarded (if anywhere)."""

    attribution_window_days: int = Field(
        default=7, ge=1, le=90, description="an order placed this many days after a marketing message is attributed"
    )
    ga4: Ga4Config | None = None
    meta: MetaConfig | None = None
