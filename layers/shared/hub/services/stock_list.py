"""The stock list: every SKU the ledger holds a level for, in SKU order, a page at a time, each
with its levels per location and whether it is low (the configured low_stock_threshold).

A page is one Query of the index per configured location (SKU names only), then the levels of the
page's SKUs as GET /inventory/{sku} reads them (shards summed).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from hub.config import HubConfig
from hub.domain.stock import SkuStock, StockPage
from hub.errors import BadRequestError
from hub.ports import Ledger, StockIndex

__all__ = ["PAGE_SIZE", "StockList", "decode_cursor", "encode_cursor"]

PAGE_SIZE = 50


def encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequestError("cursor is not one this list gave (use next_cursor as it was returned)") from None


class StockList:
    def __init__(self, ledger: Ledger, index: StockIndex, config: Callable[[], HubConfig]) -> None:
        self._ledger = ledger
        self._index = index
        self._config = config

    def page(self, after: str | None = None, limit: int = PAGE_SIZE) -> StockPage:
        config = self._config()
        skus, more = self._index.stock_skus(config.location_ids(), after, limit)
        levels = self._ledger.stock_levels(skus)
        rows = tuple(SkuStock(sku, levels[sku], config.low_stock_threshold) for sku in skus if levels.get(sku))
        return StockPage(rows, skus[-1] if more and skus else None)
