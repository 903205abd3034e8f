"""Multi-channel sync: which channels a change goes to, never an older value after a newer one, and the
exact requests each storefront receives (GraphQL document and variables, REST bodies, auth headers),
through the real outbound adapters on httpx.MockTransport and fakes of the ledger and sync state."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from httpx_retries import Retry
from hub.adapters.storefront_stock import SET_QUANTITIES, StorefrontStock
from hub.config import parse_config
from hub.domain.sync import PlatformIds
from hub.errors import SyncFailedError
from hub.events import ProviderRef, StockLevelChanged, StockLevelData
from hub.secrets import SecretsProvider
from hub.services.channel_sync import ChannelSync, PushOutcome

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
def test_shopify_gets_inventory_set_quantities_with_change_from_quantity_and_an_idempotency_key(world):
    # The 2026-10 shape: shopify.dev/docs/api/admin-graphql/2026-10/mutations/inventorySetQuantities
    # (InventoryQuantityInput.changeFromQuantity; no compareQuantity / ignoreCompareQuantity) and the
    # @idempotent(key: $idempotencyKey) directive with a String! variable, as Shopify's own examples
    # write it (admin-graphql/latest/mutations/locationDeactivate, "with idempotency enabled").
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("shopify", "TEE", "wh-east", 15)
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 15
    assert world.sync_change(origin="woocommerce")["shopify"].outcome is PushOutcome.PUSHED
    (request,) = world.api.of("shopify")
    assert (request.method, request.path) == ("POST", "/admin/api/2026-10/graphql.json")
    assert request.headers["x-shopify-access-token"] == SHOPIFY_TOKEN
    assert request.headers["content-type"] == "application/json"
    assert request.body["query"] == SET_QUANTITIES
    assert "mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!)" in SET_QUANTITIES
    assert "inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey)" in SET_QUANTITIES
    assert "userErrors { code field message }" in SET_QUANTITIES
    version = world.ledger.levels[("TEE", "wh-east")].version
    key = request.body["variables"]["idempotencyKey"]
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
                    "changeFromQuantity": 15,
                }
            ],
        },
        "idempotencyKey": key,
    }
    assert uuid.UUID(key).version == 5
    assert world.sync.state("shopify", "TEE", "wh-east").quantity == 12


def test_shopify_is_set_with_a_null_change_from_when_the_hub_never_knew_its_count(world):
    world.set("TEE", "wh-west", 4)
    world.sync_change(location="wh-west")
    (request,) = world.api.of("shopify")
    payload = request.body["variables"]["input"]
    assert "ignoreCompareQuantity" not in payload  # removed in 2026-04: null opts out, per quantity
    assert payload["quantities"] == [
        {
            "inventoryItemId": ITEM,
            "locationId": "gid://shopify/Location/71234567891",
            "quantity": 4,
            "changeFromQuantity": None,
        }
    ]


def test_the_idempotency_key_is_the_same_for_every_retry_of_a_push_and_new_for_another_push(world):
    world.set("TEE", "wh-east", 12)
    world.api.fail_next = 3  # the first call and both of the client's retries
    with pytest.raises(SyncFailedError):
        world.sync_change()
    world.sync_change()  # the record's retry
    keys = [r.body["variables"]["idempotencyKey"] for r in world.api.of("shopify")]
    assert len(keys) == 4 and len(set(keys)) == 1
    world.set("TEE", "wh-east", 9)  # another level: another push
    world.sync_change()
    last = world.api.of("shopify")[-1].body["variables"]
    assert last["input"]["quantities"][0]["changeFromQuantity"] == 12
    assert last["idempotencyKey"] not in keys


def test_a_push_whose_answer_was_lost_is_applied_once_on_retry(world):
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("shopify", "TEE", "wh-east", 15)
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 15
    lost = {"left": 1}

    def handle(request: httpx.Request) -> httpx.Response:
        status, body = world.api.answer(
            request.method, request.url.path, dict(request.headers), request.content, str(request.url)
        )
        if "/graphql.json" in request.url.path and lost["left"]:
            lost["left"] -= 1
            return httpx.Response(503, json={"errors": "timeout"})  # applied, but the answer never arrived
        return httpx.Response(status, json=body)

    stock = StorefrontStock(SecretsProvider(values=dict(STOREFRONT_SECRETS)), transport=httpx.MockTransport(handle))
    service = ChannelSync(world.ledger, world.catalog, world.sync, stock, lambda: CONFIG)
    level = world.ledger.levels[("TEE", "wh-east")]
    event = StockLevelChanged(
        event_id="evt_lost",
        source="hub",
        channel="admin",
        occurred_at=T0,
        provider=ProviderRef(topic="inventory/set"),
        data=StockLevelData(sku="TEE", location="wh-east", available=12, origin="admin", version=level.version),
    )
    (shopify,) = [r for r in service.sync(event) if r.channel == "shopify"]
    assert shopify.outcome is PushOutcome.PUSHED
    # The retry repeated the key and changeFromQuantity 15: Shopify answered the first result instead
    # of refusing a stale 15 (it holds 12 now) or applying twice.
    sent = world.api.of("shopify")
    assert len(sent) == 2 and sent[0].body == sent[1].body
    assert world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] == 12


def test_a_key_whose_attempt_failed_moves_to_its_next_generation(world):
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("shopify", "TEE", "wh-east", 15)
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 14
    with pytest.raises(SyncFailedError, match="no longer 15"):
        world.sync_change()
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 15  # the sale was cancelled
    assert world.sync_change()["shopify"].outcome is PushOutcome.PUSHED
    first, again, fresh = (r.body["variables"]["idempotencyKey"] for r in world.api.of("shopify"))
    assert first == again != fresh  # IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED, then the next generation


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


def test_a_stale_change_from_fails_the_push_and_lets_the_retry_claim_it_again(world):
    world.set("TEE", "wh-east", 12)
    world.sync.note_known("shopify", "TEE", "wh-east", 15)
    world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] = 14  # Shopify sold one meanwhile
    with pytest.raises(SyncFailedError, match="no longer 15"):
        world.sync_change()
    # Shopify's own level reaches the hub; the retry compares with it and succeeds.
    world.sync.note_known("shopify", "TEE", "wh-east", 14)
    assert world.sync_change()["shopify"].outcome is PushOutcome.PUSHED
    assert world.api.levels[(ITEM, "gid://shopify/Location/71234567890")] == 12


def test_a_push_shopify_is_still_applying_waits_and_asks_again_with_the_same_key(world):
    # IDEMPOTENCY_CONCURRENT_REQUEST: "This request is currently in progress, please try again"
    # (shopify.dev/docs/api/admin-graphql/2026-10/enums/InventorySetQuantitiesUserErrorCode).
    world.set("TEE", "wh-east", 12)
    original = world.api._graphql
    busy = {"left": 1}

    def concurrent(body):
        if busy["left"]:
            busy["left"] -= 1
            return world.api._user_errors([("IDEMPOTENCY_CONCURRENT_REQUEST", "in progress")])
        return original(body)

    world.api._graphql = concurrent
    assert world.sync_change()["shopify"].outcome is PushOutcome.PUSHED
    first, again = (r.body["variables"] for r in world.api.of("shopify"))
    assert first == again and world.sleeps == [1.0]


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


# ------------------------------------------------------------- the fake refuses what Shopify refuses
def shopify_call(api: FakeStorefronts, variables: dict, *, query: str = SET_QUANTITIES, version: str = "2026-10"):
    client = httpx.Client(base_url="https://ada-goods.myshopify.com", transport=api.transport())
    response = client.post(
        f"/admin/api/{version}/graphql.json",
        headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN},
        json={"query": query, "variables": variables},
    )
    return response.status_code, response.json()


def quantities(**fields) -> dict:
    quantity = {"inventoryItemId": ITEM, "locationId": "gid://shopify/Location/1", "quantity": 3, **fields}
    return {"name": "available", "reason": "correction", "quantities": [quantity]}


def user_error_codes(document: dict) -> list:
    return [e["code"] for e in document["data"]["inventorySetQuantities"]["userErrors"]]


def test_fake_shopify_refuses_a_retired_api_version():
    api = FakeStorefronts()
    status, _ = shopify_call(
        api, {"input": quantities(changeFromQuantity=None), "idempotencyKey": "k"}, version="2025-07"
    )
    assert status == 404


def test_fake_shopify_refuses_compare_quantity():
    status, document = shopify_call(FakeStorefronts(), {"input": quantities(compareQuantity=0), "idempotencyKey": "k"})
    assert status == 200 and "compareQuantity" in document["errors"][0]["message"]


def test_fake_shopify_refuses_ignore_compare_quantity():
    payload = {**quantities(changeFromQuantity=None), "ignoreCompareQuantity": True}
    _, document = shopify_call(FakeStorefronts(), {"input": payload, "idempotencyKey": "k"})
    assert "ignoreCompareQuantity" in document["errors"][0]["message"]


def test_fake_shopify_refuses_a_quantity_without_change_from_quantity():
    _, document = shopify_call(FakeStorefronts(), {"input": quantities(), "idempotencyKey": "k"})
    (error,) = document["data"]["inventorySetQuantities"]["userErrors"]
    assert "changeFromQuantity" in error["message"]


def test_fake_shopify_refuses_a_mutation_without_an_idempotency_key():
    api = FakeStorefronts()
    bare = SET_QUANTITIES.replace(" @idempotent(key: $idempotencyKey)", "")
    _, document = shopify_call(api, {"input": quantities(changeFromQuantity=None), "idempotencyKey": "k"}, query=bare)
    assert "idempotency key is required" in document["errors"][0]["message"]
    _, document = shopify_call(api, {"input": quantities(changeFromQuantity=None), "idempotencyKey": " "})
    assert "idempotency key is required" in document["errors"][0]["message"]
    assert api.levels == {}


def test_fake_shopify_refuses_a_stale_change_from_quantity():
    api = FakeStorefronts()
    api.levels[(ITEM, "gid://shopify/Location/1")] = 5
    _, document = shopify_call(api, {"input": quantities(changeFromQuantity=4), "idempotencyKey": "k"})
    assert user_error_codes(document) == ["CHANGE_FROM_QUANTITY_STALE"]
    assert api.levels[(ITEM, "gid://shopify/Location/1")] == 5


def test_fake_shopify_refuses_a_key_reused_with_other_parameters():
    api = FakeStorefronts()
    shopify_call(api, {"input": quantities(changeFromQuantity=None), "idempotencyKey": "k"})
    _, document = shopify_call(api, {"input": quantities(changeFromQuantity=None, quantity=4), "idempotencyKey": "k"})
    assert user_error_codes(document) == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert api.levels[(ITEM, "gid://shopify/Location/1")] == 3
