"""Catalog sync: price overrides with exact decimal maths, the configuration's checks, a master
change recorded and pushed once to every other channel (the exact request each storefront gets,
through the real adapters on httpx.MockTransport), throttling and rate limits retried, failures
retried then dead-lettered, echoes ignored and drift recorded, never pushed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from httpx_retries import Retry
from hub.adapters.storefront_catalog import PRODUCT_SET, StorefrontCatalog
from hub.config import ConfigError, parse_config
from hub.domain.catalog import (
    CatalogOption,
    CatalogProduct,
    CatalogVariant,
    PriceOverride,
    apply_override,
    channel_view,
    content_hash,
    differing_fields,
)
from hub.domain.sync import PlatformIds
from hub.errors import MoneyError, SyncBusyError, SyncFailedError
from hub.events import CatalogItem, CatalogOptionData, ProductData, ProductUpdated, ProviderRef
from hub.secrets import SecretsProvider
from hub.services.catalog import CatalogOutcome, CatalogSync

from tests.catalog_fakes import (
    BIGCOMMERCE_TOKEN,
    CATALOG_SECRETS,
    STORE_HASH,
    FakeCatalogPushLog,
    FakeProductApis,
    FakeProductRecords,
)
from tests.stock_fakes import SHOPIFY_TOKEN, FakeCatalog

BASE = """
channels:
  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com, api_url: "https://api.fake.test"}
  woocommerce: {platform: woocommerce, site_url: "https://shop.example.com", api_url: "https://api.fake.test"}
  bigcommerce: {platform: bigcommerce, store_hash: abc123, api_url: "https://api.fake.test"}
  magento: {platform: magento, site_url: "https://magento.example.com", api_url: "https://api.fake.test"}
locations: [{id: wh-east, country: US}]
"""
CATALOG = """
catalog:
  master: shopify
  currency: USD
  channels:
    woocommerce: {price: {currency: EUR, rate: "0.92", markup_percent: 10, round_to: 5}}
    bigcommerce: {}
    magento: {price: {markup_percent: "-10"}}
"""
CONFIG = parse_config(BASE + CATALOG)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def tee(**changes) -> CatalogProduct:
    product = CatalogProduct(
        key="shopify:8123456789012",
        title="Organic Cotton Tee",
        description="<p>Soft organic cotton.</p>",
        status="active",
        url="https://ada-goods.myshopify.com/products/organic-cotton-tee",
        images=("https://cdn.shopify.com/s/files/tee.jpg",),
        options=(CatalogOption("Size", ("L", "M")),),
        variants=(
            CatalogVariant("TEE-ORGANIC-L", 2400, "USD", 3000, ("L",)),
            CatalogVariant("TEE-ORGANIC-M", 2400, "USD", None, ("M",)),
        ),
    )
    return CatalogProduct(**{**{f: getattr(product, f) for f in product.__dataclass_fields__}, **changes})


# ------------------------------------------------------------------------------------------- domain
@pytest.mark.parametrize(
    ("override", "minor", "currency", "expected"),
    [
        # 19.99 USD * 0.92 * 1.10 = 20.23108 EUR -> 2023.108 cents -> nearest 5 cents, half up: 20.25
        (PriceOverride("EUR", Decimal("0.92"), Decimal(10), 5), 1999, "USD", (2025, "EUR")),
        # 24.00 USD * 151.37 = 3632.88 JPY -> JPY has no minor unit: 3633 yen
        (PriceOverride("JPY", Decimal("151.37")), 2400, "USD", (3633, "JPY")),
        # 10.000 KWD (exponent 3) -10%: 9.000 KWD = 9000 fils
        (PriceOverride(None, Decimal(1), Decimal(-10)), 10000, "KWD", (9000, "KWD")),
        # half up at the rounding step: 0.125 USD -> 13 cents
        (PriceOverride(None, Decimal("0.5")), 25, "USD", (13, "USD")),
        # to whole units of 100 (JPY 3633 -> 3600)
        (PriceOverride("JPY", Decimal("151.37"), Decimal(0), 100), 2400, "USD", (3600, "JPY")),
    ],
)
def test_a_price_override_is_exact_decimal_maths_per_currency_exponent(override, minor, currency, expected):
    assert override.price(minor, currency) == expected


def test_an_override_converts_prices_and_compare_at_prices_of_every_variant():
    sold = apply_override(tee(), PriceOverride("EUR", Decimal("0.92"), Decimal(10), 5))
    assert [(v.price, v.compare_at_price, v.currency) for v in sold.variants] == [
        (2430, 3035, "EUR"),  # 24 * 1.012 = 24.288 -> 24.30; 30 * 1.012 = 30.36 -> 30.35
        (2430, None, "EUR"),
    ]


def test_a_product_refuses_what_no_storefront_sells():
    with pytest.raises(ValueError, match="no variant"):
        tee(variants=())
    with pytest.raises(ValueError, match="status must be one of"):
        tee(status="deleted")
    with pytest.raises(ValueError, match="SKU twice"):
        tee(variants=(CatalogVariant("A", 1, "USD", None, ("L",)), CatalogVariant("A", 1, "USD", None, ("M",))))
    with pytest.raises(ValueError, match="1 options"):
        tee(variants=(CatalogVariant("A", 1, "USD"),))
    with pytest.raises(MoneyError, match="negative"):
        CatalogVariant("A", -1, "USD")


def test_the_hash_ignores_images_and_key_and_sees_every_compared_field():
    base = tee()
    assert content_hash(base) == content_hash(tee(images=("https://shop.example/uploads/0.jpg",), key="other"))
    for change in ({"title": "Tee"}, {"description": ""}, {"status": "draft"}):
        assert content_hash(tee(**change)) != content_hash(base)
        assert differing_fields(base, tee(**change)) == (next(iter(change)),)
    cheaper = tee(variants=(base.variants[0].__class__("TEE-ORGANIC-L", 2300, "USD", 3000, ("L",)), base.variants[1]))
    assert differing_fields(base, cheaper) == ("variants",)


def test_a_channel_without_archived_holds_an_archived_product_as_a_draft():
    assert channel_view(tee(status="archived"), "woocommerce").status == "draft"
    assert channel_view(tee(status="archived"), "shopify").status == "archived"


# ------------------------------------------------------------------------------------------- config
def test_catalog_sync_is_off_without_the_section():
    assert parse_config(BASE).catalog is None


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ("catalog: {master: etsy, currency: USD}", "'catalog.master': 'etsy' is not a configured channel"),
        ("catalog: {master: shopify, currency: USD, channels: {shopify: {}}}", "'shopify' is the master"),
        ("catalog: {master: shopify, currency: USD, channels: {ebay: {}}}", "'ebay' is not a configured channel"),
        ("catalog: {master: shopify, currency: USD, channels: {woocommerce: {pric: {}}}}", "unknown key"),
        (
            "catalog: {master: shopify, currency: USD, channels: {woocommerce: {price: {currency: EUR}}}}",
            "a price in EUR needs a rate from USD",
        ),
        ("catalog: {master: shopify, currency: USD, channels: {woocommerce: {price: {rate: 0}}}}", "rate must be"),
        ("catalog: {master: shopify, currency: DOLLARS}", "ISO 4217"),
        ("catalog: {master: shopify}", "currency"),
    ],
)
def test_the_configuration_names_what_is_wrong(section, error):
    with pytest.raises(ConfigError, match=error):
        parse_config(BASE + section)


def test_the_hub_itself_may_be_the_master():
    config = parse_config(BASE + "catalog: {master: hub, currency: USD, channels: {shopify: {}}}")
    assert config.catalog is not None and config.catalog.push_targets("hub") == ["shopify"]


# ------------------------------------------------------------------------------------------- service
def shopify_update(
    *, at: datetime = T0, price: str = "24.00", title: str = "Organic Cotton Tee", status: str = "active"
) -> ProductUpdated:
    stamp = at.isoformat()
    return ProductUpdated(
        event_id=f"evt_shopify_{stamp}_{price}_{title}_{status}",
        source="shopify",
        channel="shopify",
        occurred_at=at,
        provider=ProviderRef(topic="products/update", account="ada-goods.myshopify.com"),
        data=ProductData(
            platform_product_id="8123456789012",
            updated_at=at,
            catalog=True,
            title=title,
            description="<p>Soft organic cotton.</p>",
            status=status,
            url="https://ada-goods.myshopify.com/products/organic-cotton-tee",
            images=["https://cdn.shopify.com/s/files/tee.jpg"],
            options=[CatalogOptionData(name="Size", values=["L", "M"])],
            items=[
                CatalogItem(
                    sku="TEE-ORGANIC-L",
                    platform_item_id="44981234567001",
                    platform_variation_id="45123456789001",
                    price=price,
                    compare_at_price="30.00",
                    option_values=["L"],
                ),
                CatalogItem(
                    sku="TEE-ORGANIC-M",
                    platform_item_id="44981234567002",
                    platform_variation_id="45123456789002",
                    price=price,
                    option_values=["M"],
                ),
            ],
        ),
    )


def changed(event: ProductUpdated, data: dict, **first_item) -> ProductUpdated:
    """The event with `data` fields and its first item's fields replaced."""
    items = [event.data.items[0].model_copy(update=first_item), *event.data.items[1:]]
    return event.model_copy(update={"data": event.data.model_copy(update={**data, "items": items})})


def woo_update(api: FakeProductApis, product_id: int, modified: datetime) -> ProductUpdated:
    """What WooCommerce intake makes of the store's webhook for the product as the fake holds it."""
    body = api.woo_webhook(product_id, modified.strftime("%Y-%m-%dT%H:%M:%S"))
    sale, regular = body["sale_price"], body["regular_price"]
    return ProductUpdated(
        event_id=f"evt_woo_{product_id}_{modified.isoformat()}",
        source="woocommerce",
        channel="woocommerce",
        occurred_at=modified,
        provider=ProviderRef(topic="product.updated"),
        data=ProductData(
            platform_product_id=str(product_id),
            updated_at=modified,
            catalog=True,
            title=body["name"],
            description=body["description"],
            status="active" if body["status"] == "publish" else "draft",
            items=[CatalogItem(sku=body["sku"], price=sale or regular, compare_at_price=regular if sale else None)],
        ),
    )


class Published:
    def __init__(self) -> None:
        self.events: list = []

    def publish(self, events) -> None:
        self.events.extend(events)


class World:
    def __init__(self, config=CONFIG) -> None:
        self.api = FakeProductApis()
        self.records = FakeProductRecords()
        self.log = FakeCatalogPushLog()
        self.catalog = FakeCatalog()
        self.bus = Published()
        self.sleeps: list[float] = []
        self.clock = 1_000_000
        self.pushers = StorefrontCatalog(
            SecretsProvider(values=dict(CATALOG_SECRETS)),
            transport=self.api.transport(),
            sleep=self.sleeps.append,
            retry=Retry(total=2, backoff_factor=0, status_forcelist=[429, 503], allowed_methods=["PUT", "POST"]),
        )
        self.service = CatalogSync(
            self.records, self.log, self.catalog, self.pushers, self.bus, lambda: config, now_ms=lambda: self.clock
        )
        # The ids stock_updates learned from each channel's product webhooks.
        for sku, variation in (("TEE-ORGANIC-L", "45123456789001"), ("TEE-ORGANIC-M", "45123456789002")):
            self.catalog.learn("shopify", sku, PlatformIds("4498", "8123456789012", variation), T0)
        self.catalog.learn("woocommerce", "TEE-ORGANIC-L", PlatformIds(None, "812", "901"), T0)
        self.catalog.learn("woocommerce", "TEE-ORGANIC-M", PlatformIds(None, "812", "902"), T0)
        self.catalog.learn("bigcommerce", "TEE-ORGANIC-L", PlatformIds(None, "77", "501"), T0)
        self.catalog.learn("bigcommerce", "TEE-ORGANIC-M", PlatformIds(None, "77", "502"), T0)
        self.api.woo_product(812, "TEE-ORGANIC-L", type="variable")


@pytest.fixture
def world() -> World:
    return World()


def outcomes(results) -> dict[str, str]:
    return {r.channel: r.outcome.value for r in results}


def test_a_master_change_is_recorded_announced_once_and_pushed_to_every_other_channel(world):
    results = world.service.handle(shopify_update())

    assert outcomes(results) == {
        "shopify": "recorded",
        "woocommerce": "pushed",
        "bigcommerce": "pushed",
        "magento": "pushed",
    }
    stored = world.records.product("shopify:8123456789012")
    assert stored is not None and stored.version == 1 and stored.published
    (published,) = world.bus.events
    assert published.type == "ProductPublished"
    assert published.data.model_dump() == {
        "product_key": "shopify:8123456789012",
        "title": "Organic Cotton Tee",
        "url": "https://ada-goods.myshopify.com/products/organic-cotton-tee",
        "image": "https://cdn.shopify.com/s/files/tee.jpg",
        "currency": "USD",
        "price": 2400,
        "skus": ["TEE-ORGANIC-L", "TEE-ORGANIC-M"],
        "channel": "shopify",
    }
    assert world.api.of("shopify") == []  # never back to the master


def test_woocommerce_gets_its_prices_in_euros_with_its_markup(world):
    world.service.handle(shopify_update())
    put, batch = world.api.of("woocommerce")
    assert (put.method, put.path) == ("PUT", "/wp-json/wc/v3/products/812")
    assert put.headers["authorization"].startswith("Basic ")
    assert put.body == {
        "name": "Organic Cotton Tee",
        "description": "<p>Soft organic cotton.</p>",
        "status": "publish",
        "images": [{"src": "https://cdn.shopify.com/s/files/tee.jpg"}],
    }
    # 24.00 USD * 0.92 * 1.10 = 24.288 EUR -> 24.30 (5 cents); compare-at 30.00 -> 30.36 -> 30.35
    assert (batch.method, batch.path) == ("POST", "/wp-json/wc/v3/products/812/variations/batch")
    assert batch.body == {
        "update": [
            {"id": 901, "regular_price": "30.35", "sale_price": "24.30"},
            {"id": 902, "regular_price": "24.30", "sale_price": ""},
        ]
    }


def test_bigcommerce_gets_the_product_and_its_variants_prices(world):
    world.service.handle(shopify_update())
    product, variants = world.api.of("bigcommerce")
    assert product.headers["x-auth-token"] == BIGCOMMERCE_TOKEN
    assert (product.method, product.path) == ("PUT", f"/stores/{STORE_HASH}/v3/catalog/products/77")
    assert product.body == {
        "name": "Organic Cotton Tee",
        "description": "<p>Soft organic cotton.</p>",
        "is_visible": True,
    }
    assert (variants.method, variants.path) == ("PUT", f"/stores/{STORE_HASH}/v3/catalog/variants")
    # JSON numbers (BigCommerce's schema), written from the exact decimal: no float in between.
    assert variants.body == [
        {"id": 501, "price": Decimal("30.00"), "sale_price": Decimal("24.00")},
        {"id": 502, "price": Decimal("24.00"), "sale_price": Decimal("0")},
    ]
    assert variants.raw == b'[{"id":501,"price":30.00,"sale_price":24.00},{"id":502,"price":24.00,"sale_price":0}]'
    assert variants.headers["content-type"] == "application/json"


def test_adobe_commerce_gets_each_sku_with_its_markdown(world):
    world.service.handle(shopify_update())
    large, medium = world.api.of("magento")
    assert (large.method, large.path) == ("PUT", "/rest/V1/products/TEE-ORGANIC-L")
    assert large.headers["authorization"].startswith("OAuth ")
    # -10%: 24.00 -> 21.60, compare-at 30.00 -> 27.00
    assert large.body == {
        "product": {
            "sku": "TEE-ORGANIC-L",
            "name": "Organic Cotton Tee TEE-ORGANIC-L",
            "price": Decimal("27.00"),
            "status": 1,
            "custom_attributes": [
                {"attribute_code": "description", "value": "<p>Soft organic cotton.</p>"},
                {"attribute_code": "special_price", "value": "21.60"},
            ],
        }
    }
    assert medium.body["product"]["price"] == Decimal("21.60") and len(medium.body["product"]["custom_attributes"]) == 1
    assert b'"price":27.00' in large.raw


def test_a_redelivery_or_the_same_content_pushes_nothing_again(world):
    world.service.handle(shopify_update())
    sent = len(world.api.requests)

    again = world.service.handle(shopify_update())
    assert outcomes(again) == {
        "shopify": "unchanged",
        "woocommerce": "up_to_date",
        "bigcommerce": "up_to_date",
        "magento": "up_to_date",
    }
    assert len(world.api.requests) == sent
    assert len(world.bus.events) == 1  # ProductPublished once, ever

    # A later delivery with the same content (a stock change elsewhere): no new version, no push.
    later = world.service.handle(shopify_update(at=T0 + timedelta(minutes=5)))
    assert outcomes(later)["shopify"] == "unchanged"
    assert len(world.api.requests) == sent


def test_an_older_delivery_after_a_newer_one_changes_nothing(world):
    world.service.handle(shopify_update(at=T0 + timedelta(minutes=5), price="26.00"))
    sent = len(world.api.requests)
    stale = world.service.handle(shopify_update(at=T0, price="24.00"))
    assert outcomes(stale) == {"shopify": "stale"}
    assert world.records.product("shopify:8123456789012").product.variants[1].price == 2600
    assert len(world.api.requests) == sent


def test_a_new_version_is_pushed_and_a_push_in_flight_is_not_interleaved(world):
    world.service.handle(shopify_update())
    # Another worker claims version 2 for WooCommerce and is still pushing it.
    world.log.claim("woocommerce", "shopify:8123456789012", 2, now_ms=world.clock, lease_ms=60_000)
    with pytest.raises(SyncBusyError):
        world.service.handle(shopify_update(at=T0 + timedelta(minutes=1), price="25.00"))


def test_the_shopify_push_is_product_set_at_the_pinned_version_and_waits_out_throttling():
    config = parse_config(BASE + "catalog: {master: woocommerce, currency: USD, channels: {shopify: {}}}")
    world = World(config)
    world.api.woo_product(812, "TEE-ORGANIC-L")
    world.api.throttle_next = 1
    event = woo_update(world.api, 812, T0)
    event = changed(
        event,
        {"title": "Organic Cotton Tee", "description": "<p>Soft</p>", "images": ["https://x/t.jpg"]},
        price="24.00",
        compare_at_price="30.00",
    )

    results = world.service.handle(event)

    assert outcomes(results) == {"woocommerce": "recorded", "shopify": "pushed"}
    assert len(world.sleeps) == 1 and world.sleeps[0] == pytest.approx(0.5)  # 10 points at 100/s, at least 0.5 s
    throttled, applied = world.api.of("shopify")
    assert applied.path == "/admin/api/2026-10/graphql.json"
    assert applied.headers["x-shopify-access-token"] == SHOPIFY_TOKEN
    assert applied.body == {
        "query": PRODUCT_SET,
        "variables": {
            "identifier": {"id": "gid://shopify/Product/8123456789012"},
            "input": {
                "title": "Organic Cotton Tee",
                "descriptionHtml": "<p>Soft</p>",
                "status": "ACTIVE",
                "productOptions": [{"name": "Title", "position": 1, "values": [{"name": "Default Title"}]}],
                "variants": [
                    {
                        "id": "gid://shopify/ProductVariant/45123456789001",
                        "sku": "TEE-ORGANIC-L",
                        "price": "24.00",
                        "compareAtPrice": "30.00",
                        "optionValues": [{"optionName": "Title", "name": "Default Title"}],
                    }
                ],
                "files": [{"originalSource": "https://x/t.jpg", "contentType": "IMAGE"}],
            },
        },
    }
    assert throttled.body == applied.body


def test_a_rate_limited_store_is_retried_after_its_wait(world):
    world.api.limit_next = 1  # the first REST call answers 429 with its retry header
    results = world.service.handle(shopify_update())
    assert outcomes(results)["woocommerce"] == "pushed"
    statuses = [r.path for r in world.api.of("woocommerce")]
    assert statuses[0] == statuses[1] == "/wp-json/wc/v3/products/812"


def test_a_push_that_keeps_failing_fails_the_record_and_is_retried_alone(world):
    world.api.fail_next = 3  # WooCommerce's PUT and its two retries
    with pytest.raises(SyncFailedError) as failed:
        world.service.handle(shopify_update())
    assert outcomes(failed.value.results) == {
        "shopify": "recorded",
        "woocommerce": "failed",
        "bigcommerce": "pushed",
        "magento": "pushed",
    }
    assert world.log.pushed("woocommerce", "shopify:8123456789012").lease_until == 0  # let go
    sent = len(world.api.of("bigcommerce"))

    retried = world.service.handle(shopify_update())  # SQS delivers the record again
    assert outcomes(retried) == {
        "shopify": "unchanged",
        "woocommerce": "pushed",
        "bigcommerce": "up_to_date",
        "magento": "up_to_date",
    }
    assert len(world.api.of("bigcommerce")) == sent


def test_a_channel_whose_product_is_not_known_is_not_pushed(world):
    world.catalog.mappings = {k: v for k, v in world.catalog.mappings.items() if k[0] != "bigcommerce"}
    results = world.service.handle(shopify_update())
    assert outcomes(results)["bigcommerce"] == "unmapped"
    assert world.api.of("bigcommerce") == []


def test_a_master_delivery_without_prices_is_not_judged(world):
    event = changed(shopify_update(), {}, price=None)
    assert outcomes(world.service.handle(event)) == {"shopify": "not_judged"}
    event = shopify_update(price="24.001")  # more decimals than USD has
    (result,) = world.service.handle(event)
    assert result.outcome is CatalogOutcome.NOT_JUDGED and "more decimals than USD" in (result.reason or "")


# ------------------------------------------------------------------------------------------- echo, drift
SIMPLE_CONFIG = parse_config(BASE + "catalog: {master: shopify, currency: USD, channels: {woocommerce: {}}}")


def simple_update(*, at: datetime = T0, price: str = "24.00") -> ProductUpdated:
    event = changed(shopify_update(at=at, price=price), {"options": []}, option_values=[])
    return event.model_copy(update={"data": event.data.model_copy(update={"items": event.data.items[:1]})})


def test_the_echo_of_the_hubs_own_write_is_ignored_and_a_change_there_is_drift():
    world = World(SIMPLE_CONFIG)
    world.catalog.learn("woocommerce", "TEE-ORGANIC-L", PlatformIds(None, "812", None), T0)
    world.catalog.mappings[("woocommerce", "TEE-ORGANIC-L")] = PlatformIds(None, "812", None)
    world.api.woo_product(812, "TEE-ORGANIC-L")
    world.service.handle(simple_update())
    assert world.api.woocommerce[812]["regular_price"] == "30.00"
    assert world.api.woocommerce[812]["sale_price"] == "24.00"

    echo = world.service.handle(woo_update(world.api, 812, T0 + timedelta(seconds=2)))
    assert outcomes(echo) == {"woocommerce": "echo"}
    assert world.log.drift(10) == []

    # Someone edits the price in the WooCommerce admin.
    world.api.woocommerce[812]["sale_price"] = "19.00"
    sent = len(world.api.requests)
    drift = world.service.handle(woo_update(world.api, 812, T0 + timedelta(minutes=3)))
    assert outcomes(drift) == {"woocommerce": "drift"}
    (recorded,) = world.log.drift(10)
    assert (recorded.channel, recorded.product_key, recorded.skus, recorded.fields) == (
        "woocommerce",
        "shopify:8123456789012",
        ("TEE-ORGANIC-L",),
        ("variants",),
    )
    assert len(world.api.requests) == sent  # nothing pushed anywhere, the master least of all
    assert world.records.product("shopify:8123456789012").product.variants[0].price == 2400


def test_a_channel_report_while_the_hub_pushes_there_waits_for_the_push():
    world = World(SIMPLE_CONFIG)
    world.catalog.mappings[("woocommerce", "TEE-ORGANIC-L")] = PlatformIds(None, "812", None)
    world.api.woo_product(812, "TEE-ORGANIC-L")
    world.service.handle(simple_update())
    world.log.claim("woocommerce", "shopify:8123456789012", 2, now_ms=world.clock, lease_ms=60_000)
    with pytest.raises(SyncBusyError):
        world.service.handle(woo_update(world.api, 812, T0 + timedelta(seconds=1)))


def test_adobe_commerce_reports_one_variant_as_the_hub_pushed_it_and_others_the_whole_product():
    from hub.domain.catalog import as_reported

    product = CatalogProduct(
        key="shopify:1",
        title="Tee",
        status="active",
        options=(CatalogOption("Size", ("S", "M")),),
        variants=(
            CatalogVariant("TEE-S", 2000, "USD", option_values=("S",)),
            CatalogVariant("TEE-M", 2100, "USD", option_values=("M",)),
        ),
    )
    seen = as_reported(product, "magento", ("TEE-M",))
    # MagentoCatalog pushes each SKU as its own product named "<title> <sku>", without options
    assert (seen.title, seen.options, seen.skus) == ("Tee TEE-M", (), ("TEE-M",))
    assert seen.variants[0].option_values == () and seen.variants[0].price == 2100
    assert as_reported(product, "woocommerce", ("TEE-M",)) == product
    single = CatalogProduct(key="k", title="Mug", status="draft", variants=(CatalogVariant("MUG", 900, "USD"),))
    assert as_reported(single, "magento", ("MUG",)).title == "Mug"


def test_an_adobe_commerce_product_the_hub_pushed_is_in_step_and_a_price_changed_there_is_drift():
    """Adobe Commerce holds each variant SKU as a product of its own: a product save about one SKU,
    thin and completed through `GET /V1/products/{sku}` (what the fake holds of the hub's PUT),
    is compared with that variant of the master's product as the hub pushed it."""
    import json as _json
    from pathlib import Path

    from hub.adapters.storefront_catalog import MagentoProductReader
    from hub.intake.magento import MagentoSource

    from tests.unit.test_magento_source import request as magento_request

    config = parse_config(BASE + "catalog: {master: shopify, currency: USD, channels: {magento: {}}}")
    world = World(config)
    world.service.handle(shopify_update())
    assert world.api.magento["TEE-ORGANIC-M"]["name"] == "Organic Cotton Tee TEE-ORGANIC-M"

    reader = MagentoProductReader(SecretsProvider(values=dict(CATALOG_SECRETS)), world.api.transport())
    sample = Path(__file__).resolve().parents[2] / "events/payloads/magento_catalog_product_save_after.json"

    def saved(at: str) -> ProductUpdated:
        event = _json.loads(sample.read_text())
        event["event_id"] = f"adobe-{at}"
        event["data"]["value"] = {"sku": "TEE-ORGANIC-M", "updated_at": at}  # a thin subscription
        body = _json.dumps(event).encode()
        (found,) = MagentoSource(products=lambda: reader).parse(magento_request(body), config).events
        assert isinstance(found, ProductUpdated)
        return found

    # Digest of the whole product differs (one SKU of two), but what Adobe Commerce holds is in step.
    assert outcomes(world.service.handle(saved("2026-11-20 12:01:00"))) == {"magento": "in_step"}
    assert world.log.drift(10) == []

    world.api.magento["TEE-ORGANIC-M"]["price"] = Decimal("27.00")
    assert outcomes(world.service.handle(saved("2026-11-20 12:05:00"))) == {"magento": "drift"}
    (recorded,) = world.log.drift(10)
    assert (recorded.channel, recorded.skus, recorded.fields) == ("magento", ("TEE-ORGANIC-M",), ("variants",))
