"""Erasure shreds: the data keys of an erased customer, their orders and an erased shop are deleted,
last, so every archived, queued or stored copy of their events reads as erased."""

from __future__ import annotations

import pytest
from hub.services.customers import CustomerService

from tests.customer_fakes import FakeCustomerStore, FakeOrderPrivacy, FakePayloads
from tests.fakes import FakeDataKeys, FakePublisher
from tests.unit.test_customer_profiles import CONFIG, customer, placed
from tests.unit.test_privacy import ADA, World, redact, shop_redact


class ShreddingWorld(World):
    def __init__(self) -> None:
        self.store = FakeCustomerStore()
        self.orders = FakeOrderPrivacy()
        self.bus = FakePublisher()
        self.exports = FakePayloads()
        self.keys = FakeDataKeys()
        self.service = CustomerService(
            self.store, self.orders, self.bus, lambda: CONFIG, exports=self.exports, data_keys=self.keys
        )


@pytest.fixture
def world() -> ShreddingWorld:
    w = ShreddingWorld()
    w.order_in_ledger("shopify:1001", "Ada@Example.com")
    w.order_in_ledger("woocommerce:727", ADA)
    for event in (
        placed("1001", "Ada@Example.com", 5000, minutes=0),
        placed("727", ADA, 2500, channel="woocommerce", minutes=10),
        customer(ADA, first="Ada", last="Lovelace", phone="+1 617 555 0142", email_ok=True, minutes=20),
    ):
        w.service.handle(event)
    for kind, value in (("customer", ADA), ("order", "shopify:1001"), ("order", "woocommerce:727")):
        w.keys.key_for(w.keys.subject_of(kind, value))
    return w


def test_a_customer_erasure_deletes_the_keys_of_the_customer_and_of_their_orders(world):
    world.service.handle(redact("ADA@example.com ", ["shopify:1001"]))
    assert set(world.keys.forgotten) == {
        world.keys.subject_of("customer", ADA),
        world.keys.subject_of("order", "shopify:1001"),
        world.keys.subject_of("order", "woocommerce:727"),
    }
    assert not world.keys.keys


def test_the_keys_go_only_after_the_erasure_is_announced(world):
    world.bus.fail_next = 1
    with pytest.raises(Exception, match="bus unavailable"):
        world.service.handle(redact(ADA))
    assert world.keys.forgotten == []  # the redelivery still reads the request whole
    world.service.handle(redact(ADA))
    assert world.keys.subject_of("customer", ADA) in world.keys.forgotten


def test_a_shop_erasure_deletes_the_shop_key_its_orders_and_customers_left_with_nothing(world):
    grace = "grace@example.com"
    world.order_in_ledger("shopify:1500", grace)
    world.service.handle(placed("1500", grace, 800, minutes=40))
    world.service.handle(shop_redact("shopify", minutes=100))
    forgotten = set(world.keys.forgotten)
    assert world.keys.subject_of("channel", "shopify") in forgotten
    assert {world.keys.subject_of("order", o) for o in ("shopify:1001", "shopify:1500")} <= forgotten
    assert world.keys.subject_of("customer", grace) in forgotten
    # Ada still has a WooCommerce order: her key, and that order's, stay.
    assert world.keys.subject_of("customer", ADA) not in forgotten
    assert world.keys.subject_of("order", "woocommerce:727") not in forgotten
