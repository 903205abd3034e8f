"""Marketing end to end, through a local stack of this module's own: signed Shopify webhooks build
customers and orders, marketing_triggers schedules its messages in the emulator's EventBridge
Scheduler, the local stack fires them once time has passed (`fire_due_schedules`), and the email
SES sent is read back from the emulator (GET /moto-api/data.json). Klaviyo is a small fake served
here on 127.0.0.1; its key is in the stack's secret, as in AWS."""

from __future__ import annotations

import email
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.signing import sign_delivery
from tests.e2e.waiting import wait_for
from tests.loopback import Request, serving_json

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"
KLAVIYO_KEY = "pk_local_e2e"
SENDER = "news@ada-goods.example"
RUN = uuid.uuid4().hex[:8]


def address(name: str) -> str:
    return f"{name}.{RUN}@example.com"


ADA, GRACE, HEDY = address("ada"), address("grace"), address("hedy")


class FakeKlaviyo:
    """Records every event posted with the right key and revision; answers 202 as Klaviyo does. Keeps
    profiles (profile-import answers the profile's id) and deletes one by id on a data-privacy
    deletion job (202; 404 for an unknown id; 400 without exactly one identifier), per Klaviyo's API
    reference (developers.klaviyo.com, revision 2025-01-15)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.profiles: dict[str, str] = {}  # email -> profile id
        self.refused = 0

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.method != "POST":
            return 501, None
        signed = request.headers.get("Authorization") == f"Klaviyo-API-Key {KLAVIYO_KEY}"
        if not (signed and request.headers.get("revision")):
            self.refused += 1
            return 401, None
        if request.target == "/api/events":
            self.events.append(request.json()["data"]["attributes"])
            return 202, None
        if request.target == "/api/profile-import":
            email_address = request.json()["data"]["attributes"]["email"]
            profile_id = self.profiles.setdefault(email_address, f"01PROFILE{len(self.profiles):06d}")
            return 201, {"data": {"type": "profile", "id": profile_id}}
        if request.target == "/api/data-privacy-deletion-jobs":
            profile = request.json()["data"]["attributes"]["profile"]["data"]
            if "id" not in profile or profile.get("attributes"):
                self.refused += 1  # Klaviyo refuses none or several identifiers
                return 400, None
            owner = next((e for e, i in self.profiles.items() if i == profile["id"]), None)
            if owner is None:
                return 404, None
            del self.profiles[owner]
            return 202, None
        self.refused += 1
        return 404, None

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url

    def metrics_for(self, email_address: str) -> list[str]:
        return sorted(
            e["metric"]["data"]["attributes"]["name"]
            for e in self.events
            if e["profile"]["data"]["attributes"]["email"] == email_address
        )


@pytest.fixture(scope="module")
def klaviyo() -> FakeKlaviyo:
    return FakeKlaviyo()


@pytest.fixture(scope="module")
def marketing_stack(klaviyo, tmp_path_factory) -> Iterator[LocalStack]:
    with klaviyo.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["marketing"] = {
            "channels": ["ses", "klaviyo"],
            "sender": f"Ada Goods <{SENDER}>",
            "shop_name": "Ada Goods",
            "shop_url": "https://ada-goods.example",
            "rules": {
                "post_purchase": {"days_after_delivery": 7, "days_after_payment_when_no_delivery": 14},
                "abandoned_checkout": {"hours": 4},
            },
            "frequency_cap": {"max_messages": 3, "per_days": 7},
            "klaviyo": {"api_url": api_url},
        }
        config = tmp_path_factory.mktemp("config") / "marketing.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets({**running.secrets, "KLAVIYO_API_KEY": KLAVIYO_KEY})
            yield running


@pytest.fixture
def http(marketing_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=marketing_stack.url, timeout=30) as client:
        yield client


def post(http: httpx.Client, stack: LocalStack, topic: str, body: dict) -> None:
    delivery = sign_delivery(
        "shopify", json.dumps(body).encode(), topic=topic, secrets=stack.secrets, delivery_id=str(uuid.uuid4())
    )
    response = http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def customer(email_address: str, first_name: str, subscribed: bool) -> dict:
    body = payload("shopify_customers_create")
    body.update(id=abs(hash(email_address)) % 10**12, email=email_address, first_name=first_name, phone=None)
    stamp = iso(datetime.now(UTC) - timedelta(minutes=30))
    body.update(created_at=stamp, updated_at=stamp)
    body["email_marketing_consent"] = {
        "state": "subscribed" if subscribed else "not_subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": stamp,
    }
    return body


def order(order_id: int, email_address: str, sku: str, at: datetime, checkout_token: str | None = None) -> dict:
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", email=email_address, created_at=iso(at), updated_at=iso(at))
    body["customer"] = dict(body["customer"], email=email_address)
    body["line_items"] = [{"id": order_id * 10, "sku": sku, "title": "Enamel Mug", "quantity": 1, "price": "18.00"}]
    body["total_price"] = "18.00"
    if checkout_token:
        body["checkout_token"] = checkout_token
    return body


def checkout(token: str, email_address: str, sku: str, at: datetime) -> dict:
    body = payload("shopify_checkouts_create")
    body.update(id=abs(hash(token)) % 10**12, token=token, email=email_address, created_at=iso(at), updated_at=iso(at))
    body["line_items"] = [dict(body["line_items"][0], sku=sku, title="Organic Tee")]
    body["abandoned_checkout_url"] = f"https://ada-goods.example/checkouts/{token}/recover"
    return body


def profile_consent(http: httpx.Client, email_address: str) -> bool | None:
    response = http.get(f"/customers/{quote(email_address)}", headers=AUTH)
    if response.status_code != 200:
        return None
    return response.json()["consent"]["email_marketing"]["subscribed"] is not None


def mail(stack: LocalStack) -> list[email.message.Message]:
    """Every email the emulator's SES accepted, parsed.

    moto builds data.json from every model while other requests change them: a schedule created at
    that moment makes it answer 500 once, so it is asked again.
    """
    for _attempt in range(20):
        response = httpx.get(f"{stack.aws_endpoint}/moto-api/data.json", timeout=30)
        if response.status_code == 200:
            break
        time.sleep(0.2)
    response.raise_for_status()
    raw = response.json().get("ses", {}).get("RawMessage", [])
    return [email.message_from_string(m["raw_data"]) for m in raw]


def mail_to(stack: LocalStack, email_address: str) -> list[email.message.Message]:
    return [m for m in mail(stack) if m["To"] == email_address]


def opt_outs(stack: LocalStack) -> int:
    """Recorded unsubscribes (MKTOPTOUT#<erasure key> items)."""
    dynamodb = stack.client("dynamodb")
    table = "commerce-hub-dev"  # the hub table of the local stage
    items = dynamodb.scan(TableName=table, ProjectionExpression="pk")["Items"]
    return sum(1 for i in items if i["pk"]["S"].startswith("MKTOPTOUT#"))


def schedules(stack: LocalStack) -> dict[str, dict[str, Any]]:
    client = stack.client("scheduler")
    found = {}
    for summary in client.list_schedules(GroupName="commerce-hub-marketing-dev")["Schedules"]:
        try:
            detail = client.get_schedule(GroupName=summary["GroupName"], Name=summary["Name"])
        except client.exceptions.ResourceNotFoundException:
            continue  # fired or cancelled between the listing and the read
        found[summary["Name"]] = json.loads(detail["Target"]["Input"])["marketing_due"]
    return found


def scheduled(stack: LocalStack, trigger: str, subject: str) -> bool:
    return any(d["trigger"] == trigger and d["subject_id"] == subject for d in schedules(stack).values())


def parts(message: email.message.Message) -> dict[str, str]:
    return {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.get_payload()}


def test_a_follow_up_is_scheduled_and_sent_to_a_consenting_customer_and_not_to_a_non_consenting_one(
    marketing_stack, http, klaviyo
):
    stack = marketing_stack
    sku = f"MUG-{RUN}"
    assert http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH).status_code == 200
    post(http, stack, "customers/create", customer(ADA, "Ada", subscribed=True))
    post(http, stack, "customers/create", customer(GRACE, "Grace", subscribed=False))
    wait_for(lambda: profile_consent(http, ADA) and profile_consent(http, GRACE), what="both profiles")

    now = datetime.now(UTC) - timedelta(minutes=10)
    ada_order, grace_order = int(time.time() * 1000) % 10**12, int(time.time() * 1000) % 10**12 + 1
    post(http, stack, "orders/create", order(ada_order, ADA, sku, now))
    post(http, stack, "orders/create", order(grace_order, GRACE, sku, now))
    for order_id in (ada_order, grace_order):
        wait_for(lambda o=order_id: scheduled(stack, "post_purchase", f"shopify:{o}"), what=f"follow-up of {order_id}")
    assert mail_to(stack, ADA) == [] and mail_to(stack, GRACE) == []

    # Fourteen days pass (delivery never became known): both schedules fire; one customer consented.
    fired = stack.fire_due_schedules(datetime.now(UTC) + timedelta(days=15))
    assert len(fired) >= 2
    [message] = wait_for(lambda: mail_to(stack, ADA), what="Ada's follow-up")
    assert message["From"] == f"Ada Goods <{SENDER}>"
    assert message["Subject"] == "How are you getting on with your order?"
    body = parts(message)
    assert "Hi Ada," in body["text/plain"] and "Enamel Mug" in body["text/html"]
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{stack.url}/unsubscribe?token=ck_") and link in body["text/plain"]
    assert not scheduled(stack, "post_purchase", f"shopify:{ada_order}")  # deleted after it fired

    # Grace's fired too, and was dropped for want of consent; Klaviyo heard only of Ada.
    wait_for(lambda: "Post-Purchase Follow-Up" in klaviyo.metrics_for(ADA), what="Ada's Klaviyo follow-up")
    time.sleep(2)
    assert mail_to(stack, GRACE) == []
    assert klaviyo.metrics_for(GRACE) == []
    assert klaviyo.metrics_for(ADA) == ["Placed Order", "Post-Purchase Follow-Up"]
    assert klaviyo.refused == 0

    # The unsubscribe link through the stack's public route: opening it (as a mail scanner would)
    # asks and records nothing; the one-click POST of RFC 8058 records the opt-out.
    token = parse_qs(urlsplit(link).query)["token"][0]
    answer = httpx.get(link, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in answer.text and "You are unsubscribed" not in answer.text
    assert answer.headers["cache-control"] == "no-store" and answer.headers["referrer-policy"] == "no-referrer"
    assert opt_outs(stack) == 0
    one_click = httpx.post(
        link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
    assert opt_outs(stack) == 1
    # The page's own button posts the token in the form as well; a changed token is a clear 400 page.
    refused = httpx.post(f"{stack.url}/unsubscribe", data={"token": token + "x"}, timeout=30)
    assert refused.status_code == 400 and "This link is not valid" in refused.text
    assert httpx.get(f"{stack.url}/unsubscribe", params={"token": token[:-1]}, timeout=30).status_code == 400
    assert opt_outs(stack) == 1


def test_an_abandoned_checkout_gets_its_reminder_and_a_converted_one_does_not(marketing_stack, http):
    stack = marketing_stack
    sku = f"TEE-{RUN}"
    assert http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH).status_code == 200
    post(http, stack, "customers/create", customer(HEDY, "Hedy", subscribed=True))
    alan = address("alan")
    post(http, stack, "customers/create", customer(alan, "Alan", subscribed=True))
    wait_for(lambda: profile_consent(http, HEDY) and profile_consent(http, alan), what="both profiles")

    started = datetime.now(UTC) - timedelta(minutes=5)
    abandoned, converted = f"abandoned{RUN}", f"converted{RUN}"
    post(http, stack, "checkouts/create", checkout(abandoned, HEDY, sku, started))
    post(http, stack, "checkouts/create", checkout(converted, alan, sku, started))
    wait_for(lambda: scheduled(stack, "abandoned_checkout", f"shopify:{converted}"), what="Alan's reminder")
    wait_for(lambda: scheduled(stack, "abandoned_checkout", f"shopify:{abandoned}"), what="Hedy's reminder")

    # Alan completes his checkout: Shopify's order names it (checkout_token).
    order_id = int(time.time() * 1000) % 10**12 + 7
    post(http, stack, "orders/create", order(order_id, alan, sku, started + timedelta(minutes=2), converted))
    wait_for(lambda: not scheduled(stack, "abandoned_checkout", f"shopify:{converted}"), what="Alan's reminder gone")

    stack.fire_due_schedules(datetime.now(UTC) + timedelta(hours=5))
    [reminder] = wait_for(lambda: mail_to(stack, HEDY), what="Hedy's reminder")
    assert reminder["Subject"] == "You left something in your basket"
    body = parts(reminder)
    assert f"https://ada-goods.example/checkouts/{abandoned}/recover" in body["text/plain"]
    assert "Organic Tee" in body["text/html"]
    time.sleep(2)
    assert [m["Subject"] for m in mail_to(stack, alan)] == []


def test_time_passes_over_http_for_the_demo_and_curl(marketing_stack):
    url = f"{marketing_stack.url}/_local/scheduler/fire-due"
    assert httpx.post(url, timeout=30).status_code == 401
    assert httpx.post(url, params={"now": "next tuesday"}, headers=AUTH, timeout=30).status_code == 400
    answer = httpx.post(url, params={"now": "2000-01-01T00:00:00Z"}, headers=AUTH, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"fired": []}
