"""Customers end to end, through a local stack of this module's own whose configuration sends profiles
to HubSpot, played by a small fake served here on 127.0.0.1 (its token is put in the stack's secret):
one customer's orders on two storefronts build one profile and one contact; a Shopify customers/redact
erases the profile and the email on every order of theirs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.signing.shopify import DEFAULT_SHOP
from tests.e2e.test_storefront_intake import payload, post, read_order, woo_order
from tests.e2e.waiting import wait_for
from tests.loopback import Request, serving_json

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

HUBSPOT_TOKEN = "pat-local-e2e-token"


class FakeHubSpot:
    """Answers like HubSpot: the contacts batch upsert (200, every input upserted, one id per email,
    kept across calls) and the GDPR delete by contact id (204; 404 for an id it does not hold; 400
    without an objectId, as HubSpot refuses it; developers.hubspot.com, CRM contacts v3 "GDPR delete").
    Keeps every call and the contacts it holds."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.held: dict[str, str] = {}  # email -> contact id

    def answer(self, request: Request) -> tuple[int, Any]:
        body = request.json()
        self.calls.append({"path": request.target, "authorization": request.headers.get("Authorization"), "body": body})
        if request.target == "/crm/v3/objects/contacts/gdpr-delete":
            contact_id = body.get("objectId")
            if not contact_id:
                return 400, {"status": "error", "category": "VALIDATION_ERROR"}
            email = next((e for e, i in self.held.items() if i == contact_id), None)
            if email is None:
                return 404, {"status": "error", "category": "OBJECT_NOT_FOUND"}
            del self.held[email]
            return 204, None
        if request.target != "/crm/objects/2026-03/contacts/batch/upsert":
            # The date-versioned path (developers.hubspot.com, api-reference/2026-03, "Upsert contacts").
            return 404, {"status": "error", "category": "OBJECT_NOT_FOUND"}
        results = []
        for item in body["inputs"]:
            contact_id = self.held.setdefault(item["id"], str(9000 + len(self.calls) * 100 + len(results)))
            results.append({"id": contact_id, "properties": {**item["properties"], "email": item["id"]}})
        return 200, {"status": "COMPLETE", "results": results}

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url

    def contacts(self, email: str) -> list[dict[str, Any]]:
        return [i for c in self.calls for i in c["body"].get("inputs", []) if i["id"] == email]


@pytest.fixture(scope="module")
def hubspot() -> FakeHubSpot:
    return FakeHubSpot()


@pytest.fixture(scope="module")
def customer_stack(hubspot, tmp_path_factory) -> Iterator[LocalStack]:
    with hubspot.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["crm"] = {"provider": "hubspot", "api_url": api_url}
        config = tmp_path_factory.mktemp("config") / "customers.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets({**running.secrets, "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN})
            yield running


@pytest.fixture
def http(customer_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=customer_stack.url, timeout=30) as client:
        yield client


def read_customer(http: httpx.Client, email: str) -> tuple[int, dict]:
    response = http.get(f"/customers/{quote(email, safe='')}", headers=AUTH)
    return response.status_code, response.json()


def crm_queue_depth(stack: LocalStack) -> int:
    """Messages on crm_upsert's queue, waiting or being handled (the bus puts them there before intake answers)."""
    sqs = stack.client("sqs")
    (url,) = [u for u in sqs.list_queues(QueueNamePrefix="commerce-hub-crm-")["QueueUrls"] if "-dlq-" not in u]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def shopify_order(order_id: int, email: str) -> bytes:
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email)
    body["customer"] = dict(body["customer"], email=email, id=order_id + 1)
    return json.dumps(body).encode()


def woocommerce_order(order_id: int, email: str) -> bytes:
    body = json.loads(woo_order(order_id, f"TOTE-{uuid.uuid4().hex[:6].upper()}"))
    body["billing"] = dict(body["billing"], email=email)
    return json.dumps(body).encode()


def test_two_storefronts_one_profile_one_contact_then_a_redaction_erases_them(customer_stack, http, hubspot):
    tag = uuid.uuid4().hex[:8]
    email = f"jane.roe.{tag}@example.com"
    shop_id, woo_id = int(time.time() * 1000) % 10**12, int(time.time() * 1000) % 10**9
    placed = post(http, customer_stack, "shopify", shopify_order(shop_id, f"Jane.Roe.{tag}@Example.com"),
                  topic="orders/create")  # fmt: skip
    assert placed.status_code == 200 and placed.json()["status"] == "accepted", placed.text
    placed = post(http, customer_stack, "woocommerce", woocommerce_order(woo_id, f"  {email.upper()} "),
                  topic="order.created")  # fmt: skip
    assert placed.status_code == 200 and placed.json()["status"] == "accepted", placed.text

    def both_orders() -> dict | None:
        status, body = read_customer(http, email.upper())
        return body if status == 200 and body["order_count"] == 2 else None

    profile = wait_for(both_orders, what="one profile with both orders")
    assert profile["email"] == email
    assert profile["channels"] == ["shopify", "woocommerce"]
    assert profile["orders"] == [f"shopify:{shop_id}", f"woocommerce:{woo_id}"]
    assert profile["total_spent"] == {"USD": "141.71"}  # 85.92 + 55.79, both paid

    contact = wait_for(lambda: hubspot.contacts(email), what="the contact upserted in HubSpot")[-1]
    assert contact["idProperty"] == "email" and contact["properties"]["email"] == email
    assert {c["authorization"] for c in hubspot.calls} == {f"Bearer {HUBSPOT_TOKEN}"}
    assert {c["path"] for c in hubspot.calls} == {"/crm/objects/2026-03/contacts/batch/upsert"}
    assert email in hubspot.held
    for order_id in (f"shopify:{shop_id}", f"woocommerce:{woo_id}"):
        assert wait_for(lambda o=order_id: read_order(http, o), what=order_id)["customer_email"]

    redaction = payload("shopify_customers_redact")
    redaction["customer"] = {"id": shop_id + 1, "email": f"Jane.Roe.{tag}@Example.com", "phone": None}
    redaction["orders_to_redact"] = [shop_id]
    redaction["shop_domain"] = DEFAULT_SHOP  # the shop the order came from: a request names its own shop
    response = post(http, customer_stack, "shopify", json.dumps(redaction).encode(), topic="customers/redact")
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text

    wait_for(lambda: read_customer(http, email)[0] == 404, what="the profile to be erased")
    for order_id in (f"shopify:{shop_id}", f"woocommerce:{woo_id}"):
        order = read_order(http, order_id)
        assert order is not None and order["customer_email"] is None, order
        assert email not in json.dumps(order).lower()
    # The contact the hub created in HubSpot is GDPR-deleted, by its id (no email in that call).
    wait_for(lambda: email not in hubspot.held, what="the HubSpot contact to be deleted")
    deletions = [c for c in hubspot.calls if c["path"] == "/crm/v3/objects/contacts/gdpr-delete"]
    assert len(deletions) == 1 and email not in json.dumps(deletions).lower()
    pushed = len(hubspot.contacts(email))
    # A replay of the old order after the erasure is refused: no profile, no new contact.
    again = post(http, customer_stack, "shopify", shopify_order(shop_id, email), topic="orders/create")
    assert again.status_code == 200 and again.json()["status"] == "accepted"
    wait_for(lambda: crm_queue_depth(customer_stack) == 0, what="crm_upsert to take the replay")
    assert read_customer(http, email)[0] == 404 and len(hubspot.contacts(email)) == pushed
    assert email not in hubspot.held
