"""GA4 and Meta: the exact requests, validated against GA4's debug endpoint, and each sent once."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hub.adapters.analytics import (
    Ga4Client,
    Ga4Sink,
    MetaClient,
    MetaSink,
    analytics_sinks,
    ga4_purchase,
    ga4_refund,
    meta_purchase,
    meta_refund,
)
from hub.adapters.http import default_retry
from hub.config import parse_config
from hub.domain.analytics import Contact, Purchase, RefundMade
from hub.domain.customers import erasure_key
from hub.domain.reporting import OrderFacts, Refund
from hub.errors import AnalyticsConfigError, OutboundError
from hub.secrets import SecretsProvider
from hub.services.analytics import AnalyticsForwarder
from hub.services.reporting import ReportingService

from tests.analytics_apis import (
    GA4_API_SECRET,
    GA4_MEASUREMENT_ID,
    META_ACCESS_TOKEN,
    META_API_VERSION,
    META_PIXEL_ID,
    FakeGa4,
    FakeMeta,
)
from tests.reporting_fakes import FakeReportStore, RecordingSink
from tests.unit.test_reporting import gateway_refund, placed, storefront_refund

NOW = datetime.now(UTC).replace(microsecond=0)
PLACED_AT = NOW - timedelta(hours=2)
FAST = default_retry(backoff=0.001, budget=2)
ADA_EMAIL_SHA256 = hashlib.sha256(b"ada@example.com").hexdigest()  # Meta's em, and the key of earlier versions
SALT = "analytics-test-salt"
ADA_KEY = erasure_key("ada@example.com", SALT)
ADA_EXTERNAL_ID = hashlib.sha256(ADA_KEY.encode()).hexdigest()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def purchase(**changes) -> Purchase:
    values = dict(
        order_id="shopify:5849162203412",
        platform_order_id="5849162203412",
        channel="shopify",
        currency="USD",
        total=5910,
        lines=(("TSHIRT-BLK-M", 2, 2499, "Logo T-Shirt"), ("MUG", 1, 912, None)),
        at=PLACED_AT,
        customer=ADA_KEY,
        contact=Contact(
            email=" Ada@Example.com",
            phone="+44 844 412 4653",
            name="Ada King Lovelace",
            city="New York",
            state="NY",
            postal_code="10001-2345",
            country="US",
        ),
    )
    values.update(changes)
    return Purchase(**values)


def refund_made(**changes) -> RefundMade:
    values = dict(
        order_id="shopify:5849162203412",
        platform_order_id="5849162203412",
        at=NOW - timedelta(hours=1),
        customer=ADA_KEY,
        currency="USD",
        amount=1000,
        total_refunded=1000,
    )
    values.update(changes)
    return RefundMade(**values)


def micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


# ------------------------------------------------------------------------------ request bodies
def test_the_ga4_purchase_body():
    client_id = f"{int(ADA_KEY[3:11], 16)}.{int(ADA_KEY[11:19], 16)}"
    assert ga4_purchase(purchase(), NOW) == {
        "client_id": client_id,
        "timestamp_micros": micros(PLACED_AT),
        "events": [
            {
                "name": "purchase",
                "params": {
                    "transaction_id": "5849162203412",
                    "value": 59.1,
                    "currency": "USD",
                    "affiliation": "shopify",
                    "items": [
                        {"item_id": "TSHIRT-BLK-M", "item_name": "Logo T-Shirt", "price": 24.99, "quantity": 2},
                        {"item_id": "MUG", "price": 9.12, "quantity": 1},
                    ],
                },
            }
        ],
    }


def test_a_ga4_event_older_than_72_hours_goes_without_its_timestamp_and_amounts_keep_their_exponent():
    body = ga4_purchase(purchase(at=NOW - timedelta(days=4), currency="JPY", total=1200, lines=()), NOW)
    assert "timestamp_micros" not in body
    assert body["events"][0]["params"]["value"] == 1200
    kwd = ga4_refund(refund_made(currency="KWD", amount=12345), NOW)
    assert kwd["events"][0] == {
        "name": "refund",
        "params": {"transaction_id": "5849162203412", "value": 12.345, "currency": "KWD"},
    }


def test_a_ga4_client_id_without_a_customer_comes_from_the_order():
    body = ga4_purchase(purchase(customer=None), NOW)
    again = ga4_purchase(purchase(customer=None), NOW)
    assert body["client_id"] == again["client_id"] and "." in body["client_id"]


def test_the_meta_purchase_body_hashes_every_customer_field_by_metas_rules():
    assert meta_purchase(purchase(), action_source="system_generated") == {
        "data": [
            {
                "event_name": "Purchase",
                "event_time": int(PLACED_AT.timestamp()),
                "event_id": "5849162203412",
                "action_source": "system_generated",
                "user_data": {
                    "external_id": [ADA_EXTERNAL_ID],
                    "em": [ADA_EMAIL_SHA256],
                    "ph": ["dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"],
                    "fn": [sha("ada")],
                    "ln": [sha("lovelace")],
                    "ct": [sha("newyork")],
                    "st": [sha("ny")],
                    "zp": [sha("10001")],
                    "country": [sha("us")],
                },
                "custom_data": {
                    "currency": "USD",
                    "value": 59.1,
                    "order_id": "5849162203412",
                    "content_type": "product",
                    "contents": [
                        {"id": "TSHIRT-BLK-M", "quantity": 2, "item_price": 24.99},
                        {"id": "MUG", "quantity": 1, "item_price": 9.12},
                    ],
                    "num_items": 3,
                },
            }
        ]
    }


def test_the_meta_refund_body_names_the_order_and_its_refunded_total():
    body = meta_refund(refund_made(amount=500, total_refunded=1500), action_source="other", test_event_code="TEST1")
    assert body == {
        "data": [
            {
                "event_name": "Refund",
                "event_time": int((NOW - timedelta(hours=1)).timestamp()),
                "event_id": "5849162203412:refund:1500",
                "action_source": "other",
                "user_data": {"external_id": [ADA_EXTERNAL_ID]},
                "custom_data": {"currency": "USD", "value": 5.0, "order_id": "5849162203412"},
            }
        ],
        "test_event_code": "TEST1",
    }


def test_a_refund_of_an_order_placed_before_keys_were_salted_matches_its_purchase_by_em():
    # Such an order's stored key is SHA-256(email): exactly the em its purchase sent Meta.
    body = meta_refund(refund_made(customer=ADA_EMAIL_SHA256), action_source="other")
    assert body["data"][0]["user_data"] == {"em": [ADA_EMAIL_SHA256]}
    legacy_id = f"{int(ADA_EMAIL_SHA256[:8], 16)}.{int(ADA_EMAIL_SHA256[8:16], 16)}"
    assert ga4_refund(refund_made(customer=ADA_EMAIL_SHA256), NOW)["client_id"] == legacy_id


def test_the_customer_key_not_the_email_hash_follows_a_purchase_into_the_report():
    store, ga4 = FakeReportStore(), RecordingSink("ga4")
    forwarding(store, ga4).handle(placed("shopify:1", PLACED_AT))
    assert ga4.purchases[0].customer == ADA_KEY
    assert ADA_EMAIL_SHA256 not in repr(store.__dict__)


def test_no_personal_data_shows_in_a_purchases_repr():
    assert "Ada" not in repr(purchase()) and "4653" not in repr(purchase())


# ------------------------------------------------------------------- GA4: the exact request
def test_the_ga4_client_posts_the_body_to_mp_collect_with_its_ids():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = Ga4Client(GA4_MEASUREMENT_ID, GA4_API_SECRET, transport=httpx.MockTransport(handler), retry=FAST)
    body = ga4_purchase(purchase(), NOW)
    client.send(body)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == (
        f"https://www.google-analytics.com/mp/collect?measurement_id={GA4_MEASUREMENT_ID}&api_secret={GA4_API_SECRET}"
    )
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == body


def test_what_is_sent_to_ga4_passes_its_validation_server():
    ga4 = FakeGa4()
    client = Ga4Client(GA4_MEASUREMENT_ID, GA4_API_SECRET, transport=ga4.transport(), retry=FAST)
    assert client.validate(ga4_purchase(purchase(), NOW)) == []
    assert client.validate(ga4_refund(refund_made(), NOW)) == []
    assert client.validate(ga4_purchase(purchase(customer=None, lines=(), at=NOW - timedelta(days=9)), NOW)) == []
    assert [r.path for r in ga4.validated] == ["/debug/mp/collect"] * 3
    assert ga4.validated[0].query == {"measurement_id": [GA4_MEASUREMENT_ID], "api_secret": [GA4_API_SECRET]}


def test_the_validation_server_answers_messages_for_a_malformed_event():
    ga4 = FakeGa4()
    client = Ga4Client(GA4_MEASUREMENT_ID, GA4_API_SECRET, transport=ga4.transport(), retry=FAST)
    bad = {
        "client_id": "1.2",
        "events": [{"name": "_badEventName", "params": {}}, {"name": "purchase", "params": {"value": 1.5}}],
    }
    assert client.validate(bad) == [
        {
            "fieldPath": "events",
            "description": "Event at index: [0] has invalid name [_badEventName]. Names must start with an alphabetic character.",
            "validationCode": "NAME_INVALID",
        },
        {
            "fieldPath": "events[1].params.currency",
            "description": "currency is required with value.",
            "validationCode": "VALUE_REQUIRED",
        },
        {
            "fieldPath": "events[1].params.transaction_id",
            "description": "transaction_id is required.",
            "validationCode": "VALUE_REQUIRED",
        },
    ]


def test_ga4_is_retried_on_5xx_and_a_lasting_failure_never_shows_the_secret():
    ga4 = FakeGa4(fail_next=2)
    client = Ga4Client(GA4_MEASUREMENT_ID, GA4_API_SECRET, transport=ga4.transport(), retry=FAST)
    client.send(ga4_purchase(purchase(), NOW))
    assert len(ga4.collected) == 1
    ga4.fail_next = 100
    with pytest.raises(OutboundError) as info:
        client.send(ga4_purchase(purchase(), NOW))
    assert "503" in str(info.value) and GA4_API_SECRET not in str(info.value)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    broken = Ga4Client(GA4_MEASUREMENT_ID, GA4_API_SECRET, transport=httpx.MockTransport(refused), retry=FAST)
    with pytest.raises(OutboundError) as info:
        broken.send({})
    assert info.value.__cause__ is None and GA4_API_SECRET not in str(info.value)


# ------------------------------------------------------------------ Meta: the exact request
def test_the_meta_client_posts_to_the_pixels_events_with_the_token():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"events_received": 1, "messages": [], "fbtrace_id": "x"})

    client = MetaClient(
        META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=httpx.MockTransport(handler), retry=FAST
    )
    body = meta_purchase(purchase(), action_source="other")
    client.send(body)
    (request,) = seen
    assert str(request.url) == (
        f"https://graph.facebook.com/{META_API_VERSION}/{META_PIXEL_ID}/events?access_token={META_ACCESS_TOKEN}"
    )
    assert json.loads(request.content) == body


def test_meta_accepts_what_the_hub_builds_and_a_refusal_fails_without_the_token():
    meta = FakeMeta()
    client = MetaClient(META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=meta.transport(), retry=FAST)
    client.send(meta_purchase(purchase(), action_source="other"))
    client.send(meta_refund(refund_made(), action_source="other"))
    assert [e["event_name"] for e in meta.events()] == ["Purchase", "Refund"]
    unhashed = meta_purchase(purchase(), action_source="other")
    unhashed["data"][0]["user_data"]["em"] = ["ada@example.com"]
    with pytest.raises(OutboundError) as info:
        client.send(unhashed)
    assert info.value.status_code == 400 and META_ACCESS_TOKEN not in str(info.value)


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80004])
def test_meta_throttling_http_400_with_a_rate_limit_code_is_backed_off_like_a_429(code):
    meta = FakeMeta(throttle_next=2, throttle_code=code)
    client = MetaClient(META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=meta.transport(), retry=FAST)
    client.send(meta_purchase(purchase(), action_source="other"))
    assert meta.throttled == 2 and [e["event_name"] for e in meta.events()] == ["Purchase"]


def test_lasting_meta_throttling_fails_as_the_throttled_answer_and_a_plain_400_is_not_retried():
    meta = FakeMeta(throttle_next=100)
    client = MetaClient(META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=meta.transport(), retry=FAST)
    with pytest.raises(OutboundError) as info:
        client.send(meta_purchase(purchase(), action_source="other"))
    assert info.value.status_code == 400 and meta.throttled == 5  # the first try and FAST's 4 retries
    assert META_ACCESS_TOKEN not in str(info.value)
    # A 400 that is a bad request (code 100, invalid parameter) is refused at once.
    meta = FakeMeta()
    seen = []
    wrapped = httpx.MockTransport(lambda request: seen.append(request) or meta.transport().handle_request(request))
    client = MetaClient(META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=wrapped, retry=FAST)
    unhashed = meta_purchase(purchase(), action_source="other")
    unhashed["data"][0]["user_data"]["em"] = ["ada@example.com"]
    with pytest.raises(OutboundError):
        client.send(unhashed)
    assert len(seen) == 1


def test_meta_must_receive_every_event():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"events_received": 0})

    client = MetaClient(
        META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=httpx.MockTransport(handler), retry=FAST
    )
    with pytest.raises(OutboundError, match="received 0 of 1"):
        client.send(meta_purchase(purchase(), action_source="other"))


def test_meta_skips_what_it_would_refuse_and_says_why():
    meta = FakeMeta()
    client = MetaClient(META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=meta.transport(), retry=FAST)
    sink = MetaSink(client, action_source="other", clock=lambda: NOW)
    assert sink.purchase(purchase(at=NOW - timedelta(days=8))) == "older than the 7 days Meta accepts"
    assert sink.purchase(purchase(customer=None, contact=Contact())) == "no customer information to match on"
    assert sink.refund(refund_made(customer=None)) == "no customer information to match on"
    assert meta.received == []


# ---------------------------------------------------------------------------- configuration
ANALYTICS = """
locations: [{id: wh-east, country: US}]
analytics:
  attribution_window_days: 3
  ga4: {measurement_id: G-TEST123456}
  meta: {pixel_id: 1234567890123456, api_version: v23.0, action_source: system_generated}
"""


def test_sinks_are_built_from_the_configuration_and_the_hub_secret():
    config = parse_config(ANALYTICS).analytics
    secrets = SecretsProvider(values={"GA4_API_SECRET": GA4_API_SECRET, "META_ACCESS_TOKEN": META_ACCESS_TOKEN})
    assert [s.name for s in analytics_sinks(config, secrets)] == ["ga4", "meta"]
    assert config.meta.pixel_id == "1234567890123456" and config.ga4.api_url == "https://www.google-analytics.com"
    assert analytics_sinks(parse_config("locations: [{id: a, country: US}]").analytics, secrets) == []
    with pytest.raises(AnalyticsConfigError, match="META_ACCESS_TOKEN is not in the hub secret"):
        analytics_sinks(config, SecretsProvider(values={"GA4_API_SECRET": "x"}))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("analytics: {ga4: {measurement_id: UA-1}}", "analytics.ga4.measurement_id"),
        ("analytics: {meta: {api_version: v23.0}}", "missing key 'analytics.meta.pixel_id'"),
        ("analytics: {meta: {pixel_id: 12, api_version: '23'}}", "analytics.meta.api_version"),
        ("analytics: {tracking: true}", "unknown key 'analytics.tracking'"),
        ("analytics: {attribution_window_days: 0}", "analytics.attribution_window_days"),
        ("analytics: {meta: {pixel_id: 12, api_version: v23.0, action_source: fax}}", "analytics.meta.action_source"),
    ],
)
def test_a_wrong_analytics_section_names_its_key(document, message):
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_config("locations: [{id: a, country: US}]\n" + document)


def test_the_meta_graph_version_defaults_to_the_pinned_one():
    # The Graph API version was required; it now defaults to the version the hub pins (and checks
    # against Meta's published end of availability), and a configured one still wins.
    config = parse_config("locations: [{id: a, country: US}]\nanalytics: {meta: {pixel_id: 12}}")
    assert config.analytics.meta is not None and config.analytics.meta.api_version == "v25.0"
    config = parse_config("locations: [{id: a, country: US}]\nanalytics: {meta: {pixel_id: 12, api_version: v24.0}}")
    assert config.analytics.meta is not None and config.analytics.meta.api_version == "v24.0"


# ------------------------------------------------------------------------- once, and only once
class RecordingSender:
    """A sink client (Ga4Client, MetaClient stand-in) that keeps every body it is given."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def send(self, body: dict) -> None:
        self.bodies.append(body)


def forwarding(store: FakeReportStore, *sinks) -> ReportingService:
    config = parse_config(ANALYTICS)
    return ReportingService(store, lambda: config, AnalyticsForwarder(store, lambda: list(sinks)), salt=lambda: SALT)


def test_a_purchase_is_forwarded_once_however_often_it_arrives_and_a_failure_is_retried():
    store, ga4, meta = FakeReportStore(), RecordingSink("ga4"), RecordingSink("meta")
    svc = forwarding(store, ga4, meta)
    meta.fail_next = 1
    with pytest.raises(OutboundError):
        svc.handle(placed("shopify:1", PLACED_AT))
    assert len(ga4.purchases) == 1 and meta.purchases == []
    change = svc.handle(placed("shopify:1", PLACED_AT))  # SQS redelivers the record
    assert (change.outcome, change.forwarded) == ("duplicate", ["meta"])
    svc.handle(placed("shopify:1", PLACED_AT + timedelta(minutes=3), event_id="re-sent"))
    assert len(ga4.purchases) == 1 and len(meta.purchases) == 1
    assert store.sent("ga4", "shopify:1", "purchase").total == 5000


def test_a_refund_reported_twice_is_forwarded_once_and_a_later_one_adds_only_its_amount():
    store, ga4 = FakeReportStore(), RecordingSink("ga4")
    svc = forwarding(store, ga4)
    svc.handle(placed("shopify:1", PLACED_AT))
    svc.handle(storefront_refund("shopify:1", "1", 2000, PLACED_AT + timedelta(minutes=30)))
    svc.handle(gateway_refund("shopify:1", "1", 2000, PLACED_AT + timedelta(minutes=31)))
    svc.handle(storefront_refund("shopify:1", "1", 2000, PLACED_AT + timedelta(minutes=30)))
    svc.handle(storefront_refund("shopify:1", "2", 500, PLACED_AT + timedelta(minutes=40)))
    assert [(r.amount, r.total_refunded, r.currency) for r in ga4.refunds] == [(2000, 2000, "USD"), (500, 2500, "USD")]
    assert ga4.refunds[0].platform_order_id == "1" and ga4.refunds[0].customer == ADA_KEY


def test_the_ga4_refund_body_lists_the_refunded_items_of_a_partial_refund_and_none_for_a_full_one():
    # GA4 Measurement Protocol `refund` (developers.google.com/analytics/devguides/collection/ga4/
    # reference/events#refund): transaction_id, value, currency; `items` required for a partial
    # refund, and a refund without items refunds the whole transaction.
    partial = refund_made(amount=2499, items=(("TSHIRT-BLK-M", 1, 2499), ("GIFT-WRAP", 1, None)))
    assert ga4_refund(partial, NOW)["events"] == [
        {
            "name": "refund",
            "params": {
                "transaction_id": "5849162203412",
                "value": 24.99,
                "currency": "USD",
                "items": [
                    {"item_id": "TSHIRT-BLK-M", "quantity": 1, "price": 24.99},
                    {"item_id": "GIFT-WRAP", "quantity": 1},
                ],
            },
        }
    ]
    full = refund_made(amount=5910, total_refunded=5910, items=(("TSHIRT-BLK-M", 2, 2499),), whole_order=True)
    assert ga4_refund(full, NOW)["events"][0]["params"] == {
        "transaction_id": "5849162203412",
        "value": 59.1,
        "currency": "USD",
    }


def test_a_partial_refund_waits_for_its_items_before_going_to_ga4():
    store, ga4, meta = FakeReportStore(), Ga4Sink(RecordingSender()), RecordingSink("meta")
    svc = forwarding(store, ga4, meta)
    svc.handle(placed("shopify:1", PLACED_AT))  # MUG 2 x 20.00, TEE 1 x 10.00
    # The gateway reports the partial refund first: Meta gets it, GA4 waits (no lines: it would count in full).
    change = svc.handle(gateway_refund("shopify:1", "1", 1000, PLACED_AT + timedelta(minutes=30)))
    assert change.forwarded == ["meta"] and [b["events"][0]["name"] for b in ga4._client.bodies] == ["purchase"]
    assert store.sent("ga4", "shopify:1", "refund") is None
    # The storefront's report of the same refund names the line: GA4 gets it now, once.
    change = svc.handle(
        storefront_refund("shopify:1", "1", 1000, PLACED_AT + timedelta(minutes=31), lines=(("TEE", 1),))
    )
    assert change.forwarded == ["ga4"] and len(meta.refunds) == 1
    refund = ga4._client.bodies[-1]["events"][0]
    assert refund["params"]["value"] == 10.0 and refund["params"]["items"] == [
        {"item_id": "TEE", "quantity": 1, "price": 10.0}
    ]


def test_a_refund_of_the_whole_order_goes_to_ga4_without_items():
    store, ga4 = FakeReportStore(), Ga4Sink(RecordingSender())
    svc = forwarding(store, ga4)
    svc.handle(placed("shopify:1", PLACED_AT))
    svc.handle(gateway_refund("shopify:1", "1", 5000, PLACED_AT + timedelta(minutes=30)))
    refund = ga4._client.bodies[-1]["events"][0]
    assert refund["name"] == "refund" and "items" not in refund["params"] and refund["params"]["value"] == 50.0


def test_a_cancelled_order_is_not_forwarded_as_a_purchase():
    from tests.unit.test_reporting import cancelled

    store, ga4 = FakeReportStore(), RecordingSink("ga4")
    svc = forwarding(store, ga4)
    svc.handle(cancelled("shopify:1", PLACED_AT))
    svc.handle(placed("shopify:1", PLACED_AT))
    assert ga4.purchases == []


def test_through_the_real_clients_the_fakes_receive_valid_requests():
    ga4_api, meta_api = FakeGa4(), FakeMeta()
    ga4 = Ga4Sink(Ga4Client(GA4_MEASUREMENT_ID, GA4_API_SECRET, transport=ga4_api.transport(), retry=FAST))
    meta = MetaSink(
        MetaClient(META_PIXEL_ID, META_API_VERSION, META_ACCESS_TOKEN, transport=meta_api.transport(), retry=FAST),
        action_source="other",
    )
    store = FakeReportStore()
    svc = forwarding(store, ga4, meta)
    svc.handle(placed("shopify:1", PLACED_AT))
    # A partial refund: GA4 gets it with its items (without them GA4 would count a full refund).
    svc.handle(storefront_refund("shopify:1", "1", 1000, PLACED_AT + timedelta(minutes=5), lines=(("TEE", 1),)))
    assert [e["name"] for e in ga4_api.events()] == ["purchase", "refund"]
    assert ga4_api.events("refund")[0]["params"]["items"] == [{"item_id": "TEE", "quantity": 1, "price": 10.0}]
    assert ga4_api.messages_of_collected() == [[], []]
    assert [(e["event_name"], e["event_id"]) for e in meta_api.events()] == [
        ("Purchase", "1"),
        ("Refund", "1:refund:1000"),
    ]


def test_forwarding_is_skipped_for_a_refund_in_another_currency_than_the_order():
    store, ga4 = FakeReportStore(), RecordingSink("ga4")
    svc = forwarding(store, ga4)
    svc.handle(placed("shopify:1", PLACED_AT))
    svc.handle(storefront_refund("shopify:1", "1", 100, PLACED_AT, currency="EUR"))
    assert ga4.refunds == []
    facts = OrderFacts(
        "x", refunds={"storefront:1": Refund("storefront", "2026-11-20T00:00:00.000000Z", 5, "EUR", "s")}
    )
    assert facts.contribution()  # still in the report, in its own currency
