"""Privacy requests: a customer's (or a shop's) personal data erased everywhere the hub keeps it, the
erasure recorded without personal data, late and replayed events refused, data requests exported."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hub.domain.audiences import Audience, Membership
from hub.domain.customers import erasure_key
from hub.errors import OrderNotRecordedError
from hub.events import (
    CustomerDataRequested,
    CustomerErased,
    CustomerRedactionRequested,
    RedactionData,
    ShopRedactionRequested,
)
from hub.services.customers import CustomerService

from tests.customer_fakes import FakeCustomerStore, FakeOrderPrivacy, FakePayloads
from tests.fakes import FakePublisher
from tests.unit.test_customer_profiles import CONFIG, _envelope, customer, placed, storefront_refund

ADA = "ada@example.com"


class World:
    def __init__(self) -> None:
        self.store = FakeCustomerStore()
        self.orders = FakeOrderPrivacy()
        self.bus = FakePublisher()
        self.exports = FakePayloads()
        self.service = CustomerService(self.store, self.orders, self.bus, lambda: CONFIG, exports=self.exports)

    def order_in_ledger(self, order_id: str, email: str) -> None:
        self.orders.add_order(
            order_id,
            channel=order_id.split(":")[0],
            customer_email=email,
            shipping_country="GB",
            shipping_address={
                "name": "Ada Lovelace",
                "street1": "12 St James's Square",
                "city": "London",
                "postal_code": "SW1Y 4JH",
                "country": "GB",
                "phone": "+44 20 7946 0018",
            },
            lines=[{"sku": "MUG", "quantity": 2}],
        )
        self.orders.add_item(
            order_id,
            "EVENT#evt_pay",
            "timeline",
            event_id="evt_pay",
            type="PaymentSucceeded",
            summary="stripe payment pi_1 from Ada Lovelace <ada@example.com>: paid in full",
            emits=[json.dumps({"type": "Note", "data": {"customer_email": email, "note": "for Ada Lovelace"}})],
        )
        self.orders.add_item(
            order_id,
            "PENDING#evt_pending",
            "pending",
            event=json.dumps({"type": "PaymentSucceeded", "data": {"customer_email": email, "amount": 100}}),
        )


def redact(email: str | None, order_ids=(), *, minutes=100, shop="ada-goods.myshopify.com", request_id=None):
    return CustomerRedactionRequested(
        **_envelope("redact", email or "-", *order_ids, minutes=minutes),
        data=RedactionData(scope="customer", shop=shop, email=email, order_ids=list(order_ids), request_id=request_id),
    )


def shop_redact(channel: str = "shopify", *, minutes=100) -> ShopRedactionRequested:
    return ShopRedactionRequested(
        **_envelope("shop-redact", channel, channel=channel, minutes=minutes),
        data=RedactionData(scope="shop", shop="ada-goods.myshopify.com"),
    )


@pytest.fixture
def world() -> World:
    w = World()
    w.order_in_ledger("shopify:1001", "Ada@Example.com")
    w.order_in_ledger("woocommerce:727", "ada@example.com")
    for event in (
        placed("1001", "Ada@Example.com", 5000, minutes=0),
        placed("727", ADA, 2500, channel="woocommerce", minutes=10),
        customer(ADA, first="Ada", last="Lovelace", phone="+1 617 555 0142", email_ok=True, minutes=20),
        storefront_refund("1001", "r1", 500, minutes=30),
    ):
        w.service.handle(event)
    assert w.store.get(ADA).order_count == 2
    return w


def no_personal_data(value) -> bool:
    text = json.dumps(value, default=str).lower()
    return not any(p in text for p in ("ada@example.com", "lovelace", "james's square", "sw1y", "555 0142", "7946"))


# --------------------------------------------------------------------------------------- a customer
def test_a_customer_redaction_erases_the_profile_and_every_order_of_theirs(world):
    outcome = world.service.handle(redact("ADA@example.com ", ["shopify:1001"], request_id="req-1"))
    assert outcome.outcome == "erased" and outcome.emails == frozenset()
    assert world.store.get(ADA) is None
    assert ADA not in world.store.customers and ADA not in world.store.crm
    assert "shopify:1001" not in world.store.orders and "woocommerce:727" not in world.store.orders
    for order_id in ("shopify:1001", "woocommerce:727"):
        head = world.orders.head(order_id)
        assert "customer_email" not in head and "shipping_address" not in head
        assert head["version"] == 2 and head["shipping_country"] == "GB" and head["lines"]
        assert no_personal_data(world.orders.items[order_id]), world.orders.items[order_id]
        timeline = next(i for i in world.orders.items[order_id] if i["kind"] == "timeline")
        assert timeline["summary"] == "stripe payment pi_1 from [erased] <[erased]>: paid in full"
        assert json.loads(timeline["emits"][0])["data"] == {"note": "for [erased]"}
        pending = next(i for i in world.orders.items[order_id] if i["kind"] == "pending")
        assert json.loads(pending["event"]) == {"type": "PaymentSucceeded", "data": {"amount": 100}}


def test_the_erasure_is_recorded_and_announced_by_the_salted_key_alone(world):
    event = redact(ADA, request_id="req-1")
    world.service.handle(event)
    key = erasure_key(ADA, world.store.salt())
    record = world.store.records[(f"customer:{key}", f"ERASURE#{event.event_id}")]
    assert record["request_id"] == "req-1" and record["scope"] == "customer"
    assert record["erased_before"] == event.received_at.isoformat() and record["erased_at"]
    assert (record["profiles"], record["orders"], record["timeline_entries"], record["pending_payments"]) == (
        1,
        2,
        2,
        2,
    )
    assert no_personal_data(list(world.store.records.items()))
    (erased,) = world.bus.events
    assert isinstance(erased, CustomerErased)
    assert erased.data.erasure_key == key and erased.data.profile_erased
    assert erased.data.order_ids == ["shopify:1001", "woocommerce:727"]
    assert no_personal_data(erased.model_dump(mode="json"))


def test_a_redelivered_redaction_changes_nothing_more_and_announces_the_same_event(world):
    event = redact(ADA)
    world.service.handle(event)
    first = world.bus.events[-1]
    world.service.handle(event)
    assert world.bus.events[-1].event_id == first.event_id
    record = world.store.records[(f"customer:{erasure_key(ADA, 'test-salt')}", f"ERASURE#{event.event_id}")]
    assert record["orders"] == 2  # the second run found nothing left to erase
    assert world.orders.head("shopify:1001")["version"] == 2


def test_events_from_before_the_erasure_are_refused_when_they_come_again(world):
    world.service.handle(redact(ADA, minutes=100))
    replayed = [
        placed("727", ADA, 2500, channel="woocommerce", minutes=10),
        customer(ADA, first="Ada", last="Lovelace", minutes=20),
    ]
    assert [world.service.handle(e).outcome for e in replayed] == ["already_erased", "already_erased"]
    assert world.store.get(ADA) is None and ADA not in world.store.customers


def test_a_late_order_of_an_erased_customer_is_erased_on_arrival(world):
    world.service.handle(redact(ADA, minutes=100))
    world.order_in_ledger("shopify:1002", ADA)  # recorded by the ledger after the erasure
    assert world.service.handle(placed("1002", ADA, 900, minutes=50)).outcome == "already_erased"
    assert "customer_email" not in world.orders.head("shopify:1002")
    # Not recorded yet: the record fails and comes back once the ledger has it.
    with pytest.raises(OrderNotRecordedError):
        world.service.handle(placed("1003", ADA, 900, minutes=60))


def test_a_customer_who_comes_back_after_the_erasure_starts_a_new_profile(world):
    world.service.handle(redact(ADA, minutes=100))
    world.service.handle(placed("2001", ADA, 1200, minutes=200))
    ada = world.store.get(ADA)
    assert ada.order_ids == ("shopify:2001",) and ada.first_name is None


def test_an_erasure_between_a_derivation_and_its_write_is_not_undone(world):
    # A worker derives Ada's profile from the old facts; the erasure lands before it writes.
    world.store.before_save = lambda: world.service.handle(redact(ADA, minutes=100))
    world.service.handle(customer(ADA, first="Ada", minutes=40))
    assert world.store.get(ADA) is None
    assert ADA not in world.store.customers


def test_an_erasure_while_a_first_profile_is_derived_leaves_no_profile(world):
    # No profile exists yet, so only the erasure mark can tell the derivation it is stale.
    # The placement is kept only with the derivation's write, so the erasure finds nothing of Grace's;
    # the refused write reads the marks again and erases the order as a late one (recorded by now).
    grace = "grace@example.com"
    world.order_in_ledger("shopify:1500", grace)
    world.store.before_save = lambda: world.service.handle(redact(grace, minutes=100))
    assert world.service.handle(placed("1500", grace, 800, minutes=40)).outcome == "already_erased"
    assert world.store.get(grace) is None and grace not in world.store.customers
    assert "shopify:1500" not in world.store.orders
    assert "customer_email" not in world.orders.head("shopify:1500")


def test_a_redaction_that_names_orders_only_finds_the_customer_through_them(world):
    world.service.handle(redact(None, ["shopify:1001"]))
    assert world.store.get(ADA) is None
    assert "customer_email" not in world.orders.head("woocommerce:727")


# ------------------------------------------------------------------------------------------ a shop
def test_a_shop_redaction_erases_that_shop_and_keeps_what_other_channels_know(world):
    grace = "grace@example.com"
    world.order_in_ledger("shopify:1500", grace)
    world.service.handle(placed("1500", grace, 800, minutes=40))
    world.bus.events.clear()
    world.service.handle(shop_redact("shopify", minutes=100))

    ada = world.store.get(ADA)
    assert ada.order_ids == ("woocommerce:727",) and ada.channels == ("woocommerce",)
    assert ada.first_name is None  # the name came from the Shopify customer record
    assert world.store.get(grace) is None
    assert "customer_email" not in world.orders.head("shopify:1001")
    assert "customer_email" not in world.orders.head("shopify:1500")
    assert world.orders.head("woocommerce:727")["customer_email"] == "ada@example.com"
    announced = {e.data.erasure_key: (e.data.profile_erased, e.data.order_ids) for e in world.bus.events}
    assert announced == {
        erasure_key(ADA, "test-salt"): (False, ["shopify:1001"]),
        erasure_key(grace, "test-salt"): (True, ["shopify:1500"]),
    }
    assert world.service.handle(placed("1001", ADA, 5000, minutes=0)).outcome == "already_erased"


# ------------------------------------------------------------------------------------------ export
def test_a_data_request_is_exported_as_json_for_the_merchant(world):
    request = CustomerDataRequested(
        **_envelope("data-request", ADA, minutes=50),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email="Ada@Example.com",
                           order_ids=["shopify:1001"], request_id="9999"),
    )  # fmt: skip
    outcome = world.service.handle(request)
    key = erasure_key(ADA, "test-salt")
    assert outcome.outcome == "exported"
    assert outcome.detail["object_key"] == f"privacy/data-requests/{key}/{request.event_id}.json"
    assert ADA not in json.dumps(outcome.detail)
    document = json.loads(world.exports.objects[outcome.detail["object_key"]])
    assert document["request_id"] == "9999"
    assert document["customer"]["email"] == ADA and document["customer"]["order_count"] == 2
    assert document["customer"]["refunds"] == {"count": 1, "total": {"USD": "5.00"}}
    assert [o["order_id"] for o in document["orders"]] == ["shopify:1001", "woocommerce:727"]
    assert document["orders"][0]["shipping_address"]["city"] == "London"
    record = world.store.records[(f"customer:{key}", f"EXPORT#{request.event_id}")]
    assert record["object_key"] == outcome.detail["object_key"] and record["orders"] == 2


def test_erasing_a_customer_deletes_their_data_request_exports_and_no_one_elses(world):
    request = CustomerDataRequested(
        **_envelope("data-request", ADA, minutes=50),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA, request_id="9999"),
    )
    world.service.handle(request)
    world.exports.objects["privacy/data-requests/ck_someone_else/evt.json"] = b"{}"
    key = erasure_key(ADA, "test-salt")
    assert any(k.startswith(f"privacy/data-requests/{key}/") for k in world.exports.objects)
    outcome = world.service.handle(redact(ADA))
    assert outcome.detail["exports"] == "1"
    assert list(world.exports.objects) == ["privacy/data-requests/ck_someone_else/evt.json"]
    assert world.store.records[(f"customer:{key}", f"ERASURE#{redact(ADA).event_id}")]["exports"] == 1


class FakeMemberships:
    """AudienceMemberships: the memberships kept under each erasure key (hub.adapters.audience_store)."""

    def __init__(self, kept: dict[str, dict[Audience, Membership]]) -> None:
        self.kept = kept
        self.read: list[str] = []

    def memberships(self, erasure_key: str) -> dict[Audience, Membership]:
        self.read.append(erasure_key)
        return dict(self.kept.get(erasure_key, {}))


def test_a_data_request_export_lists_the_ad_audiences_the_customer_was_put_in():
    key = erasure_key(ADA, "test-salt")
    joined, left = datetime(2026, 11, 2, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 4, 15, tzinfo=UTC)
    audiences = FakeMemberships({
        key: {
            Audience("meta", "23850000000000001"): Membership(True, joined, "1 row received"),
            Audience("google", "7000003"): Membership(False, left, "job customers/1/offlineUserDataJobs/9"),
        },
        "ck_someone_else": {Audience("meta", "23850000000000009"): Membership(True, joined, "1 row received")},
    })  # fmt: skip
    store, exports = FakeCustomerStore(), FakePayloads()
    service = CustomerService(
        store, FakeOrderPrivacy(), FakePublisher(), lambda: CONFIG, exports=exports, audiences=audiences
    )
    service.handle(customer(ADA, email_ok=True))
    request = CustomerDataRequested(
        **_envelope("data-request", ADA, minutes=50),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA, request_id="9999"),
    )
    outcome = service.handle(request)
    document = json.loads(exports.objects[outcome.detail["object_key"]])
    assert document["ad_audiences"] == [
        {"vendor": "google", "audience_id": "7000003", "member": False, "since": "2026-11-30T04:15:00+00:00"},
        {"vendor": "meta", "audience_id": "23850000000000001", "member": True, "since": "2026-11-02T08:00:00+00:00"},
    ]
    assert audiences.read == [key] and outcome.detail["ad_audiences"] == "2"
    assert store.records[(f"customer:{key}", f"EXPORT#{request.event_id}")]["ad_audiences"] == 2
