"""Every webhook source the hub accepts, by the name in POST /webhooks/{source}.

A source's module is imported the first time one of its deliveries arrives, so a cold start pays
only for the sources it serves (cryptography, for the RSA sources, is a heavy import).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from hub.ports import WebhookSource

_WHERE: dict[str, str] = {
    "shopify": "hub.intake.shopify:ShopifySource",
    "woocommerce": "hub.intake.woocommerce:WooCommerceSource",
    "bigcommerce": "hub.intake.bigcommerce:BigCommerceSource",
    "magento": "hub.intake.magento:MagentoSource",
    "stripe": "hub.intake.stripe:StripeSource",
    "paypal": "hub.intake.paypal:PayPalSource",
    "square": "hub.intake.square:SquareSource",
    # Carriers' tracking webhooks.
    "easypost": "hub.intake.easypost:EasyPostSource",
    "shippo": "hub.intake.shippo:ShippoSource",
}


class SourceRegistry(Mapping[str, WebhookSource]):
    def __init__(self, where: Mapping[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, WebhookSource] = {}

    def __getitem__(self, name: str) -> WebhookSource:
        if name not in self._loaded:
            module_name, _, class_name = self._where[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module_name), class_name)()
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


SOURCES = SourceRegistry(_WHERE)
