"""crm_upsert with moto and a HubSpot played by respx: a record whose Lambda has too little time left
fails fast and alone (and is pushed when it comes back with time), and a HubSpot that is down opens
its circuit, after which records fail fast without a call until it lets one through again.

HubSpot's answers follow "Create or update a batch of contacts by unique property values" in its
CRM API reference: 200 with one result per input, and 503 with a JSON error while it is down."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import respx
from hub.adapters.breaker import breaker_for, reset_breakers

from tests.functional.conftest import FakeContext
from tests.functional.test_crm_upsert import deliver, use_config
from tests.unit.test_customer_profiles import placed

# An order without an email (a guest checkout the storefront sent none for): no profile, no push.
GUEST = placed("guest", None)
UPSERT = "https://api.hubapi.com/crm/objects/2026-03/contacts/batch/upsert"


class ShortContext(FakeContext):
    """A Lambda with `millis` left: less than the margin and one useful call."""

    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def upserted(request: httpx.Request) -> httpx.Response:
    emails = [item["id"] for item in json.loads(request.content)["inputs"]]
    results = [{"id": str(100 + i), "properties": {"email": e}} for i, e in enumerate(emails)]
    return httpx.Response(200, json={"status": "COMPLETE", "results": results, "errors": []})


@pytest.fixture
def crm(aws, load_function, monkeypatch):
    use_config(aws, monkeypatch, "crm: {provider: hubspot}\n", {"HUBSPOT_ACCESS_TOKEN": "pat-test"})
    return load_function("crm_upsert")


def test_a_record_without_time_for_the_push_fails_fast_and_is_pushed_on_its_retry(crm, context):
    with respx.mock() as hubspot:
        route = hubspot.post(UPSERT).mock(side_effect=upserted)
        result = deliver(
            crm, ShortContext(2_500), placed("1", "ada@example.com"), placed("2", "bob@example.com"), GUEST
        )
        # The guest order needs no push and succeeds; the two that do go back to the queue.
        assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
        assert not route.called
        reasons = [str(info[1]) for info in crm.consumer.processor.exceptions]
        assert reasons and all("not started" in r and "api.hubapi.com" in r for r in reasons)

        # SQS delivers them again; this invocation has its time: both are pushed.
        assert deliver(crm, context, placed("1", "ada@example.com"), placed("2", "bob@example.com")) == {
            "batchItemFailures": []
        }
        assert route.call_count == 1


def test_a_crm_that_is_down_opens_its_circuit_and_later_records_fail_fast(crm, context, monkeypatch):
    monkeypatch.setenv("HUB_CIRCUIT_FAILURES", "2")
    monkeypatch.setenv("HUB_CIRCUIT_COOLDOWN_SECONDS", "60")
    reset_breakers()
    with respx.mock() as hubspot:
        route = hubspot.post(UPSERT).mock(return_value=httpx.Response(503, json={"status": "error"}))
        for n in range(2):
            result = deliver(crm, context, placed(str(n), f"c{n}@example.com"), GUEST)
            assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
        calls = route.call_count
        assert calls >= 2
        assert breaker_for("api.hubapi.com").state == "open"

        result = deliver(crm, context, placed("9", "late@example.com"), placed("0", "c0@example.com"), GUEST)
        assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
        assert route.call_count == calls
        reasons = [str(info[1]) for info in crm.consumer.processor.exceptions]
        assert reasons and all(r.startswith("circuit open for api.hubapi.com") for r in reasons)

        # HubSpot is back and the cool-down has passed: the trial push closes the circuit.
        route.mock(side_effect=upserted)
        breaker = breaker_for("api.hubapi.com")
        monkeypatch.setattr(breaker, "_clock", lambda: time.monotonic() + 61)
        assert deliver(crm, context, placed("9", "late@example.com")) == {"batchItemFailures": []}
        assert breaker.state == "closed"
