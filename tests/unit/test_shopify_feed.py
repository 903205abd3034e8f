"""Shopify's change feed: the exact GraphQL request (shopify.dev/docs/api/admin-graphql/2026-10/queries/orders:
`query` search syntax, `sortKey: UPDATED_AT`, `first`/`after` cursor pagination), the cost-based rate
limit (shopify.dev/docs/api/usage/limits, THROTTLED and `extensions.cost.throttleStatus`), and THE
requirement: an order read through the API becomes the events, with the event ids, of the webhook
of the same change.

The webhook side is the hub's Shopify samples (events/payloads/shopify_orders_updated.json and
shopify_orders_create.json, shaped as shopify.dev's webhook reference `orders/updated` body); the API
side is the same order as the Order object of GraphQL Admin 2026-10 names its fields (UTC times,
`legacyResourceId`, `totalPriceSet.shopMoney`, `displayFinancialStatus`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.adapters.feeds.shopify import ORDERS_QUERY, search_query
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import FeedError
from hub.intake.shopify import ShopifySource
from hub.ports import WebhookRequest
from hub.services.reconciliation import reconcile_targets

from tests.order_feed_fakes import FakeOrderFeed, shopify_order_node
from tests.stock_fakes import SHOPIFY_TOKEN, FakeStorefronts

ROOT = Path(__file__).resolve().parents[2]
CONFIG = parse_config(
    "channels:\n  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com, api_url: 'http://shop.test'}\n"
    "locations: [{id: wh-east, country: US}]"
)


class Secrets:
    def get(self, name: str) -> str | None:
        return {"SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN}.get(name)


def _feed(storefronts: FakeStorefronts, sleeps: list[float] | None = None):
    context = FeedContext(
        Secrets(),
        lambda: CONFIG,
        Sandbox().sources,
        transport=storefronts.transport(),
        sleep=(sleeps if sleeps is not None else []).append,
    )
    (target,) = reconcile_targets(CONFIG)
    return VendorFeeds(context).feed(target)


def _storefront(feed: FakeOrderFeed) -> FakeStorefronts:
    storefronts = FakeStorefronts()
    storefronts.feed = feed
    return storefronts


def _sample_as_graphql() -> dict:
    """events/payloads/shopify_orders_updated.json's order as GraphQL Admin answers it."""
    node = shopify_order_node(
        820982911946154508,
        created="2026-11-20T14:12:44Z",
        updated="2026-11-21T13:30:00Z",  # 08:30:00-05:00, the webhook's updated_at
        lines=[(13178493698321, "MUG-ENAMEL-WHT", 2, "18.00"), (13178493698322, "TEE-ORGANIC-L", 1, "38.00")],
        total="85.92",
        financial="PARTIALLY_REFUNDED",
    )
    node["name"] = "#2041"
    for line, title in zip(node["lineItems"]["nodes"], ("Enamel Mug", "Organic Tee"), strict=True):
        line["title"] = title
    node["refunds"] = [
        {
            "legacyResourceId": "918273645501",
            "createdAt": "2026-11-21T13:29:58Z",
            "note": "mug chipped",
            "transactions": {
                "nodes": [
                    {
                        "kind": "REFUND",
                        "status": "SUCCESS",
                        "amountSet": {"shopMoney": {"amount": "18.00", "currencyCode": "USD"}},
                    }
                ]
            },
        }
    ]
    return node


def test_an_order_read_through_the_api_is_the_webhooks_events_with_the_same_ids():
    fake = FakeOrderFeed()
    fake.put_shopify(_sample_as_graphql())
    page = _feed(_storefront(fake)).page(datetime(2026, 11, 21, tzinfo=UTC), None)

    body = (ROOT / "events" / "payloads" / "shopify_orders_updated.json").read_bytes()
    headers = {
        "x-shopify-topic": "orders/updated",
        "x-shopify-shop-domain": "ada-goods.myshopify.com",
        "x-shopify-webhook-id": "795eae26-eed4-5f65-894f-e9c610fa7a4c",
    }
    webhook = ShopifySource().parse(WebhookRequest(headers, body), CONFIG)

    (change,) = page.changes
    assert change.problem is None
    assert [(e.type, e.event_id) for e in change.events] == [(e.type, e.event_id) for e in webhook.events]
    assert [e.type for e in change.events] == ["OrderUpdated", "OrderPlaced"]
    # What the consumers apply is the same too: status, money, refunds, lines.
    assert change.events[0].data == webhook.events[0].data
    assert change.events[1].data.lines == webhook.events[1].data.lines
    assert change.events[1].data.total == 8592
    # Only the delivery differs: the reconciler's own key, never a webhook's.
    assert change.dedupe_key == (
        "shopify:ada-goods.myshopify.com:reconcile:820982911946154508:2026-11-21T08:30:00-05:00"
    )
    assert change.dedupe_key != webhook.dedupe_key
    assert change.changed_at == datetime(2026, 11, 21, 13, 30, tzinfo=UTC)


def test_an_order_never_updated_is_its_creation_with_the_orders_create_ids():
    sample = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())
    fake = FakeOrderFeed()
    node = shopify_order_node(
        sample["id"],
        created="2026-11-20T14:12:44Z",
        updated="2026-11-20T14:12:44Z",
        lines=[(13178493698321, "MUG-ENAMEL-WHT", 2, "18.00"), (13178493698322, "TEE-ORGANIC-L", 1, "38.00")],
        total="85.92",
    )
    fake.put_shopify(node)
    sample["updated_at"] = sample["created_at"]
    headers = {
        "x-shopify-topic": "orders/create",
        "x-shopify-shop-domain": "ada-goods.myshopify.com",
        "x-shopify-webhook-id": "w1",
    }
    webhook = ShopifySource().parse(WebhookRequest(headers, json.dumps(sample).encode()), CONFIG)

    (change,) = _feed(_storefront(fake)).page(datetime(2026, 11, 20, tzinfo=UTC), None).changes
    assert [e.event_id for e in change.events] == [e.event_id for e in webhook.events]


def test_the_request_is_the_orders_query_at_the_pinned_version_and_pages_by_cursor():
    fake = FakeOrderFeed()
    for n in range(30):  # more than one page of 25
        minute = f"{n:02d}"
        fake.put_shopify(
            shopify_order_node(
                5000 + n,
                created=f"2026-12-05T10:{minute}:00Z",
                updated=f"2026-12-05T10:{minute}:00Z",
                lines=[(n + 1, "MUG-ENAMEL-WHT", 1, "18.00")],
                total="18.00",
            )
        )
    storefronts = _storefront(fake)
    feed = _feed(storefronts)
    since = datetime(2026, 12, 5, 10, 0, 30, tzinfo=UTC)
    first = feed.page(since, None)
    second = feed.page(since, first.next_page)

    assert [c.ref for c in first.changes] == [f"order {5000 + n}" for n in range(1, 26)]
    assert [c.ref for c in second.changes] == [f"order {5000 + n}" for n in range(26, 30)]
    assert second.next_page is None
    (request, again) = storefronts.of("shopify")
    assert request.method == "POST" and request.path == "/admin/api/2026-10/graphql.json"
    assert request.headers["x-shopify-access-token"] == SHOPIFY_TOKEN
    assert request.body == {
        "query": ORDERS_QUERY,
        "variables": {"query": "updated_at:>'2026-12-05T10:00:30Z'", "after": None},
    }
    assert "sortKey: UPDATED_AT" in ORDERS_QUERY and "orders(first: 25, after: $after" in ORDERS_QUERY
    assert again.body["variables"]["after"] == first.next_page


def test_search_query_is_utc_to_the_second():
    from datetime import timedelta, timezone

    moment = datetime(2026, 12, 5, 5, 0, 1, 999999, tzinfo=timezone(timedelta(hours=-5)))
    assert search_query(moment) == "updated_at:>'2026-12-05T10:00:01Z'"


def test_throttled_waits_for_the_bucket_then_asks_again():
    fake = FakeOrderFeed()
    storefronts = _storefront(fake)
    storefronts.throttle_next = 2
    sleeps: list[float] = []
    page = _feed(storefronts, sleeps).page(datetime(2026, 12, 5, tzinfo=UTC), None)

    assert page.changes == [] and page.next_page is None
    assert len(storefronts.of("shopify")) == 3
    assert sleeps == [0.5, 0.5]  # (10 requested - 0 available) / 50 restored per second, at least 0.5


def test_throttled_after_every_retry_fails_the_page():
    storefronts = _storefront(FakeOrderFeed())
    storefronts.throttle_next = 10
    with pytest.raises(FeedError, match="throttled"):
        _feed(storefronts).page(datetime(2026, 12, 5, tzinfo=UTC), None)


def test_an_api_that_is_down_fails_the_page_naming_the_status():
    storefronts = _storefront(FakeOrderFeed())
    storefronts.fail_next = 10  # more than the client's retries
    storefronts.fail_status = 503
    context = FeedContext(
        Secrets(),
        lambda: CONFIG,
        Sandbox().sources,
        transport=storefronts.transport(),
        retry=_no_retry(),
        sleep=lambda _s: None,
    )
    (target,) = reconcile_targets(CONFIG)
    with pytest.raises(FeedError, match="503"):
        VendorFeeds(context).feed(target).page(datetime(2026, 12, 5, tzinfo=UTC), None)


def test_a_refused_token_fails_the_page():
    storefronts = _storefront(FakeOrderFeed())

    class Wrong:
        def get(self, name):
            return "shpat_wrong"

    context = FeedContext(Wrong(), lambda: CONFIG, Sandbox().sources, transport=storefronts.transport())
    (target,) = reconcile_targets(CONFIG)
    with pytest.raises(FeedError, match="401"):
        VendorFeeds(context).feed(target).page(datetime(2026, 12, 5, tzinfo=UTC), None)


def test_an_order_the_parser_refuses_is_a_problem_naming_the_field_not_an_exception():
    fake = FakeOrderFeed()
    node = shopify_order_node(
        77, created="2026-12-05T10:00:00Z", updated="2026-12-05T10:00:00Z", lines=[(1, "MUG", 1, "1e400")], total="1"
    )
    fake.put_shopify(node)
    (change,) = _feed(_storefront(fake)).page(datetime(2026, 12, 5, tzinfo=UTC), None).changes
    assert change.events == () and change.problem
    assert "price" in change.problem and "1e400" not in change.problem


def _no_retry():
    from httpx_retries import Retry

    return Retry(total=0)


def test_the_feed_is_not_configured_without_a_shop(monkeypatch):
    from hub.errors import FeedNotConfiguredError

    config = parse_config("channels: {shopify: {platform: shopify}}\nlocations: [{id: a, country: US}]")
    (target,) = reconcile_targets(config)
    with pytest.raises(FeedNotConfiguredError, match="shop_domain"):
        VendorFeeds(
            FeedContext(Secrets(), lambda: config, Sandbox().sources, transport=httpx.MockTransport(lambda r: None))
        ).feed(target)
