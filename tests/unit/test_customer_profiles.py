"""Customer profiles: built from order, payment, refund and customer events, the same whatever order
the events arrive in and however often they are delivered."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hub.adapters.customer_codec import profile_from_dict, profile_to_dict
from hub.config import parse_config
from hub.domain.customers import erasure_key, normalise_email
from hub.errors import OrderNotRecordedError
from hub.events import (
    Consent,
    CustomerData,
    CustomerUpserted,
    LineItem,
    OrderCancelled,
    OrderCancelledData,
    OrderData,
    OrderPaid,
    OrderPaidData,
    OrderPlaced,
    OrderReference,
    OrderStatusChanged,
    OrderStatusData,
    OrderUpdated,
    PaymentData,
    PaymentRefundData,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderRef,
    RefundData,
    RefundIssued,
    StatusChangeData,
    event_id_for,
)
from hub.services.customers import CustomerService
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.customer_fakes import FakeCustomerStore, FakeOrderPrivacy, FakePayloads
from tests.fakes import FakePublisher

CONFIG = parse_config("""
locations: [{id: wh-east, country: US}]
gateways:
  stripe: {channel: woocommerce}
""")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _envelope(kind: str, *ids: str, channel: str = "shopify", minutes: int = 0, source: str | None = None) -> dict:
    return {
        "event_id": event_id_for(source or channel, kind, *ids),
        "source": source or channel,
        "channel": channel,
        "occurred_at": at(minutes),
        "received_at": at(minutes),
        "provider": ProviderRef(topic=kind),
    }


def placed(order: str, email: str | None, total: int = 5000, *, channel="shopify", minutes=0, currency="USD",
           paid=True, lines=(("MUG", 2, "Enamel mug"),)) -> OrderPlaced:  # fmt: skip
    return OrderPlaced(
        **_envelope("placed", order, channel=channel, minutes=minutes),
        data=OrderData(
            order_id=f"{channel}:{order}",
            platform_order_id=order,
            currency=currency,
            total=total,
            paid=paid,
            customer_email=email,
            lines=[LineItem(sku=s, quantity=q, unit_price=100, title=t) for s, q, t in lines],
        ),
    )


def customer(email: str, *, channel="shopify", minutes=0, first=None, last=None, phone=None, email_ok=None,
             sms_ok=None, stated: int | None = None, pid: str = "1") -> CustomerUpserted:  # fmt: skip
    return CustomerUpserted(
        **_envelope("customer", email, str(minutes), channel=channel, minutes=minutes),
        data=CustomerData(
            email=email,
            platform_customer_id=f"{channel}:{pid}",
            first_name=first,
            last_name=last,
            phone=phone,
            consent=Consent(email_marketing=email_ok, sms_marketing=sms_ok),
            updated_at=at(stated if stated is not None else minutes),
        ),
    )


def storefront_refund(order: str, refund: str, amount: int, *, channel="shopify", minutes=5) -> RefundIssued:
    return RefundIssued(
        **_envelope("refund", order, refund, channel=channel, minutes=minutes),
        data=RefundData(order_id=f"{channel}:{order}", refund_id=refund, amount=amount, currency="USD"),
    )


def gateway_refund(order: str, refund: str, amount: int, *, minutes=6) -> PaymentRefunded:
    return PaymentRefunded(
        **_envelope("gateway-refund", order, refund, channel="woocommerce", minutes=minutes, source="stripe"),
        data=PaymentRefundData(
            gateway="stripe", payment_id="pi_1", refund_id=f"re_{refund}", amount=amount, currency="USD",
            reference=OrderReference(order_id=order), status="succeeded",
        ),
    )  # fmt: skip


def payment(order: str, amount: int, email: str | None = None, *, minutes=1) -> PaymentSucceeded:
    return PaymentSucceeded(
        **_envelope("payment", order, channel="woocommerce", minutes=minutes, source="stripe"),
        data=PaymentData(
            gateway="stripe", payment_id=f"pi_{order}", amount=amount, currency="USD",
            reference=OrderReference(order_id=order), customer_email=email,
        ),
    )  # fmt: skip


def cancelled(order: str, *, channel="shopify", minutes=3) -> OrderCancelled:
    return OrderCancelled(
        **_envelope("cancel", order, channel=channel, minutes=minutes),
        data=OrderCancelledData(order_id=f"{channel}:{order}", reason="customer"),
    )


def storefront_paid(order: str, amount: int, *, channel="shopify", minutes=2) -> OrderPaid:
    return OrderPaid(
        **_envelope("paid", order, channel=channel, minutes=minutes),
        data=OrderPaidData(order_id=f"{channel}:{order}", amount=amount, currency="USD"),
    )


def storefront_update(order: str, *, channel="woocommerce", minutes=4, **values) -> OrderUpdated:
    return OrderUpdated(
        **_envelope("update", order, str(minutes), channel=channel, minutes=minutes),
        data=OrderStatusData(order_id=f"{channel}:{order}", platform_order_id=order, **values),
    )


def status(
    order: str, value: str, *, channel="shopify", minutes=2, previous: str | None = "on_hold"
) -> OrderStatusChanged:
    """The hub moving an order to `value`; from on hold by default, which can move to any status it
    tells a summary (paid, fulfilling, shipped, cancelled, refunded)."""
    return OrderStatusChanged(
        **_envelope("status", order, value, channel="hub", minutes=minutes, source="hub") | {"channel": channel},
        data=StatusChangeData(
            order_id=f"{channel}:{order}", previous=previous, status=value, reserved=True, cause_event_id="evt_x"
        ),
    )


def service(store: FakeCustomerStore | None = None) -> tuple[CustomerService, FakeCustomerStore]:
    store = store or FakeCustomerStore()
    return CustomerService(store, FakeOrderPrivacy(), FakePublisher(), lambda: CONFIG, exports=FakePayloads()), store


def profiles_after(events) -> dict:
    svc, store = service()
    for event in events:
        svc.handle(event)
    return {email: profile for email, (profile, _version) in store.profiles.items()}


# ------------------------------------------------------------------------------------------ examples
def test_emails_are_one_customer_whatever_their_case_and_spaces():
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert normalise_email("not an email") is None
    assert normalise_email("") is None
    assert erasure_key("ADA@example.com ", "s") == erasure_key("ada@example.com", "s")
    assert erasure_key("ada@example.com", "s") != erasure_key("ada@example.com", "t")


def test_orders_from_two_storefronts_build_one_profile():
    profiles = profiles_after(
        [
            placed("1001", "Ada@Example.com", 5000, minutes=0),
            placed("727", " ada@example.com", 2500, channel="woocommerce", minutes=60, lines=(("TOTE", 1, "Tote"),)),
            customer("ADA@example.com", first="Ada", last="Lovelace", email_ok=True, minutes=30),
        ]
    )
    assert list(profiles) == ["ada@example.com"]
    ada = profiles["ada@example.com"]
    assert ada.channels == ("shopify", "woocommerce")
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert ada.order_count == 2 and ada.order_ids == ("shopify:1001", "woocommerce:727")
    assert ada.total_spent == {"USD": 7500} and ada.average_order_value == {"USD": 3750}
    assert (ada.first_order.order_id, ada.last_order.order_id) == ("shopify:1001", "woocommerce:727")
    assert [(p.sku, p.quantity, p.title) for p in ada.products] == [("MUG", 2, "Enamel mug"), ("TOTE", 1, "Tote")]
    assert ada.tags == ("channel:shopify", "channel:woocommerce", "email-subscriber", "multichannel", "repeat-customer")
    assert ada.platform_customer_ids == {"shopify": "shopify:1"}
    assert ada.updated_at == at(60)


def test_a_refund_reported_by_storefront_and_gateway_counts_once():
    profiles = profiles_after(
        [
            placed("500", "ada@example.com", 4000, channel="woocommerce", paid=False),
            payment("500", 4000),
            storefront_refund("500", "r1", 1500, channel="woocommerce"),
            gateway_refund("500", "r1", 1500),
            storefront_update("500", refunded_total=1500),
        ]
    )
    ada = profiles["ada@example.com"]
    assert ada.refunded == {"USD": 1500} and ada.refund_count == 1
    assert ada.total_spent == {"USD": 2500}
    assert ada.average_order_value == {"USD": 4000}
    assert "refunded" in ada.tags


def test_unpaid_and_cancelled_orders_do_not_count_as_spent():
    profiles = profiles_after(
        [
            placed("1", "ada@example.com", 1000, paid=False, minutes=0),
            placed("2", "ada@example.com", 3000, paid=False, minutes=10),
            cancelled("2", minutes=11),
            placed("3", "ada@example.com", 700, paid=False, minutes=20),
            storefront_paid("3", 700, minutes=21),
            placed("4", "ada@example.com", 900, paid=False, minutes=30),
            status("4", "shipped", minutes=31),
        ]
    )
    ada = profiles["ada@example.com"]
    assert (ada.order_count, ada.cancelled_order_count) == (3, 1)
    assert ada.total_spent == {"USD": 1600}
    assert ada.last_order.order_id == "shopify:4"
    assert "shopify:2" in ada.order_ids
    assert [p.sku for p in ada.products] == ["MUG"] and ada.products[0].quantity == 6


def test_spending_is_kept_per_currency_with_its_own_exponent():
    profiles = profiles_after(
        [
            placed("1", "ada@example.com", 3333, currency="USD"),
            placed("2", "ada@example.com", 1000, currency="USD", minutes=1),
            placed("3", "ada@example.com", 12000, currency="JPY", minutes=2),
        ]
    )
    ada = profiles["ada@example.com"]
    assert ada.total_spent == {"JPY": 12000, "USD": 4333}
    assert ada.average_order_value == {"JPY": 12000, "USD": 2166}  # 2166.5 rounds half to even


def test_an_order_belongs_to_its_placement_email_and_a_payment_email_only_without_one():
    profiles = profiles_after(
        [
            placed("9", "ada@example.com", 2000, channel="woocommerce", paid=False),
            payment("9", 2000, email="grace@example.com"),
            placed("10", None, 1000, channel="woocommerce", paid=False, minutes=5),
            payment("10", 1000, email="Grace@Example.com", minutes=6),
        ]
    )
    assert profiles["ada@example.com"].order_ids == ("woocommerce:9",)
    assert profiles["ada@example.com"].total_spent == {"USD": 2000}
    assert profiles["grace@example.com"].order_ids == ("woocommerce:10",)


def test_names_take_the_latest_statement_that_says_something():
    profiles = profiles_after(
        [
            customer("ada@example.com", first="Ada", last="Byron", phone="+1 617 555 0142", minutes=0),
            customer("ada@example.com", channel="woocommerce", first="Ada", last="Lovelace", minutes=10, pid="58"),
            customer("ada@example.com", channel="magento", minutes=20, pid="7"),  # says nothing
        ]
    )
    ada = profiles["ada@example.com"]
    assert (ada.first_name, ada.last_name, ada.phone) == ("Ada", "Lovelace", "+1 617 555 0142")
    assert ada.order_count == 0 and ada.first_order is None
    assert ada.platform_customer_ids == {
        "magento": "magento:7",
        "shopify": "shopify:1",
        "woocommerce": "woocommerce:58",
    }


def test_the_stored_form_reads_back_the_same():
    profiles = profiles_after(
        [
            placed("1001", "ada@example.com", 5000),
            customer("ada@example.com", first="Ada", email_ok=True, sms_ok=False, minutes=3),
            storefront_refund("1001", "r1", 1000),
        ]
    )
    ada = profiles["ada@example.com"]
    assert profile_from_dict(profile_to_dict(ada)) == ada


def test_events_that_say_nothing_about_customers_are_ignored():
    svc, store = service()
    outcome = svc.handle(placed("1", None))
    assert outcome.emails == frozenset()
    assert store.profiles == {}
    assert svc.handle(payment("77", 100)).outcome == "recorded"


def test_status_moves_that_tell_a_summary_nothing_keep_no_fact():
    svc, store = service()
    svc.handle(placed("1", "ada@example.com", 1000, paid=True))
    before = store.get("ada@example.com")
    # Recorded paid (its placement said so), then routed, shipped and delivered: nothing new.
    for previous, value in [
        (None, "paid"),
        ("paid", "fulfilling"),
        ("fulfilling", "shipped"),
        ("shipped", "delivered"),
    ]:
        assert svc.handle(status("1", value, previous=previous, minutes=9)).outcome == "ignored"
    assert set(store.orders["shopify:1"]) == {placed("1", None).event_id}
    assert store.get("ada@example.com") == before
    # A first move into a paid status, a cancellation and a refund are kept.
    svc.handle(placed("2", "ada@example.com", 500, paid=False, minutes=1))
    assert svc.handle(status("2", "paid", previous="pending_payment", minutes=3)).outcome == "recorded"
    assert store.get("ada@example.com").total_spent == {"USD": 1500}
    assert svc.handle(status("1", "refunded", previous="delivered", minutes=9)).outcome == "recorded"
    assert store.get("ada@example.com").total_spent == {"USD": 500}


def test_a_refund_before_its_order_is_counted_once_the_order_arrives():
    profiles = profiles_after([storefront_refund("1001", "r1", 1000), placed("1001", "ada@example.com", 5000)])
    assert profiles["ada@example.com"].refunded == {"USD": 1000}
    assert profiles["ada@example.com"].total_spent == {"USD": 4000}


def test_a_concurrent_change_between_read_and_write_is_retried_not_lost():
    svc, store = service()
    svc.handle(placed("1", "ada@example.com", 1000))
    # Another worker stores its fact and profile while this one derives.
    store.before_save = lambda: service(store)[0].handle(placed("2", "ada@example.com", 2000, minutes=5))
    svc.handle(customer("ada@example.com", first="Ada", minutes=9))
    ada = store.get("ada@example.com")
    assert ada.order_count == 2 and ada.first_name == "Ada"


# ---------------------------------------------------------------------------------- under any order
def _scenario(draw) -> list:
    emails = ["ada@example.com", "grace@example.com"]
    spellings = {e: [e, e.upper(), f"  {e.title()} "] for e in emails}
    events = []
    for n in range(draw(st.integers(min_value=1, max_value=5))):
        owner = draw(st.sampled_from(emails))
        channel = draw(st.sampled_from(["shopify", "woocommerce"]))
        order = str(1000 + n)
        total = draw(st.integers(min_value=100, max_value=90000))
        paid = draw(st.booleans())
        lines = draw(st.lists(st.tuples(st.sampled_from(["MUG", "TOTE", "TEE"]), st.integers(1, 3),
                                        st.sampled_from([None, "Title"])), min_size=1, max_size=3))  # fmt: skip
        events.append(placed(order, draw(st.sampled_from(spellings[owner])), total, channel=channel,
                             minutes=draw(st.integers(0, 500)), paid=paid, lines=tuple(lines)))  # fmt: skip
        if draw(st.booleans()):
            events.append(storefront_refund(order, "r1", draw(st.integers(0, total)), channel=channel))
        if draw(st.booleans()):
            events.append(cancelled(order, channel=channel, minutes=draw(st.integers(0, 500))))
        if draw(st.booleans()):
            events.append(status(order, draw(st.sampled_from(["paid", "shipped", "refunded"])), channel=channel))
        if channel == "woocommerce" and draw(st.booleans()):
            events.append(payment(order, draw(st.integers(0, total)), email=draw(st.sampled_from([None, *emails]))))
        if channel == "woocommerce" and draw(st.booleans()):
            events.append(gateway_refund(order, "r1", draw(st.integers(0, total))))
    for n in range(draw(st.integers(min_value=0, max_value=4))):
        events.append(
            customer(
                draw(st.sampled_from(emails)),
                channel=draw(st.sampled_from(["shopify", "woocommerce"])),
                minutes=1000 + n,
                stated=draw(st.integers(0, 3)),  # ties between storefronts happen
                first=draw(st.sampled_from([None, "Ada", "Grace"])),
                email_ok=draw(st.sampled_from([None, True, False])),
                sms_ok=draw(st.sampled_from([None, True, False])),
                pid=str(n),
            )
        )
    return events


@st.composite
def deliveries(draw):
    events = _scenario(draw)
    redelivered = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    return events, draw(st.permutations(events + redelivered))


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_the_profile_is_the_same_in_any_order_and_with_duplicates(case):
    events, delivered = case
    assert profiles_after(delivered) == profiles_after(events)


@pytest.mark.parametrize("seed", range(5))
def test_a_large_history_in_random_orders_gives_one_result(seed):
    rng = random.Random(seed)
    events = [placed(str(n), "ada@example.com", 100 * (n + 1), minutes=n) for n in range(30)]
    events += [storefront_refund(str(n), "r", 50, minutes=100 + n) for n in range(0, 30, 3)]
    events += [customer("ada@example.com", first=f"Name{n}", email_ok=n % 2 == 0, minutes=200 + n) for n in range(5)]
    shuffled = events + rng.sample(events, 10)
    rng.shuffle(shuffled)
    assert profiles_after(shuffled) == profiles_after(events)


def test_the_work_for_one_event_does_not_grow_with_the_customers_history():
    svc, store = service()
    for n in range(30):
        svc.handle(placed(str(n), "ada@example.com", 100, minutes=n))
    reads: list[str] = []
    order_facts = store.order_facts
    store.order_facts = lambda order_id: reads.append(order_id) or order_facts(order_id)  # type: ignore[method-assign]
    svc.handle(storefront_refund("7", "r1", 50))
    svc.handle(customer("ada@example.com", first="Ada", minutes=99))
    assert sorted(set(reads)) == ["shopify:7"] and len(reads) <= 2
    assert store.get("ada@example.com").order_count == 30


def test_a_normal_orders_lines_are_kept_as_sent_and_thousands_are_bounded_per_sku():
    from hub.domain.customers import placed_lines

    normal = [("MUG", "Enamel Mug", 1), ("TEE", None, 2), ("MUG", "Enamel Mug, engraved", 1)]
    assert placed_lines(normal) == [
        {"sku": "MUG", "title": "Enamel Mug", "quantity": 1},
        {"sku": "TEE", "title": None, "quantity": 2},
        {"sku": "MUG", "title": "Enamel Mug, engraved", "quantity": 1},
    ]
    # 3,000 lines over 300 SKUs with long titles: one line per SKU, its first title, quantities summed.
    many = [
        (f"SKU-{n % 300:04d}", f"Waxed Canvas Weekender Bag No. {n:04d} - Natural / One Size" * 3, 2)
        for n in range(3000)
    ]
    kept = placed_lines(many)
    assert len(kept) == 300 and len(json.dumps(kept)) <= 64 * 1024
    assert kept[0] == {"sku": "SKU-0000", "title": many[0][1][:100], "quantity": 20}


# ------------------------------------------------------------------------------------------ reads and writes
class _CountingStore(FakeCustomerStore):
    """Counts what a fact costs the store: erasure mark reads, partition reads and transactions."""

    def __init__(self) -> None:
        super().__init__()
        self.mark_reads: list[list[str]] = []
        self.reads: list[str] = []
        self.writes: list[str] = []

    def erasure_marks(self, subjects):  # type: ignore[no-untyped-def]
        self.mark_reads.append(sorted(set(subjects)))
        return super().erasure_marks(subjects)

    def customer(self, email):  # type: ignore[no-untyped-def]
        self.reads.append(f"customer {email}")
        return super().customer(email)

    def order(self, order_id):  # type: ignore[no-untyped-def]
        self.reads.append(f"order {order_id}")
        return super().order(order_id)

    def save_fact(self, fact, order_version, derived, marks):  # type: ignore[no-untyped-def]
        self.writes.append(f"{fact.kind.value} with {' '.join(d.email for d in derived)}")
        return super().save_fact(fact, order_version, derived, marks)

    def save_summary(self, email, order_id, *args):  # type: ignore[no-untyped-def]
        self.writes.append(f"summary {email} {order_id}")
        return super().save_summary(email, order_id, *args)

    def save_profile(self, email, *args):  # type: ignore[no-untyped-def]
        self.writes.append(f"profile {email}")
        return super().save_profile(email, *args)


def test_a_fact_reads_its_order_and_customer_once_and_writes_everything_in_one_transaction():
    svc, store = service(_CountingStore())
    svc.handle(placed("1001", "ada@example.com"))
    svc.handle(status("1001", "fulfilling"))
    # Nobody is erased: no mark is read, the transaction checks that none exists.
    assert store.mark_reads == []
    assert store.reads == ["order shopify:1001", "customer ada@example.com"] * 2
    assert store.writes == ["placed with ada@example.com", "status with ada@example.com"]
    assert store.get("ada@example.com").order_ids == ("shopify:1001",)


def test_an_erasure_landing_after_the_reads_makes_the_derivation_read_the_marks():
    svc, store = service(_CountingStore())
    svc.handle(placed("1001", "ada@example.com"))
    key = f"customer:{erasure_key('ada@example.com', 'test-salt')}"
    store.before_save = lambda: store.mark_erased(key, datetime(2100, 1, 1, tzinfo=UTC))
    # The write derived with no mark was refused; the retry read the marks, derived nothing (every
    # fact is covered now) and went on to erase the order, which this fake does not hold.
    with pytest.raises(OrderNotRecordedError):
        svc.handle(status("1001", "fulfilling"))
    assert store.mark_reads == [[key, "shop:shopify"]]
    assert store.get("ada@example.com") is None


def test_a_mark_read_once_is_remembered_and_refuses_a_later_fact_without_a_write():
    svc, store = service(_CountingStore())
    key = f"customer:{erasure_key('ada@example.com', 'test-salt')}"
    store.mark_erased(key, at(50))
    assert svc.handle(customer("ada@example.com", first="Ada", minutes=10)).outcome == "already_erased"
    assert store.mark_reads == [[key, "shop:shopify"]] and len(store.writes) == 1  # the refused write
    assert svc.handle(customer("ada@example.com", first="Ada", minutes=20)).outcome == "already_erased"
    assert store.mark_reads == [[key, "shop:shopify"]] and len(store.writes) == 1
    # A fact after the erasure starts a new profile, written on condition the mark is still the one read.
    assert svc.handle(customer("ada@example.com", first="Ada", minutes=60)).outcome == "recorded"
    assert store.get("ada@example.com").first_name == "Ada" and len(store.mark_reads) == 1
