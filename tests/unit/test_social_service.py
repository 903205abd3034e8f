"""Social posting's service (hub.services.social) with in-memory fakes of its store, schedules and
catalog, and the real network clients against the fake Graph and Pinterest APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hub.adapters.http import default_retry
from hub.adapters.social import SocialNetworks
from hub.config import parse_config
from hub.errors import SocialPostError
from hub.secrets import SecretsProvider
from hub.services.social import SocialService

from tests.social_apis import FACEBOOK_TOKEN, INSTAGRAM_TOKEN, PINTEREST_TOKEN, FakeGraph, FakePinterest
from tests.social_fakes import (
    MUG_IMAGE,
    MUG_URL,
    T0,
    FakeProductRecords,
    FakeSocialSchedules,
    FakeSocialStore,
    level_changed,
    mug,
    product_published,
)

FAST = default_retry(backoff=0.001, budget=2)
TOKENS = {
    "FACEBOOK_PAGE_ACCESS_TOKEN": FACEBOOK_TOKEN,
    "INSTAGRAM_ACCESS_TOKEN": INSTAGRAM_TOKEN,
    "PINTEREST_ACCESS_TOKEN": PINTEREST_TOKEN,
}
SOCIAL = """
locations: [{id: wh-east, country: FR}]
marketing:
  sender: shop@example.com
  social:
    facebook: {page_id: '104918374651234'}
    instagram: {ig_user_id: '17841405822304914'}
    pinterest: {board_id: '549755885175'}
    rules: {new_product: {}, back_in_stock: {template: "Back in stock: {title} {link}"}}
    timezone: Europe/Paris
    max_posts_per_day: %(cap)d
%(extra)s"""


class Harness:
    def __init__(self, cap: int = 3, extra: str = "", now: datetime = T0) -> None:
        self.graph, self.pinterest = FakeGraph(), FakePinterest()
        self.store, self.schedules, self.products = FakeSocialStore(), FakeSocialSchedules(), FakeProductRecords()
        self.now = now
        self.config = parse_config(SOCIAL % {"cap": cap, "extra": extra})
        graph, pins = self.graph.transport(), self.pinterest.transport()

        class Routing:
            def handle_request(self, request):
                return (pins if request.url.path.startswith("/v5/") else graph).handle_request(request)

            def close(self):
                pass

        networks = SocialNetworks(SecretsProvider(values=TOKENS), transport=Routing(), retry=FAST)  # type: ignore[arg-type]
        self.service = SocialService(
            self.store, self.schedules, lambda: self.products, networks, lambda: self.config, clock=lambda: self.now
        )


def test_a_product_published_posts_once_on_each_network_with_the_template():
    h = Harness()
    handled = h.service.handle(product_published())
    assert handled is not None and handled.outcome == "posts"
    assert handled.detail == {
        "product": "shopify:8123",
        "trigger": "new_product",
        "facebook": "posted",
        "instagram": "posted",
        "pinterest": "posted",
    }
    text = f"Enamel Mug — 12.50 EUR {MUG_URL}"
    assert [(p["message"], p["link"]) for p in h.graph.feed] == [(text, MUG_URL)]
    assert [(m["caption"], m["image_url"]) for m in h.graph.media] == [(text, MUG_IMAGE)]
    assert [(p["description"], p["title"], p["link"]) for p in h.pinterest.pins] == [(text, "Enamel Mug", MUG_URL)]
    post = h.store.posts["new_product:shopify:8123:new:facebook"]
    assert post["state"] == "posted" and post["post_id"] == h.graph.feed[0]["id"]


def test_the_same_event_again_posts_nothing():
    h = Harness()
    h.service.handle(product_published())
    calls = len(h.graph.requests) + len(h.pinterest.requests)
    again = h.service.handle(product_published())
    assert again is not None and set(list(again.detail.values())[2:]) == {"already_posted"}
    assert len(h.graph.requests) + len(h.pinterest.requests) == calls


def test_a_sku_back_in_stock_posts_its_product_with_that_variants_price():
    h = Harness()
    h.products.add(mug())
    handled = h.service.handle(level_changed("MUG-RED", available=6, previous=0, total=6))
    assert handled is not None and handled.outcome == "posts"
    assert h.graph.feed[0]["message"] == f"Back in stock: Enamel Mug {MUG_URL}"
    assert "back_in_stock:shopify:8123:2026-12-07:pinterest" in h.store.posts
    # Another SKU of the product restocked the same day: one post per product and day.
    h.service.handle(level_changed("MUG-BLUE", available=2, previous=0, total=2, at=T0 + timedelta(hours=2)))
    assert len(h.graph.feed) == 1 and len(h.pinterest.pins) == 1


@pytest.mark.parametrize(
    "event",
    [
        level_changed(available=6, previous=2, total=6),  # it was in stock already
        level_changed(available=6, previous=0, total=9),  # other locations had some
        level_changed(available=0, previous=-1, total=0),  # still none
    ],
)
def test_a_level_change_that_is_no_restock_is_not_even_counted(event):
    h = Harness()
    h.products.add(mug())
    assert h.service.handle(event) is None and h.graph.requests == []


def test_a_restock_of_an_unknown_or_inactive_product_posts_nothing():
    h = Harness()
    assert h.service.handle(level_changed()).outcome == "unknown_product"  # type: ignore[union-attr]
    h.products.add(mug(status="draft"))
    assert h.service.handle(level_changed()).outcome == "product_not_active"  # type: ignore[union-attr]
    assert h.graph.requests == [] and h.pinterest.requests == []


def test_social_off_reads_nothing_and_counts_nothing():
    h = Harness()
    h.config = parse_config("locations: [{id: wh-east, country: FR}]\nmarketing: {sender: shop@example.com}")
    assert h.service.handle(product_published()) is None
    assert h.service.handle(level_changed()) is None


def test_a_rule_not_listed_is_off():
    h = Harness()
    h.config = parse_config((SOCIAL % {"cap": 3, "extra": ""}).replace("new_product: {}, ", ""))
    assert h.service.handle(product_published()).outcome == "rule_off"  # type: ignore[union-attr]
    assert h.graph.requests == []


def test_a_product_without_an_image_posts_on_facebook_only():
    h = Harness()
    handled = h.service.handle(product_published(image=None))
    assert handled is not None
    assert (handled.detail["facebook"], handled.detail["instagram"], handled.detail["pinterest"]) == (
        "posted",
        "no_image",
        "no_image",
    )
    assert h.pinterest.requests == [] and len(h.graph.feed) == 1


def test_quiet_hours_schedule_the_posts_for_when_they_end_once():
    # 22:30 in Paris, inside 21:00-08:00: held back until 08:00 Paris, 07:00 UTC.
    h = Harness(
        extra="    quiet_hours: {start: '21:00', end: '08:00'}\n", now=datetime(2026, 12, 6, 21, 30, tzinfo=UTC)
    )
    handled = h.service.handle(product_published())
    assert handled is not None and handled.outcome == "deferred"
    (due, at) = next(iter(h.schedules.created.values()))
    assert at == datetime(2026, 12, 7, 7, 0, tzinfo=UTC) and h.graph.requests == []
    assert h.service.handle(product_published()).outcome == "already_deferred"  # type: ignore[union-attr]
    # The schedule fires at 08:00: the posts go out (what the clock says is no longer asked).
    h.now = at
    assert h.service.fire_scheduled(due).outcome == "posts"
    assert len(h.graph.feed) == 1 and len(h.pinterest.pins) == 1


def test_over_the_daily_cap_a_post_is_dropped_and_recorded_and_the_next_day_has_room():
    h = Harness(cap=1)
    h.service.handle(product_published("shopify:1", "Mug"))
    capped = h.service.handle(product_published("shopify:2", "Tee"))
    assert capped is not None and {capped.detail[n] for n in ("facebook", "instagram", "pinterest")} == {"capped"}
    assert h.store.posts["new_product:shopify:2:new:facebook"]["state"] == "capped"
    assert len(h.graph.feed) == 1
    # Capped is final: the same event later, even on a new day, does not post it.
    h.now = T0 + timedelta(days=1)
    assert h.service.handle(product_published("shopify:2", "Tee")).detail["facebook"] == "already_capped"  # type: ignore[union-attr]
    h.service.handle(product_published("shopify:3", "Cap", at=h.now))
    assert len(h.graph.feed) == 2


def test_a_failing_network_fails_the_record_after_the_others_posted_and_the_retry_posts_only_it():
    h = Harness()
    h.graph.fail_feed = 1
    with pytest.raises(SocialPostError, match="facebook: Facebook Page post failed with HTTP 500"):
        h.service.handle(product_published())
    assert h.graph.feed == [] and len(h.graph.media) == 1 and len(h.pinterest.pins) == 1
    assert h.store.posts["new_product:shopify:8123:new:facebook"]["state"] == "posting"  # released for the retry
    handled = h.service.handle(product_published())
    assert handled is not None and handled.detail["facebook"] == "posted"
    assert (handled.detail["instagram"], handled.detail["pinterest"]) == ("already_posted", "already_posted")
    assert len(h.graph.feed) == 1 and len(h.graph.media) == 1 and len(h.pinterest.pins) == 1
    assert h.store.days[("facebook", "2026-12-07")] == 1  # the cap counted the retried post once


def test_an_instagram_container_not_ready_is_published_on_the_retry_without_a_second_container():
    h = Harness()
    h.graph.pending_checks = 1
    with pytest.raises(SocialPostError, match="IN_PROGRESS"):
        h.service.handle(product_published())
    assert len(h.graph.containers) == 1 and h.graph.media == []
    h.service.handle(product_published())
    assert len(h.graph.containers) == 1 and len(h.graph.media) == 1


def test_an_attempt_holding_a_post_makes_the_other_wait():
    h = Harness()
    h.store.claim_post("new_product:shopify:8123:new:facebook", T0, 900)
    with pytest.raises(SocialPostError, match="another attempt is posting"):
        h.service.handle(product_published())
    assert h.graph.feed == []
    h.now = T0 + timedelta(seconds=901)  # its lease ran out: taken over
    assert h.service.handle(product_published()).detail["facebook"] == "posted"  # type: ignore[union-attr]
