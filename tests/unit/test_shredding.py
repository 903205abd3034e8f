"""Crypto-shredding: personal fields sealed per subject, opened where events are parsed, gone with the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hub.adapters.eventbridge import EventBridgePublisher
from hub.bus import HubBusEvent
from hub.claimcheck import ClaimChecked, resolve
from hub.errors import PublishError, SealError, StoreError
from hub.events import (
    CustomerData,
    CustomerUpserted,
    LineItem,
    OrderData,
    OrderPlaced,
    ProviderRef,
    ShippingAddress,
    parse_event,
    personal_paths,
)
from hub.shredding import Sealer, is_sealed, open_value, seal_value, use_data_keys

from tests.fakes import FakeDataKeys
from tests.unit.test_claimcheck import FakeEvents, MemoryStore

EMAIL = "Ada.Lovelace@Example.com"
PHONE = "+44 20 7946 0958"
STREET = "12 St James's Square"


@pytest.fixture
def keys() -> Iterator[FakeDataKeys]:
    fake = FakeDataKeys()
    use_data_keys(fake)
    yield fake
    use_data_keys(None)


def order(email: str | None = EMAIL, lines: int = 1, order_id: str = "shopify:1001") -> OrderPlaced:
    return OrderPlaced(
        event_id="evt_1",
        source="shopify",
        channel="shopify",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        provider=ProviderRef(topic="orders/create"),
        data=OrderData(
            order_id=order_id,
            platform_order_id=order_id.split(":")[1],
            currency="USD",
            total=1000 * lines,
            paid=True,
            customer_email=email,
            shipping_country="GB",
            shipping_address=ShippingAddress(name="Ada Lovelace", street1=STREET, city="London", phone=PHONE),
            lines=[LineItem(sku=f"SKU-{i}", quantity=1, unit_price=1000, title="t" * 300) for i in range(lines)],
        ),
    )


def sealed(event, keys: FakeDataKeys) -> dict:
    return Sealer(keys, personal_paths).seal(event.model_dump(mode="json"))


def test_personal_fields_are_the_marked_ones() -> None:
    assert personal_paths("OrderPlaced") == ("data.customer_email", "data.shipping_address")
    assert personal_paths("CustomerUpserted") == ("data.email", "data.first_name", "data.last_name", "data.phone")
    assert personal_paths("StockLevelChanged") == ()


def test_sealing_leaves_no_personal_value_in_the_json_and_keeps_the_rest(keys: FakeDataKeys) -> None:
    document = sealed(order(), keys)
    text = json.dumps(document)
    for value in (EMAIL, EMAIL.lower(), PHONE, STREET, "Ada Lovelace"):
        assert value not in text
    assert is_sealed(document["data"]["customer_email"]) and is_sealed(document["data"]["shipping_address"])
    assert document["data"]["shipping_country"] == "GB" and document["data"]["total"] == 1000


def test_the_subject_is_the_customer_by_normalised_email_else_the_order_else_the_channel(keys) -> None:
    assert sealed(order(), keys)["data"]["customer_email"]["subject"] == keys.subject_of(
        "customer", "ada.lovelace@example.com"
    )
    assert sealed(order(email=None), keys)["data"]["shipping_address"]["subject"] == keys.subject_of(
        "order", "shopify:1001"
    )
    nameless = CustomerUpserted(
        event_id="evt_c",
        source="shopify",
        channel="shop-eu",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        provider=ProviderRef(topic="customers/update"),
        data=CustomerData(platform_customer_id="7", phone=PHONE),
    )
    assert sealed(nameless, keys)["data"]["phone"]["subject"] == keys.subject_of("channel", "shop-eu")


def test_an_event_with_no_personal_value_asks_for_no_key(keys: FakeDataKeys) -> None:
    document = sealed(
        order(email=None).model_copy(
            update={"data": order().data.model_copy(update={"customer_email": None, "shipping_address": None})}
        ),
        keys,
    )
    assert not keys.keys and document["data"]["customer_email"] is None


def test_parse_event_opens_what_was_sealed(keys: FakeDataKeys) -> None:
    event = parse_event(json.dumps(sealed(order(), keys)))
    assert event.data.customer_email == EMAIL
    assert event.data.shipping_address.street1 == STREET


def test_a_forgotten_subject_reads_as_erased_never_as_an_error(keys: FakeDataKeys) -> None:
    document = sealed(order(), keys)
    keys.forget(keys.subject_of("customer", "ada.lovelace@example.com"))
    event = parse_event(document)
    assert event.data.customer_email is None and event.data.shipping_address is None
    assert event.data.total == 1000 and event.data.lines[0].sku == "SKU-0"


def test_a_tampered_ciphertext_fails(keys: FakeDataKeys) -> None:
    document = sealed(order(), keys)
    ct = document["data"]["customer_email"]["ct"]
    document["data"]["customer_email"]["ct"] = ct[:-4] + ("AAAA" if not ct.endswith("AAAA") else "BBBB")
    with pytest.raises(SealError):
        parse_event(document)


def test_a_ciphertext_moved_to_another_field_fails(keys: FakeDataKeys) -> None:
    document = sealed(order(), keys)
    data = document["data"]
    data["shipping_address"] = {
        "enc": "v1",
        "subject": data["customer_email"]["subject"],
        "ct": data["customer_email"]["ct"],
    }
    with pytest.raises(SealError):
        parse_event(document)


def test_a_ciphertext_relabelled_with_another_subject_fails(keys: FakeDataKeys) -> None:
    key = keys.key_for("customer:a")
    keys.keys["customer:b"] = key  # even under the same key, the subject is bound
    value = seal_value("x@example.com", key, "customer:a", "data.customer_email")
    with pytest.raises(SealError):
        open_value({**value, "subject": "customer:b"}, key, "data.customer_email")
    assert open_value(value, key, "data.customer_email") == "x@example.com"


def test_sealed_events_without_a_key_store_fail_loudly() -> None:
    fake = FakeDataKeys()
    document = sealed(order(), fake)
    use_data_keys(None)
    import hub.shredding as shredding

    shredding._resolved, shredding._keys = True, None  # no HUB_DATA_KEY_ID in this sandbox
    try:
        with pytest.raises(SealError, match="HUB_DATA_KEY_ID"):
            parse_event(document)
    finally:
        use_data_keys(None)


def bus_event(entry: dict) -> HubBusEvent:
    return HubBusEvent.model_validate(
        {
            "version": "0",
            "id": "1",
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": "123456789012",
            "time": "2026-11-20T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": json.loads(entry["Detail"]),
        }
    )


def test_the_publisher_seals_and_every_consumer_reads_the_event_whole(keys: FakeDataKeys) -> None:
    events = FakeEvents()
    EventBridgePublisher(events, "bus", sealer=Sealer(keys, personal_paths)).publish([order()])
    (entry,) = events.entries
    assert EMAIL not in entry["Detail"] and STREET not in entry["Detail"]
    assert bus_event(entry).detail.data.customer_email == EMAIL


def test_a_claim_checked_payload_is_stored_sealed_and_resolves_whole(keys: FakeDataKeys) -> None:
    events, store = FakeEvents(), MemoryStore()
    EventBridgePublisher(events, "bus", store, Sealer(keys, personal_paths)).publish([order(lines=1200)])
    ((_, body),) = [(k, v) for k, v in store.objects.items()]
    assert EMAIL.encode() not in body and PHONE.encode() not in body and STREET.encode() not in body
    detail = bus_event(events.entries[0]).detail
    assert isinstance(detail, ClaimChecked)
    assert resolve(detail, store).data.customer_email == EMAIL
    keys.forget(keys.subject_of("customer", "ada.lovelace@example.com"))
    assert resolve(detail, store).data.customer_email is None


def test_a_key_store_failure_is_a_publish_error_so_intake_answers_503(keys: FakeDataKeys) -> None:
    class Broken(FakeDataKeys):
        def key_for(self, subject: str) -> bytes:
            raise StoreError("KMS unavailable")

    with pytest.raises(PublishError):
        EventBridgePublisher(FakeEvents(), "bus", sealer=Sealer(Broken(), personal_paths)).publish([order()])
