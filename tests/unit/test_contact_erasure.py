"""Erasure beyond the table: the contacts the hub created in CRMs and marketing tools are recorded under
the customer's erasure key and deleted through each vendor's API when the customer is erased.

Vendor requests and answers follow each vendor's API reference:
- HubSpot: POST /crm/v3/objects/contacts/gdpr-delete, body {"objectId": id}, 204 without a body
  (developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/post-crm-v3-objects-contacts-gdpr-delete);
- Salesforce: DELETE /services/data/vXX.X/sobjects/{Object}/{id}, 204; 404 NOT_FOUND or
  ENTITY_IS_DELETED for a record already gone (REST API Developer Guide, "Delete a Record");
- Klaviyo: POST /api/data-privacy-deletion-jobs, data-privacy-deletion-job naming the profile by id,
  202; POST /api/profile-import answers the profile with its id (developers.klaviyo.com, revision
  2025-01-15, "Request Profile Deletion" and "Create or Update Profile");
- Mailchimp: POST /3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent, 204; the
  path takes the member's contact_id in place of the hash (mailchimp.com/developer, Marketing API,
  "Delete list member").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from hub.adapters.hubspot import GDPR_DELETE_PATH, HubSpotClient
from hub.adapters.klaviyo import KlaviyoClient
from hub.adapters.mailchimp import MailchimpClient
from hub.adapters.salesforce import SalesforceClient
from hub.config import parse_config
from hub.domain.customers import erasure_key
from hub.errors import ContactErasureError, HubSpotError, OutboundError
from hub.events import CustomerErased, CustomerErasedData, ProviderRef
from hub.ports import ContactRecord
from hub.services.contact_erasure import ContactErasure
from hub.services.crm import CrmSync

from tests.customer_fakes import FakeContactRegistry, FakeCrm
from tests.unit.test_customer_profiles import customer, placed, service
from tests.unit.test_marketing_channels import message

ADA = "ada@example.com"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx_retries.retry

    monkeypatch.setattr(httpx_retries.retry.time, "sleep", lambda _seconds: None)


def erased(key: str | None, *, scope: str = "customer", profile_erased: bool = True) -> CustomerErased:
    return CustomerErased(
        event_id="evt-erased",
        source="hub",
        channel="shopify",
        occurred_at=NOW,
        provider=ProviderRef(topic="privacy/erased", event_id="evt-redact"),
        data=CustomerErasedData(
            erasure_key=key, scope=scope, erased_before=NOW, profile_erased=profile_erased, order_ids=[]
        ),
    )


class Api:
    """Answers each request with `answer(request)`; keeps the requests."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def http(api: Api, base: str) -> httpx.Client:
    from hub.adapters.http import outbound_client

    return outbound_client(base, transport=httpx.MockTransport(api))


# ------------------------------------------------------------------------------------ vendor deletes
@pytest.mark.parametrize(("status", "deleted"), [(204, True), (404, False)])
def test_hubspot_gdpr_deletes_by_contact_id_and_a_contact_already_gone_is_done(status, deleted):
    api = Api(lambda _r: httpx.Response(status))
    assert HubSpotClient(http(api, "https://api.hubapi.com")).delete_contact("512") is deleted
    (request,) = api.requests
    assert (request.method, request.url.path) == ("POST", GDPR_DELETE_PATH)
    # By id, never by email: an email HubSpot does not know would be added to its blocklist.
    assert json.loads(request.content) == {"objectId": "512"}


def test_a_hubspot_delete_that_keeps_failing_raises_without_hubspots_message():
    api = Api(lambda _r: httpx.Response(500, json={"category": "INTERNAL_ERROR", "message": "ada@example.com"}))
    with pytest.raises(HubSpotError) as failed:
        HubSpotClient(http(api, "https://api.hubapi.com")).delete_contact("512")
    assert len(api.requests) == 5 and "ada" not in str(failed.value) and "INTERNAL_ERROR" in str(failed.value)


@pytest.mark.parametrize(
    ("answer", "deleted"),
    [
        (httpx.Response(204), True),
        (
            httpx.Response(404, json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
            False,
        ),
        (httpx.Response(400, json=[{"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}]), False),
    ],
)
def test_salesforce_deletes_the_record_it_created_by_its_id(answer, deleted):
    api = Api(lambda _r: answer)
    client = SalesforceClient(
        http(api, "https://acme.my.salesforce.com"),
        sobject="Contact",
        external_id_field="Hub_Email__c",
        api_version="v66.0",
    )
    assert client.delete_contact("003xx000004TmiQ") is deleted
    (request,) = api.requests
    assert (request.method, request.url.path) == ("DELETE", "/services/data/v66.0/sobjects/Contact/003xx000004TmiQ")


def test_klaviyo_learns_the_profile_id_and_asks_for_a_deletion_job_by_it():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/profile-import":
            return httpx.Response(201, json={"data": {"type": "profile", "id": "01GDDKASAP8TKDDA2GRZDSVP4H"}})
        return httpx.Response(202)

    api = Api(answer)
    client = KlaviyoClient("pk_test", transport=httpx.MockTransport(api))
    assert client.profile_id(ADA) == "01GDDKASAP8TKDDA2GRZDSVP4H"
    assert client.delete_contact("01GDDKASAP8TKDDA2GRZDSVP4H") is True
    imported, job = api.requests
    assert json.loads(imported.content) == {"data": {"type": "profile", "attributes": {"email": ADA}}}
    assert (job.method, job.url.path) == ("POST", "/api/data-privacy-deletion-jobs")
    assert job.headers["revision"] == "2026-10-15"  # the pinned default (hub.vendor_versions)
    assert json.loads(job.content) == {
        "data": {
            "type": "data-privacy-deletion-job",
            "attributes": {"profile": {"data": {"type": "profile", "id": "01GDDKASAP8TKDDA2GRZDSVP4H"}}},
        }
    }
    assert ADA not in job.content.decode()


def test_a_klaviyo_profile_unknown_to_klaviyo_is_already_gone():
    client = KlaviyoClient("pk_test", transport=httpx.MockTransport(lambda _r: httpx.Response(404)))
    assert client.delete_contact("01GDDKASAP8TKDDA2GRZDSVP4H") is False


def test_mailchimp_returns_the_members_contact_id_and_deletes_by_it_permanently():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(200, json={"id": "a" * 32, "contact_id": "c0ffee1234", "status": "subscribed"})
        return httpx.Response(204)

    api = Api(answer)
    client = MailchimpClient("key-us21", "4f2a9c", transport=httpx.MockTransport(api))
    assert client.send(message()) == "c0ffee1234"
    assert client.delete_contact("c0ffee1234") is True
    deletion = api.requests[-1]
    assert (deletion.method, deletion.url.path) == (
        "POST",
        "/3.0/lists/4f2a9c/members/c0ffee1234/actions/delete-permanent",
    )


def test_a_mailchimp_member_already_gone_is_done_and_a_refusal_is_an_error():
    gone = MailchimpClient("key-us21", "4f2a9c", transport=httpx.MockTransport(lambda _r: httpx.Response(404)))
    assert gone.delete_contact("c0ffee1234") is False
    refused = MailchimpClient(
        "key-us21", "4f2a9c", transport=httpx.MockTransport(lambda _r: httpx.Response(403, json={"title": "Forbidden"}))
    )
    with pytest.raises(OutboundError, match="Mailchimp permanent delete failed with HTTP 403"):
        refused.delete_contact("c0ffee1234")


# ------------------------------------------------------------------------------------- the service
class Deleter:
    def __init__(self, system: str, fail: bool = False) -> None:
        self.system = system
        self.fail = fail
        self.deleted: list[str] = []

    def delete_contact(self, contact_id: str) -> bool:
        if self.fail:
            raise OutboundError(f"{self.system} delete failed with HTTP 503", 503)
        self.deleted.append(contact_id)
        return contact_id != "already-gone"


def test_an_erased_customer_loses_every_recorded_contact_of_the_functions_systems():
    registry = FakeContactRegistry()
    for system, contact_id in [("klaviyo", "01K"), ("mailchimp", "already-gone"), ("hubspot", "512")]:
        registry.record_contact(ContactRecord("ck_ada", system, contact_id))
    registry.record_contact(ContactRecord("ck_grace", "klaviyo", "01G"))
    deleters = {"klaviyo": Deleter("klaviyo"), "mailchimp": Deleter("mailchimp")}
    erasure = ContactErasure(registry, lambda: deleters, frozenset({"klaviyo", "mailchimp"}), clock=lambda: NOW)
    assert erasure.erase(erased("ck_ada")) == {"deleted": 1, "gone": 1}
    assert deleters["klaviyo"].deleted == ["01K"] and deleters["mailchimp"].deleted == ["already-gone"]
    assert registry.deletions == {
        ContactRecord("ck_ada", "klaviyo", "01K"): ("deleted", NOW),
        ContactRecord("ck_ada", "mailchimp", "already-gone"): ("gone", NOW),
    }
    # The CRM's record is crm_upsert's to delete; another customer's stays.
    assert registry.contacts_kept == {
        ContactRecord("ck_ada", "hubspot", "512"),
        ContactRecord("ck_grace", "klaviyo", "01G"),
    }
    # Run again (a redelivery): nothing left to do.
    assert erasure.erase(erased("ck_ada")) == {"deleted": 0, "gone": 0}


def test_a_failing_vendor_fails_the_event_after_the_others_are_deleted_and_keeps_its_record():
    registry = FakeContactRegistry()
    registry.record_contact(ContactRecord("ck_ada", "klaviyo", "01K"))
    registry.record_contact(ContactRecord("ck_ada", "mailchimp", "c0ffee"))
    deleters = {"klaviyo": Deleter("klaviyo", fail=True), "mailchimp": Deleter("mailchimp")}
    erasure = ContactErasure(registry, lambda: deleters, frozenset({"klaviyo", "mailchimp"}))
    with pytest.raises(ContactErasureError, match=r"klaviyo \(OutboundError: klaviyo delete failed with HTTP 503\)"):
        erasure.erase(erased("ck_ada"))
    assert registry.contacts_kept == {ContactRecord("ck_ada", "klaviyo", "01K")}  # the retry deletes it
    deleters["klaviyo"].fail = False
    assert erasure.erase(erased("ck_ada")) == {"deleted": 1, "gone": 0}
    assert registry.contacts_kept == set()


def test_a_contact_in_a_system_no_longer_configured_is_not_forgotten():
    registry = FakeContactRegistry()
    registry.record_contact(ContactRecord("ck_ada", "mailchimp", "c0ffee"))
    erasure = ContactErasure(registry, dict, frozenset({"klaviyo", "mailchimp"}))
    with pytest.raises(ContactErasureError, match=r"mailchimp \(not configured\)"):
        erasure.erase(erased("ck_ada"))
    assert registry.contacts_kept == {ContactRecord("ck_ada", "mailchimp", "c0ffee")}


def test_a_shop_erasure_keeps_the_contact_of_a_customer_who_still_buys_elsewhere():
    registry = FakeContactRegistry()
    registry.record_contact(ContactRecord("ck_ada", "hubspot", "512"))
    deleter = Deleter("hubspot")
    erasure = ContactErasure(registry, lambda: {"hubspot": deleter}, frozenset({"hubspot"}))
    assert erasure.erase(erased("ck_ada", scope="shop", profile_erased=False)) == {"deleted": 0, "gone": 0}
    assert erasure.erase(erased(None)) == {"deleted": 0, "gone": 0}
    assert deleter.deleted == []
    assert erasure.erase(erased("ck_ada", scope="shop", profile_erased=True)) == {"deleted": 1, "gone": 0}


# ------------------------------------------------------------------------------------ the CRM push
def test_the_crm_push_records_the_contact_and_the_erasure_deletes_it():
    svc, store = service()
    svc.handle(placed("1001", ADA, 5000))
    svc.handle(customer(ADA, first="Ada", minutes=1))
    crm, registry = FakeCrm(), FakeContactRegistry()
    config = parse_config("locations: [{id: a, country: US}]\ncrm: {provider: hubspot}\n")
    sync = CrmSync(store, lambda _crm: crm, lambda: config, registry=registry)
    assert sync.push([ADA]) == {}
    key = erasure_key(ADA, store.salt())
    assert registry.contacts(key) == [ContactRecord(key, "hubspot", "hs-1")]
    assert sync.erase(erased(key)) == {"deleted": 1, "gone": 0}
    assert crm.deleted == ["hs-1"] and crm.ids == {} and registry.contacts(key) == []
    assert registry.deletions[ContactRecord(key, "hubspot", "hs-1")][0] == "deleted"
