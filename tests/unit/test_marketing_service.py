"""The marketing service with in-memory fakes: which events schedule what, what cancels it, and what
is sent when a schedule fires (consent, opt-outs, erasure, the frequency cap, once-only under
duplicated and shuffled events, resuming after a failed channel). Timings are the rules' own."""

from __future__ import annotations

import hashlib
import itertools
import random
from datetime import timedelta

import pytest
from hub.domain.customers import erasure_key
from hub.domain.marketing_rules import Trigger
from hub.errors import MessageBusyError
from hub.events import ProviderRef
from hub.marketing.unsubscribe import verify
from hub.services.marketing import MarketingService

from tests.fakes import FakePublisher
from tests.marketing_fakes import (
    SALT,
    T0,
    FakeKeys,
    FakeMarketingStore,
    FakeOrders,
    FakeProfiles,
    FakeSchedules,
    FakeTracker,
    RecordingSender,
    checkout_started,
    config,
    customer_erased,
    level_changed,
    order_placed,
    shortage,
    status_changed,
)

ADA = "ada@example.com"
SECRET = "unsubscribe-secret"


class World:
    """The service wired to fakes, with a clock tests move."""

    def __init__(self, **marketing) -> None:
        self.now = T0
        self.hub_config = config(**marketing)
        self.store = FakeMarketingStore()
        self.schedules = FakeSchedules()
        self.orders = FakeOrders()
        self.profiles = FakeProfiles()
        self.keys = FakeKeys()
        self.store.erasures = self.keys.marks  # one table: the store's look reads the same marks
        self.publisher = FakePublisher()
        self.email = RecordingSender("email")
        self.klaviyo = RecordingSender("klaviyo")
        self.tracker = FakeTracker()
        self.service = MarketingService(
            store=self.store,
            schedules=self.schedules,
            orders=self.orders,
            profiles=self.profiles,
            keys=self.keys,
            publisher=self.publisher,
            config=lambda: self.hub_config,
            senders=self._senders,
            tracker=lambda _m: self.tracker,
            unsubscribe=lambda _m: ("https://hub.example/unsubscribe", SECRET),
            clock=lambda: self.now,
        )

    def _senders(self, marketing):
        by_channel = {"ses": self.email, "klaviyo": self.klaviyo}
        return [by_channel[c] for c in marketing.channels if c in by_channel]

    def fire_all(self) -> list[str]:
        """Time passes until every schedule is due; each fires once."""
        outcomes = []
        for due in self.schedules.due():
            self.now = max(self.now, due.due_at)
            outcomes.append(self.service.fire_scheduled(due).outcome)
        return outcomes

    def sent(self):
        return [e for e in self.publisher.events if e.type == "MarketingMessageSent"]


@pytest.fixture
def world() -> World:
    return World()


def paid_order(world: World, order_id: str = "shopify:1001", email: str | None = ADA, **kwargs):
    world.orders.add(order_id, email, "paid", **kwargs)
    world.service.handle(order_placed(order_id, email))
    world.service.handle(status_changed(order_id, "paid"))


# --------------------------------------------------------------------------------- what schedules what
def test_a_paid_order_schedules_a_follow_up_and_a_win_back(world):
    paid_order(world)
    [(follow_up, at)] = world.schedules.by_trigger("post_purchase")
    assert follow_up.basis == "paid" and at == T0 + timedelta(days=14)
    assert follow_up.customer == erasure_key(ADA, SALT)
    [(win_back, _at)] = world.schedules.by_trigger("win_back")
    assert win_back.subject_id == "shopify:1001"
    # Remembered under the customer, so an erasure finds them.
    assert set(world.store.customer_schedules(follow_up.customer)) == {follow_up.schedule_name, win_back.schedule_name}


def test_delivery_replaces_the_payment_follow_up_and_schedules_a_review(world):
    paid_order(world)
    world.orders.add("shopify:1001", ADA, "delivered", delivered=True)
    world.service.handle(status_changed("shopify:1001", "delivered", T0 + timedelta(days=3)))
    follow_ups = world.schedules.by_trigger("post_purchase")
    assert [d.basis for d, _ in follow_ups] == ["delivered"]
    assert follow_ups[0][1] == T0 + timedelta(days=10)
    assert [d.due_at for d, _ in world.schedules.by_trigger("review_request")] == [T0 + timedelta(days=13)]


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancelled_or_refunded_order_deletes_its_schedules(world, status):
    paid_order(world)
    world.service.handle(status_changed("shopify:1001", status))
    assert world.schedules.by_trigger("post_purchase") == []
    assert len(world.schedules.by_trigger("win_back")) == 1  # about the customer, not the order


def test_a_redelivered_event_never_creates_a_second_schedule(world):
    paid_order(world)
    before = dict(world.schedules.schedules)
    for _ in range(3):
        world.service.handle(order_placed())
        world.service.handle(status_changed("shopify:1001", "paid"))
    assert world.schedules.schedules == before


def test_a_newer_order_moves_the_win_back_and_an_older_one_arriving_late_does_not(world):
    paid_order(world, "shopify:1")
    world.service.handle(order_placed("shopify:2", ADA, at=T0 + timedelta(days=5)))
    world.service.handle(order_placed("shopify:0", ADA, at=T0 - timedelta(days=5)))
    assert [d.subject_id for d, _ in world.schedules.by_trigger("win_back")] == ["shopify:2"]


def test_each_decision_reads_once_and_a_placement_writes_once(world):
    paid_order(world)
    # The placement and the payment: one look each; the placement's counts, newest order and
    # win-back in one write; no marker read apart from the look.
    assert (world.store.looks, world.store.placements_recorded) == (2, 1)
    world.store.message_sent = None  # type: ignore[assignment]  # never asked on these paths
    world.service.handle(order_placed())
    world.service.handle(status_changed("shopify:1001", "paid"))
    assert world.store.looks == 4


def test_a_placement_whose_reads_moved_decides_again(world):
    world.profiles.add(ADA)
    # Between the look of shopify:1 and its write, a newer order of the customer is recorded.
    world.store.before_record.append(
        lambda: world.service.handle(order_placed("shopify:2", ADA, at=T0 + timedelta(days=1)))
    )
    world.service.handle(order_placed("shopify:1", ADA, at=T0))
    assert world.store.last_order(erasure_key(ADA, SALT)).order_id == "shopify:2"
    assert [d.subject_id for d, _ in world.schedules.by_trigger("win_back")] == ["shopify:2"]
    assert world.store.bought_with(["MUG"]) == {"MUG": {"TEE": 2}}  # each order counted once


def test_an_erased_customers_order_still_counts_its_co_purchases_and_schedules_nothing(world):
    world.keys.marks[erasure_key(ADA, SALT)] = T0 + timedelta(days=1)
    assert world.service.handle(order_placed()).outcome == "erased_customer"
    assert world.schedules.schedules == {} and world.store.last == {}
    assert world.store.bought_with(["MUG"]) == {"MUG": {"TEE": 1}}


def test_a_checkout_schedules_a_reminder_that_its_completion_cancels(world):
    world.service.handle(checkout_started())
    [(reminder, at)] = world.schedules.by_trigger("abandoned_checkout")
    assert at == T0 + timedelta(hours=4) and reminder.subject_id == "shopify:tok1"
    world.service.handle(checkout_started(at=T0 + timedelta(minutes=3), completed=True))
    assert world.schedules.by_trigger("abandoned_checkout") == []


def test_an_order_that_names_its_checkout_converts_it(world):
    world.service.handle(checkout_started("shopify:tok1", "someone.else@example.com"))
    world.service.handle(order_placed("shopify:1001", ADA, at=T0 + timedelta(minutes=5), checkout_id="shopify:tok1"))
    assert world.schedules.by_trigger("abandoned_checkout") == []
    assert world.store.checkout("shopify:tok1").converted_by == "shopify:1001"


def test_without_a_link_an_order_from_the_same_email_after_the_start_converts_the_checkout(world):
    world.service.handle(checkout_started("shopify:tok1", "ADA@example.com "))
    world.service.handle(checkout_started("shopify:tok2", "grace@example.com"))
    world.service.handle(order_placed("shopify:1001", ADA, at=T0 + timedelta(minutes=20)))
    assert [d.subject_id for d, _ in world.schedules.by_trigger("abandoned_checkout")] == ["shopify:tok2"]


def test_an_order_placed_before_the_checkout_started_does_not_convert_it(world):
    world.service.handle(order_placed("shopify:1001", ADA, at=T0 - timedelta(days=2)))
    world.service.handle(checkout_started("shopify:tok1", ADA, at=T0))
    assert len(world.schedules.by_trigger("abandoned_checkout")) == 1


def test_an_order_that_arrives_before_its_checkout_event_still_converts_it(world):
    world.service.handle(order_placed("shopify:1001", ADA, at=T0 + timedelta(minutes=20)))
    world.service.handle(checkout_started("shopify:tok1", ADA, at=T0))
    assert world.schedules.by_trigger("abandoned_checkout") == []


def test_nothing_is_scheduled_when_marketing_is_not_configured(world):
    world.hub_config = world.hub_config.model_copy(update={"marketing": None})
    paid_order(world)
    world.service.handle(checkout_started())
    assert world.schedules.schedules == {}


# --------------------------------------------------------------------------------- sending
def test_a_due_follow_up_goes_to_a_consenting_customer_personalised(world):
    world.profiles.add(ADA, consent=True, first_name="Ada", products=[("MUG", "Enamel Mug"), ("TEE", "Organic Tee")])
    world.service.handle(
        order_placed("shopify:900", "grace@example.com", lines=[("MUG", "Enamel Mug"), ("CAP", "Cap")])
    )
    paid_order(world, lines=(("MUG", 2), ("TEE", 1)))
    world.schedules.schedules = {k: v for k, v in world.schedules.schedules.items() if v[0].trigger.value != "win_back"}
    assert world.fire_all() == ["sent"]
    [message] = world.email.sent
    assert message.email == ADA and message.trigger == "post_purchase"
    assert "Hi Ada," in message.content.text and "Enamel Mug (x2)" in message.content.text
    assert "Cap" in message.content.text and "Cap" in message.content.html  # bought together by others
    assert [s["sku"] for s in message.properties["suggestions"]] == ["CAP"]
    token = message.unsubscribe_url.split("token=")[1]
    assert verify(token, [SECRET]) == erasure_key(ADA, SALT)
    [event] = world.sent()
    assert event.data.trigger == "post_purchase" and event.data.channel == "email"
    assert event.channel == "shopify" and ADA not in event.model_dump_json()
    # The customer is the salted erasure key (as in reports), never a bare hash anyone can recompute.
    assert event.data.customer == erasure_key(ADA, SALT)
    assert hashlib.sha256(ADA.encode()).hexdigest() not in event.model_dump_json()


@pytest.mark.parametrize("consent", [False, None])
def test_nothing_goes_to_a_customer_who_did_not_consent(world, consent):
    world.profiles.add(ADA, consent=consent)
    paid_order(world)
    assert set(world.fire_all()) == {"no_consent"}
    assert world.email.sent == [] and world.sent() == []


def test_nothing_goes_to_a_customer_without_a_profile(world):
    paid_order(world)
    assert set(world.fire_all()) == {"no_consent"}


def test_nothing_goes_to_a_customer_who_unsubscribed(world):
    world.profiles.add(ADA)
    paid_order(world)
    world.store.opt_out(erasure_key(ADA, SALT), T0)
    assert set(world.fire_all()) == {"unsubscribed"}


def test_a_refund_after_scheduling_stops_the_follow_up_even_if_its_schedule_fires(world):
    world.profiles.add(ADA)
    paid_order(world)
    pending = world.schedules.due()
    world.orders.add("shopify:1001", ADA, "refunded")
    world.now = T0 + timedelta(days=14)
    outcomes = {d.trigger.value: world.service.fire_scheduled(d).outcome for d in pending}
    assert outcomes["post_purchase"] == "order_refunded"
    assert [m.trigger for m in world.email.sent] == ["win_back"]


def test_an_abandoned_checkout_gets_its_reminder_and_a_converted_one_does_not(world):
    world.profiles.add(ADA)
    world.profiles.add("grace@example.com", first_name="Grace")
    world.service.handle(checkout_started("shopify:tok1", ADA))
    world.service.handle(checkout_started("shopify:tok2", "grace@example.com"))
    reminders = world.schedules.due()
    # Grace orders after her reminder was scheduled, and the order event is the only sign of it.
    world.service.handle(order_placed("shopify:1001", "grace@example.com", at=T0 + timedelta(hours=1)))
    world.now = T0 + timedelta(hours=4)
    outcomes = {d.subject_id: world.service.fire_scheduled(d).outcome for d in reminders}
    assert outcomes == {"shopify:tok1": "sent", "shopify:tok2": "checkout_converted"}
    [message] = world.email.sent
    assert message.email == ADA
    assert "https://ada.example/checkouts/shopify:tok1/recover" in message.content.text
    assert "38.00 USD" in message.content.text


def test_an_erased_customer_loses_every_schedule_and_kept_checkout(world):
    world.profiles.add(ADA)
    paid_order(world)
    world.service.handle(checkout_started("shopify:tok9", ADA, at=T0 + timedelta(hours=1)))
    world.keys.marks[erasure_key(ADA, SALT)] = T0 + timedelta(days=1)
    handled = world.service.handle(customer_erased(ADA, ["shopify:1001"]))
    assert handled.outcome == "customer_erased"
    assert world.schedules.schedules == {}
    assert world.store.checkout("shopify:tok9") is None
    # Events from before the erasure, redelivered or replayed, schedule nothing again.
    world.service.handle(order_placed())
    world.service.handle(status_changed("shopify:1001", "paid"))
    assert world.schedules.schedules == {}


def test_the_frequency_cap_holds_back_messages_beyond_the_limit(world):
    world.hub_config = config(
        **{"frequency_cap": world.hub_config.marketing.frequency_cap.model_copy(update={"max_messages": 2})}
    )
    world.profiles.add(ADA)
    for n in range(3):
        world.orders.add(f"shopify:{n}", ADA, "paid")
        world.service.handle(status_changed(f"shopify:{n}", "paid"))
    assert sorted(world.fire_all()) == ["capped", "sent", "sent"]
    assert len(world.email.sent) == 2
    # A capped message stays capped: redelivering its schedule sends nothing.
    world.service.handle(status_changed("shopify:2", "paid"))
    assert world.schedules.schedules == {} or world.fire_all() in ([], ["capped"])


def test_back_in_stock_goes_to_customers_who_ran_short_when_the_level_rises(world):
    world.profiles.add(ADA, products=[("MUG", "Enamel Mug")])
    world.orders.add("shopify:1001", ADA, "on_hold")
    world.orders.add("shopify:1002", "grace@example.com", "paid")  # went ahead since
    world.profiles.add("grace@example.com")
    world.service.handle(shortage("shopify:1001", {"MUG": 2}))
    world.service.handle(shortage("shopify:1002", {"MUG": 1}))
    assert world.service.handle(level_changed("MUG", available=0, previous=3)).outcome == "ignored"
    handled = world.service.handle(level_changed("MUG", available=4, previous=0))
    assert handled.detail == {"sku": "MUG", "order_went_ahead": "1", "sent": "1"}
    [message] = world.email.sent
    assert message.content.subject == "Enamel Mug is back in stock"
    assert world.store.waiters("MUG") == []
    world.service.handle(level_changed("MUG", available=9, previous=4))
    assert len(world.email.sent) == 1


def test_a_reservation_never_brings_a_sku_back_in_stock(world):
    world.profiles.add(ADA, products=[("MUG", "Enamel Mug")])
    world.orders.add("shopify:1001", ADA, "on_hold")
    world.service.handle(shortage("shopify:1001", {"MUG": 2}))
    # Another order reserved a unit: the level fell, even when an event leaves `previous` out.
    reserved = level_changed("MUG", available=1, previous=None)
    reserved = reserved.model_copy(update={"provider": ProviderRef(topic="inventory/reserved")})
    assert world.service.handle(reserved).outcome == "ignored"
    assert world.email.sent == [] and len(world.store.waiters("MUG")) == 1


# --------------------------------------------------------------------------------- once-only
def test_every_event_and_firing_duplicated_and_shuffled_sends_each_message_once():
    rng = random.Random(7)
    for _round in range(5):
        world = World()
        world.profiles.add(ADA)
        world.orders.add("shopify:1001", ADA, "delivered", delivered=True)
        events = [
            order_placed("shopify:1001"),
            status_changed("shopify:1001", "paid"),
            status_changed("shopify:1001", "delivered", T0 + timedelta(days=2)),
            checkout_started("shopify:tok1", ADA, at=T0 - timedelta(hours=1)),
        ]
        stream = events * 3
        rng.shuffle(stream)
        fired = []
        for event in stream:
            world.service.handle(event)
            fired += world.schedules.due()
        for due in sorted(fired * 2, key=lambda d: d.due_at):
            world.now = due.due_at
            world.service.fire_scheduled(due)
        triggers = sorted(m.trigger for m in world.email.sent)
        # The checkout started before the order: converted by email and time, whatever the order of arrival.
        assert triggers == ["post_purchase", "review_request", "win_back"]
        assert len(world.sent()) == 3


def test_a_failed_channel_resumes_without_sending_twice_what_went_out():
    world = World(channels=["ses", "klaviyo"])
    world.profiles.add(ADA)
    world.orders.add("shopify:1001", ADA, "paid")
    world.service.handle(status_changed("shopify:1001", "paid"))
    [due] = world.schedules.due()
    world.now = due.due_at
    world.klaviyo.fail_next = 1
    with pytest.raises(RuntimeError):
        world.service.fire_scheduled(due)
    assert len(world.email.sent) == 1 and world.klaviyo.sent == [] and world.sent() == []
    # The record is retried: email is not sent again, Klaviyo now is, then both are published.
    assert world.service.fire_scheduled(due).outcome == "sent"
    assert len(world.email.sent) == 1 and len(world.klaviyo.sent) == 1
    assert sorted(e.data.channel for e in world.sent()) == ["email", "klaviyo"]
    assert world.service.fire_scheduled(due).outcome == "duplicate"
    assert len(world.sent()) == 2


def test_a_message_being_sent_by_another_attempt_is_retried_later(world):
    world.profiles.add(ADA)
    world.orders.add("shopify:1001", ADA, "paid")
    world.service.handle(status_changed("shopify:1001", "paid"))
    [due] = world.schedules.due()
    world.now = due.due_at
    world.store.claim(due.message_key, erasure_key(ADA, SALT), world.now, 900)
    with pytest.raises(MessageBusyError):
        world.service.fire_scheduled(due)
    # An attempt that died holding it is taken over once its lease ran out.
    world.now += timedelta(seconds=901)
    assert world.service.fire_scheduled(due).outcome == "sent"


def test_a_message_sent_but_not_yet_published_is_published_by_the_retry(world):
    world.profiles.add(ADA)
    world.orders.add("shopify:1001", ADA, "paid")
    world.service.handle(status_changed("shopify:1001", "paid"))
    [due] = world.schedules.due()
    world.now = due.due_at
    world.publisher.fail_next = 1
    with pytest.raises(Exception, match="bus unavailable"):
        world.service.fire_scheduled(due)
    assert world.service.fire_scheduled(due).outcome == "duplicate"
    assert len(world.email.sent) == 1 and len(world.sent()) == 1


def test_a_stale_message_is_not_sent(world):
    world.profiles.add(ADA)
    world.orders.add("shopify:1001", ADA, "paid")
    world.service.handle(status_changed("shopify:1001", "paid"))
    [due] = world.schedules.due()
    world.now = due.due_at + timedelta(days=3)
    assert world.service.fire_scheduled(due).outcome == "stale"


# --------------------------------------------------------------------------------- Klaviyo activity
def test_klaviyo_receives_activity_only_for_consenting_customers():
    world = World(channels=["klaviyo"])
    world.profiles.add(ADA)
    world.profiles.add("grace@example.com", consent=False)
    world.service.handle(order_placed("shopify:1", ADA))
    world.service.handle(order_placed("shopify:2", "grace@example.com"))
    world.service.handle(checkout_started("shopify:tok1", ADA, at=T0 + timedelta(hours=2)))
    assert [(e["metric"], e["unique_id"]) for e in world.tracker.events] == [
        ("Placed Order", "shopify:1"),
        ("Started Checkout", "shopify:tok1"),
    ]
    assert str(world.tracker.events[0]["value"]) == "56.00"


def test_channels_other_than_email_need_no_rendered_email():
    world = World(channels=["klaviyo"])
    world.profiles.add(ADA)
    world.orders.add("shopify:1001", ADA, "paid")
    world.service.handle(status_changed("shopify:1001", "paid"))
    world.schedules.schedules = {
        k: v for k, v in world.schedules.schedules.items() if v[0].trigger is Trigger.POST_PURCHASE
    }
    assert world.fire_all() == ["sent"]
    [message] = world.klaviyo.sent
    assert message.content is None and message.unsubscribe_url is None


def test_statuses_that_change_nothing_are_ignored(world):
    for status in ("fulfilling", "shipped", "on_hold", "partially_refunded", "pending_payment"):
        assert world.service.handle(status_changed("shopify:1", status)).outcome == "ignored"
    assert list(itertools.chain(world.schedules.created, world.schedules.deleted)) == []
