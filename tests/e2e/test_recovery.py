"""Dead letters, redrive and replay end to end, through a local stack of this module's own whose
configuration sends customer profiles to HubSpot, played by the fake of tests/e2e/test_customers.py
on 127.0.0.1, told here to refuse every upsert with a 400 until the cause is "fixed".

The commands are run as a merchant runs them (`commerce-hub dlq ...`, `commerce-hub replay ...`,
through `commerce_hub.cli.main`), against the running stack named by HUB_AWS_PORT, as documented.
The order is events/payloads/shopify_orders_create.json (Shopify's orders/create sample), renumbered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.e2e.test_customers import HUBSPOT_TOKEN, FakeHubSpot, shopify_order
from tests.e2e.test_storefront_intake import post, read_order
from tests.e2e.waiting import wait_for
from tests.loopback import Request

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e


class RefusingHubSpot(FakeHubSpot):
    """The HubSpot fake, answering 400 to every contacts upsert while `refusing` (a property the
    portal does not have, say), as HubSpot answers a batch it rejects whole."""

    def __init__(self) -> None:
        super().__init__()
        self.refusing = True

    def answer(self, request: Request) -> tuple[int, Any]:
        if self.refusing:
            return 400, {"status": "error", "category": "VALIDATION_ERROR", "correlationId": "e2e-refused"}
        return super().answer(request)


@pytest.fixture(scope="module")
def hubspot() -> RefusingHubSpot:
    return RefusingHubSpot()


@pytest.fixture(scope="module")
def recovery_stack(hubspot: RefusingHubSpot, tmp_path_factory) -> Iterator[LocalStack]:
    with hubspot.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["crm"] = {"provider": "hubspot", "api_url": api_url}
        config = tmp_path_factory.mktemp("config") / "recovery.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets({**running.secrets, "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN})
            yield running


@pytest.fixture
def http(recovery_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=recovery_stack.url, timeout=30) as client:
        yield client


@pytest.fixture
def hub(recovery_stack: LocalStack):
    """Run `commerce-hub ARGS...` in the project folder against the stack, as documented (HUB_AWS_PORT,
    in a process of its own, as a merchant runs it); (exit code, stdout, parsed when --json)."""
    env = {**os.environ, "HUB_AWS_PORT": recovery_stack.aws_endpoint.rsplit(":", 1)[-1]}

    def run(*argv: str) -> tuple[int, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "commerce_hub.cli", *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 or not done.stderr.startswith("Traceback"), done.stderr
        return done.returncode, (json.loads(done.stdout) if "--json" in argv and done.stdout.strip() else done.stdout)

    return run


def queues_idle(stack: LocalStack) -> bool:
    sqs = stack.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    for url in sqs.list_queues(QueueNamePrefix="commerce-hub-")["QueueUrls"]:
        if "-dlq-" in url:
            continue
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if any(int(attributes[n]) for n in names):
            return False
    return True


def settled(stack: LocalStack) -> bool:
    """Every consumer queue empty, twice, a second apart (follow-on events come after the first)."""
    if not queues_idle(stack):
        return False
    time.sleep(1)
    return queues_idle(stack)


def replay_tap(stack: LocalStack):
    """A catch-all rule on the hub bus with a queue behind it; returns a reader of what a replay sent."""
    sqs, events = stack.client("sqs"), stack.client("events")
    bus = next(b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default")
    url = sqs.create_queue(QueueName=f"e2e-replay-tap-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = json.dumps({"source": [{"prefix": "commerce-hub."}]})
    events.put_rule(Name="e2e-replay-tap", EventBusName=bus, EventPattern=pattern)
    events.put_targets(Rule="e2e-replay-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def replayed(name: str) -> list[tuple[str, str | None]]:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [
            (e["detail-type"], (e["detail"].get("data") or {}).get("order_id"))
            for e in seen
            if e.get("replay-name") == name
        ]

    return replayed


def test_a_refused_record_is_listed_shown_and_redriven_once_the_cause_is_fixed(recovery_stack, http, hub, hubspot):
    stack = recovery_stack
    order_number = int(time.time() * 1000) % 10**12
    email = f"dead.letter.{uuid.uuid4().hex[:8]}@example.com"
    hubspot.refusing = True
    placed = post(http, stack, "shopify", shopify_order(order_number, email), topic="orders/create")
    assert placed.status_code == 200 and placed.json()["status"] == "accepted", placed.text

    def crm_dead() -> dict | None:
        code, listing = hub("dlq", "list", "--json")
        assert code == 0
        queues = {q["queue"]: q for q in listing["queues"]}
        return queues["crm"] if queues["crm"]["messages"] else None

    crm = wait_for(crm_dead, seconds=120, what="the refused record in the crm dead-letter queue")
    assert crm["redrives_to"] == ["commerce-hub-crm-dev"]
    assert "HubSpotError" in crm["sample_reason"] and "400" in crm["sample_reason"]
    assert email not in json.dumps(crm)

    code, shown = hub("dlq", "show", "crm", "--json")
    assert code == 0
    order_id = f"shopify:{order_number}"
    # The order's events crm_upsert takes (its placement, its payment...), each refused five times.
    letters = [m for m in shown["messages"] if m["order_id"] == order_id]
    assert "OrderPlaced" in {m["event_type"] for m in letters}
    for letter in letters:
        assert letter["attempts"] == 5 and letter["first_failure"]["error"] == "HubSpotError"
        assert "HTTP 400" in letter["first_failure"]["reason"] and "e2e-refused" in letter["first_failure"]["reason"]
    assert email not in json.dumps(shown)
    assert hubspot.contacts(email) == []  # nothing reached HubSpot

    # The text a merchant reads says the same.
    code, text = hub("dlq", "show", "crm")
    assert code == 0 and order_id in text and "HubSpotError" in text

    hubspot.refusing = False  # the cause is fixed
    code, moved = hub("dlq", "redrive", "crm", "--json")
    assert code == 0 and {m["message_id"] for m in letters} <= set(moved["moved"])

    wait_for(lambda: hubspot.contacts(email), what="the redriven record's contact in HubSpot")
    wait_for(lambda: settled(stack), what="the queues to settle")
    code, listing = hub("dlq", "list", "--json")
    assert {q["queue"]: q["messages"] for q in listing["queues"]}["crm"] == 0


def test_a_replayed_window_applies_nothing_twice(recovery_stack, http, hub, hubspot):
    stack = recovery_stack
    hubspot.refusing = False
    sku = f"MUG-{uuid.uuid4().hex[:6].upper()}"
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 7}, headers=AUTH)
    assert response.status_code == 200, response.text
    start = datetime.now(UTC) - timedelta(seconds=2)
    order_number = int(time.time() * 1000) % 10**12 + 7
    body = json.loads(shopify_order(order_number, f"replay.{uuid.uuid4().hex[:8]}@example.com"))
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=2)]
    # An event's time on the bus is when it happened at the source, and a replay's window is in those
    # times (EventBridge's StartReplay): an order placed now, not on the sample's date.
    placed_at = datetime.now(UTC).replace(microsecond=0)
    body["created_at"] = body["updated_at"] = placed_at.isoformat()
    placed = post(http, stack, "shopify", json.dumps(body).encode(), topic="orders/create")
    assert placed.status_code == 200 and placed.json()["status"] == "accepted", placed.text
    order_id = f"shopify:{order_number}"
    wait_for(lambda: read_order(http, order_id), what="the order")
    wait_for(lambda: settled(stack), what="the order's follow-on events to be handled")
    order_before = read_order(http, order_id)
    stock_before = http.get(f"/inventory/{sku}", headers=AUTH).json()
    assert stock_before["reserved"] == 2 and stock_before["available"] == 5, stock_before
    tap = replay_tap(stack)

    code, result = hub("replay", "--from", start.isoformat(), "--to", "now", "--json")

    assert code == 0 and result["state"] == "COMPLETED", result
    # The replay put the window's events on the bus again, the order's placement among them; every
    # rule (the consumers' and this tap's) got them, marked with the replay's name.
    replayed = wait_for(lambda: tap(result["replay"]), what="the replayed events on the bus")
    assert ("OrderPlaced", order_id) in replayed
    wait_for(lambda: settled(stack), what="the replayed events to be handled")
    assert read_order(http, order_id) == order_before  # same status, lines, timeline: nothing applied twice
    assert http.get(f"/inventory/{sku}", headers=AUTH).json() == stock_before  # reserved once
    code, listing = hub("dlq", "list", "--json")
    assert all(q["messages"] == 0 for q in listing["queues"])  # and nothing failed
