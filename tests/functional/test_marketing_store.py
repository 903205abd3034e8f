"""DynamoMarketingStore on moto (the table from template.yaml): the conditions that make marketing
once-only and order-independent hold in DynamoDB itself."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import boto3
import pytest
from hub.adapters.marketing_store import DynamoMarketingStore
from hub.domain.marketing import CheckoutState, LastOrder, Look, SentMessage, Waiter
from hub.errors import MarketingConflictError

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


# ------------------------------------------------------------------ a decision: one read, one write
def test_a_look_reads_the_erasure_mark_the_markers_the_newest_order_and_the_guard_in_one_request(store, aws):
    from hub.adapters.customers import DynamoCustomerStore

    client = boto3.client("dynamodb")
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    reader = DynamoMarketingStore(client, aws.resources["HubTable"])
    assert reader.look(KEY, ["win_back:order:shopify:1"], "shopify:1") == Look()
    DynamoCustomerStore(boto3.client("dynamodb"), aws.resources["HubTable"]).mark_erased(
        f"customer:{KEY}", T0 + timedelta(days=1)
    )
    store.record_placement(
        "shopify:1",
        [("MUG", "TEE"), ("TEE", "MUG")],
        {},
        count=True,
        customer=KEY,
        newest=LastOrder("shopify:1", T0),
        schedules=[("win_back-placed-abc", T0 + timedelta(days=90))],
    )
    store.claim("win_back:order:shopify:1", KEY, T0, 60)
    store.finish("win_back:order:shopify:1", "sent", T0)

    look = reader.look(KEY, ["win_back:order:shopify:1", "post_purchase:order:shopify:1"], "shopify:1")

    assert calls == ["BatchGetItem", "BatchGetItem"]
    assert look == Look(
        erased_before=T0 + timedelta(days=1),
        sent=frozenset({"win_back:order:shopify:1"}),
        last_order=LastOrder("shopify:1", T0),
        counted=True,
    )
    assert store.customer_schedules(KEY) == ["win_back-placed-abc"]
    assert store.bought_with(["MUG"]) == {"MUG": {"TEE": 1}}


def test_a_placement_whose_reads_moved_writes_nothing(store):
    store.record_placement("shopify:1", [], {}, count=False, customer=KEY, newest=LastOrder("shopify:1", T0))
    # Decided on a look that saw no newest order, and that the co-purchases were not counted yet:
    with pytest.raises(MarketingConflictError):
        store.record_placement(
            "shopify:2",
            [("MUG", "TEE")],
            {"MUG": "Enamel Mug"},
            count=True,
            customer=KEY,
            seen=None,
            newest=LastOrder("shopify:2", T0 + timedelta(hours=1)),
            schedules=[("win_back-placed-two", T0 + timedelta(days=90))],
        )
    assert store.last_order(KEY) == LastOrder("shopify:1", T0)
    assert store.customer_schedules(KEY) == [] and store.titles(["MUG"]) == {}
    store.record_placement("shopify:3", [("MUG", "TEE")], {}, count=True)
    with pytest.raises(MarketingConflictError):  # counted meanwhile by another delivery
        store.record_placement("shopify:3", [("MUG", "TEE")], {}, count=True)
    assert store.bought_with(["MUG"]) == {"MUG": {"TEE": 1}}


def test_two_orders_of_one_customer_at_once_leave_one_win_back_from_the_newer(aws):
    """Both placements read the customer's newest order before either writes: the later write fails
    its condition and decides again (moto applies each request alone, as DynamoDB does)."""
    from hub.services.marketing import MarketingService

    from tests.fakes import FakePublisher
    from tests.functional.test_sharded_stock import _Atomic
    from tests.marketing_fakes import FakeKeys, FakeOrders, FakeProfiles, FakeSchedules, config, order_placed

    store = DynamoMarketingStore(_Atomic(boto3.client("dynamodb")), aws.resources["HubTable"])
    both_read = threading.Barrier(2)
    first_reads: set[int] = set()
    look = store.look

    def look_then_wait(*args, **kwargs):
        found = look(*args, **kwargs)
        if threading.get_ident() not in first_reads:
            first_reads.add(threading.get_ident())
            both_read.wait(timeout=30)
        return found

    store.look = look_then_wait  # type: ignore[method-assign]
    schedules, hub_config = FakeSchedules(), config()
    service = MarketingService(
        store=store,
        schedules=schedules,
        orders=FakeOrders(),
        profiles=FakeProfiles(),
        keys=FakeKeys(),
        publisher=FakePublisher(),
        config=lambda: hub_config,
        senders=lambda _m: [],
        tracker=lambda _m: None,
        unsubscribe=lambda _m: ("https://hub.example/unsubscribe", "secret"),
        clock=lambda: T0,
    )
    older, newer = order_placed("shopify:1001", at=T0), order_placed("shopify:1002", at=T0 + timedelta(hours=1))
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda e: service.handle(e).outcome, (older, newer)))

    assert outcomes == ["placed", "placed"]
    customer = FakeKeys().key("ada@example.com")
    assert store.last_order(customer) == LastOrder("shopify:1002", T0 + timedelta(hours=1))
    win_backs = [due.subject_id for due, _at in schedules.by_trigger("win_back")]
    assert win_backs == ["shopify:1002"]
    # The older order's win-back, if it was scheduled first, is forgotten with its schedule.
    assert store.customer_schedules(customer) == [due.schedule_name for due, _at in schedules.by_trigger("win_back")]


def test_a_finished_message_joins_its_customers_history_in_the_same_request(store, aws):
    def sent(n: int, outcome: str = "sent") -> SentMessage:
        return SentMessage(
            KEY, f"post_purchase:order:shopify:{n}", "post_purchase", "order", f"shopify:{n}", "paid", "shopify",
            outcome, T0 + timedelta(days=n), ("email",) if outcome == "sent" else (),
        )  # fmt: skip

    client = boto3.client("dynamodb")
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    store = DynamoMarketingStore(client, aws.resources["HubTable"])
    for n in (2, 1, 3):
        store.claim(f"post_purchase:order:shopify:{n}", KEY, T0, 900)
    calls.clear()
    store.finish("post_purchase:order:shopify:2", "sent", T0 + timedelta(days=2), sent(2))
    assert calls == ["TransactWriteItems"]  # the marker and the history: one request, as before one update
    store.finish("post_purchase:order:shopify:1", "sent", T0 + timedelta(days=1), sent(1))
    store.finish("post_purchase:order:shopify:3", "capped", T0 + timedelta(days=3), sent(3, "capped"))
    assert store.message_sent("post_purchase:order:shopify:2")
    assert store.sent_messages(KEY, 10) == [sent(3, "capped"), sent(2), sent(1)]  # newest first
    assert store.sent_messages(KEY, 2) == [sent(3, "capped"), sent(2)]
    assert store.sent_messages("ck_" + "2" * 40, 10) == []
    # Erasure: everything under the customer goes, the history with it.
    assert store.forget_customer(KEY) == 3
    assert store.sent_messages(KEY, 10) == []
