"""What each channel sends, exactly: Klaviyo events, Mailchimp member upserts and events (mocked HTTP),
the SES MIME message; and the email templates, rendered to HTML and plain text with an unsubscribe
link."""

from __future__ import annotations

import base64
import email
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from hub.adapters.klaviyo import KlaviyoClient
from hub.adapters.mailchimp import MailchimpClient, subscriber_hash
from hub.adapters.ses import mime_message
from hub.domain.marketing import MessageContent, OutboundMessage
from hub.domain.marketing_rules import Trigger
from hub.errors import OutboundError, RenderError
from hub.marketing.render import Renderer

WHEN = datetime(2026, 11, 20, 14, 21, 9, tzinfo=UTC)
UNSUBSCRIBE = "https://hub.example/unsubscribe?token=ck_" + "ab" * 20 + "." + "s" * 43


def message(**changes) -> OutboundMessage:
    values = {
        "message_key": "post_purchase:order:shopify:1001",
        "trigger": "post_purchase",
        "email": "Jane.Doe@Example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "content": MessageContent("Thanks", "<p>Hi</p>", "Hi\n"),
        "unsubscribe_url": UNSUBSCRIBE,
        "properties": {"items": [{"sku": "MUG", "title": "Enamel Mug", "quantity": 2}], "recovery_url": None},
        "time": WHEN,
    }
    values.update(changes)
    return OutboundMessage(**values)


# Mailchimp's error document, as its Marketing API reference shows it ("Errors"): the detail repeats the email.
MAILCHIMP_ERROR = {
    "type": "https://mailchimp.com/developer/marketing/docs/errors/",
    "title": "Member Exists",
    "status": 400,
    "detail": "jane.doe@example.com is already a list member. Use PUT to insert or update list members.",
    "instance": "2d4f8a5e-7f3c-4b6b-9a8e-1c2d3e4f5a6b",
}


class Recorder:
    def __init__(self, *statuses: int) -> None:
        self.requests: list[httpx.Request] = []
        self._statuses = list(statuses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self._statuses.pop(0) if self._statuses else 200
        return httpx.Response(status, headers={"Retry-After": "0"}, json={} if status < 300 else MAILCHIMP_ERROR)


# ------------------------------------------------------------------------------------------ Klaviyo
def test_klaviyo_events_are_json_api_with_the_key_the_revision_and_a_unique_id():
    recorder = Recorder(202)
    client = KlaviyoClient("pk_test", revision="2025-01-15", transport=httpx.MockTransport(recorder))
    client.track(
        "Placed Order",
        "jane.doe@example.com",
        "shopify:1001",
        WHEN,
        {"OrderId": "shopify:1001", "ItemNames": ["Enamel Mug"]},
        Decimal("59.10"),
        "USD",
    )
    [request] = recorder.requests
    assert (request.method, str(request.url)) == ("POST", "https://a.klaviyo.com/api/events")
    assert request.headers["Authorization"] == "Klaviyo-API-Key pk_test"
    assert request.headers["revision"] == "2025-01-15"
    assert request.headers["Content-Type"] == "application/vnd.api+json"
    assert request.headers["Accept"] == "application/vnd.api+json"
    assert json.loads(request.content) == {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"OrderId": "shopify:1001", "ItemNames": ["Enamel Mug"]},
                "time": "2026-11-20T14:21:09Z",
                "unique_id": "shopify:1001",
                "value": 59.1,
                "value_currency": "USD",
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "jane.doe@example.com"}}},
            },
        }
    }


def test_a_klaviyo_retry_repeats_the_same_unique_id_so_it_counts_once():
    recorder = Recorder(429, 503, 202)
    client = KlaviyoClient("pk_test", api_url="http://klaviyo.test", transport=httpx.MockTransport(recorder))
    client.send(message())
    bodies = [json.loads(r.content) for r in recorder.requests]
    assert len(bodies) == 3 and all(b == bodies[0] for b in bodies)
    attributes = bodies[0]["data"]["attributes"]
    assert attributes["unique_id"] == "post_purchase:order:shopify:1001"
    assert attributes["metric"]["data"]["attributes"]["name"] == "post_purchase"
    assert attributes["properties"] == {"items": [{"sku": "MUG", "title": "Enamel Mug", "quantity": 2}]}


def test_a_refused_klaviyo_call_fails_without_echoing_the_customer():
    def refuse(request: httpx.Request) -> httpx.Response:
        detail = {"errors": [{"code": "invalid", "title": "Invalid input.", "detail": "jane.doe@example.com is bad"}]}
        return httpx.Response(400, json=detail)

    client = KlaviyoClient("pk_test", transport=httpx.MockTransport(refuse))
    with pytest.raises(OutboundError) as failed:
        client.send(message())
    # Klaviyo's code, not its title or detail (the detail repeats the email).
    assert "HTTP 400 (code invalid)" in str(failed.value) and failed.value.code == "invalid"
    assert "jane" not in str(failed.value).lower()


# ------------------------------------------------------------------------------------------ Mailchimp
def test_mailchimp_upserts_the_member_by_its_hash_then_records_the_trigger_as_an_event():
    """Shapes from Mailchimp's Marketing API reference: "Add or update list member" and "Add event"
    (operationId postListMemberEvents in mailchimp/mailchimp-client-lib-codegen spec/marketing.json)."""
    recorder = Recorder(200, 200, 204)
    client = MailchimpClient("key-us21", "4f2a9c", transport=httpx.MockTransport(recorder))
    client.send(message())
    put, listed, event = recorder.requests
    member = hashlib.md5(b"jane.doe@example.com").hexdigest()  # noqa: S324 - Mailchimp's own scheme
    assert subscriber_hash(" Jane.Doe@Example.com ") == member
    assert (put.method, str(put.url)) == ("PUT", f"https://us21.api.mailchimp.com/3.0/lists/4f2a9c/members/{member}")
    assert put.headers["Authorization"] == "Basic " + base64.b64encode(b"hub:key-us21").decode()
    assert json.loads(put.content) == {
        "email_address": "Jane.Doe@Example.com",
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Jane", "LNAME": "Doe"},
    }
    # Whether an earlier attempt already recorded it: events carry no idempotency key.
    assert (listed.method, listed.url.path) == ("GET", f"/3.0/lists/4f2a9c/members/{member}/events")
    assert dict(listed.url.params) == {"count": "1000", "fields": "events.name,events.properties"}
    assert (event.method, str(event.url)) == (
        "POST",
        f"https://us21.api.mailchimp.com/3.0/lists/4f2a9c/members/{member}/events",
    )
    assert event.headers["Authorization"] == put.headers["Authorization"]
    assert json.loads(event.content) == {
        "name": "hub-post-purchase",
        "properties": {"items": "2 x Enamel Mug", "message_key": "post_purchase:order:shopify:1001"},
        "occurred_at": "2026-11-20T14:21:09Z",
    }
    assert not [r for r in recorder.requests if r.url.path.endswith("/tags")]  # no tag journeys any more


def test_mailchimp_errors_name_the_call_not_the_customer():
    client = MailchimpClient(
        "key-us21", "4f2a9c", api_url="http://mc.test", transport=httpx.MockTransport(Recorder(400))
    )
    with pytest.raises(OutboundError, match=r"Mailchimp member upsert failed with HTTP 400") as failed:
        client.send(message(first_name=None, last_name=None))
    assert failed.value.code == "Member Exists" and failed.value.request_id == MAILCHIMP_ERROR["instance"]
    assert "jane" not in str(failed.value).lower()
    with pytest.raises(OutboundError, match="data centre"):
        MailchimpClient("keywithoutdc-", "4f2a9c")


# ------------------------------------------------------------------------------------------ SES
def test_the_email_is_multipart_text_and_html_with_one_click_unsubscribe_headers():
    mime = mime_message(message(), "Ada Goods <news@ada.example>", reply_to="help@ada.example")
    parsed = email.message_from_bytes(mime.as_bytes())
    assert parsed["From"] == "Ada Goods <news@ada.example>"
    assert parsed["To"] == "Jane.Doe@Example.com"
    assert parsed["Reply-To"] == "help@ada.example"
    assert parsed["Subject"] == "Thanks"
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in parsed.get_payload()}
    assert parts == {"text/plain": "Hi\r\n", "text/html": "<p>Hi</p>\r\n"}  # SMTP line endings, as SES wants


# ------------------------------------------------------------------------------------------ templates
CONTEXT = {
    "shop_name": "Ada Goods",
    "shop_url": "https://ada.example",
    "review_url": "https://ada.example/reviews",
    "first_name": "Jane",
    "items": [{"sku": "MUG", "title": "Enamel <Mug>", "quantity": 2}],
    "suggestions": [{"sku": "CAP", "title": "Cap & Scarf"}],
    "recovery_url": "https://ada.example/recover?key=1&x=2",
    "total": "38.00 USD",
    "unsubscribe_url": UNSUBSCRIBE + "&x=1",
}


@pytest.mark.parametrize("trigger", [t.value for t in Trigger])
def test_every_trigger_renders_html_and_text_with_the_unsubscribe_link(trigger):
    content = Renderer().render(trigger, CONTEXT)
    assert content.subject and "\n" not in content.subject
    assert "Hi Jane," in content.text and "Enamel <Mug>" in content.text and "Cap & Scarf" in content.text
    assert f"Unsubscribe: {UNSUBSCRIBE}&x=1" in content.text
    assert content.html.startswith("<!doctype html>")
    assert f'href="{UNSUBSCRIBE}&amp;x=1"' in content.html  # attribute-escaped
    assert "Enamel &lt;Mug&gt;" in content.html and "Cap &amp; Scarf" in content.html
    assert f"<title>{content.subject.replace('<', '&lt;').replace('>', '&gt;')}</title>" in content.html
    assert "\n\n\n" not in content.text


def test_each_template_says_what_it_is_about():
    renderer = Renderer()
    checkout = renderer.render("abandoned_checkout", CONTEXT)
    assert "https://ada.example/recover?key=1&x=2" in checkout.text and "Total: 38.00 USD" in checkout.text
    assert "https://ada.example/recover?key=1&amp;x=2" in checkout.html
    assert "Leave a review: https://ada.example/reviews" in renderer.render("review_request", CONTEXT).text
    assert renderer.render("back_in_stock", CONTEXT).subject == "Enamel <Mug> is back in stock"
    anonymous = renderer.render("win_back", {**CONTEXT, "first_name": None, "suggestions": []})
    assert anonymous.text.startswith("Hello,\n") and "also liked" not in anonymous.text


def test_a_message_without_an_unsubscribe_link_or_a_variable_is_refused():
    with pytest.raises(RenderError, match="unsubscribe"):
        Renderer().render("post_purchase", {**CONTEXT, "unsubscribe_url": ""})
    with pytest.raises(RenderError, match="do not render"):
        Renderer().render("post_purchase", {k: v for k, v in CONTEXT.items() if k != "items"})
    with pytest.raises(RenderError, match="no template"):
        Renderer().render("sms_blast", CONTEXT)
