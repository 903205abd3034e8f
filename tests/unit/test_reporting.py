"""The daily report: counters that come out the same whatever order events arrive in, however often.

The property test generates orders (some re-sent, some cancelled), refunds reported by the
storefront, the gateway or both, checkouts reported on every change, and marketing messages; it
applies them shuffled, with duplicates and with concurrent writers, and compares the stored counters
with a straightforward recomputation from the scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hub.config import parse_config
from hub.domain.customers import erasure_key
from hub.domain.reporting import CustomerFacts, OrderFacts, Placement, stamp
from hub.errors import ReportConflictError
from hub.events import (
    CheckoutData,
    CheckoutStarted,
    LineItem,
    MarketingMessageData,
    MarketingMessageSent,
    OrderData,
    OrderPlaced,
    OrderReference,
    OrderStatusChanged,
    PaymentRefundData,
    PaymentRefunded,
    ProviderRef,
    RefundData,
    RefundIssued,
    RefundLine,
    StatusChangeData,
)
from hub.services.reporting import ReportingService
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reporting_fakes import FakeReportStore

BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DAY = BASE.date()
CONFIG = """
channels: {shopify: {platform: shopify}, woocommerce: {platform: woocommerce}}
gateways: {stripe: {channel: woocommerce}}
locations: [{id: wh-east, country: US}]
analytics: {attribution_window_days: %d}
"""


def config(window: int = 7):
    return parse_config(CONFIG % window)


SALT = "report-test-salt"


def service(store: FakeReportStore, window: int = 7, salt: str = SALT) -> ReportingService:
    cfg = config(window)
    return ReportingService(store, lambda: cfg, salt=lambda: salt)


def _ref() -> ProviderRef:
    return ProviderRef(topic="test")


def placed(
    order_id: str,
    at: datetime,
    *,
    total: int = 5000,
    currency: str = "USD",
    email: str | None = "ada@example.com",
    lines: tuple[tuple[str, int, int], ...] = (("MUG", 2, 2000), ("TEE", 1, 1000)),
    event_id: str | None = None,
    checkout_id: str | None = None,
) -> OrderPlaced:
    channel, platform_id = order_id.split(":", 1)
    return OrderPlaced(
        event_id=event_id or f"placed-{order_id}",
        source="shopify",
        channel=channel,
        occurred_at=at,
        provider=_ref(),
        data=OrderData(
            order_id=order_id,
            platform_order_id=platform_id,
            currency=currency,
            total=total,
            paid=True,
            customer_email=email,
            lines=[LineItem(sku=s, quantity=q, unit_price=p) for s, q, p in lines],
            checkout_id=checkout_id,
        ),
    )


def cancelled(order_id: str, at: datetime) -> OrderStatusChanged:
    return OrderStatusChanged(
        event_id=f"cancel-{order_id}",
        source="hub",
        channel=order_id.split(":", 1)[0],
        occurred_at=at,
        provider=_ref(),
        data=StatusChangeData(
            order_id=order_id, previous="paid", status="cancelled", reserved=False, cause_event_id="x"
        ),
    )


def storefront_refund(
    order_id: str,
    refund_id: str,
    amount: int,
    at: datetime,
    currency: str = "USD",
    lines: tuple[tuple[str, int], ...] = (),
) -> RefundIssued:
    return RefundIssued(
        event_id=f"sf-refund-{order_id}-{refund_id}",
        source="shopify",
        channel=order_id.split(":", 1)[0],
        occurred_at=at,
        provider=_ref(),
        data=RefundData(
            order_id=order_id,
            refund_id=refund_id,
            amount=amount,
            currency=currency,
            lines=[RefundLine(sku=sku, quantity=quantity) for sku, quantity in lines],
        ),
    )


def gateway_refund(
    order_id: str, refund_id: str, amount: int, at: datetime, currency: str = "USD", status: str = "succeeded"
) -> PaymentRefunded:
    channel, platform_id = order_id.split(":", 1)
    return PaymentRefunded(
        event_id=f"gw-refund-{order_id}-{refund_id}-{status}",
        source="stripe",
        channel=channel,
        occurred_at=at,
        provider=_ref(),
        data=PaymentRefundData(
            gateway="stripe",
            payment_id=f"pi_{platform_id}",
            refund_id=f"re_{refund_id}",
            amount=amount,
            currency=currency.lower(),
            reference=OrderReference(order_id=platform_id),
            status=status,
        ),
    )


def checkout(
    checkout_id: str, at: datetime, channel: str = "shopify", currency: str | None = "USD", completed: bool = False
) -> CheckoutStarted:
    return CheckoutStarted(
        event_id=f"checkout-{checkout_id}-{at.isoformat()}-{completed}",
        source="shopify",
        channel=channel,
        occurred_at=at,
        provider=_ref(),
        data=CheckoutData(checkout_id=checkout_id, currency=currency, completed=completed),
    )


def message(event_id: str, customer: str, at: datetime, channel: str = "shopify") -> MarketingMessageSent:
    return MarketingMessageSent(
        event_id=event_id,
        source="hub",
        channel=channel,
        occurred_at=at,
        provider=_ref(),
        data=MarketingMessageData(customer=customer, channel="email", trigger="win_back", sent_at=at),
    )


def report(store: FakeReportStore, day: date = DAY, channel: str | None = None, window: int = 7) -> dict:
    return service(store, window).daily(day, channel)


def usd(body: dict, channel: str | None = None) -> dict:
    scope = body["totals"] if channel is None else next(c for c in body["channels"] if c["channel"] == channel)
    return next(c for c in scope["currencies"] if c["currency"] == "USD")


# ----------------------------------------------------------------------------------- examples
def test_an_order_counts_once_on_its_placement_day_however_often_it_arrives():
    store = FakeReportStore()
    svc = service(store)
    first = svc.handle(placed("shopify:1", BASE))
    again = svc.handle(placed("shopify:1", BASE))
    resent = svc.handle(placed("shopify:1", BASE + timedelta(minutes=5), event_id="placed-again"))
    assert (first.outcome, again.outcome, resent.outcome) == ("applied", "duplicate", "duplicate")
    body = usd(report(store))
    assert (body["orders"], body["revenue"], body["units"]) == (1, "50.00", 3)
    assert body["top_skus"] == [
        {"sku": "MUG", "units": 2, "revenue": "40.00"},
        {"sku": "TEE", "units": 1, "revenue": "10.00"},
    ]


def test_a_cancelled_order_counts_nothing_even_when_the_cancellation_comes_first():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(cancelled("shopify:1", BASE + timedelta(hours=1)))
    svc.handle(placed("shopify:1", BASE))
    svc.handle(storefront_refund("shopify:1", "r1", 5000, BASE + timedelta(hours=2)))
    svc.handle(placed("shopify:2", BASE))
    svc.handle(cancelled("shopify:2", BASE + timedelta(days=3)))
    assert store.nonzero() == {}
    assert report(store)["channels"] == []


def test_a_late_refund_lands_in_its_own_day_and_net_revenue_follows():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(storefront_refund("shopify:1", "r1", 1500, BASE + timedelta(days=2)))  # before its order arrives
    svc.handle(placed("shopify:1", BASE))
    placement_day = usd(report(store))
    refund_day = usd(report(store, DAY + timedelta(days=2)))
    assert (placement_day["revenue"], placement_day["refunds"], placement_day["net_revenue"]) == (
        "50.00",
        "0.00",
        "50.00",
    )
    assert (refund_day["orders"], refund_day["refunds"], refund_day["net_revenue"]) == (0, "15.00", "-15.00")
    assert refund_day["average_order_value"] is None


def test_one_refund_reported_by_the_storefront_and_the_gateway_counts_once():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE))
    svc.handle(gateway_refund("shopify:1", "1", 2000, BASE + timedelta(hours=1), status="pending"))
    svc.handle(storefront_refund("shopify:1", "1", 2000, BASE + timedelta(hours=1)))
    svc.handle(gateway_refund("shopify:1", "1", 2000, BASE + timedelta(days=1)))  # the gateway settles a day later
    svc.handle(storefront_refund("shopify:1", "2", 500, BASE + timedelta(days=1)))  # a second, partial refund
    assert usd(report(store))["refunds"] == "20.00"
    assert usd(report(store, DAY + timedelta(days=1)))["refunds"] == "5.00"


def test_the_first_order_of_a_customer_is_new_whichever_arrives_first():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("woocommerce:9", BASE + timedelta(hours=2), email="ADA@example.com "))
    svc.handle(placed("shopify:1", BASE, email="ada@example.com"))
    svc.handle(placed("shopify:2", BASE + timedelta(hours=3), email="grace@example.com"))
    body = report(store)
    shop, woo = usd(body, "shopify"), usd(body, "woocommerce")
    assert (shop["new_customer_orders"], shop["returning_customer_orders"]) == (2, 0)
    assert (woo["new_customer_orders"], woo["returning_customer_orders"]) == (0, 1)
    # The first order is cancelled: the customer's next order is their first that counts.
    svc.handle(cancelled("shopify:1", BASE + timedelta(hours=4)))
    woo = usd(report(store), "woocommerce")
    assert (woo["new_customer_orders"], woo["returning_customer_orders"]) == (1, 0)


def test_orders_within_the_window_after_a_message_are_attributed_to_it():
    store = FakeReportStore()
    svc = service(store, window=2)
    sent = BASE
    svc.handle(placed("shopify:1", sent + timedelta(days=2), total=1000))  # at the window's end: attributed
    svc.handle(placed("shopify:2", sent + timedelta(days=2, seconds=1), total=2000))  # just after: not
    svc.handle(placed("shopify:3", sent - timedelta(seconds=1), total=4000))  # before the message: not
    svc.handle(placed("shopify:4", sent + timedelta(days=2), total=8000, email="grace@example.com"))  # not theirs
    svc.handle(message("m1", "Ada@Example.com", sent))
    svc.handle(message("m1", "Ada@Example.com", sent))  # redelivered
    assert report(store, window=2)["totals"]["marketing_messages_sent"] == 1
    attributed = usd(report(store, (sent + timedelta(days=2)).date(), window=2))
    assert (attributed["attributed_orders"], attributed["attributed_revenue"]) == (1, "10.00")


def test_a_message_may_name_its_customer_by_key():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(message("m1", erasure_key("ada@example.com", SALT), BASE))
    svc.handle(placed("shopify:1", BASE + timedelta(hours=1)))
    assert usd(report(store))["attributed_orders"] == 1


def test_customers_are_keyed_with_the_salt_never_by_a_bare_hash_of_their_email():
    store = FakeReportStore()
    service(store).handle(placed("shopify:1", BASE))
    service(store, salt="another-salt").handle(placed("shopify:2", BASE, email="ada@example.com"))
    customers = {key for kind, key in store.facts if kind == "customer"}
    assert customers == {erasure_key("ada@example.com", SALT), erasure_key("ada@example.com", "another-salt")}
    unsalted = hashlib.sha256(b"ada@example.com").hexdigest()
    assert unsalted not in repr(store.__dict__)


def test_a_message_named_by_an_unsalted_hash_from_an_earlier_version_is_ignored():
    # Archived MarketingMessageSent events of earlier versions carry SHA-256(email); a replay of them
    # must not write that hash back into the report, and cannot be keyed without the email.
    store = FakeReportStore()
    legacy = hashlib.sha256(b"ada@example.com").hexdigest()
    assert service(store).handle(message("m1", legacy, BASE)).outcome == "ignored"
    assert not store.facts


def test_orders_placed_before_keys_were_salted_stay_with_their_old_key():
    """What an earlier version stored (customer facts under SHA-256 of the email) keeps counting right:
    a redelivery or a cancellation of such an order moves that customer's facts, never a second copy.
    The customer's first order after the change counts as a new customer's (docs/reporting.md)."""
    store = FakeReportStore()
    legacy = hashlib.sha256(b"ada@example.com").hexdigest()
    placement = Placement("placed-shopify:1", stamp(BASE), "shopify", "USD", 5000, (("MUG", 2, 2000),), legacy)
    order = OrderFacts("shopify:1").with_placement(placement)
    customer = CustomerFacts(legacy).with_order("shopify:1", order.customer_order())
    for facts in (order, customer):
        store.save(facts, facts.contribution(), None, facts.contribution())

    svc = service(store)
    assert svc.handle(placed("shopify:1", BASE)).outcome == "duplicate"  # redelivered after the change
    svc.handle(placed("shopify:2", BASE + timedelta(days=1)))
    assert {key for kind, key in store.facts if kind == "customer"} == {legacy, erasure_key("ada@example.com", SALT)}
    assert usd(report(store, DAY + timedelta(days=1)))["new_customer_orders"] == 1

    assert usd(report(store))["new_customer_orders"] == 1
    svc.handle(cancelled("shopify:1", BASE + timedelta(hours=2)))
    assert store.nonzero().get((DAY.isoformat(), "shopify", "USD"), {}).get("new_customer_orders") is None
    assert json.loads(store.facts[("customer", legacy)][0])["orders"]["shopify:1"]["cancelled"] is True


def test_a_service_without_the_salt_refuses_to_key_customers():
    cfg = config()
    with pytest.raises(RuntimeError, match="salt"):
        ReportingService(FakeReportStore(), lambda: cfg).handle(placed("shopify:1", BASE))


def test_checkouts_count_once_on_the_day_first_seen_and_give_the_conversion_rate():
    store = FakeReportStore()
    svc = service(store)
    for index in range(3):
        svc.handle(checkout(f"shopify:c{index}", BASE + timedelta(hours=index + 1)))
    svc.handle(checkout("shopify:c0", BASE))  # an earlier report of c0, arriving late
    svc.handle(checkout("shopify:c0", BASE + timedelta(days=1)))  # and a later change
    svc.handle(placed("shopify:1", BASE + timedelta(hours=4), checkout_id="shopify:c0"))
    svc.handle(checkout("shopify:c1", BASE + timedelta(hours=5), completed=True))  # checkouts/update, completed_at
    svc.handle(placed("shopify:2", BASE, currency="EUR"))  # no checkout: a draft or POS order
    svc.handle(placed("shopify:3", BASE, checkout_id="shopify:never-reported"))  # a checkout the hub never saw
    svc.handle(placed("shopify:4", BASE + timedelta(hours=6), checkout_id="shopify:c1"))  # c1 again: once
    shop = report(store)["channels"][0]
    assert (shop["orders"], shop["checkouts_started"], shop["checkouts_completed"]) == (4, 3, 2)
    assert shop["conversion_rate"] == "0.6667"  # completed / started, not orders / started (4 / 3)
    assert report(store, DAY + timedelta(days=1))["channels"] == []

    # The last checkout completes the next day: it counts on the day it started, so the rate stays <= 1.
    svc.handle(placed("shopify:5", BASE + timedelta(days=1), checkout_id="shopify:c2"))
    assert report(store)["channels"][0]["conversion_rate"] == "1.0000"
    assert report(store, DAY + timedelta(days=1))["totals"]["conversion_rate"] is None


def test_an_order_that_arrives_before_its_checkout_completes_it_once_the_checkout_arrives():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE + timedelta(hours=1), checkout_id="shopify:c9"))
    assert report(store)["totals"]["checkouts_completed"] == 0  # not a tracked checkout (yet)
    svc.handle(checkout("shopify:c9", BASE))
    svc.handle(checkout("shopify:c9", BASE, completed=True))
    totals = report(store)["totals"]
    assert (totals["checkouts_started"], totals["checkouts_completed"], totals["conversion_rate"]) == (1, 1, "1.0000")


def test_money_is_formatted_with_each_currencys_exponent_and_averages_round_half_even():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE, total=1200, currency="JPY", lines=(("MUG", 1, 1200),)))
    svc.handle(placed("shopify:2", BASE, total=12345, currency="KWD", lines=(("MUG", 1, 12345),)))
    for index, total in enumerate((333, 333, 334, 1)):
        svc.handle(placed(f"woocommerce:{index}", BASE, total=total, lines=(("TEE", 1, total),)))
    totals = {c["currency"]: c for c in report(store)["totals"]["currencies"]}
    assert (totals["JPY"]["revenue"], totals["KWD"]["revenue"], totals["USD"]["revenue"]) == ("1200", "12.345", "10.01")
    assert totals["USD"]["average_order_value"] == "2.50"  # 1001 / 4 = 250.25 minor units
    assert [c["channel"] for c in report(store)["channels"]] == ["shopify", "woocommerce"]


def test_top_skus_are_ordered_by_units_and_limited_to_ten():
    store = FakeReportStore()
    svc = service(store)
    lines = tuple((f"SKU-{n:02d}", n, 100) for n in range(1, 13))
    svc.handle(placed("shopify:1", BASE, total=7800, lines=lines))
    top = usd(report(store))["top_skus"]
    assert [s["sku"] for s in top] == [f"SKU-{n:02d}" for n in range(12, 2, -1)]
    assert top[0] == {"sku": "SKU-12", "units": 12, "revenue": "12.00"}


def test_a_channel_filter_keeps_the_totals_to_that_channel():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE))
    svc.handle(placed("woocommerce:1", BASE, total=2000))
    body = report(store, channel="woocommerce")
    assert body["channel"] == "woocommerce"
    assert [c["channel"] for c in body["channels"]] == ["woocommerce"]
    assert usd(body)["revenue"] == "20.00"


def test_an_empty_day_has_the_same_shape():
    body = report(FakeReportStore())
    assert body == {
        "date": "2026-11-20",
        "timezone": "UTC",
        "channel": None,
        "attribution_window_days": 7,
        "channels": [],
        "totals": {
            "orders": 0,
            "units": 0,
            "checkouts_started": 0,
            "checkouts_completed": 0,
            "conversion_rate": None,
            "marketing_messages_sent": 0,
            "currencies": [],
            # Traffic is not configured here: unavailable, and saying why, never zero.
            "sessions": None,
            "users": None,
            "session_conversion_rate": None,
            "sessions_unavailable": "GA4 traffic is not configured",
            "top_sources": [],
        },
    }


def test_a_concurrent_writer_makes_the_fact_apply_again_not_twice():
    store = FakeReportStore()
    store.conflicts = 3
    service(store).handle(placed("shopify:1", BASE))
    assert usd(report(store))["orders"] == 1
    store.conflicts = 100
    with pytest.raises(ReportConflictError):
        service(store).handle(placed("shopify:2", BASE))


def test_an_order_and_its_customer_are_read_together_and_written_together():
    store = FakeReportStore()
    service(store).handle(placed("shopify:1", BASE))
    assert store.batch_loads == 1
    assert store.saved_together == [["customer", "order"]]
    assert usd(report(store))["new_customer_orders"] == 1
    # A redelivery reads both again and writes nothing.
    assert service(store).handle(placed("shopify:1", BASE)).outcome == "duplicate"
    assert (store.batch_loads, store.saved_together) == (2, [["customer", "order"]])


def test_a_customer_changed_by_another_order_meanwhile_makes_both_facts_apply_again():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE))
    load_many = store.load_many

    def another_order_lands_after_the_read(keys):
        found = load_many(keys)
        if store.batch_loads == 2:  # the first read of shopify:2: shopify:0 lands before its write
            svc.handle(placed("shopify:0", BASE - timedelta(hours=1)))
        return found

    store.load_many = another_order_lands_after_the_read
    svc.handle(placed("shopify:2", BASE + timedelta(hours=1)))
    counts = usd(report(store))
    assert counts["orders"] == 3
    # shopify:0 came first: the customer's first order; the other two are returning orders.
    assert (counts["new_customer_orders"], counts["returning_customer_orders"]) == (1, 2)


def test_a_cancellation_reads_the_customer_its_order_names():
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE))
    svc.handle(placed("shopify:2", BASE + timedelta(hours=1)))
    svc.handle(cancelled("shopify:1", BASE + timedelta(hours=2)))
    counts = usd(report(store))
    assert (counts["orders"], counts["new_customer_orders"], counts["returning_customer_orders"]) == (1, 1, 0)


def test_events_the_report_does_not_use_are_ignored():
    store = FakeReportStore()
    status = cancelled("shopify:1", BASE).model_copy(
        update={"data": cancelled("shopify:1", BASE).data.model_copy(update={"status": "paid"})}
    )
    assert service(store).handle(status).outcome == "ignored"
    assert service(store).handle(gateway_refund("shopify:1", "1", 100, BASE, status="failed")).outcome == "ignored"
    assert store.saves == 0


# ------------------------------------------------------------------------------ the property
CHANNELS = ("shopify", "woocommerce")
CURRENCIES = ("USD", "EUR", "JPY")
EMAILS = ("ada@example.com", " ADA@example.com", "grace@example.com", None)
SKUS = ("MUG", "TEE", "CAP")


@dataclass
class TrueRefund:
    refund_id: str
    amount: int
    at: datetime
    reported_by: str  # storefront | gateway | both
    gateway_delay: timedelta = timedelta(0)


@dataclass
class OrderCase:
    order_id: str
    at: datetime
    currency: str
    total: int
    lines: tuple[tuple[str, int, int], ...]
    email: str | None
    placed: bool = True
    resent: bool = False
    cancelled: bool = False
    refunds: list[TrueRefund] = field(default_factory=list)
    checkout: str | None = None  # the checkout the order completed, tracked or not


@dataclass
class Scenario:
    window: int
    orders: list[OrderCase]
    checkouts: list[tuple[str, str, list[datetime], bool]]  # id, channel, reported at, reported completed
    messages: list[tuple[str, str, str, datetime]]  # event id, email, channel, sent at


moments = st.builds(
    lambda day, minute: BASE + timedelta(days=day, minutes=minute),
    st.integers(0, 3),
    st.integers(0, 24 * 60 - 1),
)


@st.composite
def scenarios(draw) -> Scenario:
    checkouts = [
        (
            f"shopify:c{n}",
            draw(st.sampled_from(CHANNELS)),
            draw(st.lists(moments, min_size=1, max_size=3)),
            draw(st.booleans()) and draw(st.booleans()),  # a checkouts/update with completed_at, sometimes
        )
        for n in range(draw(st.integers(0, 3)))
    ]
    # An order completes one of those checkouts, a checkout the hub never saw, or none (drafts, POS).
    checkout_ids = st.sampled_from([None, "shopify:untracked", *(c[0] for c in checkouts)])
    orders = []
    for index in range(draw(st.integers(0, 6))):
        channel = draw(st.sampled_from(CHANNELS))
        lines = tuple(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(SKUS), st.integers(1, 3), st.integers(0, 5000)), min_size=1, max_size=3
                )
            )
        )
        total = draw(st.integers(1, 20000))
        case = OrderCase(
            order_id=f"{channel}:{index}",
            at=draw(moments),
            currency=draw(st.sampled_from(CURRENCIES)),
            total=total,
            lines=lines,
            email=draw(st.sampled_from(EMAILS)),
            placed=draw(st.booleans()) or draw(st.booleans()),  # mostly placed; some known only by refunds
            resent=draw(st.booleans()),
            cancelled=draw(st.booleans()) and draw(st.booleans()),
            checkout=draw(checkout_ids),
        )
        for r in range(draw(st.integers(0, 2))):
            case.refunds.append(
                TrueRefund(
                    refund_id=str(r),
                    amount=draw(st.integers(1, total)),
                    at=case.at + timedelta(days=draw(st.integers(0, 2)), minutes=draw(st.integers(1, 120))),
                    reported_by=draw(st.sampled_from(("storefront", "gateway", "both"))),
                    gateway_delay=timedelta(days=draw(st.integers(0, 1))),
                )
            )
        orders.append(case)
    messages = [
        (f"msg-{n}", draw(st.sampled_from(EMAILS[:3])), draw(st.sampled_from(CHANNELS)), draw(moments))
        for n in range(draw(st.integers(0, 3)))
    ]
    return Scenario(draw(st.integers(1, 3)), orders, checkouts, messages)


def events_of(s: Scenario) -> list:
    out: list = []
    for o in s.orders:
        if o.placed:
            out.append(
                placed(
                    o.order_id,
                    o.at,
                    total=o.total,
                    currency=o.currency,
                    email=o.email,
                    lines=o.lines,
                    checkout_id=o.checkout,
                )
            )
            if o.resent:
                later = o.at + timedelta(minutes=7)
                out.append(
                    placed(
                        o.order_id,
                        later,
                        total=o.total,
                        currency=o.currency,
                        email=o.email,
                        lines=o.lines,
                        event_id=f"again-{o.order_id}",
                        checkout_id=o.checkout,
                    )
                )
        if o.cancelled:
            out.append(cancelled(o.order_id, o.at + timedelta(hours=1)))
        for r in o.refunds:
            if r.reported_by in ("storefront", "both"):
                out.append(storefront_refund(o.order_id, r.refund_id, r.amount, r.at, o.currency))
            if r.reported_by in ("gateway", "both"):
                out.append(
                    gateway_refund(o.order_id, r.refund_id, r.amount, r.at + r.gateway_delay, o.currency, "pending")
                )
                out.append(gateway_refund(o.order_id, r.refund_id, r.amount, r.at + r.gateway_delay, o.currency))
    for checkout_id, channel, times, completed in s.checkouts:
        out.extend(checkout(checkout_id, at, channel) for at in times)
        if completed:
            out.append(checkout(checkout_id, max(times) + timedelta(minutes=30), channel, completed=True))
    out.extend(message(event_id, email, at, channel) for event_id, email, channel, at in s.messages)
    return out


def _day(at: datetime) -> str:
    return at.date().isoformat()


def expected_counters(s: Scenario) -> dict:
    """The counters recomputed directly from the scenario, by the rules in docs/reporting.md."""
    out: dict = defaultdict(Counter)
    counted = [o for o in s.orders if not o.cancelled]
    for o in counted:
        if not o.placed:
            continue
        bucket = (_day(o.at), o.order_id.split(":")[0], o.currency)
        out[bucket].update({"orders": 1, "revenue": o.total})
        for sku, quantity, price in o.lines:
            out[bucket].update(
                {"units": quantity, f"sku_units#{sku}": quantity, f"sku_revenue#{sku}": quantity * price}
            )
    for o in counted:
        reports = []
        for r in o.refunds:
            if r.reported_by in ("storefront", "both"):
                reports.append(("storefront", r.at, r.amount))
            if r.reported_by in ("gateway", "both"):
                reports.append(("gateway", r.at + r.gateway_delay, r.amount))
        if not reports:
            continue
        first, last = min(at for _o, at, _a in reports).date(), max(at for _o, at, _a in reports).date()
        previous, day = 0, first
        while day <= last:
            upto = {
                origin: sum(a for o2, at, a in reports if o2 == origin and at.date() <= day)
                for origin in ("storefront", "gateway")
            }
            now = max(upto.values())
            if now != previous:
                out[(day.isoformat(), o.order_id.split(":")[0], o.currency)]["refunds"] += now - previous
            previous, day = now, day + timedelta(days=1)
    key = lambda email: email.strip().lower()  # noqa: E731
    sent = defaultdict(list)
    for _event_id, email, channel, at in s.messages:
        sent[key(email)].append(at)
        out[(_day(at), channel, None)]["messages_sent"] += 1
    by_customer = defaultdict(list)
    for o in counted:
        if o.placed and o.email:
            by_customer[key(o.email)].append(o)
    for email, orders in by_customer.items():
        orders.sort(key=lambda o: (o.at, o.order_id))
        for index, o in enumerate(orders):
            bucket = (_day(o.at), o.order_id.split(":")[0], o.currency)
            out[bucket]["new_customer_orders" if index == 0 else "returning_customer_orders"] += 1
            if any(m <= o.at <= m + timedelta(days=s.window) for m in sent[email]):
                out[bucket].update({"attributed_orders": 1, "attributed_revenue": o.total})
    for checkout_id, channel, times, completed in s.checkouts:
        out[(_day(min(times)), channel, None)]["checkouts"] += 1
        if completed or any(o.placed and o.checkout == checkout_id for o in s.orders):
            out[(_day(min(times)), channel, None)]["checkouts_completed"] += 1
    return {b: {k: v for k, v in c.items() if v} for b, c in out.items() if any(c.values())}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), data=st.data())
def test_counters_match_a_recomputation_whatever_the_order_and_the_duplicates(scenario, data):
    events = events_of(scenario)
    repeated = data.draw(st.lists(st.sampled_from(events), max_size=len(events))) if events else []
    shuffled = data.draw(st.permutations(events + repeated))
    store = FakeReportStore()
    svc = service(store, scenario.window)
    for event in shuffled:
        store.conflicts = data.draw(st.integers(0, 2))  # another writer got in between, sometimes
        svc.handle(event)
    assert store.nonzero() == expected_counters(scenario)


def expected_conversion(s: Scenario, day: str, channel: str | None) -> tuple[int, int]:
    """(started, completed) checkouts of `day` (UTC) and `channel` (None: every channel), from the scenario."""
    started = completed = 0
    for checkout_id, at_channel, times, reported_completed in s.checkouts:
        if _day(min(times)) != day or channel not in (None, at_channel):
            continue
        started += 1
        completed += reported_completed or any(o.placed and o.checkout == checkout_id for o in s.orders)
    return started, completed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), data=st.data())
def test_the_conversion_rate_is_completed_over_started_checkouts_between_0_and_1(scenario, data):
    """Orders with and without a checkout, checkouts that complete, are abandoned or complete another
    day, delivered in any order: the report's rate matches the recomputation and never exceeds 1."""
    events = data.draw(st.permutations(events_of(scenario)))
    store = FakeReportStore()
    svc = service(store, scenario.window)
    for event in events:
        svc.handle(event)
    for offset in range(4):
        day = DAY + timedelta(days=offset)
        body = report(store, day, window=scenario.window)
        rows = [(None, body["totals"])] + [(c["channel"], c) for c in body["channels"]]
        for channel, row in rows:
            started, completed = expected_conversion(scenario, day.isoformat(), channel)
            assert (row["checkouts_started"], row["checkouts_completed"]) == (started, completed)
            if started == 0:
                assert row["conversion_rate"] is None
            else:
                rate = Decimal(row["conversion_rate"])
                assert abs(rate - Decimal(completed) / Decimal(started)) <= Decimal("0.00005")
                assert Decimal(0) <= rate <= Decimal(1)
