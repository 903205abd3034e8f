"""Salesforce: the exact requests (a session from the client credentials flow, upserts through sObject
Collections with the email in the body), a session renewed once when it expires, a Lead's Company sent
only to create it; and the fake Salesforce refusing what Salesforce refuses, one test per refusal.

Shapes follow Salesforce's documentation:
- the token: help.salesforce.com, "OAuth 2.0 Client Credentials Flow for Server-to-Server
  Integration" (POST {My Domain}/services/oauth2/token, form grant_type=client_credentials,
  client_id, client_secret; the answer's access_token, instance_url, id, token_type, issued_at);
- the upsert: REST API Developer Guide, "Upsert Records Using sObject Collections" (PATCH
  /services/data/vXX.X/composite/sobjects/{Object}/{ExternalIdField}, body {"allOrNone", "records":
  [{"attributes": {"type"}, ...}]}, at most 200 records, one UpsertResult {id, success, errors,
  created} per record in order); SOAP API Developer Guide, "UpsertResult" and StatusCode
  (REQUIRED_FIELD_MISSING, DUPLICATE_EXTERNAL_ID);
- errors: REST API Developer Guide, "Status Codes and Error Responses" (401 INVALID_SESSION_ID when
  the session expired, 403 REQUEST_LIMIT_EXCEEDED).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest
from hub.adapters.crm import crm_client
from hub.adapters.salesforce import ClientCredentials, SalesforceClient
from hub.config import parse_config
from hub.domain.customers import Contact
from hub.errors import (
    CrmSetupError,
    SalesforceAuthError,
    SalesforceError,
    SalesforceLimitError,
    SalesforceMultipleMatchesError,
)
from hub.secrets import SecretsProvider
from hub.services.crm import contact_for

from tests.crm_apis import SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, FakeSalesforce
from tests.unit.test_customer_profiles import customer, placed, service

INSTANCE = "https://acme.my.salesforce.com"
CREDENTIALS = {
    "SALESFORCE_INSTANCE_URL": INSTANCE,
    "SALESFORCE_CLIENT_ID": SALESFORCE_CLIENT_ID,
    "SALESFORCE_CLIENT_SECRET": SALESFORCE_CLIENT_SECRET,
}
SECRETS = SecretsProvider(values=CREDENTIALS)
CONTACTS = parse_config("""
locations: [{id: wh-east, country: US}]
crm:
  provider: salesforce
  salesforce: {object: Contact, external_id_field: Hub_Email__c}
  properties: {FirstName: first_name, LastName: last_name, Orders__c: order_count,
               Spent_USD__c: total_spent.USD, Email_Opt_In__c: email_marketing, Channels__c: channels}
""").crm
LEADS = parse_config(
    "locations: [{id: a, country: US}]\n"
    "crm: {provider: salesforce, salesforce: {object: Lead, external_id_field: Hub_Email__c}}"
).crm
TOKEN_ANSWER = {
    "access_token": "00Dxx0000001gPL!AR8AQ.first",
    "signature": "c2lnbmF0dXJl",
    "scope": "api",
    "instance_url": INSTANCE,
    "id": f"{INSTANCE}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
    "token_type": "Bearer",
    "issued_at": "1764966000000",
}


@pytest.fixture(autouse=True)
def fresh_tokens_and_no_waits(monkeypatch: pytest.MonkeyPatch):
    import httpx_retries.retry

    monkeypatch.setattr(httpx_retries.retry.time, "sleep", lambda _seconds: None)
    ClientCredentials.forget_all()
    yield
    ClientCredentials.forget_all()


class Api:
    """Scripted answers by path; every request is kept."""

    def __init__(self, upsert: Callable[[httpx.Request], httpx.Response], token: dict | None = None) -> None:
        self.upsert = upsert
        self.token = token or TOKEN_ANSWER
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/services/oauth2/token":
            return httpx.Response(200, json=self.token)
        return self.upsert(request)

    def calls(self, path_part: str) -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.path]


def results_for(request: httpx.Request) -> httpx.Response:
    records = json.loads(request.content)["records"]
    return httpx.Response(
        200,
        json=[{"id": f"003xx{i:013d}", "success": True, "errors": [], "created": True} for i in range(len(records))],
    )


def client(transport: httpx.BaseTransport, crm=CONTACTS, secrets: SecretsProvider = SECRETS) -> SalesforceClient:
    made = crm_client(crm, secrets, transport=transport)
    assert isinstance(made, SalesforceClient)
    return made


def ada_contact(email: str = "ada@acme.inc") -> Contact:
    svc, store = service()
    svc.handle(placed("1001", email, 7500))
    svc.handle(customer(email, first="Ada", last="Lovelace", email_ok=True))
    return contact_for(store.get(email), CONTACTS)


# ------------------------------------------------------------------------------------------- requests
def test_a_session_from_the_client_credentials_then_one_collection_upsert_with_the_email_in_the_body():
    api = Api(results_for)
    contact = ada_contact("ada@acme.inc")  # a TLD that looks like a file extension: never in the URL
    assert client(httpx.MockTransport(api)).upsert([contact]) == {"ada@acme.inc": "003xx0000000000000"}
    token, upsert = api.requests
    assert (token.method, str(token.url)) == ("POST", f"{INSTANCE}/services/oauth2/token")
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token.headers
    assert parse_qs(token.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [SALESFORCE_CLIENT_ID],
        "client_secret": [SALESFORCE_CLIENT_SECRET],
    }
    assert (upsert.method, str(upsert.url)) == (
        "PATCH",
        f"{INSTANCE}/services/data/v66.0/composite/sobjects/Contact/Hub_Email__c",
    )
    assert upsert.headers["Authorization"] == f"Bearer {TOKEN_ANSWER['access_token']}"
    assert upsert.headers["Content-Type"] == "application/json"
    assert json.loads(upsert.content) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Contact"},
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Orders__c": 1,
                "Spent_USD__c": "75.00",
                "Email_Opt_In__c": True,
                "Channels__c": "shopify",
                "Hub_Email__c": "ada@acme.inc",
            }
        ],
    }


def test_the_fake_accepts_what_the_hub_sends_and_keeps_one_record_per_email():
    fake = FakeSalesforce()
    first = client(fake.transport()).upsert([ada_contact("ada@acme.inc")])
    again = client(fake.transport()).upsert([ada_contact("ada@acme.inc")])
    assert first == again and first["ada@acme.inc"].startswith("003")
    [(record_id, fields)] = fake.find("Contact", "ada@acme.inc")
    assert record_id == first["ada@acme.inc"] and fields["LastName"] == "Lovelace"


def test_contacts_go_200_to_a_call_in_order_and_each_gets_its_own_id():
    fake = FakeSalesforce()
    contacts = [Contact(f"c{i}@example.com", {"LastName": f"C{i}"}) for i in range(450)]
    outcomes = client(fake.transport()).upsert(contacts)
    upserts = fake.seen("PATCH", "/services/data/v66.0/composite/sobjects/Contact/Hub_Email__c")
    assert [len(r.body["records"]) for r in upserts] == [200, 200, 50]
    assert [r["Hub_Email__c"] for u in upserts for r in u.body["records"]] == [c.email for c in contacts]
    assert len(set(outcomes.values())) == 450
    assert all(fake.find("Contact", c.email)[0][0] == outcomes[c.email] for c in contacts)


def test_the_token_is_kept_for_the_sandbox_and_shared_by_the_clients_built_in_it():
    fake = FakeSalesforce()
    for n in range(3):
        client(fake.transport()).upsert([Contact(f"c{n}@example.com", {"LastName": "C"})])
    assert len(fake.tokens_issued) == 1 and len(fake.seen("POST", "/services/oauth2/token")) == 1


def test_an_expired_session_is_renewed_once_and_the_upsert_sent_again():
    fake = FakeSalesforce()
    salesforce = client(fake.transport())
    salesforce.upsert([Contact("a@example.com", {"LastName": "A"})])
    fake.expire_sessions()  # the org's session timeout (2 hours by default) passes
    assert salesforce.upsert([Contact("b@example.com", {"LastName": "B"})])["b@example.com"].startswith("003")
    assert len(fake.tokens_issued) == 2
    patches = fake.seen("PATCH", "/services/data/")
    assert [p.headers["authorization"] for p in patches] == [
        f"Bearer {fake.tokens_issued[0]}",
        f"Bearer {fake.tokens_issued[0]}",  # refused: INVALID_SESSION_ID
        f"Bearer {fake.tokens_issued[1]}",
    ]


def test_a_session_refused_even_when_new_fails_the_records_without_a_third_try():
    expired = httpx.Response(401, json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    api = Api(lambda _r: expired)
    outcomes = client(httpx.MockTransport(api)).upsert([Contact("a@example.com", {"LastName": "A"})])
    error = outcomes["a@example.com"]
    assert isinstance(error, SalesforceAuthError) and error.code == "INVALID_SESSION_ID"
    assert len(api.calls("/services/oauth2/token")) == 2 and len(api.calls("/composite/")) == 2


def test_a_static_token_still_works_and_its_expiry_says_how_to_fix_it():
    fake = FakeSalesforce()
    token = fake.answer(
        "POST",
        "/services/oauth2/token",
        {"content-type": "application/x-www-form-urlencoded"},
        f"grant_type=client_credentials&client_id={SALESFORCE_CLIENT_ID}&client_secret={SALESFORCE_CLIENT_SECRET}".encode(),
    )[1]["access_token"]
    static = SecretsProvider(values={"SALESFORCE_INSTANCE_URL": INSTANCE, "SALESFORCE_ACCESS_TOKEN": token})
    salesforce = client(fake.transport(), secrets=static)
    assert salesforce.upsert([Contact("a@example.com", {"LastName": "A"})])["a@example.com"]
    fake.expire_sessions()
    error = salesforce.upsert([Contact("b@example.com", {"LastName": "B"})])["b@example.com"]
    assert isinstance(error, SalesforceAuthError) and "SALESFORCE_CLIENT_ID" in str(error)
    assert token not in str(error) and len(fake.tokens_issued) == 1  # nothing to renew it with


def test_refused_client_credentials_fail_every_record_with_the_oauth_code_and_no_secret():
    fake = FakeSalesforce(client_secret="another-secret")
    outcomes = client(fake.transport()).upsert([Contact("a@example.com", {"LastName": "A"})])
    error = outcomes["a@example.com"]
    assert isinstance(error, SalesforceAuthError) and error.code == "invalid_client"
    assert "My Domain" in str(error) and SALESFORCE_CLIENT_SECRET not in str(error)
    assert fake.seen("PATCH", "/") == []


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"SALESFORCE_CLIENT_ID": "x"}, "SALESFORCE_INSTANCE_URL"),
        ({"SALESFORCE_INSTANCE_URL": INSTANCE, "SALESFORCE_CLIENT_ID": "x"}, "SALESFORCE_CLIENT_SECRET"),
        ({"SALESFORCE_INSTANCE_URL": INSTANCE}, "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET"),
    ],
)
def test_a_missing_credential_is_named(values, named):
    with pytest.raises(CrmSetupError, match=named):
        crm_client(CONTACTS, SecretsProvider(values=values))


# ------------------------------------------------------------------------------------------- outcomes
def test_each_record_stands_alone_and_a_duplicate_external_id_is_for_a_person_to_merge():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[
            {"id": "003xx0000000001AAA", "success": True, "errors": [], "created": False},
            {"id": None, "success": False, "errors": [{"statusCode": "DUPLICATE_EXTERNAL_ID",
             "message": "Hub_Email__c: more than one record found for b@example.com", "fields": []}]},
            {"id": None, "success": False, "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
             "message": "Phone of c@example.com is invalid", "fields": ["Phone"]}]},
        ])  # fmt: skip

    api = Api(answer)
    contacts = [Contact(f"{x}@example.com", {"LastName": x.upper()}) for x in "abc"]
    outcomes = client(httpx.MockTransport(api)).upsert(contacts)
    assert outcomes["a@example.com"] == "003xx0000000001AAA"
    assert isinstance(outcomes["b@example.com"], SalesforceMultipleMatchesError)
    assert "merge them in Salesforce" in str(outcomes["b@example.com"])
    invalid = outcomes["c@example.com"]
    assert type(invalid) is SalesforceError and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in str(invalid)
    assert "Phone" in str(invalid) and all("example.com" not in str(e) for e in outcomes.values() if e)
    assert len(api.calls("/composite/")) == 1


def test_the_request_limit_fails_every_record_of_the_call_for_later():
    limited = httpx.Response(
        403, json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]
    )
    outcomes = client(httpx.MockTransport(Api(lambda _r: limited))).upsert(
        [Contact(f"c{i}@example.com", {"LastName": "C"}) for i in range(3)]
    )
    assert all(isinstance(e, SalesforceLimitError) and e.status_code == 403 for e in outcomes.values())


def test_a_new_lead_gets_a_company_and_a_last_name_and_an_update_never_overwrites_its_company():
    fake = FakeSalesforce()
    svc, store = service()
    svc.handle(placed("1", "ada@example.com"))  # no name, no company: all the profile knows is the email
    lead = contact_for(store.get("ada@example.com"), LEADS)
    assert lead.properties == {"Email": "ada@example.com", "LastName": "Unknown"}
    salesforce = client(fake.transport(), crm=LEADS)
    lead_id = salesforce.upsert([lead])["ada@example.com"]
    assert lead_id.startswith("00Q")
    first, second = (p.body["records"][0] for p in fake.seen("PATCH", "/services/data/"))
    assert "Company" not in first and second["Company"] == "Unknown"  # sent only after REQUIRED_FIELD_MISSING
    fake.records["Lead"][lead_id]["Company"] = "Analytical Engines Ltd"  # a salesperson fills it in
    assert salesforce.upsert([lead]) == {"ada@example.com": lead_id}
    assert fake.records["Lead"][lead_id]["Company"] == "Analytical Engines Ltd"
    assert "Company" not in fake.seen("PATCH", "/services/data/")[-1].body["records"][0]


def test_a_lead_company_the_merchant_maps_or_sets_is_sent_with_every_push():
    crm = parse_config(
        "locations: [{id: a, country: US}]\ncrm: {provider: salesforce, fallbacks: {Company: Web shop},"
        " salesforce: {object: Lead, external_id_field: Hub_Email__c}}"
    ).crm
    assert crm.defaults() == {"LastName": "Unknown", "Company": "Web shop"}
    assert crm.salesforce_create_defaults() == {}
    assert LEADS.salesforce_create_defaults() == {"Company": "Unknown"}
    assert CONTACTS.salesforce_create_defaults() == {}


def test_salesforce_contacts_get_a_last_name_it_requires():
    svc, store = service()
    svc.handle(placed("1", "ada@example.com"))
    crm = parse_config(
        "locations: [{id: a, country: US}]\ncrm: {provider: salesforce, salesforce: {external_id_field: Hub_Email__c}}"
    ).crm
    assert contact_for(store.get("ada@example.com"), crm).properties == {
        "Email": "ada@example.com",
        "LastName": "Unknown",
    }


# ------------------------------------------------------------------------------------------- the fake
def sf_call(fake: FakeSalesforce, method: str, path: str, body=None, token: str | None = None):
    if token is None:
        form = f"grant_type=client_credentials&client_id={fake.client_id}&client_secret={fake.client_secret}"
        _status, answer = fake.answer(
            "POST", "/services/oauth2/token", {"content-type": "application/x-www-form-urlencoded"}, form.encode()
        )
        token = answer["access_token"]
    raw = json.dumps(body).encode() if body is not None else b""
    return fake.answer(method, path, {"authorization": f"Bearer {token}"}, raw)


UPSERT = "/services/data/v66.0/composite/sobjects/{}/Hub_Email__c"


def records(sobject: str, *fields: dict) -> dict:
    return {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **f} for f in fields]}


def test_the_fake_refuses_an_expired_session():
    fake = FakeSalesforce()
    body = records("Contact", {"Hub_Email__c": "a@example.com", "LastName": "A"})
    assert sf_call(fake, "PATCH", UPSERT.format("Contact"), body)[0] == 200
    fake.expire_sessions()
    token = fake.tokens_issued[0]
    assert sf_call(fake, "PATCH", UPSERT.format("Contact"), body, token=token) == (
        401,
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )


def test_the_fake_refuses_a_lead_without_a_company():
    status, [result] = sf_call(
        FakeSalesforce(),
        "PATCH",
        UPSERT.format("Lead"),
        records("Lead", {"Hub_Email__c": "a@example.com", "LastName": "A"}),
    )
    assert status == 200 and result["success"] is False
    assert result["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING" and result["errors"][0]["fields"] == [
        "Company"
    ]


def test_the_fake_refuses_more_than_200_records():
    body = records("Contact", *({"Hub_Email__c": f"c{i}@example.com", "LastName": "C"} for i in range(201)))
    status, errors = sf_call(FakeSalesforce(), "PATCH", UPSERT.format("Contact"), body)
    assert status == 400 and errors[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_the_fake_refuses_a_record_without_its_type():
    body = {"allOrNone": False, "records": [{"Hub_Email__c": "a@example.com", "LastName": "A"}]}
    assert sf_call(FakeSalesforce(), "PATCH", UPSERT.format("Contact"), body)[0] == 400


def test_the_fake_refuses_a_retired_api_version_and_unknown_client_credentials():
    fake = FakeSalesforce()
    old = "/services/data/v30.0/composite/sobjects/Contact/Hub_Email__c"
    assert sf_call(fake, "PATCH", old, records("Contact", {"Hub_Email__c": "a@example.com"}))[0] == 410
    status, answer = fake.answer(
        "POST",
        "/services/oauth2/token",
        {"content-type": "application/x-www-form-urlencoded"},
        b"grant_type=client_credentials&client_id=nobody&client_secret=nothing",
    )
    assert (status, answer["error"]) == (400, "invalid_client")
