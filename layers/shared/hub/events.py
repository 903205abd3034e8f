"""The canonical event vocabulary: one versioned envelope, typed data, deterministic ids.

Every source's webhook becomes one or more of these; every consumer reads only these. On the bus
an event travels as EventBridge `detail`, with `detail-type` = the event's `type` and
`source` = "commerce-hub.<source>".
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "BUS_SOURCE_PREFIX",
    "SCHEMA_VERSION",
    "HubEvent",
    "LineItem",
    "OrderData",
    "OrderPlaced",
    "ProviderRef",
    "StockLevelChanged",
    "StockLevelData",
    "StockShortage",
    "StockShortageData",
    "event_id_for",
    "parse_event",
]

SCHEMA_VERSION = 1
BUS_SOURCE_PREFIX = "commerce-hub."

Source = Literal["shopify", "woocommerce", "bigcommerce", "magento", "stripe", "paypal", "square", "hub"]


def event_id_for(source: str, *provider_ids: str) -> str:
    """A redelivery of the same provider event always maps to the same canonical id."""
    digest = hashlib.sha256("\x1f".join((source, *provider_ids)).encode()).hexdigest()
    return f"evt_{digest[:32]}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderRef(_Model):
    """The provider's own ids for the delivery this event came from."""

    topic: str
    event_id: str | None = None
    delivery_id: str | None = None
    account: str | None = Field(default=None, description="shop domain, site URL or store hash")
    triggered_at: datetime | None = None


class LineItem(_Model):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    unit_price: int = Field(description="minor units of the order currency")
    title: str | None = None
    platform_line_id: str | None = None


class OrderData(_Model):
    order_id: str = Field(description="{channel}:{platform order id}")
    platform_order_id: str
    order_number: str | None = None
    currency: str = Field(min_length=3, max_length=3)
    total: int = Field(description="minor units")
    paid: bool = Field(description="the storefront reports the order as paid")
    customer_email: str | None = None
    shipping_country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    lines: list[LineItem]
    updated_at: datetime | None = None


class StockShortageData(_Model):
    order_id: str
    shortages: dict[str, int] = Field(description="sku -> units that could not be reserved")


class StockLevelData(_Model):
    sku: str
    location: str
    available: int
    previous: int | None = None
    origin: str = Field(description="channel or 'admin' that set the level")


class _Event(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str
    source: Source
    channel: str
    occurred_at: datetime = Field(description="when it happened at the source")
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    provider: ProviderRef


class OrderPlaced(_Event):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    data: OrderData


class StockShortage(_Event):
    type: Literal["StockShortage"] = "StockShortage"
    data: StockShortageData


class StockLevelChanged(_Event):
    type: Literal["StockLevelChanged"] = "StockLevelChanged"
    data: StockLevelData


HubEvent = Annotated[OrderPlaced | StockShortage | StockLevelChanged, Field(discriminator="type")]
_ADAPTER: TypeAdapter[HubEvent] = TypeAdapter(HubEvent)


def parse_event(payload: dict | str | bytes) -> HubEvent:
    """Validate a canonical event from its dict or JSON form."""
    if isinstance(payload, dict):
        return _ADAPTER.validate_python(payload)
    return _ADAPTER.validate_json(payload)
