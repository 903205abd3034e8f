import pytest
from hub.domain.orders import HoldReason, Order, OrderStatus, can_transition
from hub.errors import IllegalTransitionError
from hub.money import Money


def _order(status: OrderStatus) -> Order:
    return Order("shopify:1", "shopify", status, Money(100, "USD"), ())


def test_forward_moves_are_legal_and_backward_ones_are_not():
    assert can_transition(OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)
    assert can_transition(OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    assert not can_transition(OrderStatus.SHIPPED, OrderStatus.PAID)
    assert not can_transition(OrderStatus.DELIVERED, OrderStatus.SHIPPED)
    assert not can_transition(OrderStatus.REFUNDED, OrderStatus.PAID)


def test_every_status_has_a_rule():
    for status in OrderStatus:
        can_transition(status, OrderStatus.ON_HOLD)  # raises KeyError if a status has no rule


def test_hold_reason_is_kept_only_while_on_hold():
    order = _order(OrderStatus.PAID)
    order.move_to(OrderStatus.ON_HOLD, HoldReason.PAYMENT_DISPUTE)
    assert order.hold_reason is HoldReason.PAYMENT_DISPUTE
    order.move_to(OrderStatus.PAID)
    assert order.hold_reason is None


def test_an_illegal_move_raises_and_changes_nothing():
    order = _order(OrderStatus.SHIPPED)
    with pytest.raises(IllegalTransitionError):
        order.move_to(OrderStatus.PENDING_PAYMENT)
    assert order.status is OrderStatus.SHIPPED
