"""Payments against an order: what each money movement does to its status. No I/O.

Rules: a full payment makes an order `paid`; less keeps it `pending_payment` with the payment
recorded; more, or another currency, puts it `on_hold` / `amount_mismatch`. A storefront saying
"paid" is an assertion of full payment, counted once however often it is repeated and never added
to the gateways' amounts. Refunds give `partially_refunded` or `refunded`; a dispute puts the order
`on_hold` / `payment_dispute` and its resolution restores the status it had. An event that would
move an order backwards is recorded but changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.domain.orders import (
    HoldReason,
    Order,
    OrderLine,
    OrderStatus,
    PaymentRecord,
    can_transition,
)

__all__ = [
    "Decision",
    "apply_cancellation",
    "apply_dispute",
    "apply_payment",
    "apply_payment_failure",
    "apply_refund",
    "order_id_for",
    "paid_amount",
    "refunded_amount",
]

S = OrderStatus
_BEFORE_SHIPMENT = {S.PENDING_PAYMENT, S.PAID, S.FULFILLING, S.ON_HOLD}


@dataclass
class Decision:
    """What applying one fact did: a summary for the timeline, whether it changed the status, and
    the units that go back to stock because of it."""

    summary: str
    applied: bool = True
    restock: list[OrderLine] = field(default_factory=list)


def paid_amount(order: Order) -> int:
    gateway = sum(
        p.amount
        for p in order.payments
        if p.kind == "payment" and p.status == "succeeded" and not p.storefront and p.currency == order.currency
    )
    if any(p.kind == "payment" and p.storefront for p in order.payments):
        return max(gateway, order.total.minor)
    return gateway


def refunded_amount(order: Order) -> int:
    """The storefront and the gateway often both report one refund: the larger view counts."""
    by_origin = {True: 0, False: 0}
    for p in order.payments:
        if p.kind == "refund" and p.status == "completed" and p.currency == order.currency:
            by_origin[p.storefront] += p.amount
    return max(by_origin.values())


def _move(order: Order, target: OrderStatus, reason: HoldReason | None = None) -> bool:
    if order.status is target and order.hold_reason is reason:
        return False
    if not can_transition(order.status, target):
        return False
    order.move_to(target, reason)
    return True


def _unshipped(order: Order) -> list[OrderLine]:
    held: dict[str, int] = {}
    for r in order.reservations:
        if r.held > 0:
            held[r.sku] = held.get(r.sku, 0) + r.held
    return [OrderLine(sku, qty, 0) for sku, qty in held.items()]


def apply_payment(order: Order, payment: PaymentRecord) -> Decision:
    if any(
        p.kind == "payment" and p.reference == payment.reference and p.source == payment.source for p in order.payments
    ):
        return Decision(f"payment {payment.reference} was already recorded", applied=False)
    if payment.storefront and any(p.kind == "payment" and p.storefront for p in order.payments):
        return Decision("the storefront had already reported this order paid", applied=False)
    order.payments.append(payment)
    what = "the storefront reports it paid" if payment.storefront else f"{payment.source} payment {payment.reference}"
    if payment.currency != order.currency:
        moved = _hold(order, HoldReason.AMOUNT_MISMATCH)
        return Decision(f"{what} in {payment.currency}, order is in {order.currency}: on hold", applied=moved)
    paid = paid_amount(order)
    if paid > order.total.minor:
        moved = _hold(order, HoldReason.AMOUNT_MISMATCH)
        return Decision(f"{what}: {paid} received for a total of {order.total.minor}: on hold", applied=moved)
    if paid == order.total.minor:
        if order.status is S.ON_HOLD and order.hold_reason is not HoldReason.AMOUNT_MISMATCH:
            return Decision(f"{what}: paid in full (the order stays on hold: {order.hold_reason})")
        moved = _move(order, S.PAID)
        return Decision(f"{what}: paid in full", applied=moved or order.status is S.PAID)
    return Decision(f"{what}: {paid} of {order.total.minor} received")


def _hold(order: Order, reason: HoldReason) -> bool:
    if order.status is S.ON_HOLD:
        if order.hold_reason is reason:
            return False
        order.hold_reason = reason
        return True
    previous = order.status
    if _move(order, S.ON_HOLD, reason):
        order.previous_status = previous
        return True
    return False


def apply_payment_failure(order: Order, failure: PaymentRecord) -> Decision:
    order.payments.append(failure)
    return Decision(f"{failure.source} payment {failure.reference} failed", applied=False)


def apply_refund(order: Order, refund: PaymentRecord) -> Decision:
    if any(
        p.kind == "refund" and p.reference == refund.reference and p.status == refund.status for p in order.payments
    ):
        return Decision(f"refund {refund.reference} was already recorded", applied=False)
    order.payments = [p for p in order.payments if not (p.kind == "refund" and p.reference == refund.reference)]
    order.payments.append(refund)
    if refund.status != "completed":
        return Decision(f"refund {refund.reference} is {refund.status}", applied=False)
    refunded = refunded_amount(order)
    paid = paid_amount(order) or order.total.minor
    full = refunded >= paid
    before_shipment = order.status in _BEFORE_SHIPMENT or (
        order.status is S.PARTIALLY_REFUNDED
        and not any(f.status in ("shipped", "delivered") for f in order.fulfilments)
    )
    target = S.REFUNDED if full else S.PARTIALLY_REFUNDED
    moved = _move(order, target)
    restock = _unshipped(order) if (full and before_shipment and moved) else []
    return Decision(f"refund {refund.reference}: {refunded} of {paid} refunded", applied=moved, restock=restock)


def apply_dispute(order: Order, dispute: PaymentRecord) -> Decision:
    if any(
        p.kind == "dispute" and p.reference == dispute.reference and p.status == dispute.status for p in order.payments
    ):
        return Decision(f"dispute {dispute.reference} was already recorded", applied=False)
    order.payments.append(dispute)
    if dispute.status == "opened":
        moved = _hold(order, HoldReason.PAYMENT_DISPUTE)
        return Decision(f"dispute {dispute.reference} opened: on hold", applied=moved)
    if order.status is not S.ON_HOLD or order.hold_reason is not HoldReason.PAYMENT_DISPUTE:
        return Decision(f"dispute {dispute.reference} {dispute.status}", applied=False)
    if dispute.status == "lost":
        order.status, order.hold_reason = S.REFUNDED, None
        return Decision(f"dispute {dispute.reference} lost: the payment was taken back", restock=_unshipped(order))
    restored = order.previous_status or S.PAID
    order.status, order.hold_reason, order.previous_status = restored, None, None
    return Decision(f"dispute {dispute.reference} {dispute.status}: back to {restored.value}")


def apply_cancellation(order: Order, reason: str | None) -> Decision:
    moved = _move(order, S.CANCELLED)
    if not moved:
        return Decision(f"cancelled by the storefront, but the order is {order.status.value}", applied=False)
    return Decision(f"cancelled ({reason or 'no reason given'})", restock=_unshipped(order))


def order_id_for(channel: str, order_id: str | None, invoice_id: str | None, invoice_prefix: str | None) -> str | None:
    """The order a gateway's payment points at, from its reference: the storefront's order id, else
    its invoice id less the gateway's configured prefix (PayPal's `WC-` before the order number);
    None when the reference names neither."""
    if order_id:
        return f"{channel}:{order_id}"
    if invoice_id:
        number = invoice_id
        if invoice_prefix and number.startswith(invoice_prefix):
            number = number[len(invoice_prefix) :]
        return f"{channel}:{number}"
    return None
