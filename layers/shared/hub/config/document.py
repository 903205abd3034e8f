"""The whole configuration document: its sections, and the checks that need more than one of them
(channels' locations, channels of one platform told apart by their store)."""

from __future__ import annotations

from pydantic import Field, model_validator

from hub.config.analytics import AnalyticsConfig
from hub.config.base import StrictModel
from hub.config.carrier import CarrierConfig
from hub.config.catalog import HUB_MASTER, CatalogConfig
from hub.config.channels import ChannelConfig, Gateway, GatewayConfig, LocationConfig, StockConfig
from hub.config.crm import CrmConfig
from hub.config.marketing import MarketingConfig
from hub.domain.platforms import ANY_LOCATION, CATALOG_PLATFORMS, LOCATIONLESS, PLATFORMS, STORE_FIELDS
from hub.domain.stock import LocationRef
from hub.errors import UnknownChannelError

__all__ = ["HubConfig"]


class HubConfig(StrictModel):
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    gateways: dict[Gateway, GatewayConfig] = Field(default_factory=dict)
    locations: list[LocationConfig] = Field(min_length=1)
    low_stock_threshold: int = Field(default=5, ge=0)
    stock: StockConfig = Field(default_factory=StockConfig)
    carrier: CarrierConfig = Field(default_factory=CarrierConfig)
    crm: CrmConfig = Field(default_factory=CrmConfig)
    marketing: MarketingConfig | None = Field(
        default=None, description="marketing automation; none: the hub sends no marketing"
    )
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    catalog: CatalogConfig | None = Field(
        default=None, description="product catalog sync; none: no product records, no product pushes"
    )

    @model_validator(mode="after")
    def _unique_locations(self) -> HubConfig:
        ids = [loc.id for loc in self.locations]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"location ids must be unique: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _channel_locations(self) -> HubConfig:
        known = self.location_ids()
        for name, channel in self.channels.items():
            seen: dict[str, str] = {}
            for platform_id, location in channel.locations.items():
                where = f"channels.{name}.locations.{platform_id}"
                if location not in known:
                    raise ValueError(f"'{where}': '{location}' is not a configured location ({', '.join(known)})")
                if location in seen:
                    raise ValueError(f"'{where}': {location} is already the hub location of '{seen[location]}'")
                if channel.platform in LOCATIONLESS and platform_id != ANY_LOCATION:
                    raise ValueError(f"'{where}': {channel.platform} stock has no locations; map '*' instead")
                seen[location] = platform_id
        return self

    @model_validator(mode="after")
    def _channels_told_apart(self) -> HubConfig:
        """Deliveries choose their channel by the store they name, so channels of one platform must
        name different stores; at most one may name none (it takes every store not named)."""
        for platform, field in STORE_FIELDS.items():
            named: dict[str, str] = {}
            unnamed: list[str] = []
            for name, channel in self.channels.items():
                if channel.platform != platform:
                    continue
                identity = channel.identity()
                if identity is None:
                    unnamed.append(name)
                elif identity in named:
                    raise ValueError(
                        f"'channels.{name}': channel '{named[identity]}' is already the {platform} store {identity}"
                    )
                else:
                    named[identity] = name
            if len(unnamed) > 1:
                raise ValueError(
                    f"'channels.{unnamed[1]}': {', '.join(unnamed)} are {platform} channels without a {field}; "
                    f"give each its {field} so deliveries can be told apart"
                )
        return self

    @model_validator(mode="after")
    def _catalog_channels(self) -> HubConfig:
        if self.catalog is None:
            return self
        master = self.catalog.master
        if master != HUB_MASTER and self.channel_settings(master) is None:
            raise ValueError(f"'catalog.master': '{master}' is not a configured channel (or 'hub')")
        for name, settings in self.catalog.channels.items():
            where = f"catalog.channels.{name}"
            if name == master:
                raise ValueError(f"'{where}': '{name}' is the master; products are pushed from it, not to it")
            channel = self.channel_settings(name)
            if channel is None:
                raise ValueError(f"'{where}': '{name}' is not a configured channel")
            if channel.platform not in CATALOG_PLATFORMS:
                raise ValueError(
                    f"'{where}': the hub pushes products to {', '.join(CATALOG_PLATFORMS)}, not {channel.platform}"
                )
            try:
                settings.price.override(self.catalog.currency)
            except ValueError as exc:
                raise ValueError(f"'{where}.price': {exc}") from None
        return self

    def invoice_prefix(self, gateway: Gateway) -> str | None:
        """What the gateway's invoice ids put before the order number (PayPal), when configured."""
        gateway_config = self.gateways.get(gateway)
        return gateway_config.invoice_prefix if gateway_config else None

    def webhook_channel(self, platform: str, account: str | None) -> tuple[str, ChannelConfig]:
        """The channel a storefront delivery claiming store `account` belongs to, before it is verified.

        With no channel of that platform configured, the default channel named after the platform;
        with one, that channel (its secret alone decides: a store named differently, www. or http://,
        must not lock a single store out). With several, the one naming the store; else the one
        naming no store (it takes every other store). UnknownChannelError when none is this store.
        """
        candidates = [(name, ch) for name, ch in self.channels.items() if ch.platform == platform]
        if not candidates:
            return platform, ChannelConfig(platform=platform)
        if len(candidates) == 1:
            return candidates[0]
        wanted = _normalise_account(platform, account)
        for name, channel in candidates:
            if wanted is not None and channel.identity() == wanted:
                return name, channel
        for name, channel in candidates:
            if channel.identity() is None:
                return name, channel
        raise UnknownChannelError(
            f"no {platform} channel of this hub is the store {str(account)[:100]!r}; configure it under channels"
        )

    def channel_settings(self, name: str, platform: str | None = None) -> ChannelConfig | None:
        """The channel's configuration, else the defaults of a channel named after its platform."""
        configured = self.channels.get(name)
        if configured is not None:
            return configured
        platform = platform or name
        if platform in PLATFORMS:
            return ChannelConfig(platform=platform)
        return None

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
                if account in {ch.shop_domain, ch.site_url, ch.store_hash, ch.adobe_io_source}:
                    return name
        if candidates:
            return candidates[0][0]
        return source


def _normalise_account(platform: str, account: str | None) -> str | None:
    if not account:
        return None
    if platform == "shopify":
        return account.strip().lower()
    if platform == "woocommerce":
        return account.strip().rstrip("/")
    return account.strip()
