"""The payment gateways end to end: signed Stripe, PayPal and Square deliveries over HTTP to the local
stack, their canonical events observed on the bus by a catch-all rule and queue made for this test;
duplicates published once; tampered, wrongly signed, stale and foreign-certificate deliveries refused."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from commerce_hub.signing import paypal as paypal_signer
from commerce_hub.signing import sign_delivery
from commerce_hub.signing import stripe as stripe_signer

from .conftest import ROOT
from .waiting import wait_for

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"


class BusTap:
    """A catch-all rule on the hub bus with a queue of its own behind it: everything published, kept."""

    def __init__(self, stack) -> None:
        self._events, self._sqs = stack.client("events"), stack.client("sqs")
        self.bus = next(b["Name"] for b in self._events.list_event_buses()["EventBuses"] if b["Name"] != "default")
        self.name = f"e2e-gateway-tap-{uuid.uuid4().hex[:8]}"
        self.url = self._sqs.create_queue(QueueName=self.name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": [{"prefix": "commerce-hub."}]}
        self._events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(pattern))
        self._events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def _drain(self) -> None:
        while True:
            got = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return
            for message in got:
                self.seen.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def about(self, provider_event_id: str) -> list[dict[str, Any]]:
        """Every event published so far that came from this provider event."""
        self._drain()
        return [e for e in self.seen if e["detail"]["provider"]["event_id"] == provider_event_id]

    def wait_for(self, provider_event_id: str, seconds: float = 30) -> list[dict[str, Any]]:
        return wait_for(
            lambda: self.about(provider_event_id), seconds, what=f"anything from {provider_event_id} to reach the bus"
        )

    def close(self) -> None:
        self._events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["tap"])
        self._events.delete_rule(Name=self.name, EventBusName=self.bus)
        self._sqs.delete_queue(QueueUrl=self.url)


@pytest.fixture(scope="module")
def tap(stack) -> Iterator[BusTap]:
    bus_tap = BusTap(stack)
    yield bus_tap
    bus_tap.close()


# --- realistic deliveries, with ids of their own so each test stands alone -----------------------------


def unique() -> str:
    return uuid.uuid4().hex[:16].upper()


def stripe_body() -> tuple[bytes, str]:
    document = json.loads((PAYLOADS / "stripe_payment_intent_succeeded.json").read_text())
    document["id"] = f"evt_3E2e{unique()}"
    document["data"]["object"]["id"] = f"pi_3E2e{unique()}"
    document["created"] = int(time.time())
    return json.dumps(document).encode(), document["id"]


def paypal_body() -> tuple[bytes, str]:
    document = json.loads((PAYLOADS / "paypal_payment_capture_completed.json").read_text())
    document["id"] = f"WH-{unique()}-{unique()}"
    document["resource"]["id"] = unique()
    return json.dumps(document).encode(), document["id"]


def square_body() -> tuple[bytes, str]:
    document = json.loads((PAYLOADS / "square_payment_updated.json").read_text())
    document["event_id"] = str(uuid.uuid4())
    document["data"]["id"] = document["data"]["object"]["payment"]["id"] = unique()
    return json.dumps(document).encode(), document["event_id"]


BODIES: dict[str, Callable[[], tuple[bytes, str]]] = {
    "stripe": stripe_body,
    "paypal": paypal_body,
    "square": square_body,
}


def signed(stack, source: str, body: bytes, *, secrets: dict | None = None, **options: Any) -> dict[str, str]:
    """Headers as the vendor sends them, signed with the stack's own secrets unless told otherwise."""
    secrets = {**stack.secrets, **(secrets or {})}
    if source == "paypal":
        # The checkout's own PayPal key pair: the stack trusts its certificate through PAYPAL_CERT.
        delivery = paypal_signer.sign(
            body,
            topic=None,
            secrets=secrets,
            delivery_id=str(uuid.uuid4()),
            private_key_pem=stack.keys.paypal_private_key,
            **options,
        )
    elif source == "stripe" and options:
        delivery = stripe_signer.sign(body, topic=None, secrets=secrets, delivery_id="-", **options)
    else:
        delivery = sign_delivery(source, body, topic=None, secrets=secrets, url=stack.url)
    return delivery.headers


def post(http: httpx.Client, source: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return http.post(f"/webhooks/{source}", content=body, headers=headers)


EXPECTED = {
    "stripe": {"channel": "woocommerce", "amount": 7450, "order_id": "2187"},
    "paypal": {"channel": "magento", "amount": 11235, "order_id": "318"},
    "square": {"channel": "shopify", "amount": 6875, "order_id": "5849162203418"},
}


@pytest.mark.parametrize("source", sorted(BODIES))
def test_a_signed_gateway_delivery_reaches_the_bus(http, stack, tap, source):
    body, provider_id = BODIES[source]()
    response = post(http, source, body, signed(stack, source, body))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["source"]) == ("accepted", source)

    (published,) = tap.wait_for(provider_id)
    assert (published["source"], published["detail-type"]) == (f"commerce-hub.{source}", "PaymentSucceeded")
    detail = published["detail"]
    assert detail["event_id"] == answer["event_ids"][0]
    expected = EXPECTED[source]
    assert detail["channel"] == expected["channel"]
    assert (detail["data"]["gateway"], detail["data"]["amount"], detail["data"]["currency"]) == (
        source,
        expected["amount"],
        "USD",
    )
    assert detail["data"]["reference"]["order_id"] == expected["order_id"]


@pytest.mark.parametrize("source", sorted(BODIES))
def test_the_same_delivery_twice_publishes_once(http, stack, tap, source):
    body, provider_id = BODIES[source]()
    headers = signed(stack, source, body)
    assert post(http, source, body, headers).json()["status"] == "accepted"
    again = post(http, source, body, headers)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    tap.wait_for(provider_id)
    # A later event on the bus (published after the duplicate was answered) shows the tap is caught up.
    marker, marker_id = BODIES[source]()
    assert post(http, source, marker, signed(stack, source, marker)).status_code == 200
    tap.wait_for(marker_id)
    assert len(tap.about(provider_id)) == 1


def _tampered(stack, source: str) -> tuple[bytes, dict[str, str]]:
    body, _ = BODIES[source]()
    headers = signed(stack, source, body)
    return body.replace(b'"USD"', b'"EUR"', 1).replace(b'"usd"', b'"eur"', 1), headers


WRONG = {
    "stripe": {"STRIPE_WEBHOOK_SECRET": "whsec_another_endpoints_secret"},
    "paypal": {"PAYPAL_WEBHOOK_ID": "ANOTHER-LISTENERS-WEBHOOK-ID"},
    "square": {"SQUARE_WEBHOOK_SIGNATURE_KEY": "another-subscriptions-key"},
}


def _wrong_secret(stack, source: str) -> tuple[bytes, dict[str, str]]:
    body, _ = BODIES[source]()
    return body, signed(stack, source, body, secrets=WRONG[source])


def _stale(stack, source: str) -> tuple[bytes, dict[str, str]]:
    body, _ = BODIES[source]()
    return body, signed(stack, source, body, timestamp=int(time.time()) - 400)


def _replayed_with_a_future_t(stack, source: str) -> tuple[bytes, dict[str, str]]:
    """A delivery captured an hour ago, resent with ` t=9999999999` put before its own t."""
    body, _ = BODIES[source]()
    old = int(time.time()) - 3600
    captured = signed(stack, source, body, timestamp=old)["Stripe-Signature"]
    v1 = captured.split("v1=")[1]
    return body, {"Content-Type": "application/json", "Stripe-Signature": f"v1={v1}, t=9999999999,t={old}"}


def _stale_paypal(stack, source: str) -> tuple[bytes, dict[str, str]]:
    body, _ = BODIES[source]()
    sent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 85 * 3600))
    return body, signed(stack, source, body, transmission_time=sent)


def _foreign_cert_url(stack, source: str) -> tuple[bytes, dict[str, str]]:
    body, _ = BODIES[source]()
    return body, signed(
        stack, source, body, cert_url="https://certs.paypal-verify.example/v1/notifications/certs/CERT-1"
    )


@pytest.mark.parametrize(
    ("source", "make", "message"),
    [
        ("stripe", _tampered, "does not match the body"),
        ("paypal", _tampered, "does not match this body"),
        ("square", _tampered, "does not match the body"),
        ("stripe", _wrong_secret, "check STRIPE_WEBHOOK_SECRET"),
        ("paypal", _wrong_secret, "PAYPAL_WEBHOOK_ID"),
        ("square", _wrong_secret, "check the Square signature key"),
        ("stripe", _stale, "s old and the hub accepts 300 s"),
        ("stripe", _replayed_with_a_future_t, "2 t= timestamps"),
        ("paypal", _stale_paypal, "more than 84 h old"),
        ("paypal", _foreign_cert_url, "host 'certs.paypal-verify.example' is not one of PayPal's API hosts"),
    ],
)
def test_refusals_are_json_errors(http, stack, tap, source, make, message):
    body, headers = make(stack, source)
    response = post(http, source, body, headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["error"]
    for name in ("STRIPE_WEBHOOK_SECRET", "PAYPAL_WEBHOOK_ID", "SQUARE_WEBHOOK_SIGNATURE_KEY"):
        assert stack.secrets[name] not in response.text
    provider_id = json.loads(body).get("id") or json.loads(body)["event_id"]
    assert tap.about(provider_id) == []
