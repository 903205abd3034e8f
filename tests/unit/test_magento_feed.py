"""Adobe Commerce / Magento 2's change feed against the fake store (tests/order_feed_fakes.py): the
exact request (developer.adobe.com/commerce/webapi/rest/use-rest/performing-searches: searchCriteria
filter on updated_at, sortOrders, pageSize, currentPage), OAuth 1.0a as a 2.4.4+ store checks it,
Commerce's answer of the last page again past the end, and the ids of the Adobe I/O event of the same
change.

The order is tests/vendor_samples/adobe_commerce_rest_order_3.json, Adobe's `GET /V1/orders/3`
response example (magento/devdocs, order processing tutorial step 7); an Adobe I/O event's
`data.value` is that same entity (events/payloads/magento_sales_order_*.json show the envelope)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.adapters.feeds import magento as feed_module
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import FeedError
from hub.intake.magento import MagentoSource
from hub.ports import WebhookRequest
from hub.services.reconciliation import reconcile_targets

from tests.magento_oauth import MAGENTO_OAUTH_SECRETS
from tests.order_feed_fakes import FakeOrderFeed
from tests.stock_fakes import FakeStorefronts

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "tests" / "vendor_samples" / "adobe_commerce_rest_order_3.json").read_text())
IO_SOURCE = "urn:uuid:5b7e0c1a-93d4-4f2e-8a61-2c9f40d7e3b5"


def _config(extra: str = f"adobe_io_source: '{IO_SOURCE}', ") -> object:
    return parse_config(
        f"channels: {{magento: {{platform: magento, {extra}site_url: 'https://harbour-home.test', "
        "api_url: 'https://commerce.test'}}\nlocations: [{id: wh-east, country: US}]"
    )


class Secrets:
    def __init__(self, values: dict[str, str] = MAGENTO_OAUTH_SECRETS) -> None:
        self._values = values

    def get(self, name: str) -> str | None:
        return self._values.get(name)


def _setup(config=None, secrets=None):
    config = config or _config()
    storefronts = FakeStorefronts()
    storefronts.feed = FakeOrderFeed()
    (target,) = reconcile_targets(config)
    context = FeedContext(secrets or Secrets(), lambda: config, Sandbox().sources, transport=storefronts.transport())
    return storefronts, VendorFeeds(context).feed(target), config


def _webhook(event: str, order: dict, config) -> list:
    envelope = {
        "type": f"com.adobe.commerce.observer.{event}",
        "source": IO_SOURCE,
        "id": "d84a2c6e-7f19-4b05-8e3d-51c0a9b7f246",
        "time": "2017-08-21T22:22:21.087Z",
        "event_id": "4e7a9b1c-6d3f-4a82-b5e0-9c2d8f1a3b77",
        "data": {"value": order},
    }
    return MagentoSource().parse(WebhookRequest({}, json.dumps(envelope).encode()), config).events


def test_an_order_never_updated_has_the_placement_id_of_its_place_after_event():
    storefronts, feed, config = _setup()
    order = copy.deepcopy(SAMPLE)
    order["updated_at"] = order["created_at"]
    storefronts.feed.put_magento(order)
    (change,) = feed.page(datetime(2017, 8, 21, tzinfo=UTC), None).changes

    webhook = _webhook("sales_order_place_after", order, config)
    assert change.problem is None
    assert [(e.type, e.event_id) for e in change.events] == [(e.type, e.event_id) for e in webhook]
    assert change.events[0].data == webhook[0].data


def test_a_saved_order_has_the_placement_id_of_its_save_event_and_the_same_state():
    storefronts, feed, config = _setup()
    storefronts.feed.put_magento(SAMPLE)  # updated a second after it was created
    (change,) = feed.page(datetime(2017, 8, 21, tzinfo=UTC), None).changes

    webhook = _webhook("sales_order_save_commit_after", SAMPLE, config)
    assert [e.type for e in change.events] == ["OrderUpdated", "OrderPlaced"]
    # The placement is named by the order and its updated_at, whoever delivered it...
    assert change.events[1].event_id == webhook[1].event_id
    assert change.events[1].data == webhook[1].data
    # ...the status by Adobe's event id on the webhook path: the same state, known by the order's as_of.
    assert change.events[0].data == webhook[0].data
    assert change.dedupe_key == "magento:reconcile:3:2017-08-21 22:22:20"
    assert change.changed_at == datetime(2017, 8, 21, 22, 22, 20, tzinfo=UTC)


def test_the_request_searches_updated_at_oldest_first_signed_with_oauth():
    storefronts, feed, _ = _setup()
    feed.page(datetime(2026, 12, 5, 10, 0, 0, 700000, tzinfo=UTC), None)

    (seen,) = storefronts.of("magento")
    assert seen.method == "GET" and seen.path.startswith("/rest/V1/orders")
    assert storefronts.feed.asked[-1] == {
        "searchCriteria[filter_groups][0][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][0][filters][0][value]": "2026-12-05 10:00:00",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": "100",
        "searchCriteria[currentPage]": "1",
    }
    assert seen.headers["authorization"].startswith("OAuth ")
    assert 'oauth_signature_method="HMAC-SHA256"' in seen.headers["authorization"]


def test_pages_end_by_total_count_never_by_asking_past_the_last(monkeypatch):
    monkeypatch.setattr(feed_module, "PAGE_SIZE", 2)
    storefronts, feed, _ = _setup()
    for n in range(5):
        order = copy.deepcopy(SAMPLE)
        order["entity_id"] = 100 + n
        order["updated_at"] = f"2026-12-05 10:0{n // 2}:00"  # two orders share each minute
        storefronts.feed.put_magento(order)
    token, seen = None, []
    for _ in range(10):
        page = feed.page(datetime(2026, 12, 5, tzinfo=UTC), token)
        seen += [c.ref for c in page.changes]
        token = page.next_page
        if token is None:
            break
    assert sorted(seen) == [f"order {100 + n}" for n in range(5)]
    assert len(seen) == 5  # none twice, although Commerce answers a page past the last with the last


def test_open_source_magento_names_its_events_under_its_site():
    storefronts, feed, _ = _setup(_config(extra=""))
    order = copy.deepcopy(SAMPLE)
    order["updated_at"] = order["created_at"]
    storefronts.feed.put_magento(order)
    (change,) = feed.page(datetime(2017, 8, 21, tzinfo=UTC), None).changes
    assert change.events[0].provider.account == "https://harbour-home.test"
    assert change.events[0].data.order_id == "magento:3"


def test_refused_credentials_fail_the_page():
    wrong = {**MAGENTO_OAUTH_SECRETS, "MAGENTO_CONSUMER_SECRET": "not-the-secret"}
    _storefronts, feed, _ = _setup(secrets=Secrets(wrong))
    with pytest.raises(FeedError, match="401"):
        feed.page(datetime(2026, 12, 5, tzinfo=UTC), None)
