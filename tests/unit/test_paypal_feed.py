"""PayPal's change feed: the client-credentials token (developer.paypal.com/api/rest/authentication:
`POST /v1/oauth2/token`, HTTP Basic, `grant_type=client_credentials`), the exact list request
(Webhooks Management v1 "List event notifications", `GET /v1/notifications/webhooks-events` with
`start_time`, `end_time`, `page_size`; paypal/paypal-rest-api-specifications
openapi/notifications_webhooks_v1.json), pages through `links[rel=next]`, and THE requirement: a listed
event is the events, event ids and publish-once key of the webhook delivering the same event.

The events are the hub's PayPal samples (events/payloads/paypal_payment_capture_completed.json and
paypal_payment_capture_refunded.json, shaped as PayPal's webhook event object); the list envelope
(`events`, `count`, `links`) is the EventList schema of the same OpenAPI document."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.adapters.feeds import paypal as paypal_feed
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import FeedError
from hub.intake.paypal import PayPalSource
from hub.ports import WebhookRequest
from hub.services.reconciliation import reconcile_targets

from tests.gateway_api_fakes import PAYPAL_ACCESS_TOKEN, PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, FakeGatewayApis

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "events" / "payloads"
CONFIG = parse_config(
    "gateways:\n  paypal: {channel: magento, api_url: 'https://paypal.fake.test', invoice_prefix: MG-}\n"
    "locations: [{id: wh-east, country: US}]"
)
SINCE = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


class Secrets:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def get(self, name: str) -> str | None:
        return {"PAYPAL_CLIENT_ID": PAYPAL_CLIENT_ID, "PAYPAL_CLIENT_SECRET": self.secret}.get(name)


def _feed(api: FakeGatewayApis, secret: str = PAYPAL_CLIENT_SECRET):
    context = FeedContext(Secrets(secret), lambda: CONFIG, Sandbox().sources, transport=api.transport())
    (target,) = reconcile_targets(CONFIG)
    return VendorFeeds(context).feed(target)


def sample(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def events(count: int) -> list[dict]:
    base = sample("paypal_payment_capture_completed")
    made = []
    for n in range(count):
        event = json.loads(json.dumps(base))
        event["id"] = f"WH-{n:05d}"
        event["create_time"] = (SINCE + timedelta(seconds=n + 1)).isoformat().replace("+00:00", "Z")
        event["resource"]["id"] = f"CAP{n:05d}"
        made.append(event)
    return made


def test_a_token_is_had_once_and_the_list_is_asked_from_the_cursor():
    api = FakeGatewayApis(paypal_events=events(250))
    _feed(api).page(SINCE, None)
    (token,) = api.of("/v1/oauth2/token")
    basic = base64.b64encode(f"{PAYPAL_CLIENT_ID}:{PAYPAL_CLIENT_SECRET}".encode()).decode()
    assert token.method == "POST" and token.headers["authorization"] == f"Basic {basic}"
    listed = api.of("/v1/notifications/webhooks-events")
    assert len(listed) == 3  # 100 a page, following links[rel=next]
    assert {a.headers["authorization"] for a in listed} == {f"Bearer {PAYPAL_ACCESS_TOKEN}"}
    assert listed[0].query == {"page_size": ["100"], "start_time": ["2026-11-24T00:00:00Z"]}
    assert "next_page_token" in listed[1].query and listed[1].query["start_time"] == ["2026-11-24T00:00:00Z"]


def test_listed_events_are_the_webhooks_events_and_publish_once_keys_oldest_first():
    captured, refunded = sample("paypal_payment_capture_completed"), sample("paypal_payment_capture_refunded")
    api = FakeGatewayApis(paypal_events=[captured, refunded])
    page = _feed(api).page(SINCE, None)
    assert page.next_page is None
    source = PayPalSource()
    for event, change in zip((captured, refunded), page.changes, strict=True):  # oldest first
        webhook = source.parse(WebhookRequest({}, json.dumps(event).encode()), CONFIG)
        assert change.dedupe_key == webhook.dedupe_key == f"paypal:{event['id']}"
        assert [e.event_id for e in change.events] == [e.event_id for e in webhook.events]
        assert [(e.type, e.channel, e.data, e.occurred_at) for e in change.events] == [
            (e.type, e.channel, e.data, e.occurred_at) for e in webhook.events
        ]
        assert change.events[0].provider.delivery_id == f"reconcile:{event['id']}"
    assert [e.type for c in page.changes for e in c.events] == ["PaymentSucceeded", "PaymentRefunded"]


def test_a_backlog_larger_than_one_walk_is_handed_on_in_windows_oldest_first(monkeypatch):
    monkeypatch.setattr(paypal_feed, "MAX_CALLS", 2)
    api = FakeGatewayApis(paypal_events=events(450))
    feed = _feed(api)
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = feed.page(SINCE, token)
        seen += [c.ref.split()[1] for c in page.changes]
        token = page.next_page
        if token is None:
            break
    # start_time is "on or after": a window's last event may be listed again by the next one
    # (known then); none is skipped, and each window comes after the one before.
    assert sorted(set(seen)) == [f"WH-{n:05d}" for n in range(450)]
    assert seen == sorted(seen)


def test_wrong_client_credentials_are_a_feed_error_naming_paypals_answer():
    with pytest.raises(FeedError, match=r"401.*invalid_client"):
        _feed(FakeGatewayApis(paypal_events=events(1)), secret="wrong").page(SINCE, None)


def test_a_next_link_that_leaves_the_events_list_is_not_followed():
    feed = _feed(FakeGatewayApis())
    document = {"links": [{"rel": "next", "href": "https://elsewhere.example/v1/notifications/webhooks-events?x=1"}]}
    with pytest.raises(FeedError, match="not followed"):
        feed._next(document)
    document = {"links": [{"rel": "next", "href": "https://paypal.fake.test/v1/oauth2/token?x=1"}]}
    with pytest.raises(FeedError, match="not followed"):
        feed._next(document)
