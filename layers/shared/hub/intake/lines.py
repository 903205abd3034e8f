"""What every storefront's wire models share: how an order line is named, and the vendor shapes of
amounts, quantities and times.

Every line a storefront sends is kept. A line is named by its SKU; a line without one is named,
in order, by

1. the channel's `sku_map` (the SKU whose variation id, else product id, is the line's);
2. a stable key built from the platform's ids, the same for every source:

       {channel}:product:{product id}:variation:{variation id, or 0}   a catalogue product
       {channel}:item:{line id}                                         a custom item (no product)

   e.g. `woocommerce:product:93:variation:0`, `shopify:product:632910392:variation:808950810`,
   `shopify:item:1071823175`. Stock kept under that name is reserved like any SKU's
   (docs/stock.md).

Amounts are read exactly (hub.money.exact_decimal), quantities as whole units
(hub.money.parse_units); anything else fails validation naming the field, which intake answers
with a 400.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainValidator

from hub.config import ChannelConfig
from hub.errors import MalformedPayloadError
from hub.money import exact_decimal, parse_units

__all__ = ["Amount", "OptionalAmount", "OptionalTime", "Units", "line_sku"]


def _present(value: object) -> str | None:
    """A platform id as text; None, "", 0 and "0" mean there is none (a custom item's product is 0)."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return None if text in ("", "0") else text


def line_sku(
    sku: str | None,
    *,
    channel: str,
    settings: ChannelConfig | None,
    product_id: object = None,
    variation_id: object = None,
    line_id: object = None,
    where: str,
) -> str:
    """The name a line's stock is kept under (see the module docstring).

    MalformedPayloadError naming `where` (the line's field path) when the line has no SKU, no
    product and no id: nothing the vendor sent names it.
    """
    if sku is not None and sku.strip():
        return sku
    product, variation, line = _present(product_id), _present(variation_id), _present(line_id)
    if product is not None:
        if settings is not None and settings.sku_map:
            configured = settings.sku_for_item(variation) if variation else settings.sku_for_item(product)
            if configured:
                return configured
        return f"{channel}:product:{product}:variation:{variation or 0}"
    if line is not None:
        return f"{channel}:item:{line}"
    raise MalformedPayloadError(f"'{where}' has no sku, product id or line id: nothing names the line")


# ------------------------------------------------------------------------------------ wire shapes
def _amount(value: Any) -> Decimal:
    return exact_decimal(value)  # MoneyError is a ValueError: pydantic reports it at the field


def _optional_amount(value: Any) -> Decimal | None:
    # "" where null is meant (an empty refund total) is no amount, not a zero.
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return exact_decimal(value)


def _units(value: Any) -> int:
    return parse_units(value)


def _optional_time(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Amount = Annotated[Decimal, PlainValidator(_amount)]
OptionalAmount = Annotated[Decimal | None, PlainValidator(_optional_amount)]
Units = Annotated[int, PlainValidator(_units)]
OptionalTime = Annotated[datetime | None, BeforeValidator(_optional_time)]
