"""Square's change feed: the exact request (developer.squareup.com/reference/square/payments-api/list-payments:
`updated_at_begin_time`, `sort_field=UPDATED_AT`, `sort_order=ASC`, `limit`, `cursor`; the
`Square-Version` header), refunds read with Get payment refund (.../refunds-api/get-payment-refund),
and THE requirement: a payment or refund read through the API becomes the events, with the event
ids, of the `payment.updated` / `refund.updated` webhook of the same state.

The webhook side is the hub's Square samples (events/payloads/square_payment_updated.json and
square_refund_updated.json, shaped as Square's webhook reference payment.updated / refund.updated);
the API side is the Payment and PaymentRefund objects those samples carry, as List payments and Get
payment refund answer them (`{"payments": [...], "cursor"}`, `{"refund": {...}}`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hub.adapters.feeds import FeedContext, VendorFeeds
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import FeedError
from hub.intake.square import SquareSource
from hub.ports import WebhookRequest
from hub.services.reconciliation import reconcile_targets
from hub.vendor_versions import SQUARE_API_VERSION

from tests.gateway_api_fakes import SQUARE_TOKEN, FakeGatewayApis

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "events" / "payloads"
CONFIG = parse_config(
    "gateways:\n  square: {channel: shopify, api_url: 'https://square.fake.test'}\nlocations: [{id: wh-east, country: US}]"
)
SINCE = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
PAYMENT_WEBHOOK = json.loads((PAYLOADS / "square_payment_updated.json").read_text())
REFUND_WEBHOOK = json.loads((PAYLOADS / "square_refund_updated.json").read_text())


class Secrets:
    def __init__(self, token: str) -> None:
        self.token = token

    def get(self, name: str) -> str | None:
        return {"SQUARE_ACCESS_TOKEN": self.token}.get(name)


def _feed(api: FakeGatewayApis, token: str = SQUARE_TOKEN):
    context = FeedContext(Secrets(token), lambda: CONFIG, Sandbox().sources, transport=api.transport())
    (target,) = reconcile_targets(CONFIG)
    return VendorFeeds(context).feed(target)


def _payment(**changes) -> dict:
    payment = json.loads(json.dumps(PAYMENT_WEBHOOK["data"]["object"]["payment"]))
    payment.update(changes)
    return payment


def _webhook_events(body: dict) -> list:
    return SquareSource().parse(WebhookRequest({}, json.dumps(body).encode()), CONFIG).events


def _same(found: list, webhook: list) -> None:
    assert [e.event_id for e in found] == [e.event_id for e in webhook]
    assert [(e.type, e.channel, e.data) for e in found] == [(e.type, e.channel, e.data) for e in webhook]


def test_the_request_lists_payments_by_their_change_oldest_first_at_the_pinned_version():
    api = FakeGatewayApis()
    _feed(api).page(SINCE, None)
    (asked,) = api.of("/v2/payments")
    assert asked.headers["authorization"] == f"Bearer {SQUARE_TOKEN}"
    assert asked.headers["square-version"] == SQUARE_API_VERSION
    assert asked.query == {
        "updated_at_begin_time": ["2026-11-24T17:00:00.000Z"],
        "sort_field": ["UPDATED_AT"],
        "sort_order": ["ASC"],
        "limit": ["100"],
    }


def test_a_listed_payment_is_the_payment_updated_webhooks_events():
    api = FakeGatewayApis(square_payments=[_payment()])
    (change,) = _feed(api).page(SINCE, None).changes
    _same(change.events, _webhook_events(PAYMENT_WEBHOOK))
    assert change.events[0].type == "PaymentSucceeded"
    payment = PAYMENT_WEBHOOK["data"]["object"]["payment"]
    # The webhook's Square event_id cannot be known from the API: the key is the reconciler's own.
    assert change.dedupe_key == f"square:reconcile:{payment['id']}:{payment['updated_at']}"
    assert change.changed_at == datetime.fromisoformat(payment["updated_at"].replace("Z", "+00:00"))


def test_a_payments_refunds_are_read_and_are_the_refund_updated_webhooks_events():
    refund = REFUND_WEBHOOK["data"]["object"]["refund"]
    api = FakeGatewayApis(
        square_payments=[_payment(refund_ids=[refund["id"]], updated_at=refund["updated_at"])],
        square_refunds={refund["id"]: refund},
    )
    payment_change, refund_change = _feed(api).page(SINCE, None).changes
    _same(refund_change.events, _webhook_events(REFUND_WEBHOOK))
    assert refund_change.events[0].type == "PaymentRefunded"
    assert refund_change.ref == f"refund {refund['id']}"
    assert refund_change.changed_at == payment_change.changed_at  # listed at its payment's change
    assert [a.headers["square-version"] for a in api.of(f"/v2/refunds/{refund['id']}")] == [SQUARE_API_VERSION]


def test_a_payment_not_yet_completed_is_found_and_ignored_as_its_webhook_is():
    api = FakeGatewayApis(square_payments=[_payment(status="APPROVED")])
    (change,) = _feed(api).page(SINCE, None).changes
    assert change.events == [] and "APPROVED" in change.ignored_reason


def test_pages_follow_squares_cursor():
    payments = [
        _payment(id=f"PAY{n:04d}", updated_at=f"2026-11-24T17:{n // 60:02d}:{n % 60:02d}.000Z") for n in range(150)
    ]
    api = FakeGatewayApis(square_payments=payments)
    feed = _feed(api)
    first = feed.page(SINCE, None)
    assert len(first.changes) == 100 and first.next_page
    second = feed.page(SINCE, first.next_page)
    assert len(second.changes) == 50 and second.next_page is None
    assert api.of("/v2/payments")[1].query["cursor"] == [first.next_page]
    refs = [c.ref for c in first.changes + second.changes]
    assert refs == [f"payment PAY{n:04d}" for n in range(150)]


def test_a_wrong_token_or_a_cursor_square_never_gave_is_a_feed_error():
    api = FakeGatewayApis(square_payments=[_payment()])
    with pytest.raises(FeedError, match=r"401.*UNAUTHORIZED"):
        _feed(api, token="EAAA-wrong").page(SINCE, None)
    with pytest.raises(FeedError, match="400"):
        _feed(api).page(SINCE, "bm90LWEtY3Vyc29y!")
