"""The catalog content intake reads from product webhooks, with the vendors' quirks: Shopify's own
product fixture (tests/vendor_samples/shopify_sdk_product.json, from Shopify/shopify_python_api
test/fixtures/product.json) and changes real shops send (a variant without a SKU, a JSON-number
price, an empty compare-at price, the "Default Title" option); WooCommerce's product resource
(woocommerce.github.io/woocommerce-rest-api-docs/#product-properties: prices as decimal strings,
"" when unset), read only with `catalog:` on."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hub.adapters.storefront_catalog import MagentoProductReader, WooCommerceVariationReader
from hub.config import parse_config
from hub.errors import OutboundError
from hub.events import ProductUpdated, ResourceFetchRequested
from hub.intake.magento import MagentoSource
from hub.intake.shopify import ShopifySource
from hub.intake.woocommerce import WooCommerceSource
from hub.secrets import SecretsProvider

from tests.bigcommerce_api import FakeBigCommerce
from tests.catalog_fakes import FakeProductApis
from tests.stock_fakes import STOREFRONT_SECRETS
from tests.unit.test_shopify_source import request as shopify_request
from tests.unit.test_woocommerce_source import request as woo_request

VENDOR = Path(__file__).resolve().parents[1] / "vendor_samples"
CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")
CATALOG_ON = parse_config(
    "locations: [{id: wh-east, country: US}]\ncatalog: {master: shopify, currency: USD, channels: {woocommerce: {}}}\n"
)


def sdk_product() -> dict:
    return json.loads((VENDOR / "shopify_sdk_product.json").read_text())["product"]


def shopify(document: dict, topic: str = "products/update") -> ProductUpdated:
    body = json.dumps(document).encode()
    (event,) = ShopifySource().parse(shopify_request(body, x_shopify_topic=topic), CONFIG).events
    assert isinstance(event, ProductUpdated)
    return event


def test_shopifys_own_product_fixture_gives_its_catalog_content():
    data = shopify(sdk_product()).data
    assert data.catalog and data.title == "IPod Nano - 8GB"
    assert data.description.startswith("<p>It's the small iPod")
    assert data.url == "https://ada-goods.myshopify.com/products/ipod-nano"
    assert data.images == ["http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0"]
    assert [(o.name, o.values) for o in data.options] == [("Title", [])]
    assert [(i.sku, i.price, i.compare_at_price, i.option_values) for i in data.items] == [
        ("IPOD2008PINK", "199.00", None, ["Pink"]),
        ("IPOD2008RED", "199.00", None, ["Red"]),
        ("IPOD2008GREEN", "199.00", None, ["Green"]),
        ("IPOD2008BLACK", "199.00", None, ["Black"]),
    ]
    assert data.status is None  # the fixture predates `status`: catalog sync does not judge it


def test_shopify_quirks_are_read_exactly():
    product = sdk_product()
    product["status"] = "archived"
    product["variants"][0]["sku"] = ""  # a variant without a SKU: nothing to sync it by
    product["variants"][1]["price"] = 199.5  # a JSON number (read as a Decimal, never a float)
    product["variants"][2]["compare_at_price"] = ""  # "" where null is meant
    product["variants"][3]["compare_at_price"] = "249.00"
    data = shopify(product).data
    assert data.status == "archived"
    assert [(i.sku, i.price, i.compare_at_price) for i in data.items] == [
        ("IPOD2008RED", "199.5", None),
        ("IPOD2008GREEN", "199.00", None),
        ("IPOD2008BLACK", "199.00", "249.00"),
    ]


def test_a_shopify_product_without_options_has_none():
    product = sdk_product()
    product["options"] = [{"name": "Title", "values": ["Default Title"]}]
    product["variants"] = [dict(product["variants"][0], option1="Default Title")]
    data = shopify(product).data
    assert data.options == [] and data.items[0].option_values == []


WOO_SIMPLE = {
    "id": 799,
    "name": "Ship Your Idea",
    "slug": "ship-your-idea-22",
    "permalink": "https://example.com/product/ship-your-idea-22/",
    "date_modified_gmt": "2017-03-23T17:01:14",
    "type": "simple",
    "status": "publish",
    "description": "<p>Pellentesque habitant morbi tristique senectus.</p>\n",
    "sku": "SHIP-IDEA",
    "price": "21.99",
    "regular_price": "21.99",
    "sale_price": "",
    "manage_stock": False,
    "stock_quantity": None,
    "images": [{"id": 792, "src": "https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg"}],
}


def woo(document: dict, config=CATALOG_ON):
    body = json.dumps(document).encode()
    return WooCommerceSource().parse(woo_request(body, topic="product.updated"), config)


def test_a_woocommerce_simple_product_gives_its_catalog_content_with_catalog_sync_on():
    (event,) = woo(WOO_SIMPLE).events
    assert isinstance(event, ProductUpdated)
    data = event.data
    assert (data.title, data.status, data.url) == (
        "Ship Your Idea",
        "active",
        "https://example.com/product/ship-your-idea-22/",
    )
    assert [(i.sku, i.price, i.compare_at_price) for i in data.items] == [("SHIP-IDEA", "21.99", None)]
    assert data.images == ["https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg"]


def test_a_woocommerce_sale_price_is_the_price_and_the_regular_price_its_compare_at():
    (event,) = woo({**WOO_SIMPLE, "sale_price": "19.99", "price": "19.99", "status": "private"}).events
    assert [(i.price, i.compare_at_price) for i in event.data.items] == [("19.99", "21.99")]
    assert event.data.status == "draft"


def test_without_catalog_sync_a_woocommerce_product_is_what_it_was():
    delivery = woo(WOO_SIMPLE, config=CONFIG)
    assert delivery.events == [] and "does not manage stock" in (delivery.ignored_reason or "")
    # A variable product's webhook names its variations' ids only: not judged.
    assert woo({**WOO_SIMPLE, "type": "variable", "sku": ""}, config=CATALOG_ON).events == []


# ------------------------------------------------------------------------------------ BigCommerce
BC_CATALOG_ON = parse_config(
    "locations: [{id: wh-east, country: US}]\n"
    "catalog: {master: bigcommerce, currency: USD, channels: {shopify: {}}}\n"
    "channels:\n  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}\n"
    "  bigcommerce: {platform: bigcommerce, store_hash: k7qd3x2m9f}\n"
)


def bc_product_updated(fake=None, config=BC_CATALOG_ON):
    """store/product/updated as BigCommerce sends it (events/payloads/bigcommerce_store_sku_inventory
    _updated.json's envelope; developer.bigcommerce.com/docs/integrations/webhooks/events#products)."""
    from tests.unit.test_bigcommerce_source import request as bc_request
    from tests.unit.test_bigcommerce_source import source as bc_source

    fake = fake or FakeBigCommerce()
    body = json.dumps(
        {
            "created_at": 1795685488,
            "store_id": "1003871",
            "producer": "stores/k7qd3x2m9f",
            "scope": "store/product/updated",
            "hash": "3f1c0e7d9b2a4c1e8f5d6b7a9c0e1f2a3b4c5d6e",
            "data": {"type": "product", "id": 1142},
        }
    ).encode()
    return fake, bc_source(fake).parse(bc_request(body), config)


def test_a_bigcommerce_product_read_with_variants_and_images_gives_its_catalog_content():
    fake, delivery = bc_product_updated()
    # One read, the product with its variants and images (the catalog document of the fake).
    assert fake.requests == ["/stores/k7qd3x2m9f/v3/catalog/products/1142?include=variants,images"]
    (event,) = delivery.events  # tracked per variant: no product-level stock report
    assert isinstance(event, ProductUpdated) and event.channel == "bigcommerce"
    data = event.data
    assert data.catalog and (data.title, data.status, data.url) == (
        "Ceramic Pour-Over Dripper",
        "active",
        "/ceramic-pour-over-dripper/",
    )
    assert data.description == "<p>Hand-thrown stoneware dripper.</p>"
    # The thumbnail first, each image at its largest size.
    assert [i.rsplit("/", 1)[1] for i in data.images] == ["front.jpg", "side.jpg"]
    assert [(o.name, o.values) for o in data.options] == [("Colour", ["Slate", "Cream"])]
    # JSON-number prices read exactly; a null variant price inherits the product's 34.95; a sale
    # price is the price, the regular price its compare-at; calculated_price and retail_price unused.
    assert [(i.sku, i.price, i.compare_at_price, i.option_values, i.platform_variation_id) for i in data.items] == [
        ("DRIP-CER-SLT", "34.95", None, ["Slate"], "5087"),
        ("DRIP-CER-CRM", "32", "36.5", ["Cream"], "5088"),
    ]


def test_a_bigcommerce_base_variant_with_an_empty_sku_sells_under_the_products_sku():
    fake = FakeBigCommerce()
    document = fake.documents["/stores/k7qd3x2m9f/v3/catalog/products/1142?include=variants,images"]["data"]
    document.update(
        sku="DRIP-CER",
        is_visible=False,
        sale_price=29.5,
        inventory_tracking="product",
        inventory_level=7,
        base_variant_id=5090,
        variants=[{"id": 5090, "product_id": 1142, "sku": "", "price": 34.95, "sale_price": None, "option_values": []}],
    )
    _, delivery = bc_product_updated(fake)
    stock, event = delivery.events
    assert stock.type == "StockLevelReported" and stock.data.available == 7
    assert isinstance(event, ProductUpdated) and event.data.status == "draft" and event.data.options == []
    # the variant's own price (34.95) with the product's sale price (29.5), which it inherits
    assert [(i.sku, i.price, i.compare_at_price) for i in event.data.items] == [("DRIP-CER", "29.5", "34.95")]


def test_a_disabled_bigcommerce_product_is_a_draft_and_without_catalog_sync_the_read_is_as_before():
    fake = FakeBigCommerce()
    fake.documents["/stores/k7qd3x2m9f/v3/catalog/products/1142?include=variants,images"]["data"]["availability"] = (
        "disabled"
    )
    _, delivery = bc_product_updated(fake)
    assert delivery.events[0].data.status == "draft"

    fake, delivery = bc_product_updated(config=CONFIG)
    assert delivery.events == [] and fake.requests == ["/stores/k7qd3x2m9f/v3/catalog/products/1142"]


# ------------------------------------------------------------------- WooCommerce variable products
WOO_SITE = "https://larkspur-supply.example"
WOO_VARIABLE_ON = parse_config(
    "locations: [{id: wh-east, country: US}]\n"
    "catalog: {master: shopify, currency: USD, channels: {woocommerce: {}}}\n"
    "channels:\n  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}\n"
    f"  woocommerce: {{platform: woocommerce, site_url: '{WOO_SITE}'}}\n"
)


def woo_variable_store(count: int = 3) -> FakeProductApis:
    fake = FakeProductApis()
    fake.woo_variable(
        22,
        "Size",
        {f"TEE-{n}": (f"S{n}", f"{20 + n}.00") for n in range(count)},
        name="Ship Your Idea",
        description="<p>Tee.</p>",
        permalink="https://example.com/product/ship-your-idea/",
    )
    return fake


def woo_variable(fake: FakeProductApis, reader_pages: int = 5, **changes):
    reader = WooCommerceVariationReader(
        SecretsProvider(values=STOREFRONT_SECRETS), fake.transport(), max_pages=reader_pages
    )
    # The product.updated body of a variable product: its variations by id only
    # (woocommerce.github.io/woocommerce-rest-api-docs/#product-properties, `variations`).
    body = json.dumps({**fake.woo_webhook(22, "2026-11-20T16:40:03"), **changes}).encode()
    return WooCommerceSource(lambda: reader).parse(woo_request(body, topic="product.updated"), WOO_VARIABLE_ON)


def test_a_woocommerce_variable_product_is_read_with_its_variations():
    fake = woo_variable_store()
    fake.woo_variations[22][1].update(sale_price="18.50", price="18.50")
    fake.woo_variations[22][2]["sku"] = ""  # a variation without a SKU: nothing to sync it by
    (event,) = woo_variable(fake).events
    assert isinstance(event, ProductUpdated) and event.data.catalog
    assert (event.data.title, event.data.status) == ("Ship Your Idea", "active")
    assert [(o.name, o.values) for o in event.data.options] == [("Size", ["S0", "S1", "S2"])]
    assert [
        (i.sku, i.price, i.compare_at_price, i.option_values, i.platform_variation_id) for i in event.data.items
    ] == [
        ("TEE-0", "20.00", None, ["S0"], "220"),
        ("TEE-1", "18.50", "21.00", ["S1"], "221"),
    ]
    (read,) = fake.of("woocommerce")
    assert (read.method, read.path) == ("GET", "/wp-json/wc/v3/products/22/variations?per_page=100&page=1")
    assert read.headers["authorization"].startswith("Basic ")


def test_a_woocommerce_variable_products_variations_are_read_page_after_page():
    fake = woo_variable_store(count=230)
    (event,) = woo_variable(fake).events
    assert len(event.data.items) == 230
    assert [r.path.rsplit("page=", 1)[1] for r in fake.of("woocommerce")] == ["1", "2", "3"]
    # More pages than the reader may read: not judged, never judged on a part of the variations.
    delivery = woo_variable(woo_variable_store(count=230), reader_pages=2)
    assert delivery.events == [] and "could not be read (OutboundError)" in (delivery.ignored_reason or "")


def test_variations_that_cannot_be_read_are_read_later_and_the_stock_reported_at_once():
    fake = woo_variable_store()
    fake.fail_next = 2  # 503 on the read and its retry
    delivery = woo_variable(fake, manage_stock=True, stock_quantity=4)
    stock, requested = delivery.events
    assert stock.type == "StockLevelReported" and stock.data.available == 4
    assert isinstance(requested, ResourceFetchRequested) and requested.channel == "woocommerce"
    data = requested.data
    assert (data.platform, data.resource, data.resource_id, data.store_hash) == (
        "woocommerce",
        "variations",
        "22",
        WOO_SITE,
    )
    assert data.dedupe_key == delivery.dedupe_key and data.reason and "OutboundError" in data.reason
    assert data.body is not None and data.body["variations"] == [220, 221, 222]
    assert len(fake.of("woocommerce")) == 2

    # resource_fetch's completer, once the store answers: the content intake would have published.
    reader = WooCommerceVariationReader(SecretsProvider(values=STOREFRONT_SECRETS), fake.transport())
    (event,), reason = WooCommerceSource(lambda: reader).complete(requested, WOO_VARIABLE_ON)
    assert reason is None and isinstance(event, ProductUpdated)
    assert event.event_id == data.canonical_event_id
    (direct,) = woo_variable(woo_variable_store()).events
    assert event.event_id == direct.event_id and event.data == direct.data
    assert (event.provider, event.occurred_at) == (requested.provider, requested.occurred_at)

    # Still down: the completer raises, so the record comes back later (then the dead-letter queue).
    fake.fail_next = 2
    with pytest.raises(OutboundError):
        WooCommerceSource(lambda: reader).complete(requested, WOO_VARIABLE_ON)


def test_variations_no_later_read_would_give_are_not_asked_for_again():
    # More than the reader may read (a lasting answer): not judged, and no fetch request.
    delivery = woo_variable(woo_variable_store(count=230), reader_pages=2, manage_stock=True, stock_quantity=4)
    assert [e.type for e in delivery.events] == ["StockLevelReported"]


# -------------------------------------------------------------------------------- Adobe Commerce
# events/payloads/magento_catalog_product_save_after.json: observer.catalog_product_save_after as
# Adobe I/O Events delivers it, its `data.value` shaped on Adobe's sample event for it
# (developer.adobe.com/commerce/extensibility/events, "sample event": every value a string,
# "price": "123.000000", "status": "1").
MAGENTO_ON = parse_config(
    "locations: [{id: wh-east, country: US}]\n"
    "catalog: {master: shopify, currency: USD, channels: {magento: {}}}\n"
    "channels:\n  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}\n"
    "  magento: {platform: magento, site_url: 'https://harbour-home.example', auth: oauth1}\n"
)


def magento(body: dict, fake: FakeProductApis | None = None, config=MAGENTO_ON):
    from tests.unit.test_magento_source import request as magento_request

    fake = fake or FakeProductApis()
    reader = MagentoProductReader(SecretsProvider(values=STOREFRONT_SECRETS), fake.transport())
    raw = json.dumps(body).encode()
    return fake, MagentoSource(products=lambda: reader).parse(magento_request(raw), config)


def magento_event() -> dict:
    return json.loads(
        (Path(__file__).resolve().parents[2] / "events/payloads/magento_catalog_product_save_after.json").read_text()
    )


def test_an_adobe_commerce_product_save_gives_its_catalog_content():
    fake, delivery = magento(magento_event())
    (event,) = delivery.events
    assert isinstance(event, ProductUpdated) and event.channel == "magento"
    data = event.data
    assert (data.title, data.status, data.description) == (
        "Cedar Candle Large",
        "active",
        "<p>Cedar and amber, 60 hours.</p>",
    )
    # "38.000000" and "32.500000" as the decimals they are; the special price is the price sold at
    assert [(i.sku, i.price, i.compare_at_price) for i in data.items] == [("CANDLE-CEDAR-L", "32.5", "38")]
    assert fake.requests == []  # the event carried every field: nothing read


def test_a_thin_adobe_commerce_product_event_is_completed_through_the_rest_api():
    fake = FakeProductApis()
    fake.magento["CANDLE-CEDAR-L"] = {
        "sku": "CANDLE-CEDAR-L",
        "name": "Cedar Candle Large",
        "price": Decimal("38"),
        "status": 2,
        "custom_attributes": [{"attribute_code": "description", "value": "<p>Cedar.</p>"}],
    }
    event = magento_event()
    # A subscription that selects only sku and updated_at (io_events.xml <field name="sku"/>).
    event["data"]["value"] = {"sku": "CANDLE-CEDAR-L", "updated_at": "2026-11-20 16:05:41"}
    fake, delivery = magento(event, fake)
    (read,) = fake.requests
    assert (read.method, read.path) == ("GET", "/rest/V1/products/CANDLE-CEDAR-L")
    assert read.headers["authorization"].startswith("OAuth ")
    (product,) = delivery.events
    assert (product.data.title, product.data.status, product.data.description) == (
        "Cedar Candle Large",
        "draft",
        "<p>Cedar.</p>",
    )
    assert [(i.price, i.compare_at_price) for i in product.data.items] == [("38", None)]

    # A product the store no longer has (404): not judged, and the reason says so; no later read.
    event["data"]["value"]["sku"] = "GONE"
    _, delivery = magento(event, fake)
    assert delivery.events == [] and "could not be read" in (delivery.ignored_reason or "")


def thin_candle(fake: FakeProductApis) -> dict:
    fake.magento["CANDLE-CEDAR-L"] = {"sku": "CANDLE-CEDAR-L", "name": "Cedar Candle Large", "price": Decimal("38"),
                                      "status": 1, "updated_at": "2026-11-20 16:05:41"}  # fmt: skip
    event = magento_event()
    event["data"]["value"] = {"sku": "CANDLE-CEDAR-L", "updated_at": "2026-11-20 16:05:41"}
    return event


def test_an_adobe_commerce_product_that_cannot_be_read_is_read_later():
    fake = FakeProductApis()
    event = thin_candle(fake)
    fake.fail_next = 2  # 503 on the read and its retry
    _, delivery = magento(event, fake)
    (requested,) = delivery.events
    assert isinstance(requested, ResourceFetchRequested) and requested.channel == "magento"
    data = requested.data
    assert (data.platform, data.resource, data.resource_id) == ("magento", "product", "CANDLE-CEDAR-L")
    assert data.dedupe_key == delivery.dedupe_key and data.payload_hash == event["event_id"]
    assert data.body is not None and data.body["data"]["value"] == event["data"]["value"]

    # resource_fetch's completer, once the store answers: the event intake would have published.
    reader = MagentoProductReader(SecretsProvider(values=STOREFRONT_SECRETS), fake.transport())
    (later,), reason = MagentoSource(products=lambda: reader).complete(requested, MAGENTO_ON)
    (direct,) = magento(event, fake)[1].events
    assert reason is None and isinstance(later, ProductUpdated)
    assert later.event_id == direct.event_id and later.data == direct.data
    assert (later.data.title, later.data.status) == ("Cedar Candle Large", "active")
    assert later.provider == direct.provider and later.occurred_at == direct.occurred_at

    fake.fail_next = 2
    with pytest.raises(OutboundError):
        MagentoSource(products=lambda: reader).complete(requested, MAGENTO_ON)
    # Gone by the time it is read again: nothing to publish, and the record is done.
    del fake.magento["CANDLE-CEDAR-L"]
    assert MagentoSource(products=lambda: reader).complete(requested, MAGENTO_ON)[0] == []


def test_adobe_commerce_configurable_products_and_catalog_sync_off_publish_nothing():
    event = magento_event()
    event["data"]["value"]["type_id"] = "configurable"
    assert magento(event)[1].events == []
    _, delivery = magento(magento_event(), config=CONFIG)
    assert delivery.events == [] and "only with catalog sync on" in (delivery.ignored_reason or "")


def test_a_woocommerce_channel_catalog_sync_does_not_use_is_not_read_further():
    config = parse_config(
        "locations: [{id: wh-east, country: US}]\n"
        "catalog: {master: shopify, currency: USD, channels: {}}\n"
        "channels:\n  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}\n"
        f"  woocommerce: {{platform: woocommerce, site_url: '{WOO_SITE}'}}\n"
    )
    fake = woo_variable_store()
    reader = WooCommerceVariationReader(SecretsProvider(values=STOREFRONT_SECRETS), fake.transport())
    body = json.dumps(fake.woo_webhook(22, "2026-11-20T16:40:03")).encode()
    delivery = WooCommerceSource(lambda: reader).parse(woo_request(body, topic="product.updated"), config)
    assert delivery.events == [] and fake.requests == []


def test_a_bigcommerce_product_without_a_modification_time_has_an_id_of_its_own():
    fake = FakeBigCommerce()
    document = fake.documents["/stores/k7qd3x2m9f/v3/catalog/products/1142?include=variants,images"]["data"]
    document.update(date_modified=None, inventory_tracking="product", inventory_level=3)
    _, delivery = bc_product_updated(fake)
    stock, product = delivery.events
    assert stock.event_id != product.event_id and product.type == "ProductUpdated"
