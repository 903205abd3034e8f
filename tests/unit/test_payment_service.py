"""payment_confirmation's rules, pushed through the service with in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hub.config import parse_config
from hub.errors import UnmatchedPaymentError
from hub.events import (
    DisputeData,
    LineItem,
    OrderCancelled,
    OrderCancelledData,
    OrderData,
    OrderPaid,
    OrderPaidData,
    OrderPlaced,
    OrderReference,
    PaymentData,
    PaymentDisputed,
    PaymentFailed,
    PaymentRefundData,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderRef,
    RefundData,
    RefundIssued,
    RefundLine,
)
from hub.services.orders import Outcome
from hub.services.payments import PaymentService
from hub.services.stock import StockService

from tests.fakes import FakeLedger, FakePublisher

CONFIG = parse_config(
    "gateways: {stripe: {channel: woocommerce}, paypal: {channel: woocommerce, invoice_prefix: WC-}}\n"
    "locations: [{id: wh-east, country: US}]\n"
)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PROVIDER = ProviderRef(topic="test")


def common(event_id: str, minutes: int = 0, source: str = "stripe", channel: str = "woocommerce") -> dict:
    return {
        "event_id": event_id,
        "source": source,
        "channel": channel,
        "occurred_at": T0 + timedelta(minutes=minutes),
        "provider": PROVIDER,
    }


def placed(total=5000, currency="USD", paid=False, lines=(("MUG", 2),)):
    return OrderPlaced(
        **common("evt_placed", source="woocommerce"),
        data=OrderData(
            order_id="woocommerce:727",
            platform_order_id="727",
            currency=currency,
            total=total,
            paid=paid,
            lines=[LineItem(sku=s, quantity=q, unit_price=total // 2) for s, q in lines],
        ),
    )


def payment(event_id="evt_pay", amount=5000, currency="USD", order="727", minutes=1, payment_id="pi_1"):
    return PaymentSucceeded(
        **common(event_id, minutes),
        data=PaymentData(
            gateway="stripe",
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            reference=OrderReference(order_id=order),
        ),
    )


def refund(event_id="evt_ref", amount=5000, refund_id="re_1", minutes=2):
    return PaymentRefunded(
        **common(event_id, minutes),
        data=PaymentRefundData(
            gateway="stripe",
            payment_id="pi_1",
            refund_id=refund_id,
            amount=amount,
            currency="USD",
            reference=OrderReference(order_id="727"),
            status="completed",
        ),
    )


def dispute(status: str, event_id: str, minutes=3):
    return PaymentDisputed(
        **common(event_id, minutes),
        data=DisputeData(
            gateway="stripe", dispute_id="dp_1", payment_id="pi_1", amount=5000, currency="USD", status=status,
            reference=OrderReference(order_id="727"),
        ),
    )  # fmt: skip


@pytest.fixture
def world():
    ledger, bus = FakeLedger(), FakePublisher()
    stock = StockService(ledger, bus, lambda: CONFIG, clock=lambda: T0)
    payments = PaymentService(ledger, bus, lambda: CONFIG, clock=lambda: T0)
    stock.set_level("MUG", "wh-east", 10, "admin")
    return ledger, bus, stock, payments


def status(ledger: FakeLedger) -> str:
    return ledger.get_order("woocommerce:727").status.value


def record(stock, payments, event):
    """Place the order and deliver the follow-ons as the bus would (OrderStatusChanged -> payments)."""
    stock.place_order(event)
    recorded = [e for e in stock._publisher.events if e.type == "OrderStatusChanged" and e.data.previous is None]
    payments.handle(recorded[-1])


def test_a_full_payment_makes_the_order_paid_and_announces_it(world):
    ledger, bus, stock, payments = world
    record(stock, payments, placed())
    assert payments.handle(payment()) is Outcome.APPLIED
    assert status(ledger) == "paid"
    changed = [e for e in bus.events if e.type == "OrderStatusChanged" and e.data.previous == "pending_payment"]
    assert changed[0].data.status == "paid" and changed[0].data.reserved is True


def test_a_partial_payment_is_recorded_and_waits(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment(amount=2000))
    order = ledger.get_order("woocommerce:727")
    assert order.status.value == "pending_payment"
    assert [(p.kind, p.amount) for p in order.payments] == [("payment", 2000)]
    payments.handle(payment("evt_pay2", amount=3000, payment_id="pi_2"))
    assert status(ledger) == "paid"


@pytest.mark.parametrize(("amount", "currency"), [(6000, "USD"), (5000, "EUR")])
def test_too_much_or_another_currency_puts_the_order_on_hold(world, amount, currency):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment(amount=amount, currency=currency))
    order = ledger.get_order("woocommerce:727")
    assert (order.status.value, order.hold_reason.value) == ("on_hold", "amount_mismatch")


def test_yen_amounts_have_no_minor_digits(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed(total=1200, currency="JPY"))
    payments.handle(payment(amount=1200, currency="JPY"))
    assert status(ledger) == "paid"


def test_a_payment_before_its_order_is_kept_and_applied_when_the_order_arrives(world):
    ledger, _bus, stock, payments = world
    assert payments.handle(payment()) is Outcome.NO_ORDER
    assert ledger.pending_for("woocommerce:727")
    record(stock, payments, placed())
    assert status(ledger) == "paid"


def test_the_same_payment_twice_and_from_two_sources_counts_once(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment())
    assert payments.handle(payment()) is Outcome.DUPLICATE
    storefront = OrderPaid(
        **common("evt_wc_paid", 2, source="woocommerce"),
        data=OrderPaidData(order_id="woocommerce:727", amount=5000, currency="USD"),
    )
    payments.handle(storefront)
    order = ledger.get_order("woocommerce:727")
    assert (order.status.value, order.hold_reason) == ("paid", None)


def test_an_order_placed_paid_is_not_overpaid_by_its_gateway_payment(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed(paid=True))
    payments.handle(payment())
    assert status(ledger) == "paid"


def test_a_failed_payment_is_recorded_without_moving_the_order(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    failed = PaymentFailed(
        **common("evt_fail"),
        data=PaymentData(gateway="stripe", payment_id="pi_9", amount=5000, currency="USD",
                         reference=OrderReference(order_id="727"), failure_reason="card_declined"),
    )  # fmt: skip
    payments.handle(failed)
    order = ledger.get_order("woocommerce:727")
    assert order.status.value == "pending_payment"
    assert order.payments[0].kind == "failure"
    assert order.timeline[-1].applied is False


def test_partial_then_full_refund_and_stock_back_before_shipment(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment())
    payments.handle(refund(amount=2000, refund_id="re_1"))
    assert status(ledger) == "partially_refunded"
    assert ledger.levels[("MUG", "wh-east")].available == 8
    payments.handle(refund("evt_ref2", amount=3000, refund_id="re_2", minutes=3))
    assert status(ledger) == "refunded"
    level = ledger.levels[("MUG", "wh-east")]
    assert (level.available, level.reserved) == (10, 0)


def test_a_dispute_holds_the_order_and_its_resolution_restores_it(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment())
    payments.handle(dispute("opened", "evt_d1"))
    order = ledger.get_order("woocommerce:727")
    assert (order.status.value, order.hold_reason.value) == ("on_hold", "payment_dispute")
    payments.handle(dispute("won", "evt_d2", minutes=4))
    assert status(ledger) == "paid"


def test_a_lost_dispute_refunds_the_order(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment())
    payments.handle(dispute("opened", "evt_d1"))
    payments.handle(dispute("lost", "evt_d2", minutes=4))
    assert status(ledger) == "refunded"
    assert ledger.levels[("MUG", "wh-east")].available == 10


def test_cancellation_releases_the_reserved_units_once(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    cancel = OrderCancelled(
        **common("evt_cancel", source="woocommerce"), data=OrderCancelledData(order_id="woocommerce:727")
    )
    payments.handle(cancel)
    payments.handle(cancel)
    assert status(ledger) == "cancelled"
    assert ledger.levels[("MUG", "wh-east")].available == 10
    assert ledger.levels[("MUG", "wh-east")].reserved == 0


def test_a_late_payment_never_moves_a_cancelled_order_back(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(
        OrderCancelled(
            **common("evt_cancel", source="woocommerce"), data=OrderCancelledData(order_id="woocommerce:727")
        )
    )
    payments.handle(payment(minutes=-5))
    order = ledger.get_order("woocommerce:727")
    assert order.status.value == "cancelled"
    assert order.timeline[-1].applied is False


def test_a_storefront_refund_puts_back_the_restocked_lines(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    payments.handle(payment())
    partial = RefundIssued(
        **common("evt_wc_ref", 2, source="woocommerce"),
        data=RefundData(order_id="woocommerce:727", refund_id="88", amount=2500, currency="USD",
                        lines=[RefundLine(sku="MUG", quantity=1, restock=True)]),
    )  # fmt: skip
    payments.handle(partial)
    assert status(ledger) == "partially_refunded"
    assert ledger.levels[("MUG", "wh-east")].available == 9


def test_paypal_invoice_ids_lose_their_configured_prefix(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    paypal = PaymentSucceeded(
        **common("evt_pp"),
        data=PaymentData(gateway="paypal", payment_id="CAP-1", amount=5000, currency="USD",
                         reference=OrderReference(invoice_id="WC-727")),
    )  # fmt: skip
    payments.handle(paypal)
    assert status(ledger) == "paid"


def test_a_payment_naming_no_order_is_refused_loudly(world):
    _ledger, _bus, _stock, payments = world
    anonymous = PaymentSucceeded(
        **common("evt_anon"),
        data=PaymentData(gateway="stripe", payment_id="pi_x", amount=1, currency="USD"),
    )
    with pytest.raises(UnmatchedPaymentError, match="names no order"):
        payments.handle(anonymous)


def test_concurrent_writers_are_retried_on_the_version(world):
    ledger, _bus, stock, payments = world
    record(stock, payments, placed())
    ledger.conflicts_before_save = 2
    payments.handle(payment())
    assert status(ledger) == "paid"


def test_follow_ons_lost_to_a_failed_publish_are_sent_by_the_redelivery(world):
    _ledger, bus, stock, payments = world
    record(stock, payments, placed())
    bus.fail_next = 1
    with pytest.raises(Exception, match="bus unavailable"):
        payments.handle(payment())
    assert payments.handle(payment()) is Outcome.DUPLICATE
    assert [e.data.status for e in bus.events if e.type == "OrderStatusChanged" and e.data.previous] == ["paid"]


def test_order_id_for_reads_the_order_id_before_the_invoice_and_strips_only_its_prefix():
    """hub.domain.payments.order_id_for, the one resolution payments, reports, customers and lineage
    share: the reference's order id wins; an invoice id loses the gateway's prefix only when it
    starts with it; a reference naming neither names no order."""
    from hub.domain.payments import order_id_for

    assert order_id_for("woocommerce", "727", "WC-999", "WC-") == "woocommerce:727"
    assert order_id_for("woocommerce", None, "WC-727", "WC-") == "woocommerce:727"
    assert order_id_for("woocommerce", None, "INV-727", "WC-") == "woocommerce:INV-727"
    assert order_id_for("woocommerce", None, "727", None) == "woocommerce:727"
    assert order_id_for("woocommerce", None, None, "WC-") is None
    assert CONFIG.invoice_prefix("paypal") == "WC-" and CONFIG.invoice_prefix("stripe") is None
