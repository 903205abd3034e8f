"""The marketing messages a customer was sent: recorded by the marketing service with the message's
marker (fakes of tests/marketing_fakes.py), read with the profile by hub.services.customer_lookup,
gone with everything else marketing keeps for a customer when they are erased."""

from __future__ import annotations

from datetime import timedelta

from hub.domain.customers import erasure_key
from hub.domain.marketing import SentMessage
from hub.domain.marketing_rules import Trigger
from hub.services.customer_lookup import CustomerLookup

from tests.marketing_fakes import SALT, T0, FakeMarketingStore, FakeProfiles, config, customer_erased, status_changed
from tests.unit.test_marketing_service import ADA, World, paid_order

KEY = erasure_key(ADA, SALT)


def _follow_ups_only(world: World) -> None:
    world.schedules.schedules = {
        k: v for k, v in world.schedules.schedules.items() if v[0].trigger is Trigger.POST_PURCHASE
    }


def test_a_message_sent_is_kept_in_its_customers_history_with_its_marker():
    world = World(channels=["ses", "klaviyo"])
    world.profiles.add(ADA)
    paid_order(world)
    _follow_ups_only(world)
    assert world.fire_all() == ["sent"]
    [record] = world.store.sent_messages(KEY, 10)
    assert record == SentMessage(
        customer=KEY,
        message_key="post_purchase:order:shopify:1001",
        trigger="post_purchase",
        subject_kind="order",
        subject_id="shopify:1001",
        basis="paid",
        channel="shopify",
        outcome="sent",
        at=T0 + timedelta(days=14),
        channels=("email", "klaviyo"),
    )
    assert world.store.messages[record.message_key]["state"] == "sent"
    assert ADA not in repr(record)  # named by the erasure key, never the email


def test_a_redelivered_schedule_and_tracked_activity_add_nothing_to_the_history():
    world = World(channels=["ses", "klaviyo"])
    world.profiles.add(ADA)
    paid_order(world)  # the placement's "Placed Order" goes to Klaviyo once, under a marker of its own
    _follow_ups_only(world)
    [due] = world.schedules.due()
    world.now = due.due_at
    assert world.service.fire_scheduled(due).outcome == "sent"
    assert world.service.fire_scheduled(due).outcome == "duplicate"
    assert [m.trigger for m in world.store.sent_messages(KEY, 10)] == ["post_purchase"]
    assert [e["metric"] for e in world.tracker.events] == ["Placed Order"]


def test_a_message_the_cap_refused_is_kept_as_capped_and_the_history_is_newest_first():
    world = World()
    world.hub_config = config(
        **{"frequency_cap": world.hub_config.marketing.frequency_cap.model_copy(update={"max_messages": 1})}
    )
    world.profiles.add(ADA)
    for n in (1, 2):
        world.orders.add(f"shopify:{n}", ADA, "paid")
        world.service.handle(status_changed(f"shopify:{n}", "paid", at=T0 + timedelta(hours=n)))
    assert world.fire_all() == ["sent", "capped"]
    history = world.store.sent_messages(KEY, 10)
    assert [(m.subject_id, m.outcome, m.channels) for m in history] == [
        ("shopify:2", "capped", ()),
        ("shopify:1", "sent", ("email",)),
    ]
    assert world.store.sent_messages(KEY, 1) == history[:1]


def test_an_erased_customers_history_is_removed_with_the_rest():
    world = World()
    world.profiles.add(ADA)
    paid_order(world)
    _follow_ups_only(world)
    world.fire_all()
    assert world.store.sent_messages(KEY, 10)
    world.keys.marks[KEY] = world.now
    handled = world.service.handle(customer_erased(ADA, ["shopify:1001"]))
    assert handled.outcome == "customer_erased"
    assert world.store.sent_messages(KEY, 10) == []


# --------------------------------------------------------------------------------- the read
def _record(key: str, n: int) -> SentMessage:
    return SentMessage(
        customer=key,
        message_key=f"post_purchase:order:shopify:{n}",
        trigger="post_purchase",
        subject_kind="order",
        subject_id=f"shopify:{n}",
        basis="paid",
        channel="shopify",
        outcome="sent",
        at=T0 + timedelta(days=n),
        channels=("email",),
    )


def test_the_lookup_reads_the_profile_and_its_newest_messages_by_the_erasure_key():
    profiles, store = FakeProfiles(), FakeMarketingStore()
    profiles.add(ADA)
    for n in range(1, 5):
        store.history.setdefault(KEY, []).append(_record(KEY, n))
    store.history["ck_someone_else"] = [_record("ck_someone_else", 9)]
    found = CustomerLookup(profiles, store, limit=3).find("  Ada@Example.com ")
    assert found is not None and found.profile.email == ADA
    assert [m.subject_id for m in found.messages] == ["shopify:4", "shopify:3", "shopify:2"]


def test_without_a_profile_nothing_is_found_even_if_messages_remain():
    store = FakeMarketingStore()
    store.history[KEY] = [_record(KEY, 1)]  # an erasure marketing has not caught up with yet
    assert CustomerLookup(FakeProfiles(), store).find(ADA) is None
