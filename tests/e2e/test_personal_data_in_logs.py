"""No personal data in anything the local stack writes: deliveries (valid and invalid) and failing
downstream calls carry a known email, phone and address, and none of them appears in any log line
of the runner, the functions (at DEBUG, the non-production level) or the AWS emulator, in any HTTP
error body, or in the attributes of a dead-lettered message.

A stack of this module's own, whose console writes to a buffer, sends customer profiles to HubSpot,
played by a fake on 127.0.0.1 that refuses every call with a body echoing the contact back (503
first, then 400), as HubSpot's error responses do ("Error handling" in its API reference).
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.local.console import Console
from tests.e2e.test_storefront_intake import payload, post, woo_order
from tests.e2e.waiting import wait_for
from tests.loopback import Request, serving_json

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

TAG = uuid.uuid4().hex[:10]
EMAIL = f"pii.probe.{TAG}@example.com"
PHONE_DIGITS = f"415{int(TAG[:7], 16) % 10**7:07d}"
PHONE = f"+1 ({PHONE_DIGITS[:3]}) {PHONE_DIGITS[3:6]}-{PHONE_DIGITS[6:]}"
STREET = f"{int(TAG[:4], 16)} Probe{TAG[4:]} Row"


def personal_values() -> list[str]:
    return [EMAIL, EMAIL.lower(), EMAIL.split("@")[0], PHONE, PHONE_DIGITS, STREET, f"Probe{TAG[4:]}"]


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [value for value in personal_values() if value.lower() in lowered]


class EchoingHubSpot:
    """Refuses every contact upsert with a body that repeats the contact: first 503, then 400."""

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, request: Request) -> tuple[int, Any]:
        self.calls += 1
        status = 503 if self.calls == 1 else 400
        return status, {
            "status": "error",
            "message": f"Property values were not valid: {request.body.decode()}",
            "correlationId": f"c0ffee00-{self.calls:04d}-4e5f-8a9b-0c1d2e3f4a5b",
            "category": "VALIDATION_ERROR",
        }

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url


@pytest.fixture(scope="module")
def hubspot() -> EchoingHubSpot:
    return EchoingHubSpot()


@pytest.fixture(scope="module")
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def logged_stack(hubspot, output, tmp_path_factory) -> Iterator[LocalStack]:
    with hubspot.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["crm"] = {"provider": "hubspot", "api_url": api_url}
        config = tmp_path_factory.mktemp("config") / "logs.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        console = Console(verbose=True, stream=output)
        env = _environment(HUB_CONFIG=str(config))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env, verbose=True, console=console) as running:
            running.put_secrets({**running.secrets, "HUBSPOT_ACCESS_TOKEN": "pat-local-e2e-token"})
            yield running


def shopify_order(order_id: int, **changes: Any) -> dict[str, Any]:
    """The orders/create sample (events/payloads/shopify_orders_create.json, after Shopify's webhook
    reference) carrying the probe's email, phone and address everywhere Shopify puts them."""
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=EMAIL, contact_email=EMAIL)
    body["customer"] = dict(body["customer"], id=order_id + 1, email=EMAIL, phone=PHONE)
    for kind in ("billing_address", "shipping_address"):
        body[kind] = dict(body.get(kind) or body["shipping_address"], address1=STREET, phone=PHONE)
    body.update(changes)
    return body


def dead_letters(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found = []
    for url in sqs.list_queues(QueueNamePrefix="commerce-hub-")["QueueUrls"]:
        if "-dlq-" not in url:
            continue
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        found.extend(answer.get("Messages", []))
    return found


def test_no_log_line_error_body_or_dead_letter_attribute_repeats_the_customer(logged_stack, http_errors, hubspot):
    stack, output = logged_stack, http_errors["output"]
    # The deliveries have gone through: the order is recorded, and HubSpot was called and refused.
    wait_for(lambda: hubspot.calls >= 3, what="HubSpot refusing the contact on several deliveries", seconds=120)
    time.sleep(2)  # the last failed invocation's log lines

    assert http_errors["bodies"], "the invalid deliveries were answered"
    for status, body in http_errors["bodies"]:
        assert status == 400 and not leaks(body), body
    text = output.getvalue()
    assert "crm_upsert" in text or "crm-upsert" in text, "the console holds the functions' output"
    assert "HubSpot batch upsert failed" in text, "the failing downstream call was logged"
    assert "VALIDATION_ERROR" in text and "c0ffee00-" in text, "with the vendor's code and request id"
    leaked = [line for line in text.splitlines() if leaks(line)]
    assert leaked == [], "\n".join(leaked[:5])
    for message in dead_letters(stack):
        attributes = json.dumps({k: v for k, v in message.items() if k not in ("Body", "MD5OfBody")})
        assert not leaks(attributes), attributes


@pytest.fixture(scope="module")
def http_errors(logged_stack, output) -> dict[str, Any]:
    """Sends the deliveries once: a valid order and invalid ones, each carrying the probe's data."""
    stack = logged_stack
    bodies: list[tuple[int, str]] = []
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        order_id = int(time.time() * 1000) % 10**12
        accepted = post(http, stack, "shopify", json.dumps(shopify_order(order_id)).encode(), topic="orders/create")
        assert accepted.status_code == 200, accepted.text
        wait_for(lambda: http.get(f"/orders/shopify:{order_id}", headers=AUTH).status_code == 200, what="the order")
        invalid = [
            ("shopify", shopify_order(order_id + 2, total_price=EMAIL), "orders/create"),
            ("shopify", shopify_order(order_id + 3, currency=PHONE), "orders/create"),
            (
                "shopify",
                shopify_order(
                    order_id + 4, line_items=[dict(payload("shopify_orders_create")["line_items"][0], quantity=STREET)]
                ),
                "orders/create",
            ),
            ("shopify", shopify_order(order_id + 5, customer=EMAIL), "orders/create"),
        ]
        for source, body, topic in invalid:
            answer = post(http, stack, source, json.dumps(body).encode(), topic=topic)
            bodies.append((answer.status_code, answer.text))
        woo = json.loads(woo_order(order_id % 10**9 + 7, f"PROBE-{TAG}"))
        woo["billing"] = dict(woo["billing"], email=EMAIL, phone=PHONE, address_1=STREET)
        woo["total"] = PHONE
        answer = post(http, stack, "woocommerce", json.dumps(woo).encode())
        bodies.append((answer.status_code, answer.text))
    return {"bodies": bodies, "output": output}
