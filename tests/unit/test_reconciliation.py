"""The reconciliation service with in-memory fakes: cursor and overlap window, a failed page keeps
the cursor, a change the webhooks delivered is not published again, what is due and what is off."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hub.config import parse_config
from hub.domain.lineage import Step
from hub.intake.shopify import ShopifySource
from hub.ports import ChangePage, FoundChange, WebhookRequest
from hub.services.lineage import LineageRecorder
from hub.services.reconciliation import CLOCK_MARGIN, FIRST_LOOKBACK, OVERLAP, Reconciler, reconcile_targets

from tests.fakes import FakeLineageLog
from tests.reconcile_fakes import FakeApplied, FakeCursors, FakeDeliveryLog, FakeFeed, FakeFeeds

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    """
channels:
  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}
  woo: {platform: woocommerce, site_url: "https://shop.example.com", reconcile: {every_minutes: 15}}
  quiet: {platform: bigcommerce, store_hash: abc123, reconcile: {every_minutes: 0}}
gateways:
  stripe: {channel: shopify}
locations: [{id: wh-east, country: US}]
"""
)


def order_change(order_id: int, minute: int) -> FoundChange:
    """A change as a feed gives it: the events hub.intake.shopify makes of an orders/create body
    (events/payloads/shopify_orders_create.json's shape, the hub's own sample)."""
    stamp = f"2026-12-05T{6 + minute // 60:02d}:{minute % 60:02d}:00-05:00"
    body = json.dumps(
        {
            "id": order_id,
            "email": "ada@example.com",
            "currency": "USD",
            "total_price": "18.00",
            "financial_status": "paid",
            "created_at": stamp,
            "updated_at": stamp,
            "line_items": [{"id": 1, "sku": "MUG-ENAMEL-WHT", "quantity": 1, "price": "18.00"}],
        }
    )
    headers = {
        "x-shopify-topic": "orders/create",
        "x-shopify-shop-domain": "ada-goods.myshopify.com",
        "x-shopify-webhook-id": f"reconcile:{order_id}:{stamp}",
    }
    delivery = ShopifySource().parse(WebhookRequest(headers, body.encode()), CONFIG)
    changed = datetime.fromisoformat(stamp).astimezone(UTC)
    return FoundChange(f"order {order_id}", changed, delivery.dedupe_key, delivery.events)


def reconciler(feeds: FakeFeeds, cursors=None, applied=None, log=None, clock=lambda: NOW) -> Reconciler:
    return Reconciler(
        feeds, cursors or FakeCursors(), applied or FakeApplied(), log or FakeDeliveryLog(), lambda: CONFIG, clock=clock
    )


def test_targets_are_the_configured_channels_and_gateways_whose_reconciler_is_on():
    targets = {t.name: (t.kind, t.platform, t.every_minutes) for t in reconcile_targets(CONFIG)}
    assert targets == {
        "shopify": ("channel", "shopify", 5),  # the default
        "woo": ("channel", "woocommerce", 15),
        "stripe": ("gateway", "stripe", 5),
    }


def test_first_run_lists_the_last_day_and_publishes_every_change_once():
    feed = FakeFeed([ChangePage([order_change(1001, 0), order_change(1002, 5)])])
    log, cursors = FakeDeliveryLog(), FakeCursors()
    results = reconciler(FakeFeeds(shopify=feed), cursors, log=log).run_due(only="shopify")

    assert feed.asked == [(NOW - FIRST_LOOKBACK, None)]
    assert results["shopify"].body() == {"found": 2, "published": 2, "known": 0}
    assert [e.type for e in log.events()] == ["OrderPlaced", "OrderPlaced"]
    # Every page was listed: the cursor is a margin before the run began (the changes are older).
    assert cursors.since["shopify"] == NOW - CLOCK_MARGIN


def test_the_cursor_is_the_newest_change_when_it_is_newer_than_the_clock_margin():
    recent = order_change(1001, 59)  # 11:59, a minute before the run
    cursors = FakeCursors()
    reconciler(FakeFeeds(shopify=FakeFeed([ChangePage([recent])])), cursors).run_due(only="shopify")
    assert cursors.since["shopify"] == recent.changed_at


def test_a_quiet_store_gets_a_cursor_so_its_first_window_never_slides():
    cursors = FakeCursors()
    reconciler(FakeFeeds(shopify=FakeFeed([ChangePage([])])), cursors).run_due(only="shopify")
    assert cursors.since["shopify"] == NOW - CLOCK_MARGIN


def test_next_run_lists_from_the_cursor_less_the_overlap_and_publishes_nothing_twice():
    change = order_change(1001, 0)
    feed = FakeFeed([ChangePage([change])])
    log, cursors = FakeDeliveryLog(), FakeCursors()
    clock = iter([NOW, NOW + timedelta(minutes=5)])
    service = reconciler(FakeFeeds(shopify=feed), cursors, log=log, clock=lambda: next(clock))
    service.run_due(only="shopify")
    again = service.run_due(only="shopify")

    assert feed.asked[1] == (NOW - CLOCK_MARGIN - OVERLAP, None)
    assert again["shopify"].body() == {"found": 1, "published": 0, "known": 1}
    assert len(log.published) == 1


def test_a_change_the_webhook_delivered_is_known_and_not_published_again():
    delivered, missed = order_change(1001, 0), order_change(1002, 1)
    applied = FakeApplied()
    applied.ids.add(delivered.events[0].event_id)  # the webhook's OrderPlaced is in the order's timeline
    log = FakeDeliveryLog()
    results = reconciler(
        FakeFeeds(shopify=FakeFeed([ChangePage([delivered, missed])])), applied=applied, log=log
    ).run_due(only="shopify")

    assert results["shopify"].body() == {"found": 2, "published": 1, "known": 1}
    assert [e.event_id for e in log.events()] == [e.event_id for e in missed.events]


def test_a_change_the_webhooks_missed_goes_into_its_orders_lineage_as_a_reconciler_find():
    delivered, missed = order_change(1001, 0), order_change(1002, 1)
    applied = FakeApplied()
    applied.ids.add(delivered.events[0].event_id)
    lineage = FakeLineageLog()
    Reconciler(
        FakeFeeds(shopify=FakeFeed([ChangePage([delivered, missed])])),
        FakeCursors(),
        applied,
        FakeDeliveryLog(),
        lambda: CONFIG,
        clock=lambda: NOW,
        lineage=LineageRecorder(lineage, clock=lambda: NOW),
    ).run_due(only="shopify")

    # Only the find the webhooks missed; the one they delivered has its webhook delivery already.
    assert lineage.entries("shopify:1001") == []
    (entry,) = lineage.entries("shopify:1002")
    assert (entry.step, entry.result, entry.via, entry.source) == (Step.DELIVERY, "accepted", "reconciler", "shopify")
    assert entry.ref == missed.dedupe_key


def test_a_page_that_fails_keeps_the_cursor_and_the_next_run_lists_it_again():
    first, second = order_change(1001, 0), order_change(1002, 10)
    feed = FakeFeed([ChangePage([first], next_page="1"), ChangePage([second])])
    feed.fail_at.add(1)
    log, cursors = FakeDeliveryLog(), FakeCursors()
    clock = iter([NOW, NOW + timedelta(minutes=6)])
    service = reconciler(FakeFeeds(shopify=feed), cursors, log=log, clock=lambda: next(clock))

    failed = service.run_due(only="shopify")["shopify"]
    assert failed.failed and "503" in (failed.error or "")
    assert failed.body()["published"] == 1
    assert cursors.since["shopify"] == first.changed_at  # the page read, not the one that failed

    retried = service.run_due(only="shopify")["shopify"]
    assert not retried.failed
    assert feed.asked[2] == (first.changed_at - OVERLAP, None)  # again from the cursor
    assert retried.body() == {"found": 2, "published": 1, "known": 1}
    assert cursors.since["shopify"] == NOW + timedelta(minutes=6) - CLOCK_MARGIN
    assert {k.split(":", 3)[-1].split(":")[0] for k in log.published} == {"1001", "1002"}


def test_a_publish_that_fails_keeps_the_cursor():
    change = order_change(1001, 0)
    log, cursors = FakeDeliveryLog(), FakeCursors()
    log.fail_next = 1
    result = reconciler(FakeFeeds(shopify=FakeFeed([ChangePage([change])])), cursors, log=log).run_due(only="shopify")

    assert result["shopify"].failed
    assert "shopify" not in cursors.since
    assert log.published == {}


def test_a_reconciler_runs_when_its_interval_has_passed_unless_forced():
    feed = FakeFeed([ChangePage([])])
    cursors = FakeCursors()
    times = [NOW, NOW + timedelta(minutes=3), NOW + timedelta(minutes=3), NOW + timedelta(minutes=5)]
    clock = iter(times)
    service = reconciler(FakeFeeds(shopify=feed), cursors, clock=lambda: next(clock))

    assert "shopify" in service.run_due(only="shopify")
    assert service.run_due(only="shopify") == {}  # 3 of 5 minutes
    assert "shopify" in service.run_due(only="shopify", force=True)
    assert service.run_due(only="shopify") == {}  # 2 minutes after the forced run
    assert len(feed.asked) == 2


def test_a_target_without_an_api_is_skipped_and_one_failing_does_not_stop_the_others():
    feeds = FakeFeeds(shopify=FakeFeed([ChangePage([order_change(1001, 0)])]), woo="no site_url", stripe="later")
    feeds.feeds["shopify"].fail_at.add(0)
    results = reconciler(feeds).run_due()

    assert results["shopify"].failed
    assert results["woo"].skipped == "no site_url"
    assert results["stripe"].body() == {"found": 0, "published": 0, "known": 0, "skipped": "later"}


def test_a_change_the_parser_refuses_is_counted_and_named_and_the_cursor_moves_on():
    bad = FoundChange("order 7", NOW - timedelta(minutes=1), "", problem="'ShopifyOrder.currency': Field required")
    cursors = FakeCursors()
    result = reconciler(FakeFeeds(shopify=FakeFeed([ChangePage([bad])])), cursors).run_due(only="shopify")["shopify"]

    assert result.body()["refused"] == 1
    assert result.body()["refusals"] == ["order 7: 'ShopifyOrder.currency': Field required"]
    assert cursors.since["shopify"] == bad.changed_at


@pytest.mark.parametrize("value", [-1, 1441, "often"])
def test_every_minutes_is_bounded(value):
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match=r"channels\.s\.reconcile\.every_minutes"):
        parse_config(
            f"channels: {{s: {{platform: shopify, reconcile: {{every_minutes: {value}}}}}}}\n"
            "locations: [{id: a, country: US}]"
        )


def test_unknown_reconcile_keys_are_refused_by_name():
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown key 'gateways\.stripe\.reconcile\.every'"):
        parse_config("gateways: {stripe: {channel: x, reconcile: {every: 5}}}\nlocations: [{id: a, country: US}]")


def test_a_snapshot_no_newer_than_the_state_the_hub_holds_is_known_whichever_topic_delivered_it():
    # The webhook's orders/create recorded the order as of its updated_at; the reconciler's snapshot
    # of that same state (another topic, so other event ids) is known, a newer one is not.
    same, newer = order_change(1001, 0), order_change(1002, 30)
    applied = FakeApplied()
    applied.as_of["shopify:1001"] = same.changed_at
    applied.as_of["shopify:1002"] = newer.changed_at - timedelta(minutes=1)
    log = FakeDeliveryLog()
    results = reconciler(FakeFeeds(shopify=FakeFeed([ChangePage([same, newer])])), applied=applied, log=log).run_due(
        only="shopify"
    )

    assert results["shopify"].body() == {"found": 2, "published": 1, "known": 1}
    assert {e.data.order_id for e in log.events()} == {"shopify:1002"}


def test_a_run_stops_between_pages_when_time_runs_short_and_the_next_goes_on_from_the_cursor():
    first, second = order_change(1001, 0), order_change(1002, 10)
    feed = FakeFeed([ChangePage([first], next_page="1"), ChangePage([second])])
    cursors, log = FakeCursors(), FakeDeliveryLog()
    left = iter([300.0, 300.0, 20.0])  # enough to start, enough for page 1, too little for page 2
    clock = iter([NOW, NOW + timedelta(minutes=5)])
    service = reconciler(FakeFeeds(shopify=feed), cursors, log=log, clock=lambda: next(clock))

    stopped = service.run_due(only="shopify", time_left=lambda: next(left))["shopify"]
    assert stopped.body() == {"found": 1, "published": 1, "known": 0, "unfinished": True}
    assert cursors.since["shopify"] == first.changed_at

    later = service.run_due(only="shopify")["shopify"]
    assert feed.asked[-2][0] == first.changed_at - OVERLAP
    assert later.body()["published"] == 1 and len(log.published) == 2


def test_no_reconciler_is_started_without_time_for_a_page():
    feed = FakeFeed([ChangePage([order_change(1001, 0)])])
    cursors = FakeCursors()
    assert reconciler(FakeFeeds(shopify=feed), cursors).run_due(only="shopify", time_left=lambda: 40.0) == {}
    assert feed.asked == [] and "shopify" not in cursors.last_run  # still due next time
