"""The CRM push: exact HubSpot requests (httpx.MockTransport), partial failures retried alone, rate
limits honoured, one push per customer at a time, nothing pushed twice. Salesforce: test_salesforce.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from hub.adapters.crm import crm_client
from hub.adapters.http import rate_limit_wait
from hub.adapters.hubspot import UPSERT_PATH
from hub.config import parse_config
from hub.domain.customers import Contact
from hub.errors import CrmBusyError, CrmSetupError, HubSpotError
from hub.secrets import SecretsProvider
from hub.services.crm import CrmSync

from tests.customer_fakes import FakeCrm
from tests.unit.test_customer_profiles import customer, placed, service

SECRETS = SecretsProvider(values={"HUBSPOT_ACCESS_TOKEN": "pat-na1-test-token"})
HUBSPOT = parse_config("locations: [{id: wh-east, country: US}]\ncrm: {provider: hubspot}\n").crm


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the outbound client asked for, recorded instead of slept."""
    import httpx_retries.retry

    asked: list[float] = []
    monkeypatch.setattr(httpx_retries.retry.time, "sleep", asked.append)
    return asked


class Api:
    """A scripted API: each call gets the next answer (the last one repeats); requests are kept."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response] | httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
        return answer(request) if callable(answer) else answer

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def hubspot(api: Api):
    return crm_client(HUBSPOT, SECRETS, transport=httpx.MockTransport(api))


def contacts(n: int) -> list[Contact]:
    return [Contact(f"c{i}@example.com", {"email": f"c{i}@example.com", "firstname": f"C{i}"}) for i in range(n)]


def ok(request: httpx.Request) -> httpx.Response:
    """HubSpot's batch upsert answer: one result per input, with the contact's id and its properties
    (shape from developers.hubspot.com, CRM contacts v3 "Create or update a batch of contacts")."""
    inputs = json.loads(request.content)["inputs"]
    results = [{"id": str(900 + i), "properties": {"email": v["id"]}, "new": True} for i, v in enumerate(inputs)]
    return httpx.Response(200, json={"status": "COMPLETE", "results": results})


# ---------------------------------------------------------------------------------------------- HubSpot
def test_hubspot_batch_upsert_by_email_with_bearer_auth():
    api = Api(ok)
    properties = {"email": "ada@example.com", "firstname": "Ada", "hub_orders": 2, "hub_spent": Decimal("75.00"),
                  "hub_optin": True, "hub_tags": ["a", "b"]}  # fmt: skip
    contact = Contact("ada@example.com", properties)
    # Success is the id HubSpot gave the contact, recorded for erasure.
    assert hubspot(api).upsert([contact]) == {"ada@example.com": "900"}
    (request,) = api.requests
    assert (request.method, request.url) == ("POST", httpx.URL("https://api.hubapi.com" + UPSERT_PATH))
    # The date-versioned path, same body as the legacy v3 one (developers.hubspot.com/docs/api-reference/
    # 2026-03/crm/objects/contacts/batch/upsert-contacts).
    assert request.url.path == "/crm/objects/2026-03/contacts/batch/upsert"
    assert request.headers["Authorization"] == "Bearer pat-na1-test-token"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "inputs": [
            {
                "idProperty": "email",
                "id": "ada@example.com",
                "properties": {
                    "email": "ada@example.com",
                    "firstname": "Ada",
                    "hub_orders": "2",
                    "hub_spent": "75.00",
                    "hub_optin": "true",
                    "hub_tags": "a;b",
                },
            }
        ]
    }


def test_hubspot_calls_carry_at_most_100_inputs():
    api = Api(ok)
    outcomes = hubspot(api).upsert(contacts(250))
    assert [len(b["inputs"]) for b in api.bodies] == [100, 100, 50]
    assert len(outcomes) == 250 and all(isinstance(v, str) for v in outcomes.values())
    assert len(set(outcomes.values())) == 100  # each call's ids; the emails map them to their contacts
    assert [i["id"] for b in api.bodies for i in b["inputs"]] == [f"c{i}@example.com" for i in range(250)]


def test_a_partly_failed_batch_sends_again_only_what_failed_and_not_what_is_invalid():
    multi_status = httpx.Response(207, json={
        "status": "COMPLETE", "results": [{"id": "1"}], "numErrors": 2,
        "errors": [
            {"status": "error", "category": "VALIDATION_ERROR", "message": "Email c1@example.com is invalid",
             "context": {"ids": ["c1@example.com"]}},
            {"status": "error", "category": "CONFLICT", "message": "busy", "context": {"ids": ["C2@example.com"]}},
        ],
    })  # fmt: skip
    api = Api(multi_status, ok)
    outcomes = hubspot(api).upsert(contacts(3))
    assert [[i["id"] for i in b["inputs"]] for b in api.bodies] == [
        ["c0@example.com", "c1@example.com", "c2@example.com"],
        ["c2@example.com"],
    ]
    assert outcomes["c0@example.com"] == "1" and outcomes["c2@example.com"] == "900"
    error = outcomes["c1@example.com"]
    assert isinstance(error, HubSpotError) and error.category == "VALIDATION_ERROR"
    assert "example.com" not in str(error)  # HubSpot's message quotes the email; ours never does


def test_a_batch_refused_for_named_inputs_is_sent_again_without_them():
    refused = httpx.Response(400, json={"status": "error", "category": "VALIDATION_ERROR", "message": "bad",
                                        "context": {"ids": ["c0@example.com"]}})  # fmt: skip
    api = Api(refused, ok)
    outcomes = hubspot(api).upsert(contacts(2))
    assert [[i["id"] for i in b["inputs"]] for b in api.bodies] == [
        ["c0@example.com", "c1@example.com"],
        ["c1@example.com"],
    ]
    assert isinstance(outcomes["c0@example.com"], HubSpotError) and outcomes["c1@example.com"] == "900"


def test_429_is_retried_after_the_wait_hubspot_asks_for(waits):
    api = Api(httpx.Response(429, headers={"Retry-After": "3"}, json={"category": "RATE_LIMITS"}), ok)
    assert hubspot(api).upsert(contacts(1)) == {"c0@example.com": "900"}
    assert len(api.requests) == 2 and waits == [3.0]


def test_429_without_retry_after_waits_out_the_rate_limit_window(waits):
    limited = httpx.Response(429, headers={
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Secondly-Remaining": "0",
    })  # fmt: skip
    api = Api(limited, ok)
    assert hubspot(api).upsert(contacts(1)) == {"c0@example.com": "900"}
    assert waits == [10.0]
    assert rate_limit_wait(httpx.Headers({"X-HubSpot-RateLimit-Secondly-Remaining": "0"})) == 1.0
    assert rate_limit_wait(httpx.Headers({"X-HubSpot-RateLimit-Remaining": "12"})) is None


def test_5xx_is_retried_and_a_call_that_keeps_failing_fails_every_input_of_it(waits):
    api = Api(httpx.Response(502), httpx.Response(503), ok)
    assert hubspot(api).upsert(contacts(2)) == {"c0@example.com": "900", "c1@example.com": "901"}
    assert len(api.requests) == 3
    failing = Api(httpx.Response(500, text="Internal error for c0@example.com"))
    outcomes = hubspot(failing).upsert(contacts(2))
    assert len(failing.requests) == 5  # the first try and four retries
    assert all(isinstance(e, HubSpotError) and e.status_code == 500 for e in outcomes.values())
    assert all("example.com" not in str(e) for e in outcomes.values())


def test_a_missing_credential_is_named_without_its_value():
    with pytest.raises(CrmSetupError, match="HUBSPOT_ACCESS_TOKEN"):
        crm_client(HUBSPOT, SecretsProvider(values={}))


# ----------------------------------------------------------------------------------------------- sync
def sync_world(provider=HUBSPOT):
    svc, store = service()
    svc.handle(placed("1001", "ada@example.com", 5000))
    svc.handle(customer("ada@example.com", first="Ada", minutes=1))
    crm = FakeCrm()
    config = parse_config("locations: [{id: a, country: US}]").model_copy(update={"crm": provider})
    return svc, store, crm, CrmSync(store, lambda _crm: crm, lambda: config)


def test_a_profile_is_pushed_once_until_what_the_crm_sees_changes():
    svc, store, crm, sync = sync_world()
    assert sync.push(["ada@example.com"]) == {}
    assert [[c.email for c in call] for call in crm.calls] == [["ada@example.com"]]
    assert crm.calls[0][0].properties == {"email": "ada@example.com", "firstname": "Ada"}
    assert sync.push(["ada@example.com"]) == {}  # a redelivery: nothing new for the CRM
    svc.handle(placed("1002", "ada@example.com", 100, minutes=5))  # not a mapped field
    assert sync.push(["ada@example.com"]) == {} and len(crm.calls) == 1
    svc.handle(customer("ada@example.com", first="Ada", last="Lovelace", minutes=9))
    assert sync.push(["ada@example.com"]) == {} and len(crm.calls) == 2
    assert store.leases == {}


def test_a_customer_another_push_holds_is_not_pushed_and_fails_for_a_retry():
    _svc, store, crm, sync = sync_world()
    assert store.acquire("ada@example.com", "another-worker", 120)
    failures = sync.push(["ada@example.com"])
    assert isinstance(failures["ada@example.com"], CrmBusyError) and crm.calls == []
    assert store.leases["ada@example.com"][0] == "another-worker"


def test_a_failed_push_is_not_remembered_so_the_retry_pushes_again():
    _svc, store, crm, sync = sync_world()
    crm.errors["ada@example.com"] = HubSpotError("HubSpot batch upsert failed with HTTP 500", 500)
    assert set(sync.push(["ada@example.com"])) == {"ada@example.com"}
    assert store.pushed("ada@example.com") is None and store.leases == {}
    crm.errors.clear()
    assert sync.push(["ada@example.com"]) == {} and len(crm.calls) == 2


def test_nothing_is_pushed_without_a_crm_or_for_an_erased_customer():
    _svc, _store, crm, sync = sync_world(parse_config("locations: [{id: a, country: US}]").crm)
    assert sync.push(["ada@example.com"]) == {} and crm.calls == []
    _svc, _store, crm, sync = sync_world()
    assert sync.push(["nobody@example.com"]) == {} and crm.calls == []


def test_a_crm_that_cannot_be_called_fails_every_customer_with_the_reason():
    _svc, store, _crm, _sync = sync_world()
    config = parse_config("locations: [{id: a, country: US}]\ncrm: {provider: hubspot}")
    sync = CrmSync(store, lambda crm: crm_client(crm, SecretsProvider(values={})), lambda: config)
    failures = sync.push(["ada@example.com"])
    assert isinstance(failures["ada@example.com"], CrmSetupError)
