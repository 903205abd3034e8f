"""Stripe's change feed: the exact list request (docs.stripe.com/api/events/list: `created[gt]`,
`types[]`, `limit`, `starting_after`, `has_more`), handed on oldest first whatever the backlog, and
THE requirement: an event listed through the API is the events, event ids and publish-once key of
the webhook delivering the same event.

The events are the hub's Stripe samples (events/payloads/stripe_payment_intent_succeeded.json and
stripe_charge_refunded.json, shaped as docs.stripe.com/api/events/object); the list envelope
(`object: list`, `url`, `has_more`, `data`) is the one of the List all events reference example."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.adapters.feeds import stripe as stripe_feed
from hub.adapters.http import default_retry
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import CredentialsMissingError, FeedError
from hub.intake.stripe import HANDLED_TYPES, StripeSource
from hub.ports import WebhookRequest
from hub.services.reconciliation import reconcile_targets

from tests.gateway_api_fakes import STRIPE_KEY, FakeGatewayApis

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "events" / "payloads"
CONFIG = parse_config(
    "gateways:\n  stripe: {channel: woocommerce, api_url: 'https://stripe.fake.test'}\n"
    "locations: [{id: wh-east, country: US}]"
)
SINCE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def _feed(api: FakeGatewayApis, key: str | None = STRIPE_KEY):
    context = FeedContext(
        Secrets({"STRIPE_API_KEY": key} if key else {}), lambda: CONFIG, Sandbox().sources, transport=api.transport()
    )
    (target,) = reconcile_targets(CONFIG)
    return VendorFeeds(context).feed(target)


def sample(name: str, **changes) -> dict:
    event = json.loads((PAYLOADS / name).read_text())
    event.update(changes)
    return event


def events(count: int, start: int) -> list[dict]:
    base = sample("stripe_payment_intent_succeeded.json")
    made = []
    for n in range(count):
        event = json.loads(json.dumps(base))
        event.update(id=f"evt_{n:05d}", created=start + n)
        event["data"]["object"]["id"] = f"pi_{n:05d}"
        made.append(event)
    return made


def test_the_request_names_the_window_the_handled_types_and_the_key():
    api = FakeGatewayApis()
    _feed(api).page(SINCE, None)
    (asked,) = api.of("/v1/events")
    assert asked.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert asked.query["created[gt]"] == [str(int(SINCE.timestamp()))]
    assert asked.query["types[]"] == sorted(HANDLED_TYPES)
    assert len(asked.query["types[]"]) <= 20  # Stripe's limit on types[]
    assert asked.query["limit"] == ["100"]
    assert "starting_after" not in asked.query and "created[lte]" not in asked.query


def test_a_listed_event_is_the_webhooks_events_and_publish_once_key():
    succeeded = sample("stripe_payment_intent_succeeded.json")
    refunded = sample("stripe_charge_refunded.json")
    api = FakeGatewayApis(stripe_events=[refunded, succeeded])
    page = _feed(api).page(datetime.fromtimestamp(0, UTC), None)

    source = StripeSource()
    for event, change in zip(sorted([succeeded, refunded], key=lambda e: e["created"]), page.changes, strict=True):
        webhook = source.parse(WebhookRequest({}, json.dumps(event).encode()), CONFIG)
        assert change.dedupe_key == webhook.dedupe_key == f"stripe:{event['id']}"
        assert [e.event_id for e in change.events] == [e.event_id for e in webhook.events]
        assert [e.model_dump(exclude={"received_at"}) for e in change.events] == [
            e.model_dump(exclude={"received_at"}) for e in webhook.events
        ]
        assert change.changed_at == datetime.fromtimestamp(event["created"], UTC)
        assert change.ref == f"event {event['id']} ({event['type']})"
    assert page.next_page is None


def test_pages_are_walked_with_starting_after_and_handed_on_oldest_first():
    api = FakeGatewayApis(stripe_events=events(250, start=int(SINCE.timestamp()) + 1))
    page = _feed(api).page(SINCE, None)
    assert [c.changed_at for c in page.changes] == sorted(c.changed_at for c in page.changes)
    assert [c.ref.split()[1] for c in page.changes] == [f"evt_{n:05d}" for n in range(250)]
    cursors = [a.query.get("starting_after", [None])[0] for a in api.of("/v1/events")]
    assert cursors == [None, "evt_00150", "evt_00050"]  # newest first, each page after the last id seen
    assert page.next_page is None


def test_a_backlog_larger_than_one_walk_is_handed_on_in_windows_oldest_first(monkeypatch):
    monkeypatch.setattr(stripe_feed, "MAX_CALLS", 2)
    start = int(SINCE.timestamp()) + 1
    api = FakeGatewayApis(stripe_events=events(450, start=start))
    feed = _feed(api)

    seen: list[str] = []
    token = None
    for _ in range(10):
        page = feed.page(SINCE, token)
        refs = [c.ref.split()[1] for c in page.changes]
        assert refs == sorted(refs)  # each window oldest first
        assert not seen or refs[0] > seen[-1]  # and each window after the last
        seen += refs
        token = page.next_page
        if token is None:
            break
    assert seen == [f"evt_{n:05d}" for n in range(450)]  # nothing skipped, nothing twice


def test_an_unknown_cursor_or_a_wrong_key_is_a_feed_error_naming_the_status():
    api = FakeGatewayApis(stripe_events=events(3, start=int(SINCE.timestamp()) + 1))
    with pytest.raises(FeedError, match="401"):
        _feed(api, key="sk_test_wrong").page(SINCE, None)

    feed = _feed(api)
    with pytest.raises(FeedError, match=r"400.*resource_missing"):
        feed._list(int(SINCE.timestamp()), "evt_never_listed", None)


def test_an_api_that_stays_down_is_a_feed_error():
    api = FakeGatewayApis(fail_next=100, fail_status=503)
    context = FeedContext(
        Secrets({"STRIPE_API_KEY": STRIPE_KEY}),
        lambda: CONFIG,
        Sandbox().sources,
        transport=api.transport(),
        retry=default_retry(attempts=1, backoff=0, budget=0.01),
    )
    (target,) = reconcile_targets(CONFIG)
    with pytest.raises(FeedError, match="503"):
        VendorFeeds(context).feed(target).page(SINCE, None)


def test_without_an_api_key_the_feed_names_the_missing_key():
    with pytest.raises(CredentialsMissingError, match="STRIPE_API_KEY"):
        _feed(FakeGatewayApis(), key=None)


def test_an_event_the_webhook_parser_refuses_is_a_problem_naming_the_field_not_an_error():
    bad = sample("stripe_payment_intent_succeeded.json")
    bad["data"]["object"]["amount_received"] = "74.50"  # Stripe sends integer minor units
    (change,) = _feed(FakeGatewayApis(stripe_events=[bad])).page(datetime.fromtimestamp(0, UTC), None).changes
    assert not change.events and "amount_received" in change.problem
    assert "74.50" not in change.problem
