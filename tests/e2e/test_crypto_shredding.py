"""Erasure reaches every copy, through a local stack of this module's own: a customer's orders (one of
them large enough to travel by claim check through S3), then a Shopify customers/redact; afterwards
the EventBridge archive is replayed (StartReplay against the emulator) and every object in the
payload bucket is read: the email, phone and street come back nowhere, and the replay changes nothing.

Payloads: events/payloads/shopify_orders_create.json and shopify_customers_redact.json, shaped after
the orders/create and customers/redact examples of Shopify's webhook reference (shopify.dev).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from commerce_hub.local import LocalStack
from commerce_hub.signing.shopify import DEFAULT_SHOP
from tests.e2e.test_storefront_intake import BusTap, payload, post, read_order
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shred_stack() -> Iterator[LocalStack]:
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment()) as running:
        yield running


@pytest.fixture
def http(shred_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shred_stack.url, timeout=30) as client:
        yield client


def order_body(order_id: int, customer_id: int, email: str, phone: str, street: str, lines: int = 1) -> bytes:
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, phone=phone)
    body["customer"] = dict(body["customer"], email=email, id=customer_id, phone=phone)
    body["shipping_address"] = dict(body["shipping_address"], address1=street, phone=phone)
    if lines > 1:  # a wholesale order whose event is over EventBridge's 256 KB: it travels through S3
        first = body["line_items"][0]
        body["line_items"] = [
            dict(first, id=order_id * 10_000 + i, sku=f"BULK-{i}", title=f"Bulk item {i} " + "x" * 180, quantity=1)
            for i in range(lines)
        ]
        body["total_price"] = body["subtotal_price"] = f"{18 * lines}.00"
    return json.dumps(body).encode()


def queues_idle(stack: LocalStack) -> bool:
    sqs = stack.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    for url in sqs.list_queues(QueueNamePrefix="commerce-hub-")["QueueUrls"]:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if "-dlq-" not in url and any(int(attributes[n]) for n in names):
            return False
    return True


def test_an_erased_customer_comes_back_from_no_archive_replay_and_no_stored_payload(shred_stack, http):
    tag = uuid.uuid4().hex[:8]
    email, phone, street = f"grace.hopper.{tag}@example.com", "+1 617 555 " + tag[:4], f"{tag} Harvard Yard"
    personal = [email.encode(), email.upper().encode(), phone.encode(), street.encode()]
    base = int(time.time() * 1000) % 10**12
    small, large, customer_id = base, base + 1, base + 2
    # A replay window is matched against each event's own time, which the hub sets to when the
    # change happened at the store (the sample's created_at), not to when the webhook came.
    started = datetime.fromisoformat(payload("shopify_orders_create")["created_at"]) - timedelta(minutes=1)

    for order_id, lines in ((small, 1), (large, 1200)):
        body = order_body(order_id, customer_id, email.upper(), phone, street, lines)
        response = post(http, shred_stack, "shopify", body, topic="orders/create")
        assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
    for order_id in (small, large):
        recorded = wait_for(lambda o=order_id: read_order(http, f"shopify:{o}"), what=f"order {order_id}")
        assert recorded["customer_email"].lower() == email
    s3 = shred_stack.client("s3")
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if "payload" in b["Name"]]

    def objects() -> dict[str, bytes]:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}

    stored = objects()
    assert any(f"shopify:{large}".encode() in body for body in stored.values()), "the large order is not in S3"
    for key, body in stored.items():  # sealed from the start
        assert not [p for p in personal if p in body], key

    redaction = payload("shopify_customers_redact")
    redaction["customer"] = {"id": customer_id, "email": email, "phone": phone}
    redaction["orders_to_redact"] = [small]
    redaction["shop_domain"] = DEFAULT_SHOP  # a privacy request names the shop it is delivered as
    response = post(http, shred_stack, "shopify", json.dumps(redaction).encode(), topic="customers/redact")
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
    wait_for(lambda: (read_order(http, f"shopify:{large}") or {}).get("customer_email", "") is None, what="erasure")
    wait_for(lambda: queues_idle(shred_stack), what="every queue to drain")
    before = {o: read_order(http, f"shopify:{o}") for o in (small, large)}

    # Replay the archive window into the bus, with a tap to read what comes back, byte for byte.
    tap = BusTap(shred_stack)
    events = shred_stack.client("events")
    (archive,) = events.list_archives()["Archives"]
    arn = events.describe_archive(ArchiveName=archive["ArchiveName"])["ArchiveArn"]
    bus_arn = events.describe_event_bus(Name=archive["EventSourceArn"].rsplit("/", 1)[-1])["Arn"]
    events.start_replay(
        ReplayName=f"shred-{tag}",
        EventSourceArn=arn,
        EventStartTime=started,
        EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
        Destination={"Arn": bus_arn},
    )
    wait_for(lambda: events.describe_replay(ReplayName=f"shred-{tag}")["State"] == "COMPLETED", what="the replay")
    replayed = wait_for(
        lambda: [e for e in tap.drain() if e["detail"].get("data", {}).get("order_id") == f"shopify:{small}"] or None,
        what="the replayed order",
    )
    assert replayed and tap.seen
    raw = json.dumps(tap.seen).encode()
    assert not [p for p in personal if p in raw]
    assert not [p for p in personal if p in b"".join(objects().values())]

    wait_for(lambda: queues_idle(shred_stack), what="the replay to be handled")
    after = {o: read_order(http, f"shopify:{o}") for o in (small, large)}
    assert after == before
    assert http.get(f"/customers/{email}", headers=AUTH).status_code == 404
    sqs = shred_stack.client("sqs")
    for url in sqs.list_queues(QueueNamePrefix="commerce-hub-")["QueueUrls"]:
        if "-dlq-" in url:
            depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0", url
