"""The reconciler handler on moto, against a fake Shopify Admin API (respx; tests/order_feed_fakes.py):
an order the webhook delivered is known and not published again, one whose webhook never came is
published and recorded by stock_updates, the cursor lives in the hub table, and a run that finds
the API down fails with the cursor where it was; the next run publishes what it missed.

The delivered order is events/webhook_intake_shopify_orders_create.json (the hub's signed sample of
Shopify's `orders/create` webhook); the API's orders are GraphQL Admin 2026-10 Order nodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
import respx
from hub.bootstrap import Sandbox

from tests.functional.conftest import CONFIG_PARAMETER, ROOT, FakeContext, event
from tests.functional.test_stock_sync import run
from tests.order_feed_fakes import FakeOrderFeed, shopify_order_node
from tests.stock_fakes import STOREFRONT_SECRETS, FakeStorefronts

API = "https://shop.fake.test"
CONFIG = f"""
channels:
  shopify: {{platform: shopify, shop_domain: ada-goods.myshopify.com, api_url: "{API}"}}
gateways:
  stripe: {{channel: shopify, reconcile: {{every_minutes: 0}}}}
locations:
  - {{id: wh-east, country: US}}
  - {{id: wh-west, country: US}}
"""
DELIVERED = 820982911946154508  # the order of the signed orders/create sample
MISSED = 820982911946154999


@pytest.fixture
def hub(aws, monkeypatch):
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    from commerce_hub.local.keys import local_signing_keys
    from commerce_hub.local.secrets import local_secrets

    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=CONFIG, Overwrite=True)
    aws.put_secrets({**local_secrets({}, local_signing_keys(ROOT)), **STOREFRONT_SECRETS})
    parameters.clear_caches()
    forget_config()
    return aws


@pytest.fixture
def shop():
    fake = FakeStorefronts()
    fake.feed = FakeOrderFeed()

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = fake.answer(request.method, request.url.path, dict(request.headers), request.content)
        return httpx.Response(status, json=body)

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="shop.fake.test").mock(side_effect=answer)
        yield fake


def _orders(feed: FakeOrderFeed) -> None:
    lines = [(13178493698321, "MUG-ENAMEL-WHT", 2, "18.00"), (13178493698322, "TEE-ORGANIC-L", 1, "38.00")]
    # The sample's order as the API shows it (09:12:44-05:00 created, 09:12:46-05:00 updated).
    feed.put_shopify(
        shopify_order_node(
            DELIVERED, created="2026-11-20T14:12:44Z", updated="2026-11-20T14:12:46Z", lines=lines, total="85.92"
        )
    )
    feed.put_shopify(
        shopify_order_node(
            MISSED, created="2026-11-20T15:00:00Z", updated="2026-11-20T15:00:00Z", lines=lines, total="85.92"
        )
    )


def _cursor(aws) -> dict:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": "RECONCILE#shopify"}, "sk": {"S": "CURSOR"}}
    )
    return item.get("Item", {})


class ScheduledContext(FakeContext):
    """The reconciler's own timeout (template.yaml: 300 s), nearly all of it left."""

    def get_remaining_time_in_millis(self) -> int:
        return 290_000


def intake_events(bus_tap) -> list[dict]:
    """What was published as Shopify's (by intake or the reconciler), not the consumers' follow-ons."""
    return [e for e in bus_tap.events() if e["source"] == "commerce-hub.shopify"]


@pytest.fixture
def fns(hub, load_function):
    return {name: load_function(name) for name in ("webhook_intake", "stock_updates", "reconciler")}


def test_a_missed_order_is_published_once_and_a_delivered_one_is_not(hub, fns, shop, bus_tap, monkeypatch):
    # The webhook of the first order arrives and is recorded.
    answer = fns["webhook_intake"].lambda_handler(event("webhook_intake_shopify_orders_create.json"), FakeContext())
    assert answer["statusCode"] == 200
    assert run(hub, fns["stock_updates"], "StockQueue") == []
    bus_tap.events()  # what the webhook and stock_updates published

    _orders(shop.feed)
    # The orders are older than a day: the first run's lookback is widened for this test.
    reconciler = fns["reconciler"]
    monkeypatch.setattr(reconciler, "sandbox", Sandbox(reconcile_lookback=timedelta(days=3650)))

    result = reconciler.lambda_handler(event("reconciler_force.json"), ScheduledContext())
    assert result == {"shopify": {"found": 2, "published": 1, "known": 1}}

    published = intake_events(bus_tap)
    assert {e["detail"]["data"]["order_id"] for e in published} == {f"shopify:{MISSED}"}
    assert {e["detail-type"] for e in published} == {"OrderPlaced"}
    assert run(hub, fns["stock_updates"], "StockQueue") == []
    # Every page was listed: the cursor is ten minutes before the run (both orders are older).
    since = datetime.fromisoformat(_cursor(hub)["since"]["S"])
    assert abs(since - (datetime.now(UTC) - timedelta(minutes=10))) < timedelta(minutes=1)

    # A second run lists from there, less the overlap, and publishes nothing.
    again = reconciler.lambda_handler({"force": True}, ScheduledContext())
    assert again == {"shopify": {"found": 0, "published": 0, "known": 0}}
    assert intake_events(bus_tap) == []


def test_an_api_that_is_down_fails_the_run_and_the_next_run_finds_the_order(hub, fns, shop, bus_tap, monkeypatch):
    _orders(shop.feed)
    reconciler = fns["reconciler"]
    monkeypatch.setattr(reconciler, "sandbox", Sandbox(reconcile_lookback=timedelta(days=3650)))
    shop.fail_next = 100
    shop.fail_status = 503

    failed = reconciler.lambda_handler({"force": True}, ScheduledContext())
    assert failed["shopify"]["found"] == 0 and "503" in failed["shopify"]["error"]
    assert "since" not in _cursor(hub)
    assert intake_events(bus_tap) == []

    shop.fail_next = 0
    later = reconciler.lambda_handler({"force": True}, ScheduledContext())
    assert later == {"shopify": {"found": 2, "published": 2, "known": 0}}
    assert {e["detail"]["data"]["order_id"] for e in intake_events(bus_tap)} == {
        f"shopify:{DELIVERED}",
        f"shopify:{MISSED}",
    }


def test_the_scheduled_run_skips_a_reconciler_that_is_not_due(hub, fns, shop):
    scheduled = event("reconciler_scheduled.json")
    reconciler = fns["reconciler"]
    assert set(reconciler.lambda_handler(scheduled, ScheduledContext())) == {"shopify"}
    assert reconciler.lambda_handler(scheduled, ScheduledContext()) == {}  # 5 minutes have not passed
    assert "last_run" in _cursor(hub)


def test_no_reconciler_starts_without_time_for_a_page(hub, fns, shop):
    # 5 s left: a run would not finish a page, so none starts and all stay due.
    class ShortContext(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 5_000

    assert fns["reconciler"].lambda_handler({"force": True}, ShortContext()) == {}
    assert _cursor(hub) == {}
