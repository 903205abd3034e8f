"""Every webhook source the hub accepts, by the name in POST /webhooks/{source}.

A source's module is imported the first time one of its deliveries arrives, so a cold start pays
only for the sources it serves (cryptography, for the RSA sources, is a heavy import). What a
source needs from outside is handed in by the composition root (hub.bootstrap `Sandbox.sources`):
BigCommerce's, which reads the resource a delivery names, gets the sandbox's BigCommerce API;
WooCommerce's a reader of a variable product's variations and Adobe Commerce's a reader of
products by SKU (catalog sync).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping

from hub.ports import BigCommerceApi, MagentoProducts, WebhookSource, WooCommerceVariations

__all__ = ["SourceRegistry"]

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
    """The sources by name, each built on its first delivery and kept.

    `bigcommerce` gives the API BigCommerce's source reads resources through; it is called only
    when that source is first built, so a function that serves no BigCommerce delivery builds no
    HTTP client.
    """

    def __init__(
        self,
        *,
        bigcommerce: Callable[[], BigCommerceApi],
        woocommerce: Callable[[], WooCommerceVariations] | None = None,
        magento: Callable[[], MagentoProducts] | None = None,
    ) -> None:
        self._bigcommerce = bigcommerce
        self._woocommerce = woocommerce
        self._magento = magento
        self._loaded: dict[str, WebhookSource] = {}

    def __getitem__(self, name: str) -> WebhookSource:
        if name not in self._loaded:
            module_name, _, class_name = _WHERE[name].partition(":")
            source = getattr(importlib.import_module(module_name), class_name)
            # BigCommerce's deliveries name a resource only: its source reads it through the API.
            if name == "bigcommerce":
                self._loaded[name] = source(self._bigcommerce())
            elif name == "woocommerce":
                # A variable product's variations, read only when catalog sync judges one.
                self._loaded[name] = source(self._woocommerce)
            elif name == "magento":
                # A product read by SKU when a product event is thin (catalog sync).
                self._loaded[name] = source(products=self._magento)
            else:
                self._loaded[name] = source()
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)
