"""DynamoMarketingStore on moto (the table from template.yaml): the conditions that make marketing
once-only and order-independent hold in DynamoDB itself."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from hub.adapters.marketing_store import DynamoMarketingStore
from hub.marketing.ports import CheckoutState, Waiter

from tests.marketing_fakes import T0

KEY = "ck_" + "1" * 40


@pytest.fixture
def store(aws) -> DynamoMarketingStore:
    return DynamoMarketingStore(boto3.client("dynamodb"), aws.resources["HubTable"])


def test_the_newest_order_wins_whatever_the_order_of_arrival(store):
    assert store.note_order(KEY, "shopify:2", T0) == (True, None)
    assert store.note_order(KEY, "shopify:1", T0 - timedelta(days=1)) == (False, None)
    assert store.note_order(KEY, "shopify:3", T0 + timedelta(days=1)) == (True, "shopify:2")
    assert store.note_order(KEY, "shopify:3", T0 + timedelta(days=1)) == (True, None)  # a redelivery
    assert store.last_order(KEY).order_id == "shopify:3"


def test_a_checkout_keeps_its_earliest_start_its_latest_details_and_its_conversion(store):
    state = CheckoutState(
        "shopify:tok", "shopify", T0, "ada@example.com", KEY, "https://r/1", "USD", 3800, (("TEE", "Tee", 1),)
    )
    store.convert_checkout("shopify:other", "shopify:9")  # converted before its own event arrives
    later = store.save_checkout(
        CheckoutState(
            "shopify:tok", "shopify", T0 + timedelta(minutes=5), "ada@example.com", KEY, "https://r/2", "USD", 7600
        ),
        T0 + timedelta(minutes=5),
    )
    assert later.recovery_url == "https://r/2" and later.total == 7600
    merged = store.save_checkout(state, T0)  # the create, arriving late
    assert merged.started_at == T0 and merged.recovery_url == "https://r/2" and merged.lines == ()
    assert store.open_checkouts(KEY) == [("shopify:tok", T0)]
    store.convert_checkout("shopify:tok", "shopify:1", KEY)
    store.convert_checkout("shopify:tok", "completed", KEY)
    assert store.checkout("shopify:tok").converted_by == "shopify:1"
    assert store.open_checkouts(KEY) == []
    converted = store.save_checkout(CheckoutState("shopify:other", "shopify", T0, "grace@example.com", None), T0)
    assert converted.converted_by == "shopify:9"


def test_co_purchases_count_once_per_order_with_titles(store):
    pairs = [("MUG", "TEE"), ("TEE", "MUG")]
    assert store.count_order("shopify:1", pairs, {"MUG": "Enamel Mug", "TEE": "Organic Tee"})
    assert not store.count_order("shopify:1", pairs, {"MUG": "Enamel Mug"})
    assert store.count_order("shopify:2", [("MUG", "TEE"), ("TEE", "MUG")], {})
    assert store.bought_with(["MUG", "CAP"]) == {"MUG": {"TEE": 2}, "CAP": {}}
    assert store.titles(["MUG", "TEE", "CAP"]) == {"MUG": "Enamel Mug", "TEE": "Organic Tee"}
    many = [(f"S{a}", f"S{b}") for a in range(9) for b in range(9) if a != b]
    assert store.count_order("shopify:3", many, {f"S{i}": f"Thing {i}" for i in range(40)})


def test_a_claim_is_exclusive_resumable_and_final_once_sent(store):
    key, now = "post_purchase:order:shopify:1", T0
    assert store.claim(key, KEY, now, 900).status == "claimed"
    assert store.claim(key, KEY, now, 900).status == "busy"
    store.mark_admitted(key)
    store.channel_done(key, "email")
    store.release(key)
    resumed = store.claim(key, KEY, now + timedelta(seconds=1), 900)
    assert (resumed.status, resumed.channels_done, resumed.admitted) == ("claimed", frozenset({"email"}), True)
    assert not store.message_sent(key)
    store.channel_done(key, "klaviyo")
    store.finish(key, "sent", now)
    done = store.claim(key, KEY, now + timedelta(hours=1), 900)
    assert (done.status, done.channels_done, done.published, done.sent_at) == (
        "sent",
        frozenset({"email", "klaviyo"}),
        False,
        now,
    )
    store.mark_published(key)
    assert store.claim(key, KEY, now, 900).published and store.message_sent(key)
    # An attempt that died holding a claim is taken over once its lease ran out.
    assert store.claim("other", KEY, now, 60).status == "claimed"
    assert store.claim("other", KEY, now + timedelta(seconds=61), 60).status == "claimed"


def test_the_frequency_cap_is_a_conditional_window(store):
    assert store.admit(KEY, "a", T0, 2, 7)
    assert store.admit(KEY, "a", T0, 2, 7)  # the same message again
    assert store.admit(KEY, "b", T0 + timedelta(days=1), 2, 7)
    assert not store.admit(KEY, "c", T0 + timedelta(days=2), 2, 7)
    assert store.admit(KEY, "c", T0 + timedelta(days=7, seconds=1), 2, 7)


def test_an_erased_customer_leaves_only_the_opt_out(store, aws):
    store.note_order(KEY, "shopify:1", T0)
    store.remember_schedule(KEY, "post_purchase-paid-x", T0)
    store.save_checkout(CheckoutState("shopify:tok", "shopify", T0, "ada@example.com", KEY), T0)
    store.admit(KEY, "a", T0, 2, 7)
    store.opt_out(KEY, T0)
    assert store.customer_schedules(KEY) == ["post_purchase-paid-x"]
    assert store.forget_customer(KEY) == 5  # last order, schedule, checkout index and checkout, cap
    assert store.customer_schedules(KEY) == [] and store.last_order(KEY) is None
    assert store.checkout("shopify:tok") is None
    assert store.opted_out(KEY)
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    assert "ada@example.com" not in str(items)


def test_waiters_wait_per_sku(store):
    store.add_waiter(Waiter("MUG", "shopify:1", "shopify"))
    store.add_waiter(Waiter("MUG", "shopify:1", "shopify"))
    store.add_waiter(Waiter("MUG", "shopify:2", "shopify", KEY))
    assert sorted(w.order_id for w in store.waiters("MUG")) == ["shopify:1", "shopify:2"]
    store.remove_waiter("MUG", "shopify:1")
    assert store.waiters("MUG") == [Waiter("MUG", "shopify:2", "shopify", KEY)]
