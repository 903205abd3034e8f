"""Multi-channel sync: which channels a change goes to, never an older value after a newer one, and the
exact requests each storefront receives (GraphQL document and variables, REST bodies, auth headers),
through the real outbound adapters on httpx.MockTransport and fakes of the ledger and sync state."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from httpx_retries import Retry
from hub.adapters.storefront_stock import SET_QUANTITIES, StorefrontStock
from hub.config import parse_config
from hub.domain.sync import PlatformIds
from hub.events import ProviderRef, StockLevelChanged, StockLevelData
from hub.secrets import SecretsProvider
from hub.services.channel_sync import ChannelSync, PushOutcome, SyncFailedError

from tests.fakes import FakeLedger
from tests.stock_fakes import (
    MAGENTO_TOKEN,
    SHOPIFY_TOKEN,
    STOREFRONT_SECRETS,
    WOO_KEY,
    WOO_SECRET,
    FakeCatalog,
    FakeStorefronts,
    FakeSyncLog,
)

CONFIG = parse_config(
    """
channels:
  shopify:
    platform: shopify
    shop_domain: ada-goods.myshopify.com
    locations: {71234567890: wh-east, 71234567891: wh-west}
  woocommerce: {platform: woocommerce, site_url: "https://shop.example.com"}
  magento:
    platform: magento
    site_url: "https://magento.example.com"
    locations: {default: wh-east, west: wh-west}
  bigcommerce: {platform: bigcommerce, store_hash: abc123}
  pos: {platform: square}
  shopify-eu:
    platform: shopify
    locations: {'*': wh-eu}
    sku_map: {TEE: {item_id: '900'}}
locations:
  - {id: wh-east, country: US}
  - {id: wh-west, country: US}
  - {id: wh-eu, country: DE}
"""
)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ITEM = "gid://shopify/InventoryItem/44981234567001"


class World:
    def __init__(self) -> None:
        self.ledger, self.catalog, self.sync = FakeLedger(), FakeCatalog(), FakeSyncLog()
        self.api = FakeStorefronts()
        self.sleeps: list[float] = []
        self.clock = 1_000_000
        self.stock = StorefrontStock(
            SecretsProvider(values=dict(STOREFRONT_SECRETS)),
            transport=self.api.transport(),
            sleep=self.sleeps.append,
            retry=Retry(total=2, backoff_factor=0, status_forcelist=[429, 503], allowed_methods=["PUT", "POST"]),
        )
        self.service = ChannelSync(
            self.ledger,
            self.catalog,
            self.sync,
            self.stock,
            lambda: CONFIG,
            now_ms=lambda: self.clock,
            sleep=self._sleep,
            wait_seconds=1.0,
        )
        self.catalog.learn("shopify", "TEE", PlatformIds(item_id="44981234567001"), T0)
        self.catalog.learn("woocommerce", "TEE", PlatformIds(product_id="812", variation_id="815"), T0)
        self.catalog.learn("magento", "TEE", PlatformIds(item_id="77", product_id="41"), T0)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock += int(seconds * 1000)

    def set(self, sku: str, location: str, available: int) -> None:
        self.ledger.set_available(sku, location, available)

    def sync_change(self, sku: str = "TEE", location: str = "wh-east", origin: str = "admin"):
        level = self.ledger.levels[(sku, location)]
        event = StockLevelChanged(
            event_id=f"evt_{sku}_{location}_{level.version}",
            source="hub",
            channel=origin,
            occurred_at=T0,
            provider=ProviderRef(topic="inventory/set"),
            data=StockLevelData(
                sku=sku, location=location, available=level.available, origin=origin, version=level.version
            ),
        )
        return {r.channel: r for r in self.service.sync(event)}


@pytest.fixture
def world() -> World:
    return World()


# -------------------------------------------------------------------------------------------- targets
def test_a_change_goes_to_every_other_channel_that_sells_from_the_location(world):
    world.set("TEE", "wh-east", 12)
    results = world.sync_change(origin="woocommerce")
    # Not back to WooCommerce; not to BigCommerce or the point of sale (levels come in only); not to
    # shopify-eu, which sells from wh-eu.
    assert set(results) == {"shopify", "magento"}
    assert world.api.of("woocommerce") == []


def test_a_channel_that_does_not_sell_the_sku_is_skipped(world):
    world.set("MUG", "wh-east", 4)
    results = world.sync_change("MUG")
    assert {c: r.outcome for c, r in results.items()} == {
        "shopify": PushOutcome.UNMAPPED,
        "woocommerce": PushOutcome.UNMAPPED,
        "magento": PushOutcome.UNMAPPED,
    }
    assert world.api.requests == []


def test_a_channel_without_an_api_address_is_not_a_target(world):
    world.set("TEE", "wh-eu", 3)
    assert world.sync_change(location="wh-eu") == {}


# ----------------------------------------------------------------------------------- exact requests
def test_shopify_gets_inventory_set_quantities_with_compare_and_set(world):
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("shopify", "TEE", "wh-east", 15)
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 15
    assert world.sync_change(origin="woocommerce")["shopify"].outcome is PushOutcome.PUSHED
    (request,) = world.api.of("shopify")
    assert (request.method, request.path) == ("POST", "/admin/api/2025-07/graphql.json")
    assert request.headers["x-shopify-access-token"] == SHOPIFY_TOKEN
    assert request.headers["content-type"] == "application/json"
    assert request.body["query"] == SET_QUANTITIES
    assert "inventorySetQuantities(input: $input)" in request.body["query"]
    assert "userErrors { code field message }" in request.body["query"]
    version = world.ledger.levels[("TEE", "wh-east")].version
    assert request.body["variables"] == {
        "input": {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": f"gid://commerce-hub/StockLevel/wh-east-{version}",
            "quantities": [
                {
                    "inventoryItemId": ITEM,
                    "locationId": "gid://shopify/Location/71234567890",
                    "quantity": 12,
                    "compareQuantity": 15,
                }
            ],
        }
    }
    assert world.sync.state("shopify", "TEE", "wh-east").quantity == 12


def test_shopify_is_set_without_comparing_when_the_hub_never_knew_its_count(world):
    world.set("TEE", "wh-west", 4)
    world.sync_change(location="wh-west")
    (request,) = world.api.of("shopify")
    payload = request.body["variables"]["input"]
    assert payload["ignoreCompareQuantity"] is True
    assert payload["quantities"] == [
        {"inventoryItemId": ITEM, "locationId": "gid://shopify/Location/71234567891", "quantity": 4}
    ]


def test_woocommerce_gets_the_variation_stock_quantity_with_basic_auth(world):
    world.set("TEE", "wh-east", 12)
    world.sync_change()
    (request,) = world.api.of("woocommerce")
    assert (request.method, request.path) == ("PUT", "/wp-json/wc/v3/products/812/variations/815")
    assert request.body == {"manage_stock": True, "stock_quantity": 12}
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()


def test_woocommerce_simple_products_are_set_on_the_product(world):
    world.catalog.learn("woocommerce", "CAP", PlatformIds(product_id="901"), T0)
    world.set("CAP", "wh-east", 0)
    world.sync_change("CAP")
    (request,) = world.api.of("woocommerce")
    assert (request.path, request.body) == ("/wp-json/wc/v3/products/901", {"manage_stock": True, "stock_quantity": 0})


def test_magento_gets_the_source_item_of_the_mapped_source_signed_with_oauth(world):
    # POST /V1/inventory/source-items: AdobeDocs/commerce-webapi, the Inventory Management REST
    # reference (sourceItems[] of sku, source_code, quantity, status). Signed with OAuth 1.0a, which a
    # 2.4.4+ store requires of an integration; the fake checks the signature as Commerce does.
    world.set("TEE", "wh-west", 0)
    results = world.sync_change(location="wh-west")
    assert results["magento"].outcome is PushOutcome.PUSHED
    (request,) = world.api.of("magento")
    assert (request.method, request.path) == ("POST", "/rest/V1/inventory/source-items")
    authorization = request.headers["authorization"]
    assert authorization.startswith("OAuth ") and 'oauth_signature_method="HMAC-SHA256"' in authorization
    assert f'oauth_token="{MAGENTO_TOKEN}"' in authorization and "Bearer" not in authorization
    assert world.api.magento.refusals == []
    assert request.body == {"sourceItems": [{"sku": "TEE", "source_code": "west", "quantity": 0, "status": 0}]}


def test_shopifys_default_location_is_the_one_it_reported_from(world):
    world.catalog.learn("shopify-eu", "TEE", PlatformIds(item_id="900"), T0)
    world.catalog.learn_location("shopify-eu", "wh-eu", "55501")
    eu = CONFIG.channels["shopify-eu"]
    target = ChannelSync(
        world.ledger,
        world.catalog,
        world.sync,
        world.stock,
        lambda: CONFIG.model_copy(
            update={"channels": {"shopify-eu": eu.model_copy(update={"api_url": "https://eu.example"})}}
        ),
    )
    world.set("TEE", "wh-eu", 6)
    level = world.ledger.levels[("TEE", "wh-eu")]
    event = StockLevelChanged(
        event_id="evt_eu",
        source="hub",
        channel="admin",
        occurred_at=T0,
        provider=ProviderRef(topic="inventory/set"),
        data=StockLevelData(sku="TEE", location="wh-eu", available=6, origin="admin", version=level.version),
    )
    (result,) = target.sync(event)
    assert result.outcome is PushOutcome.PUSHED
    (request,) = world.api.of("shopify")
    quantity = request.body["variables"]["input"]["quantities"][0]
    assert (quantity["inventoryItemId"], quantity["locationId"]) == (
        "gid://shopify/InventoryItem/900",
        "gid://shopify/Location/55501",
    )


# ---------------------------------------------------------------------------- never older over newer
def test_a_change_already_pushed_is_not_pushed_again(world):
    world.set("TEE", "wh-east", 12)
    world.sync_change()
    assert {r.outcome for r in world.sync_change().values()} == {PushOutcome.UP_TO_DATE}
    assert len(world.api.requests) == 3


def test_an_older_change_arriving_after_a_newer_one_pushes_nothing_older(world):
    world.set("TEE", "wh-east", 12)
    older = world.ledger.levels[("TEE", "wh-east")]
    world.set("TEE", "wh-east", 9)
    world.sync_change()  # the newer change is pushed first
    late = StockLevelChanged(
        event_id="evt_late",
        source="hub",
        channel="admin",
        occurred_at=T0,
        provider=ProviderRef(topic="inventory/set"),
        data=StockLevelData(sku="TEE", location="wh-east", available=12, origin="admin", version=older.version),
    )
    assert {r.outcome for r in world.service.sync(late)} == {PushOutcome.UP_TO_DATE}
    assert [r.body["stock_quantity"] for r in world.api.of("woocommerce")] == [9]


def test_a_push_waits_for_an_older_one_in_flight_then_sends_the_newest_level(world):
    world.set("TEE", "wh-east", 12)
    version = world.ledger.levels[("TEE", "wh-east")].version
    world.sync.claim("woocommerce", "TEE", "wh-east", version, now_ms=world.clock, lease_ms=500)
    world.set("TEE", "wh-east", 9)
    assert world.sync_change()["woocommerce"].outcome is PushOutcome.PUSHED
    assert world.sleeps  # it waited for the lease
    assert [r.body["stock_quantity"] for r in world.api.of("woocommerce")] == [9]


def test_a_push_still_blocked_after_the_wait_fails_its_record(world):
    world.set("TEE", "wh-east", 12)
    version = world.ledger.levels[("TEE", "wh-east")].version
    world.sync.claim("woocommerce", "TEE", "wh-east", version, now_ms=world.clock, lease_ms=60_000)
    world.set("TEE", "wh-east", 9)
    with pytest.raises(SyncFailedError) as failed:
        world.sync_change()
    outcomes = {r.channel: r.outcome for r in failed.value.results}
    assert outcomes == {"woocommerce": PushOutcome.FAILED, "shopify": PushOutcome.PUSHED, "magento": PushOutcome.PUSHED}


def test_nothing_is_sent_to_a_channel_known_to_hold_that_count(world):
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("woocommerce", "TEE", "wh-east", 12)
    assert world.sync_change()["woocommerce"].outcome is PushOutcome.UNCHANGED
    assert world.api.of("woocommerce") == []


# --------------------------------------------------------------------------------------- failures
def test_shopify_throttled_waits_for_its_bucket_then_sets(world):
    world.set("TEE", "wh-east", 12)
    world.api.throttle_next = 2
    assert world.sync_change()["shopify"].outcome is PushOutcome.PUSHED
    assert len(world.api.of("shopify")) == 3
    assert world.sleeps == [0.5, 0.5]  # (cost 10 - 0 available) / restore 50 per s, at least half a second


def test_shopify_throttled_every_time_fails_the_record(world):
    world.set("TEE", "wh-east", 12)
    world.api.throttle_next = 10
    with pytest.raises(SyncFailedError, match="throttled"):
        world.sync_change()


def test_a_stale_compare_fails_the_push_and_lets_the_retry_claim_it_again(world):
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("shopify", "TEE", "wh-east", 15)
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 14  # Shopify sold one meanwhile
    with pytest.raises(SyncFailedError, match="no longer 15"):
        world.sync_change()
    # Shopify's own level reaches the hub; the retry compares with it and succeeds.
    world.sync.note_known("shopify", "TEE", "wh-east", 14)
    assert world.sync_change()["shopify"].outcome is PushOutcome.PUSHED
    assert world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] == 12


def test_other_user_errors_fail_the_push_naming_them(world):
    world.set("TEE", "wh-east", 12)
    original = world.api._graphql

    def refuse(body):
        return {
            "data": {
                "inventorySetQuantities": {
                    "userErrors": [{"code": "ITEM_NOT_STOCKED_AT_LOCATION", "message": "not stocked"}]
                }
            }
        }

    world.api._graphql = refuse
    with pytest.raises(SyncFailedError, match="ITEM_NOT_STOCKED_AT_LOCATION"):
        world.sync_change()
    world.api._graphql = original


def test_a_storefront_that_keeps_failing_fails_the_record_after_the_clients_retries(world):
    world.set("TEE", "wh-east", 12)
    world.api.fail_next = 3  # the first call and both retries of the first storefront called
    with pytest.raises(SyncFailedError) as failed:
        world.sync_change()
    assert [r.channel for r in failed.value.results if r.outcome is PushOutcome.FAILED] == ["shopify"]
    assert len(world.api.of("shopify")) == 3
    # The retry of the record pushes to Shopify; the others already have this version.
    results = world.sync_change()
    assert results["shopify"].outcome is PushOutcome.PUSHED
    assert results["woocommerce"].outcome is PushOutcome.UP_TO_DATE


def test_missing_credentials_fail_the_push_without_naming_any_secret(world):
    world.set("TEE", "wh-east", 12)
    bare = StorefrontStock(SecretsProvider(values={}), transport=world.api.transport())
    service = ChannelSync(world.ledger, world.catalog, world.sync, bare, lambda: CONFIG)
    level = world.ledger.levels[("TEE", "wh-east")]
    event = StockLevelChanged(
        event_id="evt_nocreds",
        source="hub",
        channel="admin",
        occurred_at=T0,
        provider=ProviderRef(topic="inventory/set"),
        data=StockLevelData(sku="TEE", location="wh-east", available=12, origin="admin", version=level.version),
    )
    with pytest.raises(SyncFailedError, match="SHOPIFY_ACCESS_TOKEN is not in the hub secret"):
        service.sync(event)
    assert world.api.requests == []
