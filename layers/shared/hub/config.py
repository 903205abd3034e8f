"""The hub's configuration: a typed, validated YAML document.

Locally it is the file at $HUB_CONFIG; in AWS it is the SSM parameter named by
$HUB_CONFIG_PARAMETER. It is read when first used and cached for the life of the sandbox
(five minutes at most, so a changed parameter is picked up without a deploy).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.domain.stock import LocationRef

__all__ = ["ChannelConfig", "ConfigError", "GatewayConfig", "HubConfig", "load_config", "parse_config"]

Platform = Literal["shopify", "woocommerce", "bigcommerce", "magento"]
Gateway = Literal["stripe", "paypal", "square"]
PLATFORMS: tuple[str, ...] = ("shopify", "woocommerce", "bigcommerce", "magento")


class ConfigError(ValueError):
    """The configuration document is not valid; the message names the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelConfig(_Strict):
    platform: Platform
    site_url: str | None = Field(default=None, description="WooCommerce / Magento base URL")
    shop_domain: str | None = Field(default=None, description="Shopify *.myshopify.com domain")
    store_hash: str | None = Field(default=None, description="BigCommerce store hash")
    api_url: str | None = Field(
        default=None,
        description="BigCommerce API base URL; default https://api.bigcommerce.com (a local fake in tests)",
    )


class GatewayConfig(_Strict):
    channel: str
    invoice_prefix: str | None = Field(
        default=None, description="PayPal invoice_id prefix before the order number (e.g. 'WC-')"
    )


class LocationConfig(_Strict):
    id: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class HubConfig(_Strict):
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    gateways: dict[Gateway, GatewayConfig] = Field(default_factory=dict)
    locations: list[LocationConfig] = Field(min_length=1)
    low_stock_threshold: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _unique_locations(self) -> HubConfig:
        ids = [loc.id for loc in self.locations]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"location ids must be unique: {', '.join(dupes)}")
        return self

    def location_refs(self) -> list[LocationRef]:
        return [LocationRef(loc.id, loc.country) for loc in self.locations]

    def location_ids(self) -> list[str]:
        return [loc.id for loc in self.locations]

    def channel_for(self, source: str, account: str | None = None) -> str:
        """The channel a storefront delivery belongs to: a configured channel of that platform
        (matched on its shop domain, site URL or store hash when several exist), else the source."""
        candidates = [(name, ch) for name, ch in self.channels.items() if ch.platform == source]
        if account:
            for name, ch in candidates:
                if account in {ch.shop_domain, ch.site_url, ch.store_hash}:
                    return name
        if candidates:
            return candidates[0][0]
        return source


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key '{where}'")
        elif item["type"] == "missing":
            problems.append(f"missing key '{where}'")
        else:
            problems.append(f"'{where}': {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def parse_config(text: str) -> HubConfig:
    """Parse and validate the YAML document; ConfigError says which key is wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid configuration: not valid YAML ({exc})") from exc
    if not isinstance(document, dict):
        raise ConfigError("invalid configuration: the document must be a mapping of keys")
    try:
        return HubConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


_CACHE_SECONDS = 300
_cached: tuple[float, HubConfig] | None = None


def load_config(*, refresh: bool = False) -> HubConfig:
    """The configuration for this sandbox: $HUB_CONFIG (a file) when set, else the SSM parameter."""
    global _cached
    if _cached and not refresh and time.monotonic() - _cached[0] < _CACHE_SECONDS:
        return _cached[1]
    path = os.environ.get("HUB_CONFIG")
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        name = os.environ.get("HUB_CONFIG_PARAMETER")
        if not name:
            raise ConfigError("neither HUB_CONFIG (a file) nor HUB_CONFIG_PARAMETER (SSM) is set")
        # Imported here so the domain and tests that only parse never pull in boto3.
        from aws_lambda_powertools.utilities import parameters

        text = parameters.get_parameter(name, max_age=_CACHE_SECONDS)
    config = parse_config(text)
    _cached = (time.monotonic(), config)
    return config
