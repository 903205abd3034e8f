"""Storefront levels into the ledger: location and SKU mapping, learned ids, stale levels refused,
a storefront's own orders never subtracted twice, low stock once per crossing, released units
announced. Pushed through fakes of the ledger, the catalog, the sync log and the bus."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hub.config import parse_config
from hub.domain.orders import OrderLine
from hub.domain.stock import Crossing
from hub.domain.sync import PlatformIds
from hub.errors import ConfigError
from hub.events import (
    CatalogItem,
    LineItem,
    OrderCancelled,
    OrderCancelledData,
    OrderData,
    OrderPlaced,
    ProductData,
    ProductUpdated,
    ProviderRef,
    StockLevelReported,
    StockReportData,
)
from hub.services.orders import Change, OrderUpdater
from hub.services.stock import LevelOutcome, StockService

from tests.fakes import FakeLedger, FakePublisher
from tests.stock_fakes import FakeCatalog, FakeSyncLog

CONFIG = parse_config(
    """
channels:
  shopify:
    platform: shopify
    shop_domain: ada-goods.myshopify.com
    locations: {71234567890: wh-east, 71234567891: wh-west}
  woocommerce: {platform: woocommerce, site_url: "https://shop.example.com"}
  magento: {platform: magento, site_url: "https://magento.example.com", locations: {default: wh-west}}
  square:
    platform: square
    locations: {L7Q2: wh-east}
    sku_map: {MUG: {item_id: W62UWFY35CWMYGVWK6TWJDNI}}
locations:
  - {id: wh-east, country: US}
  - {id: wh-west, country: US}
  - {id: wh-eu, country: DE}
low_stock_threshold: 5
"""
)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class World:
    def __init__(self, config=CONFIG) -> None:
        self.ledger, self.bus = FakeLedger(), FakePublisher()
        self.catalog, self.sync = FakeCatalog(), FakeSyncLog()
        self.now = T0 + timedelta(hours=1)
        self.service = StockService(
            self.ledger, self.bus, lambda: config, clock=lambda: self.now, catalog=self.catalog, sync_log=self.sync
        )

    def level(self, sku: str, location: str) -> tuple[int, int]:
        lvl = self.ledger.levels[(sku, location)]
        return lvl.available, lvl.reserved

    def changed(self):
        return [e for e in self.bus.events if e.type == "StockLevelChanged"]


@pytest.fixture
def world() -> World:
    return World()


def report(
    channel: str,
    available: int,
    *,
    sku: str | None = None,
    at: datetime = T0,
    location: str | None = None,
    item: str | None = None,
    product: str | None = None,
    variation: str | None = None,
    event_id: str | None = None,
) -> StockLevelReported:
    return StockLevelReported(
        event_id=event_id or f"evt_{channel}_{available}_{at.timestamp()}",
        source="square" if channel == "square" else channel,  # type: ignore[arg-type]
        channel=channel,
        occurred_at=at,
        provider=ProviderRef(topic="level"),
        data=StockReportData(
            sku=sku,
            available=available,
            platform_location_id=location,
            platform_item_id=item,
            platform_product_id=product,
            platform_variation_id=variation,
            updated_at=at,
        ),
    )


def placed(channel: str, order_id: str, lines, *, at: datetime, paid: bool = True) -> OrderPlaced:
    return OrderPlaced(
        event_id=f"evt_{order_id}",
        source=channel,  # type: ignore[arg-type]
        channel=channel,
        occurred_at=at,
        provider=ProviderRef(topic="orders/create"),
        data=OrderData(
            order_id=f"{channel}:{order_id}",
            platform_order_id=order_id,
            currency="USD",
            total=1000 * sum(q for _, q in lines),
            paid=paid,
            shipping_country="US",
            lines=[LineItem(sku=s, quantity=q, unit_price=1000) for s, q in lines],
        ),
    )


# ------------------------------------------------------------------------------------------ mapping
def test_a_shopify_level_maps_its_location_and_learned_item_to_the_ledger(world):
    world.catalog.learn("shopify", "TEE", PlatformIds(item_id="44981234567001"), T0)
    result = world.service.apply_report(report("shopify", 42, location="71234567891", item="44981234567001"))
    assert (result.outcome, result.sku, result.location) == (LevelOutcome.APPLIED, "TEE", "wh-west")
    assert world.level("TEE", "wh-west") == (42, 0)
    (changed,) = world.changed()
    assert (changed.data.available, changed.data.total_available, changed.data.origin) == (42, 42, "shopify")


def test_a_level_for_an_item_no_one_has_mapped_is_recorded_as_unmapped_not_an_error(world):
    result = world.service.apply_report(report("shopify", 42, location="71234567890", item="999"))
    assert result.outcome is LevelOutcome.UNMAPPED_ITEM
    assert world.ledger.levels == {} and world.bus.events == []


def test_a_location_the_channel_does_not_map_is_recorded_as_unmapped(world):
    result = world.service.apply_report(report("shopify", 42, sku="TEE", location="555", item="1"))
    assert result.outcome is LevelOutcome.UNMAPPED_LOCATION
    assert world.ledger.levels == {}


def test_a_channel_without_locations_maps_to_the_first_location_and_learns_its_ids(world):
    level = report("woocommerce", 17, sku="BEANIE", product="812", variation="815")
    assert world.service.apply_report(level).location == "wh-east"
    assert world.catalog.ids("woocommerce", "BEANIE") == PlatformIds(None, "812", "815")
    # A later level that names only the variation finds the SKU again.
    later = report("woocommerce", 16, product="812", variation="815", at=T0 + timedelta(minutes=1))
    assert world.service.apply_report(later).sku == "BEANIE"
    assert world.level("BEANIE", "wh-east") == (16, 0)


def test_an_adobe_commerce_stock_item_is_the_count_of_its_default_source(world):
    # Stock items name the legacy stock ("1"), not a source; magento maps its `default` source to wh-west.
    level = report("magento", 34, sku="CANDLE", location="1", item="771", product="2046")
    assert world.service.apply_report(level).location == "wh-west"
    assert world.catalog.locations == {}  # only Shopify needs its default location learned


def test_square_counts_use_the_configured_sku_map(world):
    level = report("square", 9, location="L7Q2", item="W62UWFY35CWMYGVWK6TWJDNI")
    assert (world.service.apply_report(level).outcome, world.level("MUG", "wh-east")) == (LevelOutcome.APPLIED, (9, 0))


def test_a_shopify_product_teaches_the_inventory_items_of_its_variants(world):
    product = ProductUpdated(
        event_id="evt_p",
        source="shopify",
        channel="shopify",
        occurred_at=T0,
        provider=ProviderRef(topic="products/update"),
        data=ProductData(
            platform_product_id="8123",
            items=[CatalogItem(sku="TEE-L", platform_item_id="4001", platform_variation_id="4501")],
        ),
    )
    assert world.service.learn_catalog(product) == 1
    assert world.catalog.ids("shopify", "TEE-L") == PlatformIds("4001", "8123", "4501")
    assert world.service.apply_report(report("shopify", 3, location="71234567890", item="4001")).sku == "TEE-L"


def test_the_level_replaces_available_and_keeps_the_hubs_reservations(world):
    world.service.set_level("TEE", "wh-east", 10, "admin")
    world.service.place_order(placed("magento", "1", [("TEE", 2)], at=T0))
    assert world.level("TEE", "wh-east") == (8, 2)
    # WooCommerce sold one more on its own: its count is 7, and the hub's open order stays reserved.
    world.service.apply_report(report("woocommerce", 7, sku="TEE", product="9", at=T0 + timedelta(hours=2)))
    assert world.level("TEE", "wh-east") == (7, 2)


def test_a_report_from_a_pushed_channel_is_what_that_channel_is_known_to_hold(world):
    world.service.apply_report(report("woocommerce", 17, sku="BEANIE", product="812"))
    assert world.sync.state("woocommerce", "BEANIE", "wh-east").quantity == 17


# ---------------------------------------------------------------------------------------- staleness
def test_an_older_level_never_overwrites_a_newer_one(world):
    world.service.apply_report(report("woocommerce", 10, sku="CAP", product="1", at=T0 + timedelta(minutes=5)))
    stale = world.service.apply_report(report("woocommerce", 99, sku="CAP", product="1", at=T0))
    assert stale.outcome is LevelOutcome.STALE
    assert world.level("CAP", "wh-east") == (10, 0)
    assert len(world.changed()) == 1


def test_the_same_level_again_changes_nothing_and_announces_nothing_new(world):
    first = report("woocommerce", 10, sku="CAP", product="1", at=T0)
    world.service.apply_report(first)
    again = report("woocommerce", 10, sku="CAP", product="1", at=T0 + timedelta(seconds=1), event_id="evt_other")
    assert world.service.apply_report(again).outcome is LevelOutcome.UNCHANGED
    assert len(world.changed()) == 1


def test_a_redelivered_level_whose_announcement_failed_is_announced_again(world):
    level = report("woocommerce", 10, sku="CAP", product="1")
    world.bus.fail_next = 1
    with pytest.raises(Exception, match="bus unavailable"):
        world.service.apply_report(level)
    world.service.apply_report(level)
    assert [e.data.available for e in world.changed()] == [10]


def test_an_admin_correction_is_never_refused_as_stale(world):
    world.service.apply_report(report("woocommerce", 10, sku="CAP", product="1", at=world.now + timedelta(days=1)))
    assert world.service.set_level("CAP", "wh-east", 4, "admin") == 10
    assert world.level("CAP", "wh-east") == (4, 0)


# ------------------------------------------------------------------- a storefront's own orders, once
def test_an_order_reported_before_it_arrives_is_not_taken_from_available_twice(world):
    # Shopify sold the last unit; its level (0) reached the hub before the order did.
    world.service.apply_report(report("shopify", 0, sku="LAMP", location="71234567890", at=T0 + timedelta(seconds=2)))
    result = world.service.place_order(placed("shopify", "7", [("LAMP", 1)], at=T0))
    assert result.order.status.value == "paid"
    assert world.level("LAMP", "wh-east") == (0, 1)


def test_an_order_placed_after_the_level_is_taken_from_available(world):
    world.service.apply_report(report("shopify", 5, sku="LAMP", location="71234567890", at=T0))
    world.service.place_order(placed("shopify", "8", [("LAMP", 2)], at=T0 + timedelta(seconds=5)))
    assert world.level("LAMP", "wh-east") == (3, 2)


def test_another_channels_order_is_always_taken_from_available(world):
    world.service.apply_report(report("shopify", 5, sku="LAMP", location="71234567890", at=T0 + timedelta(minutes=1)))
    world.service.place_order(placed("woocommerce", "9", [("LAMP", 2)], at=T0))
    assert world.level("LAMP", "wh-east") == (3, 2)


def test_an_unpaid_woocommerce_order_has_not_left_woocommerces_count_yet(world):
    world.service.apply_report(report("woocommerce", 5, sku="LAMP", product="3", at=T0 + timedelta(minutes=1)))
    world.service.place_order(placed("woocommerce", "10", [("LAMP", 2)], at=T0, paid=False))
    assert world.level("LAMP", "wh-east") == (3, 2)


def test_a_reservation_announces_the_new_level_with_the_orders_channel_as_origin(world):
    world.service.set_level("MUG", "wh-east", 10, "admin")
    world.service.set_level("MUG", "wh-west", 4, "admin")
    world.service.place_order(placed("woocommerce", "11", [("MUG", 3)], at=T0))
    reserved = world.changed()[-1]
    assert reserved.provider.topic == "inventory/reserved"
    assert (reserved.data.location, reserved.data.available, reserved.data.total_available) == ("wh-east", 7, 11)
    assert reserved.data.origin == "woocommerce"
    assert reserved.data.version == world.ledger.levels[("MUG", "wh-east")].version


def test_a_reservation_announces_the_levels_it_read_less_what_it_took_without_reading_them_again(world):
    world.service.set_level("MUG", "wh-east", 10, "admin")
    world.service.set_level("MUG", "wh-west", 4, "admin")
    reads = []
    read_levels = world.ledger.stock_levels
    world.ledger.stock_levels = lambda skus: reads.append(list(skus)) or read_levels(reads[-1])
    world.service.place_order(placed("woocommerce", "13", [("MUG", 3)], at=T0))
    assert reads == [["MUG"]]  # the plan's read only
    reserved = world.changed()[-1]
    assert (reserved.data.available, reserved.data.previous, reserved.data.total_available) == (7, 10, 11)
    assert reserved.data.version == world.ledger.levels[("MUG", "wh-east")].version


def test_a_redelivered_placement_announces_the_levels_as_the_ledger_holds_them(world):
    world.service.set_level("MUG", "wh-east", 10, "admin")
    first = placed("woocommerce", "14", [("MUG", 3)], at=T0)
    world.service.place_order(first)
    world.service.set_level("MUG", "wh-east", 20, "admin")  # a count correction since
    world.service.place_order(first)  # its publish failed, say: announced again, from a fresh read
    again = world.changed()[-1]
    assert again.provider.topic == "inventory/reserved"
    assert (again.data.available, again.data.previous) == (20, None)


# ------------------------------------------------------------------------------------ released units
def test_units_released_by_another_function_are_announced_for_the_sync(world):
    world.service.set_level("MUG", "wh-east", 10, "admin")
    world.service.place_order(placed("shopify", "12", [("MUG", 3)], at=T0))
    cancel = OrderCancelled(
        event_id="evt_cancel",
        source="shopify",
        channel="shopify",
        occurred_at=T0 + timedelta(hours=1),
        provider=ProviderRef(topic="orders/cancelled"),
        data=OrderCancelledData(order_id="shopify:12"),
    )

    def decide(order):
        order.status = type(order.status)("cancelled")
        return Change("cancelled", release=[OrderLine("MUG", 3, 1000)])

    OrderUpdater(world.ledger, world.bus).apply("shopify:12", cancel, decide)
    released = world.changed()[-1]
    assert released.provider.topic == "inventory/moved"
    assert (released.data.available, released.data.previous, released.data.origin) == (10, 7, "shopify")
    assert world.level("MUG", "wh-east") == (10, 0)


# ---------------------------------------------------------------------------------------- low stock
def test_low_stock_is_announced_once_per_crossing(world):
    world.service.set_level("MUG", "wh-east", 8, "admin")
    assert world.service.check_low_stock("MUG") is Crossing.NONE
    world.service.set_level("MUG", "wh-east", 5, "admin")
    assert world.service.check_low_stock("MUG") is Crossing.ENTERED
    world.service.set_level("MUG", "wh-east", 2, "admin")
    assert world.service.check_low_stock("MUG") is Crossing.NONE  # still the same crossing
    world.service.set_level("MUG", "wh-east", 9, "admin")
    assert world.service.check_low_stock("MUG") is Crossing.LEFT
    world.service.set_level("MUG", "wh-east", 1, "admin")
    assert world.service.check_low_stock("MUG") is Crossing.ENTERED
    low = [e for e in world.bus.events if e.type == "LowStock"]
    assert [(e.data.available, e.data.threshold) for e in low] == [(5, 5), (1, 5)]
    assert len({e.event_id for e in low}) == 2


def test_low_stock_counts_every_location(world):
    world.service.set_level("MUG", "wh-east", 3, "admin")
    world.service.set_level("MUG", "wh-west", 3, "admin")
    assert world.service.check_low_stock("MUG") is Crossing.NONE


def test_a_low_stock_announcement_lost_to_the_bus_is_made_by_the_next_check(world):
    world.service.set_level("MUG", "wh-east", 2, "admin")
    world.bus.fail_next = 1
    with pytest.raises(Exception, match="bus unavailable"):
        world.service.check_low_stock("MUG")
    assert world.service.check_low_stock("MUG") is Crossing.ENTERED
    assert world.service.check_low_stock("MUG") is Crossing.NONE
    assert len([e for e in world.bus.events if e.type == "LowStock"]) == 1


# ------------------------------------------------------------------------------------ configuration
@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ("shopify: {platform: shopify, locations: {1: wh-north}}", "'wh-north' is not a configured location"),
        ("shopify: {platform: shopify, locations: {1: wh-east, 2: wh-east}}", "already the hub location of '1'"),
        ("woocommerce: {platform: woocommerce, locations: {7: wh-east}}", "map '*' instead"),
        (
            "shopify: {platform: shopify, sku_map: {TEE: {inventory: 1}}}",
            "unknown key 'channels.shopify.sku_map.TEE.inventory'",
        ),
        ("shopify: {platform: shopify, location: {1: wh-east}}", "unknown key 'channels.shopify.location'"),
    ],
)
def test_channel_stock_settings_are_checked(channels, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(f"channels:\n  {channels}\nlocations: [{{id: wh-east, country: US}}]\n")


def test_a_star_maps_every_other_platform_location():
    config = parse_config(
        "channels:\n  shopify: {platform: shopify, locations: {'1': wh-west, '*': wh-east}}\n"
        "locations: [{id: wh-east, country: US}, {id: wh-west, country: US}]\n"
    )
    channel = config.channels["shopify"]
    assert channel.hub_location("1", config.location_ids()) == "wh-west"
    assert channel.hub_location("2", config.location_ids()) == "wh-east"
    assert channel.sells_from("wh-east", config.location_ids()) == (True, None)
    assert channel.sells_from("wh-west", config.location_ids()) == (True, "1")
