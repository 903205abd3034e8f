"""reporting with moto: the handler fed bus records, the report read through admin_api, GA4 and Meta
requests as they leave (respx), metrics as Powertools prints them."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
import respx
from hub.adapters.eventbridge import EventBridgePublisher
from hub.domain.customers import erasure_key

from tests.analytics_apis import GA4_API_SECRET, GA4_MEASUREMENT_ID, META_ACCESS_TOKEN, META_PIXEL_ID
from tests.functional.conftest import CONFIG_PARAMETER, ROOT, event
from tests.unit.test_reporting import cancelled, checkout, gateway_refund, message, placed, storefront_refund

SAMPLE_DAY = "2026-11-20"
GA4_URL = "https://www.google-analytics.com/mp/collect"
META_URL = f"https://graph.facebook.com/v23.0/{META_PIXEL_ID}/events"


def record(hub_event, message_id: str) -> dict:
    body = {
        "version": "0",
        "id": message_id,
        "detail-type": hub_event.type,
        "source": f"commerce-hub.{hub_event.source}",
        "account": "123456789012",
        "time": "2026-11-20T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(hub_event.model_dump_json()),
    }
    base = copy.deepcopy(event("reporting_order_placed.json")["Records"][0])
    return dict(base, messageId=message_id, body=json.dumps(body))


def emf_lines(output: str) -> list[dict]:
    """The metric documents Powertools printed, each value summed (EMF may carry a list)."""
    out = []
    for line in output.splitlines():
        if line.startswith('{"_aws"'):
            document = json.loads(line)
            names = [m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
            for name in names:
                value = document[name]
                document[name] = sum(value) if isinstance(value, list) else value
            out.append(document)
    return out


def get_report(admin, context, query: str) -> tuple[int, dict]:
    ev = event("admin_api_get_daily_report.json")
    ev["rawQueryString"] = query
    ev["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&")) if query else None
    response = admin.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def reporting(aws, load_function):
    return load_function("reporting")


@pytest.fixture
def admin(aws, load_function):
    return load_function("admin_api")


@pytest.fixture
def analytics_configured(aws, monkeypatch):
    """GA4 and Meta configured (SSM), their credentials in the hub secret (Secrets Manager)."""
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    document = (ROOT / "config" / "local.yaml").read_text() + (
        "analytics:\n"
        f"  ga4: {{measurement_id: {GA4_MEASUREMENT_ID}}}\n"
        f"  meta: {{pixel_id: '{META_PIXEL_ID}', api_version: v23.0}}\n"
    )
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=document, Overwrite=True)
    aws.put_secrets({**aws.secrets, "GA4_API_SECRET": GA4_API_SECRET, "META_ACCESS_TOKEN": META_ACCESS_TOKEN})
    parameters.clear_caches()
    forget_config()


def test_the_sample_order_and_its_events_make_the_daily_report(aws, reporting, admin, context):
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    sample = event("reporting_order_placed.json")
    records = [
        sample["Records"][0],
        dict(sample["Records"][0], messageId="redelivered"),
        record(
            placed("woocommerce:727", at, total=2000, email="grace@example.com", lines=(("MUG-ENAMEL-WHT", 1, 2000),)),
            "w1",
        ),
        record(
            placed(
                "shopify:9",
                at,
                total=1000,
                email="ADA.Lovelace@example.com",
                lines=(("CAP", 1, 1000),),
                checkout_id="shopify:c1",  # completes c1; cancelled later, the checkout still converted
            ),
            "s9",
        ),
        record(cancelled("shopify:9", at + timedelta(hours=1)), "s9-cancel"),
        record(storefront_refund("shopify:820982911946154508", "r1", 1800, at + timedelta(hours=2)), "r1"),
        record(gateway_refund("shopify:820982911946154508", "r1", 1800, at + timedelta(hours=3)), "r1-gw"),
        record(checkout("shopify:c1", at), "c1"),
        record(checkout("shopify:c1", at + timedelta(minutes=5)), "c1-update"),
        record(checkout("shopify:c2", at), "c2"),
        record(checkout("shopify:c2", at + timedelta(minutes=9), completed=True), "c2-completed"),
        record(checkout("shopify:c3", at), "c3"),  # abandoned
        record(message("m1", "ada.lovelace@example.com", at - timedelta(days=1)), "m1"),
    ]
    assert reporting.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}

    status, body = get_report(admin, context, f"date={SAMPLE_DAY}")
    assert status == 200
    shopify, woo = body["channels"]
    # Conversion: completed checkouts over started ones (2 of 3), not orders over checkouts (1 of 3).
    assert (
        shopify["channel"],
        shopify["orders"],
        shopify["checkouts_started"],
        shopify["checkouts_completed"],
        shopify["conversion_rate"],
    ) == ("shopify", 1, 3, 2, "0.6667")
    assert shopify["currencies"] == [
        {
            "currency": "USD",
            "orders": 1,
            "revenue": "85.92",
            "refunds": "18.00",
            "net_revenue": "67.92",
            "average_order_value": "85.92",
            "units": 3,
            "new_customer_orders": 1,
            "returning_customer_orders": 0,
            "attributed_orders": 1,
            "attributed_revenue": "85.92",
            "top_skus": [
                {"sku": "MUG-ENAMEL-WHT", "units": 2, "revenue": "36.00"},
                {"sku": "TEE-ORGANIC-L", "units": 1, "revenue": "38.00"},
            ],
        }
    ]
    assert (woo["channel"], woo["orders"], woo["conversion_rate"]) == ("woocommerce", 1, None)
    totals = body["totals"]["currencies"][0]
    assert (totals["orders"], totals["revenue"], totals["net_revenue"], totals["units"]) == (2, "105.92", "87.92", 4)
    assert totals["top_skus"][0] == {"sku": "MUG-ENAMEL-WHT", "units": 3, "revenue": "56.00"}
    assert body["totals"]["marketing_messages_sent"] == 0  # the message was sent the day before

    status, only = get_report(admin, context, f"date={SAMPLE_DAY}&channel=woocommerce")
    assert (status, [c["channel"] for c in only["channels"]], only["totals"]["orders"]) == (200, ["woocommerce"], 1)
    status, empty = get_report(admin, context, "date=2026-11-21")
    assert (status, empty["channels"], empty["totals"]["orders"]) == (200, [], 0)


def deployment_salt(aws) -> str:
    """The erasure key salt the functions generated and kept in the table (the test secret has none)."""
    key = {"pk": {"S": "PRIVACY#salt"}, "sk": {"S": "SALT"}}
    return boto3.client("dynamodb").get_item(TableName=aws.resources["HubTable"], Key=key)["Item"]["salt"]["S"]


def test_the_report_items_hold_no_email_and_no_unsalted_hash_of_one(aws, reporting, context):
    reporting.lambda_handler(event("reporting_order_placed.json"), context)
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    report_items = [i for i in items if i["pk"]["S"].startswith("REPORT#")]
    assert report_items and "ada.lovelace" not in json.dumps(report_items).lower()
    assert hashlib.sha256(b"ada.lovelace@example.com").hexdigest() not in json.dumps(report_items)
    key = erasure_key("ada.lovelace@example.com", deployment_salt(aws))
    assert any(i["pk"]["S"] == f"REPORT#customer#{key}" for i in report_items)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "say which day: date=YYYY-MM-DD"),
        ("date=20261120", "date must be a day written YYYY-MM-DD"),
        ("date=yesterday", "date must be a day written YYYY-MM-DD"),
        ("date=2026-02-30", "2026-02-30 is not a day of the calendar"),
    ],
)
def test_a_bad_date_is_400_with_what_to_send(aws, admin, context, query, message):
    status, body = get_report(admin, context, query)
    assert status == 400
    assert message in body["error"] and "e.g. ?date=2026-11-20" in body["error"]


def test_purchases_and_refunds_reach_ga4_and_meta_once(aws, analytics_configured, reporting, context):
    placed_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    order = placed("shopify:5849162203412", placed_at, total=5910, lines=(("TSHIRT-BLK-M", 2, 2499), ("MUG", 1, 912)))
    refund = storefront_refund(
        "shopify:5849162203412", "r1", 912, placed_at + timedelta(minutes=30), lines=(("MUG", 1),)
    )
    with respx.mock(assert_all_mocked=True) as api:
        ga4 = api.post(GA4_URL).mock(return_value=httpx.Response(204))
        meta = api.post(META_URL).mock(return_value=httpx.Response(200, json={"events_received": 1, "fbtrace_id": "x"}))
        batch = {"Records": [record(order, "o1"), record(refund, "r1")]}
        assert reporting.lambda_handler(batch, context) == {"batchItemFailures": []}
        assert reporting.lambda_handler(batch, context) == {"batchItemFailures": []}  # redelivered
        assert (ga4.call_count, meta.call_count) == (2, 2)

    purchase_request, refund_request = (call.request for call in ga4.calls)
    assert purchase_request.url.params == httpx.QueryParams(
        measurement_id=GA4_MEASUREMENT_ID, api_secret=GA4_API_SECRET
    )
    # GA4's client id is seeded by the salted customer key, as the report's customer facts are keyed.
    key = erasure_key("ada@example.com", deployment_salt(aws)).removeprefix("ck_")
    assert json.loads(purchase_request.content) == {
        "client_id": f"{int(key[:8], 16)}.{int(key[8:16], 16)}",
        "timestamp_micros": int(placed_at.timestamp()) * 1_000_000,
        "events": [
            {
                "name": "purchase",
                "params": {
                    "transaction_id": "5849162203412",
                    "value": 59.1,
                    "currency": "USD",
                    "affiliation": "shopify",
                    "items": [
                        {"item_id": "TSHIRT-BLK-M", "price": 24.99, "quantity": 2},
                        {"item_id": "MUG", "price": 9.12, "quantity": 1},
                    ],
                },
            }
        ],
    }
    # A partial refund carries its items: without them GA4 counts the whole transaction refunded.
    assert json.loads(refund_request.content)["events"] == [
        {
            "name": "refund",
            "params": {
                "transaction_id": "5849162203412",
                "value": 9.12,
                "currency": "USD",
                "items": [{"item_id": "MUG", "quantity": 1, "price": 9.12}],
            },
        }
    ]
    meta_purchase, meta_refund = (json.loads(call.request.content)["data"][0] for call in meta.calls)
    assert meta.calls[0].request.url.params == httpx.QueryParams(access_token=META_ACCESS_TOKEN)
    assert (meta_purchase["event_name"], meta_purchase["event_id"], meta_purchase["action_source"]) == (
        "Purchase",
        "5849162203412",
        "other",
    )
    assert meta_purchase["event_time"] == int(placed_at.timestamp())
    # Meta requires the email as its SHA-256 (made for the request, kept nowhere); the customer key
    # goes as a hashed external_id, which is also what the refund, built from stored facts, carries.
    external_id = hashlib.sha256(f"ck_{key}".encode()).hexdigest()
    assert meta_purchase["user_data"] == {
        "external_id": [external_id],
        "em": [hashlib.sha256(b"ada@example.com").hexdigest()],
    }
    assert meta_refund["user_data"] == {"external_id": [external_id]}
    assert meta_purchase["custom_data"]["value"] == 59.1
    assert (meta_refund["event_name"], meta_refund["event_id"]) == ("Refund", "5849162203412:refund:912")


def test_a_destination_that_refuses_fails_the_record_and_the_redelivery_sends_it(
    aws, analytics_configured, reporting, admin, context, capsys
):
    placed_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    order = record(placed("shopify:77", placed_at), "o77")
    other = record(placed("shopify:78", placed_at), "o78")
    with respx.mock(assert_all_mocked=True) as api:
        api.post(GA4_URL).mock(return_value=httpx.Response(204))
        meta = api.post(META_URL).mock(
            side_effect=[
                httpx.Response(400, json={"error": {"message": "Invalid parameter", "code": 100}}),
                httpx.Response(200, json={"events_received": 1}),
                httpx.Response(200, json={"events_received": 1}),
            ]
        )
        assert reporting.lambda_handler({"Records": [order, other]}, context) == {
            "batchItemFailures": [{"itemIdentifier": "o77"}]
        }
        assert reporting.lambda_handler({"Records": [order]}, context) == {"batchItemFailures": []}
        assert meta.call_count == 3
    output = capsys.readouterr().out
    assert META_ACCESS_TOKEN not in output and GA4_API_SECRET not in output and "ada@example.com" not in output
    assert any(m.get("RecordsFailed") == 1 for m in emf_lines(output))
    _status, body = get_report(admin, context, f"date={placed_at.date().isoformat()}")
    assert body["totals"]["orders"] == 2


def test_orders_revenue_and_refunds_are_published_as_metrics(aws, reporting, context, capsys):
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    batch = {
        "Records": [
            record(placed("shopify:1", at, total=5000), "a"),
            record(placed("shopify:2", at, total=1200, currency="JPY"), "b"),
            record(storefront_refund("shopify:1", "r1", 250, at), "c"),
        ]
    }
    reporting.lambda_handler(batch, context)
    emf = emf_lines(capsys.readouterr().out)
    revenue = {m["currency"]: m["Revenue"] for m in emf if "Revenue" in m}
    refunds = {m["currency"]: m["Refunds"] for m in emf if "Refunds" in m}
    assert revenue == {"USD": 50.0, "JPY": 1200.0} and refunds == {"USD": 2.5}
    definitions = [d for m in emf for d in m["_aws"]["CloudWatchMetrics"]]
    assert ["currency", "service"] in [
        dims for d in definitions if d["Metrics"][0]["Name"] == "Revenue" for dims in d["Dimensions"]
    ]
    assert sum(m["Orders"] for m in emf if "Orders" in m) == 2


def test_queue_health_publishes_one_metric_with_the_queue_as_dimension(
    aws, load_function, context, capsys, monkeypatch
):
    monkeypatch.setenv(
        "HUB_QUEUE_URLS",
        f"reporting={aws.queue_url('ReportingQueue')},reporting-dlq={aws.queue_url('ReportingDeadLetterQueue')}",
    )
    boto3.client("sqs").send_message(QueueUrl=aws.queue_url("ReportingDeadLetterQueue"), MessageBody="{}")
    result = load_function("queue_health").lambda_handler(event("queue_health_scheduled.json"), context)
    assert result == {"queues": {"reporting": 0, "reporting-dlq": 1}}
    emf = emf_lines(capsys.readouterr().out)
    depths = {m["queue"]: m["QueueDepth"] for m in emf if "QueueDepth" in m}
    assert depths == {"reporting": 0.0, "reporting-dlq": 1.0}


def test_the_rule_sends_the_reports_events_to_its_queue(aws):
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    paid = cancelled("shopify:1", at)
    paid = paid.model_copy(update={"event_id": "paid", "data": paid.data.model_copy(update={"status": "paid"})})
    sent = [
        placed("shopify:1", at),
        cancelled("shopify:1", at),
        paid,
        storefront_refund("shopify:1", "r", 100, at),
        gateway_refund("shopify:1", "r", 100, at),
        checkout("shopify:c", at),
        message("m", "ada@example.com", at),
    ]
    EventBridgePublisher(boto3.client("events"), aws.bus_name).publish(sent)  # as the hub publishes
    arrived = sorted((m["detail-type"], m["detail"]["event_id"]) for m in aws.drain("ReportingQueue"))
    expected = sorted((e.type, e.event_id) for e in sent if e is not paid)
    assert arrived == expected


# ------------------------------------------------------------------ an order and its customer, together
def _store(aws, client=None):
    from hub.adapters.report_store import DynamoReportStore

    return DynamoReportStore(client or boto3.client("dynamodb"), aws.resources["HubTable"])


def _service(store):
    from hub.services.reporting import ReportingService

    from tests.unit.test_reporting import SALT, config

    cfg = config()
    return ReportingService(store, lambda: cfg, salt=lambda: SALT)


def _usd(store, day: str = "2026-11-20") -> dict:
    from hub.domain.reporting import daily_report

    rows = store.day(day)
    return next(c for c in daily_report(day, rows, window_days=7)["totals"]["currencies"] if c["currency"] == "USD")


def test_an_order_and_its_customer_are_read_in_one_request_and_written_in_one_transaction(aws):
    client = boto3.client("dynamodb")
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    store = _store(aws, client)
    _service(store).handle(placed("shopify:1", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)))

    assert calls == ["BatchGetItem", "TransactWriteItems"]
    totals = _usd(store)
    assert (totals["orders"], totals["new_customer_orders"]) == (1, 1)


def test_a_stale_customer_version_writes_neither_the_order_nor_the_counters(aws):
    from hub.domain.reporting import CustomerFacts, FactsWrite, OrderFacts, Placement, stamp
    from hub.errors import ReportConflictError

    store = _store(aws)
    at = stamp(datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    order = OrderFacts("shopify:1").with_placement(Placement("e1", at, "shopify", "USD", 5000, (), "ck_1"))
    summary = order.customer_order()
    assert summary is not None
    customer = CustomerFacts("ck_1", 7).with_order("shopify:1", summary)
    stale = [
        FactsWrite(order, order.contribution(), None, order.contribution()),
        FactsWrite(customer, customer.contribution(), 4, customer.contribution()),  # not stored at version 4
    ]
    with pytest.raises(ReportConflictError):
        store.save_all(stale)
    assert store.load_many([("order", "shopify:1"), ("customer", "ck_1")]) == {}
    assert store.day("2026-11-20") == []


def test_two_orders_of_one_customer_at_once_count_one_new_and_one_returning(aws):
    """Both read the customer's facts before either writes: the second write fails its version and
    applies again, over the first's facts (moto applies each request alone, as DynamoDB does)."""
    from tests.functional.test_sharded_stock import _Atomic

    store = _store(aws, _Atomic(boto3.client("dynamodb")))
    both_read = threading.Barrier(2)
    first_reads: set[int] = set()
    load_many = store.load_many

    def read_then_wait(keys):
        found = load_many(keys)
        if threading.get_ident() not in first_reads:
            first_reads.add(threading.get_ident())
            both_read.wait(timeout=30)
        return found

    store.load_many = read_then_wait  # type: ignore[method-assign]
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(
            pool.map(lambda n: _service(store).handle(placed(f"shopify:{n}", at + timedelta(hours=n))).outcome, (1, 2))
        )

    assert outcomes == ["applied", "applied"]
    totals = _usd(store)
    assert (totals["orders"], totals["new_customer_orders"], totals["returning_customer_orders"]) == (2, 1, 1)
