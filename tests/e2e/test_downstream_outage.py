"""A CRM that is down, end to end: its circuit opens, records go back to the queue without calling
it, and once it is back the contacts are pushed and nothing is dead-lettered.

A stack of this module's own sends customer profiles to HubSpot, played by a fake on 127.0.0.1
that answers 503 while `down` and otherwise what HubSpot's batch upsert answers (200 with one result
per input naming its email: "Create or update a batch of contacts by unique property values" in
HubSpot's CRM API reference). The circuit opens after one failed call and stays open 6 s; failed
records come back after 3 s, so a record is received at most four or five times before the CRM's
circuit lets a call through again (the queue allows five).
"""

from __future__ import annotations

import io
import json
import re
import threading
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
from commerce_hub.local.console import Console
from tests.e2e.test_storefront_intake import payload, post
from tests.e2e.waiting import wait_for
from tests.loopback import serving_json

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
COOLDOWN_SECONDS = 6


class FlakyHubSpot:
    """HubSpot's batch upsert: 503 while `down`, else 200 with a result per input."""

    def __init__(self) -> None:
        self.down = True
        self.refused = 0
        self.pushed: list[str] = []
        self._lock = threading.Lock()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.down:
                self.refused += 1
                return 503, {"status": "error", "message": "Service unavailable", "category": "SERVICE_UNAVAILABLE"}
            emails = [item["id"] for item in body.get("inputs", [])]
            self.pushed.extend(emails)
        results = [{"id": str(1000 + i), "properties": {"email": email}, "new": True} for i, email in enumerate(emails)]
        return 200, {"status": "COMPLETE", "results": results, "errors": []}

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(lambda request: self.answer(request.json() or {})) as url:
            yield url


@pytest.fixture(scope="module")
def hubspot() -> FlakyHubSpot:
    return FlakyHubSpot()


@pytest.fixture(scope="module")
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def outage_stack(hubspot, output, tmp_path_factory) -> Iterator[tuple[LocalStack, str]]:
    with hubspot.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["crm"] = {"provider": "hubspot", "api_url": api_url}
        config = tmp_path_factory.mktemp("config") / "outage.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        env = _environment(HUB_CONFIG=str(config), HUB_LOCAL_RETRY_DELAY="3")
        breaker = {"HUB_CIRCUIT_FAILURES": "1", "HUB_CIRCUIT_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS)}
        console = Console(verbose=True, stream=output)
        with LocalStack(
            ROOT, http_port=0, aws_port=0, env=env, function_env=breaker, verbose=True, console=console
        ) as running:
            running.put_secrets({**running.secrets, "HUBSPOT_ACCESS_TOKEN": "pat-local-e2e-token"})
            yield running, api_url.removeprefix("http://")


def shopify_order(order_id: int, email: str) -> bytes:
    """Shopify's orders/create sample (events/payloads/shopify_orders_create.json, after Shopify's
    webhook reference) for a customer of this run."""
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, contact_email=email)
    body["customer"] = dict(body["customer"], id=order_id + 1, email=email)
    return json.dumps(body).encode()


# The runner's line for a CRM batch with failed records: "... sqs commerce-hub-crm-<stage> batch 2, 2 failed ... 12.3 ms"
_CRM_FAILED = re.compile(r"sqs commerce-hub-crm-(?!dlq)\S+ batch \d+, \d+ failed.*?(\d+\.\d) ms$")


def failed_fast(text: str, api: str) -> bool:
    """A CRM batch failed in under 3 s after the circuit opened; the first, which met the 503s, took
    its retries' waits (0.5 + 1 + 2 + 4 s and jitter) before it failed."""
    after = text[text.index(f"circuit open for {api}") :]
    return any(float(m.group(1)) < 3000 for m in map(_CRM_FAILED.search, after.splitlines()) if m)


def crm_dead_letters(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    (url,) = sqs.list_queues(QueueNamePrefix="commerce-hub-crm-dlq-")["QueueUrls"]
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])


def has_profile(http: httpx.Client, email: str) -> bool:
    return http.get(f"/customers/{quote(email)}", headers=AUTH).status_code == 200


def test_a_crm_that_is_down_fails_records_fast_and_gets_them_once_it_is_back(outage_stack, hubspot, output):
    stack, api = outage_stack
    first, second = f"outage.first.{RUN}@example.com", f"outage.second.{RUN}@example.com"
    base = int(time.time() * 1000) % 10**12
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        answer = post(http, stack, "shopify", shopify_order(base, first), topic="orders/create")
        assert answer.status_code == 200, answer.text

        # The first push meets a CRM that answers 503 on every retry: its circuit opens.
        wait_for(lambda: f"circuit open for {api}" in output.getvalue(), what="the CRM's circuit to open", seconds=90)
        refused = hubspot.refused
        assert refused >= 1

        # A second customer's record, while the circuit is open: recorded, its push not even tried.
        answer = post(http, stack, "shopify", shopify_order(base + 10, second), topic="orders/create")
        assert answer.status_code == 200, answer.text
        wait_for(lambda: has_profile(http, second), what="the second customer's profile", seconds=30)
        wait_for(lambda: failed_fast(output.getvalue(), api), what="a CRM batch failing fast", seconds=30)
        assert hubspot.refused == refused, "no call reached the CRM while its circuit was open"

        # The CRM comes back: after the cool-down one call goes through, closes the circuit, and
        # every record that was sent back to the queue is pushed.
        hubspot.down = False
        wait_for(lambda: {first, second} <= set(hubspot.pushed), what="both contacts pushed", seconds=60)
    text = output.getvalue()
    assert f"circuit closed for {api}" in text
    assert crm_dead_letters(stack) == []
