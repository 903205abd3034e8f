"""WooCommerce's change feed against the fake store (tests/order_feed_fakes.py): the exact request
(woocommerce.github.io/woocommerce-rest-api-docs #list-all-orders, #pagination; `modified_after` and
`dates_are_gmt` since WooCommerce 5.8), paging by modification time so an order changed meanwhile
cannot push another past a page unseen, and the same event ids and delivery key as the webhook.

The order is tests/vendor_samples/woocommerce_rest_order_727.json, WooCommerce's own "Retrieve an
order" response example (woocommerce/woocommerce-rest-api-docs, _orders.md): a webhook's `order.*`
body is that same resource."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import FeedError
from hub.intake.woocommerce import WooCommerceSource
from hub.ports import WebhookRequest
from hub.services.reconciliation import reconcile_targets

from tests.order_feed_fakes import FakeOrderFeed
from tests.stock_fakes import WOO_KEY, WOO_SECRET, FakeStorefronts

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "tests" / "vendor_samples" / "woocommerce_rest_order_727.json").read_text())
CONFIG = parse_config(
    "channels:\n  woocommerce: {platform: woocommerce, site_url: 'https://example.com', api_url: 'https://api.shop.test'}\n"
    "locations: [{id: wh-east, country: US}]"
)


class Secrets:
    def __init__(self, secret: str = WOO_SECRET) -> None:
        self._values = {"WOOCOMMERCE_CONSUMER_KEY": WOO_KEY, "WOOCOMMERCE_CONSUMER_SECRET": secret}

    def get(self, name: str) -> str | None:
        return self._values.get(name)


def _setup(secret: str = WOO_SECRET):
    fake = FeedFake()
    storefronts = FakeStorefronts()
    storefronts.feed = fake
    context = FeedContext(Secrets(secret), lambda: CONFIG, Sandbox().sources, transport=storefronts.transport())
    (target,) = reconcile_targets(CONFIG)
    return fake, storefronts, VendorFeeds(context).feed(target)


class FeedFake(FakeOrderFeed):
    def order(self, order_id: int, modified: datetime) -> dict:
        order = copy.deepcopy(SAMPLE)
        order["id"] = order_id
        order["date_created_gmt"] = "2026-12-01T09:00:00"
        order["date_modified_gmt"] = modified.strftime("%Y-%m-%dT%H:%M:%S")
        # The store is three hours behind GMT, as in the sample.
        order["date_modified"] = (modified - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")
        self.put_woocommerce(order)
        return order


def test_a_listed_order_is_the_webhooks_events_with_the_same_ids_and_delivery_key():
    fake, _storefronts, feed = _setup()
    fake.put_woocommerce(SAMPLE)
    (change,) = feed.page(datetime(2017, 3, 22, 19, 0, tzinfo=UTC), None).changes

    headers = {
        "x-wc-webhook-topic": "order.updated",
        "x-wc-webhook-source": "https://example.com/",
        "x-wc-webhook-delivery-id": "8f2c1a",
    }
    webhook = WooCommerceSource().parse(WebhookRequest(headers, json.dumps(SAMPLE).encode()), CONFIG)
    assert change.problem is None
    assert [(e.type, e.event_id) for e in change.events] == [(e.type, e.event_id) for e in webhook.events]
    assert [e.type for e in change.events] == ["OrderUpdated", "OrderPlaced", "OrderPaid"]
    assert change.dedupe_key == webhook.dedupe_key  # a change the webhook delivered is a duplicate too
    assert change.changed_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)


def test_the_site_comes_from_the_apis_links_when_no_site_url_is_configured():
    config = parse_config(
        "channels: {woocommerce: {platform: woocommerce, api_url: 'https://api.shop.test'}}\n"
        "locations: [{id: wh-east, country: US}]"
    )
    storefronts = FakeStorefronts()
    storefronts.feed = FakeOrderFeed()
    storefronts.feed.put_woocommerce(SAMPLE)
    (target,) = reconcile_targets(config)
    feed = VendorFeeds(
        FeedContext(Secrets(), lambda: config, Sandbox().sources, transport=storefronts.transport())
    ).feed(target)
    (change,) = feed.page(datetime(2017, 3, 22, 19, 0, tzinfo=UTC), None).changes
    assert change.dedupe_key.startswith("woocommerce:https://example.com:order.updated:727:")


def test_the_request_lists_orders_modified_since_oldest_first_with_the_stores_credentials():
    fake, storefronts, feed = _setup()
    feed.page(datetime(2026, 12, 5, 10, 0, 0, 500000, tzinfo=UTC), None)

    (seen,) = storefronts.of("woocommerce")
    assert seen.method == "GET"
    assert fake.asked[-1] == {
        "modified_after": "2026-12-05T09:59:59",  # exclusive and to the second: from a second before
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
        "per_page": "100",
        "page": "1",
    }
    expected = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
    assert seen.headers["authorization"] == expected


def test_an_order_changed_between_pages_cannot_push_another_past_a_page_unseen():
    fake, _storefronts, feed = _setup()
    start = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    for n in range(120):
        fake.order(1000 + n, start + timedelta(seconds=n))
    since = start - timedelta(minutes=1)
    first = feed.page(since, None)
    # Order 1005 changes now: by page number, every order after it would move up one place and
    # order 1100 would fall onto page 1, already read.
    fake.order(1005, start + timedelta(hours=1))
    second = feed.page(since, first.next_page)

    seen = [c.ref for c in first.changes + list(second.changes)]
    assert len(first.changes) == 100
    assert {f"order {1000 + n}" for n in range(120)} <= set(seen)
    assert seen.count("order 1099") == 1  # the last of page 1 is not listed twice
    assert second.next_page is None


def test_more_orders_than_a_page_at_one_second_are_paged_by_number():
    fake, _storefronts, feed = _setup()
    moment = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    for n in range(130):
        fake.order(2000 + n, moment)
    token, seen = None, []
    for _ in range(5):
        page = feed.page(moment - timedelta(minutes=1), token)
        seen += [c.ref for c in page.changes]
        token = page.next_page
        if token is None:
            break
    assert sorted(seen) == sorted(f"order {2000 + n}" for n in range(130))


def test_refused_credentials_fail_the_page():
    _fake, _storefronts, feed = _setup(secret="cs_wrong")
    with pytest.raises(FeedError, match="401"):
        feed.page(datetime(2026, 12, 5, tzinfo=UTC), None)


def test_the_fake_refuses_what_wordpress_refuses():
    fake = FakeOrderFeed()
    status, body, _ = fake._woocommerce({"per_page": "101"})
    assert status == 400 and body["code"] == "rest_invalid_param"
    status, body, _ = fake._woocommerce({"orderby": "date_modified"})
    assert status == 400 and "orderby" in body["data"]["params"]
