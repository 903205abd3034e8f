"""BigCommerce's change feed against the fake store API (tests/bigcommerce_api.py): the exact request
(developer.bigcommerce.com/docs/rest-management/orders, "Get All Orders", V2: min_date_modified in
RFC 2822, sort, limit, page, 204 when empty, X-Auth-Token), and the same event ids as the webhook
of the same change: the store's order 3108 and its signed `store/order/statusUpdated` delivery,
events/payloads/bigcommerce_store_order_statusUpdated.json (shaped as BigCommerce's webhook
reference shows it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hub.adapters.bigcommerce import HttpBigCommerceApi
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.adapters.feeds import bigcommerce as feed_module
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import FeedError, FeedNotConfiguredError
from hub.intake.bigcommerce import BigCommerceSource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider
from hub.services.reconciliation import reconcile_targets

from commerce_hub.signing.bigcommerce import sign as sign_delivery
from tests.bigcommerce_api import ACCESS_TOKEN, ORDER_ID, STORE_HASH, FakeBigCommerce
from tests.unit.test_bigcommerce_source import CLIENT_SECRET, NOW

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
CONFIG = parse_config(
    f"channels: {{bigcommerce: {{platform: bigcommerce, store_hash: {STORE_HASH}, api_url: 'https://bc.test'}}}}\n"
    "locations: [{id: wh-east, country: US}]"
)
SECRETS = {"BIGCOMMERCE_ACCESS_TOKEN": ACCESS_TOKEN, "BIGCOMMERCE_CLIENT_SECRET": CLIENT_SECRET}


def _feed(fake: FakeBigCommerce, config=CONFIG):
    (target,) = reconcile_targets(config)
    context = FeedContext(
        SecretsProvider(values=SECRETS), lambda: config, Sandbox().sources, transport=fake.transport()
    )
    return VendorFeeds(context).feed(target)


def test_a_listed_order_is_the_status_webhooks_events_with_the_same_ids():
    fake = FakeBigCommerce()
    (change,) = _feed(fake).page(datetime(2026, 11, 20, tzinfo=UTC), None).changes

    body = (PAYLOADS / "bigcommerce_store_order_statusUpdated.json").read_bytes()
    signed = sign_delivery(body, topic=None, secrets=SECRETS, delivery_id="msg_7Hq2", timestamp=NOW)
    request = WebhookRequest({k.lower(): v for k, v in signed.headers.items()}, body)
    api = HttpBigCommerceApi(SecretsProvider(values=SECRETS), transport=fake.transport())
    webhook = BigCommerceSource(api, clock=lambda: NOW).parse(request, CONFIG)

    assert change.problem is None
    assert [e.type for e in change.events] == ["OrderUpdated", "OrderPlaced"]
    assert [e.event_id for e in change.events] == [e.event_id for e in webhook.events]
    assert change.events[1].data == webhook.events[1].data
    assert change.dedupe_key == f"bigcommerce:{STORE_HASH}:reconcile:{ORDER_ID}:Fri, 20 Nov 2026 18:10:12 +0000"
    assert change.changed_at == datetime(2026, 11, 20, 18, 10, 12, tzinfo=UTC)


def test_the_request_lists_orders_modified_since_oldest_first_with_the_token():
    fake = FakeBigCommerce()
    _feed(fake).page(datetime(2026, 11, 20, 18, 0, 0, 250000, tzinfo=UTC), None)

    listing = fake.requests[0]
    parts = urlsplit(listing)
    assert parts.path == f"/stores/{STORE_HASH}/v2/orders"
    assert {k: v[-1] for k, v in parse_qs(parts.query).items()} == {
        "min_date_modified": "Fri, 20 Nov 2026 18:00:00 +0000",
        "sort": "date_modified:asc",
        "limit": "250",
        "page": "1",
    }
    # The listed order is not read again; its products and addresses are.
    assert fake.requests[1:] == [
        f"/stores/{STORE_HASH}/v2/orders/{ORDER_ID}/products?limit=250&page=1",
        f"/stores/{STORE_HASH}/v2/orders/{ORDER_ID}/shipping_addresses",
    ]


def test_no_order_changed_is_204_and_an_empty_last_page():
    page = _feed(FakeBigCommerce()).page(datetime(2026, 12, 1, tzinfo=UTC), None)
    assert page.changes == [] and page.next_page is None


def test_pages_follow_the_modification_time(monkeypatch):
    monkeypatch.setattr(feed_module, "LIMIT", 2)
    fake = FakeBigCommerce()
    for n in range(1, 5):
        fake.add_order(ORDER_ID + n, date_modified=f"Fri, 20 Nov 2026 19:0{n}:00 +0000")
    feed = _feed(fake)
    since, token, seen = datetime(2026, 11, 20, tzinfo=UTC), None, []
    for _ in range(5):
        page = feed.page(since, token)
        seen += [c.ref for c in page.changes]
        token = page.next_page
        if token is None:
            break
    assert seen == [f"order {ORDER_ID + n}" for n in range(5)]


def test_an_api_that_is_down_or_refuses_the_token_fails_the_page():
    fake = FakeBigCommerce()
    fake.fail_next = 1
    with pytest.raises(FeedError, match="503"):
        _feed(fake).page(datetime(2026, 11, 20, tzinfo=UTC), None)
    with pytest.raises(FeedError, match="refused the access token"):
        _feed(FakeBigCommerce(token="another")).page(datetime(2026, 11, 20, tzinfo=UTC), None)


def test_products_that_cannot_be_read_now_fail_the_page():
    fake = FakeBigCommerce()
    del fake.documents[f"/stores/{STORE_HASH}/v2/orders/{ORDER_ID}/shipping_addresses"]
    with pytest.raises(FeedError, match=r"order 3108 could not be read.*404"):
        _feed(fake).page(datetime(2026, 11, 20, tzinfo=UTC), None)


def test_products_the_hub_cannot_record_are_a_problem_not_a_failed_page():
    fake = FakeBigCommerce()
    products = fake.documents[f"/stores/{STORE_HASH}/v2/orders/{ORDER_ID}/products"]
    products[0]["price_ex_tax"] = "not money"
    (change,) = _feed(fake).page(datetime(2026, 11, 20, tzinfo=UTC), None).changes
    assert change.events == () and "price_ex_tax" in (change.problem or "")


def test_a_channel_without_a_store_hash_is_not_reconciled():
    config = parse_config("channels: {bigcommerce: {platform: bigcommerce}}\nlocations: [{id: a, country: US}]")
    with pytest.raises(FeedNotConfiguredError, match="store_hash"):
        _feed(FakeBigCommerce(), config)
