"""WooCommerce, BigCommerce and Adobe Commerce end to end, through a local stack of this module's own:
its configuration points the BigCommerce channel at a small fake of the BigCommerce API served here
on 127.0.0.1, whose access token is put in the stack's secret. A catch-all rule with a queue behind
it, created in the emulator, shows what reached the bus."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from commerce_hub.local import LocalStack
from commerce_hub.signing import bigcommerce as bigcommerce_signer
from commerce_hub.signing import sign_delivery
from tests.bigcommerce_api import ACCESS_TOKEN, ORDER_ID, STORE_HASH, FakeBigCommerce
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


class BusTap:
    """A catch-all rule on the hub bus, with a queue behind it; remembers everything it has seen."""

    def __init__(self, stack: LocalStack) -> None:
        self._sqs = stack.client("sqs")
        events = stack.client("events")
        bus = next(b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default")
        self._url = self._sqs.create_queue(QueueName="e2e-storefront-tap")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="e2e-storefront-tap",
            EventBusName=bus,
            EventPattern=json.dumps({"source": [{"prefix": "commerce-hub."}]}),
        )
        events.put_targets(Rule="e2e-storefront-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            got = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return self.seen
            for message in got:
                self.seen.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])

    def with_id(self, event_id: str) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["detail"]["event_id"] == event_id]

    def wait_for(self, event_id: str) -> dict[str, Any]:
        return wait_for(lambda: self.with_id(event_id), what=f"event {event_id} on the bus")[0]

    def wait_for_match(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        return wait_for(lambda: [e for e in self.drain() if match(e)], what=what)[0]


@pytest.fixture(scope="module")
def bigcommerce() -> FakeBigCommerce:
    return FakeBigCommerce()


@pytest.fixture(scope="module")
def storefront_stack(bigcommerce, tmp_path_factory) -> Iterator[LocalStack]:
    with bigcommerce.serve() as api_url:
        config = tmp_path_factory.mktemp("config") / "storefronts.yaml"
        config.write_text(_config_with_bigcommerce(api_url))
        env = _environment(HUB_CONFIG=str(config))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env) as running:
            # The access token the hub reads BigCommerce with: a key of the same secret, as in AWS.
            running.put_secrets({**running.secrets, "BIGCOMMERCE_ACCESS_TOKEN": ACCESS_TOKEN})
            yield running


def _config_with_bigcommerce(api_url: str) -> str:
    import yaml

    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document.setdefault("channels", {})["bigcommerce"] = {
        "platform": "bigcommerce",
        "store_hash": STORE_HASH,
        "api_url": api_url,
    }
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture(scope="module")
def tap(storefront_stack) -> BusTap:
    return BusTap(storefront_stack)


@pytest.fixture
def http(storefront_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=storefront_stack.url, timeout=30) as client:
        yield client


def post(http: httpx.Client, stack: LocalStack, source: str, body: bytes, *, topic=None, delivery_id=None, **sign):
    secrets = {**stack.secrets, **sign.pop("secrets", {})}
    delivery = sign_delivery(source, body, topic=topic, secrets=secrets, delivery_id=delivery_id or str(uuid.uuid4()))
    return http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)


def set_level(http: httpx.Client, sku: str, available: int) -> None:
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": available}, headers=AUTH)
    assert response.status_code == 200, response.text


def read_order(http: httpx.Client, order_id: str) -> dict | None:
    response = http.get(f"/orders/{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def unique() -> int:
    return int(time.time() * 1000) % 10**9


# -------------------------------------------------------------------------------- WooCommerce
def woo_order(order_id: int, sku: str) -> bytes:
    body = payload("woocommerce_order_created")
    body["id"] = order_id
    body["number"] = str(order_id)
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=2, price=24, total="48.00")]
    body["total"] = "55.79"
    return json.dumps(body).encode()


def test_a_woocommerce_order_reaches_the_bus_once_and_is_readable(storefront_stack, http, tap):
    order_id, sku = unique(), f"TOTE-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 5)
    body = woo_order(order_id, sku)
    first = post(http, storefront_stack, "woocommerce", body, topic="order.created", delivery_id="woo-1")
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    placed_id, paid_id = first.json()["event_ids"]
    placed = tap.wait_for(placed_id)
    assert placed["detail-type"] == "OrderPlaced" and placed["source"] == "commerce-hub.woocommerce"
    assert tap.wait_for(paid_id)["detail-type"] == "OrderPaid"

    order = wait_for(lambda: read_order(http, f"woocommerce:{order_id}"), what="the WooCommerce order")
    assert (order["status"], order["total"], order["channel"]) == ("paid", "55.79", "woocommerce")
    assert order["lines"] == [{"sku": sku, "quantity": 2}]

    again = post(http, storefront_stack, "woocommerce", body, topic="order.created", delivery_id="woo-2")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert len(tap.with_id(placed_id)) == 1 and len(tap.with_id(paid_id)) == 1


def rest_reference_order(order_id: int, product_id: int, sku: str) -> bytes:
    """WooCommerce's own "Retrieve an order" example (tests/vendor_samples/README.md): line 315 has
    "sku": "" and 2 units, line 316 is a variation with a SKU and 1 unit. Ids and the SKU are made
    unique to this run."""
    body = json.loads((ROOT / "tests" / "vendor_samples" / "woocommerce_rest_order_727.json").read_text())
    body["id"], body["number"] = order_id, str(order_id)
    body["line_items"][0]["product_id"] = product_id
    body["line_items"][1]["sku"] = sku
    return json.dumps(body).encode()


def test_a_woocommerce_line_without_a_sku_is_recorded_and_reserved_under_its_product_key(storefront_stack, http):
    order_id, product_id, sku = unique(), unique(), f"BAR3-{uuid.uuid4().hex[:6].upper()}"
    key = f"woocommerce:product:{product_id}:variation:0"
    set_level(http, sku, 5)
    set_level(http, key, 4)  # stock kept under the line's documented name
    body = rest_reference_order(order_id, product_id, sku)
    response = post(http, storefront_stack, "woocommerce", body, topic="order.created")
    assert (response.status_code, response.json()["status"]) == (200, "accepted"), response.text

    order = wait_for(lambda: read_order(http, f"woocommerce:{order_id}"), what="the WooCommerce order")
    assert order["lines"] == [{"sku": key, "quantity": 2}, {"sku": sku, "quantity": 1}]
    assert sum(line["quantity"] for line in order["lines"]) == 3
    assert order["status"] in ("paid", "fulfilling")
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["reserved"] == 1
    assert http.get(f"/inventory/{key}", headers=AUTH).json()["reserved"] == 2


def test_a_woocommerce_line_without_a_sku_or_stock_is_an_unknown_item_and_shown(storefront_stack, http):
    order_id, product_id, sku = unique(), unique(), f"BAR3-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 5)
    body = rest_reference_order(order_id, product_id, sku)
    response = post(http, storefront_stack, "woocommerce", body, topic="order.created")
    assert response.status_code == 200, response.text

    order = wait_for(lambda: read_order(http, f"woocommerce:{order_id}"), what="the WooCommerce order")
    key = f"woocommerce:product:{product_id}:variation:0"
    assert order["lines"] == [{"sku": key, "quantity": 2}, {"sku": sku, "quantity": 1}]
    # As for any SKU the ledger does not hold: on hold for stock, holding nothing (whole or not at all).
    assert (order["status"], order["hold_reason"]) == ("on_hold", "insufficient_stock")
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["reserved"] == 0


def test_the_woocommerce_ping_gets_200(storefront_stack, http, tap):
    response = http.post(
        "/webhooks/woocommerce", content=b"webhook_id=14", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


# ------------------------------------------------------------------------------ Adobe Commerce
def adobe_order(entity_id: int, sku: str) -> bytes:
    document = payload("magento_sales_order_place_after")
    document["event_id"] = str(uuid.uuid4())
    document["id"] = str(uuid.uuid4())
    value = document["data"]["value"]
    value.update(entity_id=str(entity_id), increment_id=f"{entity_id:09d}", grand_total="57.1200")
    value["items"] = [dict(value["items"][2], sku=sku, qty_ordered="2.0000", price="24.0000")]
    return json.dumps(document).encode()


def test_an_adobe_commerce_order_reaches_the_bus_once_and_is_readable(storefront_stack, http, tap):
    entity_id, sku = unique(), f"CANDLE-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 5)
    body = adobe_order(entity_id, sku)
    first = post(http, storefront_stack, "magento", body)
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    (placed_id,) = first.json()["event_ids"]
    assert tap.wait_for(placed_id)["detail"]["data"]["order_id"] == f"magento:{entity_id}"

    order = wait_for(lambda: read_order(http, f"magento:{entity_id}"), what="the Adobe Commerce order")
    # Paid and reserved, so order_routing may already have moved it on to fulfilment.
    assert order["status"] in ("paid", "fulfilling")
    assert (order["total"], order["currency"]) == ("57.12", "EUR")

    # Adobe retries with the same event_id: published once.
    again = post(http, storefront_stack, "magento", body)
    assert again.json()["status"] == "duplicate"
    assert len(tap.with_id(placed_id)) == 1


def test_the_adobe_registration_challenge_is_answered(http):
    response = http.get("/webhooks/magento", params={"challenge": "5c1e9a0b-7d24-4f3e-b8a6-0e2d4c6f8a13"})
    assert response.status_code == 200
    assert response.json() == {"challenge": "5c1e9a0b-7d24-4f3e-b8a6-0e2d4c6f8a13"}
    assert http.get("/webhooks/shopify", params={"challenge": "x"}).status_code == 405


# -------------------------------------------------------------------------------- BigCommerce
def bc_delivery(scope: str = "store/order/created", **data: Any) -> bytes:
    document = payload("bigcommerce_store_order_created")
    document.update(scope=scope, hash=uuid.uuid4().hex + "00000000", created_at=int(time.time()))
    document["data"] = {"type": "order", "id": ORDER_ID, **data}
    return json.dumps(document).encode()


def test_a_bigcommerce_order_is_read_from_the_api_and_reaches_the_bus_once(storefront_stack, http, tap, bigcommerce):
    body = bc_delivery()
    first = post(http, storefront_stack, "bigcommerce", body, delivery_id="msg_e2e_created")
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    (placed_id,) = first.json()["event_ids"]
    placed = tap.wait_for(placed_id)
    assert placed["detail-type"] == "OrderPlaced"
    assert placed["detail"]["data"]["order_id"] == f"bigcommerce:{ORDER_ID}"
    assert placed["detail"]["data"]["total"] == 10160
    assert any(path.endswith(f"/v2/orders/{ORDER_ID}") for path in bigcommerce.requests)
    wait_for(lambda: read_order(http, f"bigcommerce:{ORDER_ID}"), what="the BigCommerce order")

    again = post(http, storefront_stack, "bigcommerce", body, delivery_id="msg_e2e_created")
    assert again.json()["status"] == "duplicate"
    assert len(tap.with_id(placed_id)) == 1


def test_a_bigcommerce_fetch_that_fails_is_completed_later_by_resource_fetch(storefront_stack, http, tap, bigcommerce):
    # The intake's read fails, then resource_fetch's first two, then BigCommerce answers.
    bigcommerce.fail_next = 3
    body = bc_delivery("store/order/statusUpdated", status={"previous_status_id": 11, "new_status_id": 2})
    response = post(http, storefront_stack, "bigcommerce", body)
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
    (requested_id,) = response.json()["event_ids"]
    requested = tap.wait_for(requested_id)
    assert requested["detail-type"] == "ResourceFetchRequested"

    # An update's id depends on the state the read returns, so the later event is found by its message.
    assert requested["detail"]["data"]["canonical_event_id"] is None
    updated = tap.wait_for_match(
        lambda e: e["detail-type"] == "OrderUpdated" and e["detail"]["provider"] == requested["detail"]["provider"],
        what="the OrderUpdated resource_fetch publishes",
    )
    assert updated["detail"]["data"]["order_id"] == f"bigcommerce:{ORDER_ID}"
    assert updated["detail"]["provider"] == requested["detail"]["provider"]
    assert bigcommerce.fail_next == 0


def test_every_bigcommerce_update_of_an_order_is_applied_and_a_retry_is_a_duplicate(
    storefront_stack, http, tap, bigcommerce
):
    """store/order/statusUpdated twice for one order: the same `hash` (BigCommerce's SHA-1 of `data`,
    which names only the order and its status ids), new webhook-ids. Both are accepted and applied; a
    retry of the second message (same webhook-id) is a duplicate."""
    order_id, tag = unique(), uuid.uuid4().hex[:6].upper()
    bigcommerce.add_order(order_id, status_id=7, status="Awaiting Payment")
    products = bigcommerce.documents[f"/stores/{STORE_HASH}/v2/orders/{order_id}/products"]
    for item in products:
        item["sku"] = f"{item['sku']}-{tag}"
        set_level(http, item["sku"], 10)
    order_key = f"bigcommerce:{order_id}"

    created = bc_delivery()
    document = json.loads(created)
    document["data"]["id"] = order_id
    placed = post(http, storefront_stack, "bigcommerce", json.dumps(document).encode(), delivery_id=f"msg_{tag}_0")
    assert placed.json()["status"] == "accepted", placed.text
    wait_for(lambda: (read_order(http, order_key) or {}).get("status") == "pending_payment", what="the order")

    status_updated = bc_delivery("store/order/statusUpdated", status={"previous_status_id": 7, "new_status_id": 11})
    document = json.loads(status_updated)
    document["data"]["id"] = order_id
    body = json.dumps(document).encode()

    bigcommerce.order(order_id).update(
        status_id=11, status="Awaiting Fulfillment", date_modified="Sat, 21 Nov 2026 09:02:47 +0000"
    )
    first = post(http, storefront_stack, "bigcommerce", body, delivery_id=f"msg_{tag}_1")
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    # Each update is the order update and a placement of the order (an update may come before `created`).
    paid_id, first_placement = first.json()["event_ids"]
    wait_for(lambda: (read_order(http, order_key) or {}).get("status") in ("paid", "fulfilling"), what="paid")

    bigcommerce.order(order_id).update(status_id=5, status="Cancelled", date_modified="Sat, 21 Nov 2026 09:30:02 +0000")
    second = post(http, storefront_stack, "bigcommerce", body, delivery_id=f"msg_{tag}_2")
    assert second.status_code == 200 and second.json()["status"] == "accepted", second.text
    cancelled_id, second_placement = second.json()["event_ids"]
    assert cancelled_id != paid_id and second_placement != first_placement

    def settled():
        o = read_order(http, order_key)
        if not o or o["status"] != "cancelled":
            return None
        on_timeline = {e["event_id"] for e in o["timeline"]}
        return o if {paid_id, first_placement, cancelled_id, second_placement} <= on_timeline else None

    order = wait_for(settled, what="the cancellation, with every event of both updates on the timeline")
    applied = {e["event_id"]: e["applied"] for e in order["timeline"]}
    # Both updates applied (paid, then cancelled); the order was recorded from store/order/created
    # before them, so the placements they carry changed nothing.
    assert applied[paid_id] is True and applied[cancelled_id] is True
    assert applied[first_placement] is False and applied[second_placement] is False

    retry = post(http, storefront_stack, "bigcommerce", body, delivery_id=f"msg_{tag}_2")
    assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
    assert len(tap.with_id(cancelled_id)) == 1 and len(tap.with_id(paid_id)) == 1


# ----------------------------------------------------------------------------------- refusals
def _tampered(source: str, body: bytes, stack: LocalStack, **kw) -> tuple[bytes, dict]:
    delivery = sign_delivery(source, body, secrets=stack.secrets, delivery_id="tampered", **kw)
    return delivery.body.replace(b'"id"', b'"id" ', 1), delivery.headers


def _wrong_secret(source: str, body: bytes, **kw) -> tuple[bytes, dict]:
    secrets = {"WOOCOMMERCE_WEBHOOK_SECRET": "not-the-secret", "BIGCOMMERCE_CLIENT_SECRET": "not-the-secret"}
    delivery = sign_delivery(source, body, secrets=secrets, delivery_id="wrong", **kw)
    return delivery.body, delivery.headers


def _stale(body: bytes, stack: LocalStack) -> tuple[bytes, dict]:
    delivery = bigcommerce_signer.sign(
        body, topic=None, secrets=stack.secrets, delivery_id="stale", timestamp=int(time.time()) - 600
    )
    return delivery.body, delivery.headers


def _other_adobe_key(body: bytes) -> tuple[bytes, dict]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    delivery = sign_delivery(
        "magento", body, topic=None, secrets={"ADOBE_IO_PRIVATE_KEY": pem.decode()}, delivery_id="x"
    )
    return delivery.body, delivery.headers


def _for_recipient(body: bytes, stack: LocalStack, recipient: str | None) -> tuple[bytes, dict]:
    """An Adobe event signed with the trusted key, for another integration (or for no one)."""
    document = json.loads(body)
    if recipient is None:
        document.pop("recipient_client_id")
    else:
        document["recipient_client_id"] = recipient
    delivery = sign_delivery(
        "magento", json.dumps(document).encode(), topic=None, secrets=stack.secrets, delivery_id="r"
    )
    return delivery.body, delivery.headers


# A SKU no other test uses, so nothing on the bus can be mistaken for a refused delivery's.
REFUSED_SKU = f"REFUSED-{uuid.uuid4().hex[:8]}"

REFUSALS: dict[str, tuple[str, Callable[[LocalStack], tuple[bytes, dict]], str]] = {
    "woocommerce-tampered": (
        "woocommerce",
        lambda s: _tampered("woocommerce", woo_order(1, REFUSED_SKU), s, topic="order.created"),
        "does not match",
    ),
    "woocommerce-wrong-secret": (
        "woocommerce",
        lambda s: _wrong_secret("woocommerce", woo_order(1, REFUSED_SKU), topic="order.created"),
        "does not match",
    ),
    "bigcommerce-tampered": (
        "bigcommerce",
        lambda s: _tampered("bigcommerce", bc_delivery(), s, topic=None),
        "does not match",
    ),
    "bigcommerce-wrong-secret": (
        "bigcommerce",
        lambda s: _wrong_secret("bigcommerce", bc_delivery(), topic=None),
        "does not match",
    ),
    "bigcommerce-stale": ("bigcommerce", lambda s: _stale(bc_delivery(), s), "more than 5 minutes old"),
    "magento-tampered": (
        "magento",
        lambda s: _tampered("magento", adobe_order(1, REFUSED_SKU), s, topic=None),
        "neither",
    ),
    "magento-other-key": ("magento", lambda s: _other_adobe_key(adobe_order(1, REFUSED_SKU)), "neither"),
    "magento-other-recipient": (
        "magento",
        lambda s: _for_recipient(adobe_order(1, REFUSED_SKU), s, "5e1a2b3c4d5e6f708192a3b4c5d6e7f8"),
        "recipient_client_id is not this hub's Adobe I/O client id",
    ),
    "magento-no-recipient": (
        "magento",
        lambda s: _for_recipient(adobe_order(1, REFUSED_SKU), s, None),
        "no recipient_client_id",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_are_401_json_errors(storefront_stack, http, tap, case):
    source, make, message = REFUSALS[case]
    body, headers = make(storefront_stack)
    seen = len(tap.drain())
    response = http.post(f"/webhooks/{source}", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["error"]
    for secret in ("WOOCOMMERCE_WEBHOOK_SECRET", "BIGCOMMERCE_CLIENT_SECRET"):
        assert storefront_stack.secrets[secret] not in response.text
    # Events of earlier tests may still be arriving: what must not appear is anything of this one,
    # named by its SKU (WooCommerce, Adobe) or its payload hash (BigCommerce: the event id).
    markers = [REFUSED_SKU, json.loads(body).get("hash") or REFUSED_SKU]
    late = [json.dumps(e) for e in tap.drain()[seen:]]
    assert not [e for e in late if any(m in e for m in markers)]
