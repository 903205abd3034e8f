"""`catalog:`: product catalog sync across channels (docs/catalog.md). Absent: the hub keeps no
product records and pushes no product anywhere.

    catalog:
      master: shopify            # the channel whose products are the truth, or `hub` (PUT /products/{key})
      currency: USD              # the master's store currency (product webhooks do not name it)
      channels:                  # the channels products are pushed to, each with its prices
        woocommerce: {price: {currency: EUR, rate: "0.92", markup_percent: "10", round_to: 5}}
        bigcommerce: {}
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from hub.config.base import StrictModel
from hub.domain.catalog import PriceOverride
from hub.money import exponent

__all__ = ["HUB_MASTER", "CatalogChannelConfig", "CatalogConfig", "CatalogPriceConfig"]

HUB_MASTER = "hub"  # the hub's own product records are the master (the admin API sets them)


def _decimal(value: object, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise ValueError(f"{what} is not a decimal number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"{what} is not a finite number")
    return number


class CatalogPriceConfig(StrictModel):
    """A channel's prices from the master's: in `currency` at `rate` (channel units per master
    unit), plus `markup_percent`, rounded half-up to a multiple of `round_to` minor units."""

    currency: str | None = Field(default=None, description="the channel's currency; default the master's")
    rate: Decimal | None = Field(default=None, description="channel currency per unit of the master's")
    markup_percent: Decimal = Field(default=Decimal(0), description='e.g. "10" sells 10% dearer')
    round_to: int = Field(default=1, ge=1, description="round to a multiple of this many minor units")

    @field_validator("rate", "markup_percent", mode="before")
    @classmethod
    def _exact(cls, value: object, info: object) -> Decimal | None:
        if value is None:
            return None
        name = getattr(info, "field_name", "value")
        number = _decimal(value, name)
        if name == "rate" and number <= 0:
            raise ValueError("rate must be above 0")
        if name == "markup_percent" and number <= -100:
            raise ValueError("markup_percent must be above -100")
        return number

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        exponent(value)
        return value.upper()

    def override(self, master_currency: str) -> PriceOverride:
        target = self.currency or master_currency
        if target != master_currency and self.rate is None:
            raise ValueError(f"a price in {target} needs a rate from {master_currency}")
        return PriceOverride(target, self.rate or Decimal(1), self.markup_percent, self.round_to)


class CatalogChannelConfig(StrictModel):
    push: bool = Field(default=True, description="push the master's products to this channel")
    price: CatalogPriceConfig = Field(default_factory=CatalogPriceConfig)


class CatalogConfig(StrictModel):
    master: str = Field(min_length=1, description="the channel whose products are the truth, or 'hub'")
    currency: str = Field(description="the master's store currency (ISO 4217)")
    channels: dict[str, CatalogChannelConfig] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        exponent(value)
        return value.upper()

    def override(self, channel: str) -> PriceOverride | None:
        settings = self.channels.get(channel)
        return settings.price.override(self.currency) if settings else None

    def concerns(self, channel: str) -> bool:
        """Whether catalog sync records (the master) or judges (a listed channel) `channel`'s products:
        intake reads a product further for no other channel."""
        return channel == self.master or channel in self.channels

    def push_targets(self, origin: str) -> list[str]:
        """The channels a master change is pushed to (never back to where it came from)."""
        return [name for name, c in self.channels.items() if c.push and name not in (origin, self.master)]
