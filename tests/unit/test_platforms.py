"""The platforms table (hub.domain.platforms): the lists the rest of the hub reads are derived from
it, and they still say what each list said before it existed."""

from __future__ import annotations

from typing import get_args

from hub.config import ChannelConfig
from hub.domain.platforms import (
    AUTH_CHOICES,
    COUNTS_OWN_ORDERS,
    LOCATIONLESS,
    PLATFORMS,
    PUSH_PLATFORMS,
    STANDARD_WEBHOOK_SECRETS,
    STORE_FIELDS,
    STOREFRONTS,
    Platform,
)


def test_the_configuration_accepts_exactly_the_platforms_of_the_table() -> None:
    assert set(get_args(Platform)) == set(PLATFORMS)
    assert set(get_args(ChannelConfig.model_fields["platform"].annotation)) == set(PLATFORMS)


def test_the_derived_lists_say_what_each_platform_does() -> None:
    assert STOREFRONTS == ("shopify", "woocommerce", "bigcommerce", "magento")  # Square is a point of sale
    assert PUSH_PLATFORMS == ("shopify", "woocommerce", "magento")  # BigCommerce and Square levels come in only
    assert LOCATIONLESS == ("woocommerce", "bigcommerce")
    assert dict(STANDARD_WEBHOOK_SECRETS) == {
        "shopify": "SHOPIFY_WEBHOOK_SECRET",
        "woocommerce": "WOOCOMMERCE_WEBHOOK_SECRET",
        "bigcommerce": "BIGCOMMERCE_CLIENT_SECRET",
    }
    assert dict(AUTH_CHOICES) == {"woocommerce": ("basic", "query_string"), "magento": ("oauth1", "bearer")}
    assert dict(COUNTS_OWN_ORDERS) == {"shopify": "placed", "woocommerce": "paid", "bigcommerce": "placed"}


def test_a_store_is_named_by_a_field_of_the_channel_and_verified_with_a_shared_secret() -> None:
    assert set(STORE_FIELDS) == set(STANDARD_WEBHOOK_SECRETS)
    for platform, field in STORE_FIELDS.items():
        assert field in ChannelConfig.model_fields, platform
        named = ChannelConfig(platform=platform, **{field: "https://store.example"})
        assert named.identity() is not None, platform
