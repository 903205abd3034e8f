"""Mailchimp journeys: every message records a member event, so every trigger starts its journey each
time; an event is never recorded twice for one message; and the fake Mailchimp refuses what Mailchimp
refuses, one test per refusal.

Shapes and rules from Mailchimp's Marketing API reference ("Add event": POST
/3.0/lists/{list_id}/members/{subscriber_hash}/events, name 2-30 characters, properties a map of
strings, is_syncing events trigger no automation, 204; "List member events"; "Add or update list
member"), as generated into its SDKs from mailchimp/mailchimp-client-lib-codegen spec/marketing.json,
and the event-name characters from Mailchimp's "Track Outside Activity with Events" guide.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from hub.adapters.mailchimp import EVENT_NAME, MailchimpClient, event_properties, subscriber_hash, trigger_event
from hub.domain.marketing_rules import Trigger
from hub.errors import OutboundError

from tests.crm_apis import MAILCHIMP_KEY, MAILCHIMP_LIST, FakeMailchimp, JourneyStart
from tests.unit.test_marketing_channels import message

EMAIL = "Jane.Doe@Example.com"
MEMBER = subscriber_hash(EMAIL)


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx_retries.retry

    monkeypatch.setattr(httpx_retries.retry.time, "sleep", lambda _seconds: None)


def mailchimp(transport: httpx.BaseTransport) -> MailchimpClient:
    return MailchimpClient(MAILCHIMP_KEY, MAILCHIMP_LIST, transport=transport)


def test_each_purchase_starts_the_post_purchase_journey_again():
    fake = FakeMailchimp()
    client = mailchimp(fake.transport())
    client.send(message(message_key="post_purchase:order:shopify:1001"))
    client.send(message(message_key="post_purchase:order:shopify:1002"))
    assert fake.journeys == [JourneyStart(MEMBER, "event:hub-post-purchase")] * 2
    assert [e["properties"]["message_key"] for e in fake.events(EMAIL)] == [
        "post_purchase:order:shopify:1001",
        "post_purchase:order:shopify:1002",
    ]


def test_a_tag_the_hub_never_removes_would_have_started_one_journey_only():
    """Why events: the fake plays Mailchimp's "tag added" starting point as documented."""
    fake = FakeMailchimp()
    mailchimp(fake.transport()).send(message())
    tag = {"tags": [{"name": "hub-post-purchase", "status": "active"}]}
    path = f"/3.0/lists/{MAILCHIMP_LIST}/members/{MEMBER}/tags"
    auth = httpx.BasicAuth("hub", MAILCHIMP_KEY)
    with httpx.Client(transport=fake.transport(), base_url="https://us21.api.mailchimp.com", auth=auth) as http:
        assert http.post(path, json=tag).status_code == 204
        assert http.post(path, json=tag).status_code == 204
    assert fake.journeys.count(JourneyStart(MEMBER, "tag:hub-post-purchase")) == 1


def test_a_redelivered_message_records_no_second_event():
    fake = FakeMailchimp()
    client = mailchimp(fake.transport())
    assert client.send(message()) == client.send(message())  # the member's contact id, both times
    assert len(fake.events(EMAIL)) == 1 and len(fake.journeys) == 1
    assert len(fake.seen("POST", "/events")) == 1


def test_an_event_whose_answer_was_lost_is_found_and_not_posted_again():
    fake = FakeMailchimp(fail_next_events=1)  # Mailchimp records it, the 503 comes back
    mailchimp(fake.transport()).send(message())
    assert len(fake.events(EMAIL)) == 1 and len(fake.journeys) == 1
    assert len(fake.seen("POST", "/events")) == 1 and len(fake.seen("GET", "/events")) == 2


def test_a_timed_out_event_post_is_never_retried_blindly():
    fake = FakeMailchimp()
    inner = fake.transport()

    def slow(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/events"):
            raise httpx.ReadTimeout("the answer took too long", request=request)
        return response

    mailchimp(httpx.MockTransport(slow)).send(message())
    assert len(fake.events(EMAIL)) == 1 and len(fake.journeys) == 1


def test_an_event_mailchimp_refuses_is_not_retried_and_names_no_customer():
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(400, json={"title": "Invalid Resource", "status": 400, "type": "x",
                                             "detail": f"{EMAIL} event is invalid", "instance": "abc-123-def"})  # fmt: skip
        return httpx.Response(200, json={"contact_id": "c0ffee"})

    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: calls.append(r) or refuse(r))
    with pytest.raises(OutboundError, match=r"Mailchimp member event failed with HTTP 400") as failed:
        mailchimp(transport).send(message())
    assert failed.value.code == "Invalid Resource" and "jane" not in str(failed.value).lower()
    assert len([c for c in calls if c.method == "POST"]) == 1


def test_every_trigger_has_a_valid_event_name_and_string_properties():
    assert {t.value: trigger_event(t.value) for t in Trigger} == {
        "post_purchase": "hub-post-purchase",
        "abandoned_checkout": "hub-abandoned-checkout",
        "review_request": "hub-review-request",
        "win_back": "hub-win-back",
        "back_in_stock": "hub-back-in-stock",
    }
    assert all(EVENT_NAME.fullmatch(trigger_event(t.value)) for t in Trigger)
    checkout = message(
        message_key="abandoned_checkout:checkout:shopify:c1",
        trigger="abandoned_checkout",
        properties={
            "items": [
                {"sku": "MUG", "title": "Enamel Mug", "quantity": 1},
                {"sku": "CAP", "title": "Cap", "quantity": 3},
            ],
            "suggestions": [{"sku": "TEE", "title": "Logo Tee"}],
            "recovery_url": "https://shop.example/recover?key=1",
            "total": "38.00 USD",
            "first_name": "Jane",  # already the member's FNAME: not repeated in the event
            "review_url": None,
        },
    )
    assert event_properties(checkout) == {
        "items": "Enamel Mug, 3 x Cap",
        "suggestions": "Logo Tee",
        "recovery_url": "https://shop.example/recover?key=1",
        "total": "38.00 USD",
        "message_key": "abandoned_checkout:checkout:shopify:c1",
    }
    fake = FakeMailchimp()
    mailchimp(fake.transport()).send(checkout)
    assert fake.journeys == [JourneyStart(MEMBER, "event:hub-abandoned-checkout")]


# ------------------------------------------------------------------------------------------- the fake
def call(fake: FakeMailchimp, method: str, path: str, body=None, key: str = MAILCHIMP_KEY):
    auth = httpx.BasicAuth("anystring", key)
    request = auth.auth_flow(httpx.Request(method, "https://us21.api.mailchimp.com" + path)).__next__()
    raw = json.dumps(body).encode() if body is not None else b""
    return fake.answer(method, path, {"authorization": request.headers["Authorization"]}, raw)


def member_of(fake: FakeMailchimp) -> str:
    path = f"/3.0/lists/{MAILCHIMP_LIST}/members/{MEMBER}"
    assert call(fake, "PUT", path, {"email_address": EMAIL, "status_if_new": "subscribed"})[0] == 200
    return path


@pytest.mark.parametrize("name", ["x", "post purchase", "hub-post-purchase!", "a" * 31, "hub.post.purchase"])
def test_the_fake_refuses_an_event_name_mailchimp_refuses(name):
    fake = FakeMailchimp()
    status, problem = call(fake, "POST", member_of(fake) + "/events", {"name": name})
    assert (status, problem["title"]) == (400, "Invalid Resource") and fake.journeys == []


def test_the_fake_refuses_properties_that_are_not_strings():
    fake = FakeMailchimp()
    status, _ = call(fake, "POST", member_of(fake) + "/events", {"name": "hub-win-back", "properties": {"n": 2}})
    assert status == 400 and fake.journeys == []


def test_the_fake_refuses_an_event_for_someone_not_in_the_audience():
    status, problem = call(
        FakeMailchimp(), "POST", f"/3.0/lists/{MAILCHIMP_LIST}/members/{MEMBER}/events", {"name": "hub-win-back"}
    )
    assert (status, problem["title"]) == (404, "Resource Not Found")


def test_the_fake_refuses_an_occurred_at_that_is_not_iso_8601():
    fake = FakeMailchimp()
    body = {"name": "hub-win-back", "occurred_at": "yesterday"}
    assert call(fake, "POST", member_of(fake) + "/events", body)[0] == 400


def test_the_fake_records_a_syncing_event_without_starting_a_journey():
    fake = FakeMailchimp()
    body = {"name": "hub-win-back", "is_syncing": True, "occurred_at": datetime(2026, 11, 20, tzinfo=UTC).isoformat()}
    assert call(fake, "POST", member_of(fake) + "/events", body) == (204, None)
    assert fake.journeys == [] and len(fake.events(EMAIL)) == 1


def test_the_fake_refuses_a_new_member_without_a_status_or_with_another_email():
    fake = FakeMailchimp()
    path = f"/3.0/lists/{MAILCHIMP_LIST}/members/{MEMBER}"
    assert call(fake, "PUT", path, {"email_address": EMAIL})[0] == 400
    assert call(fake, "PUT", path, {"email_address": "other@example.com", "status_if_new": "subscribed"})[0] == 400


def test_the_fake_refuses_another_api_key():
    status, problem = call(FakeMailchimp(), "PUT", f"/3.0/lists/{MAILCHIMP_LIST}/members/{MEMBER}", {}, key="nope-us21")
    assert (status, problem["title"]) == (401, "API Key Invalid")
