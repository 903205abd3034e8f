"""marketing_triggers and marketing_unsubscribe with moto: a paid order schedules a follow-up in
EventBridge Scheduler; its Input, delivered to the function, sends an SES email (read back from the
emulator's SES) with a working unsubscribe link; an erasure deletes what was scheduled."""

from __future__ import annotations

import copy
import email
import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from hub.adapters.customers import DynamoCustomerStore
from hub.adapters.dynamodb import DynamoLedger
from hub.adapters.eventbridge import EventBridgePublisher
from hub.domain.customers import erasure_key
from hub.domain.orders import Order, OrderLine, OrderStatus, TimelineEntry
from hub.events import parse_event
from hub.money import Money

from tests.functional.conftest import event
from tests.marketing_fakes import FakeProfiles, checkout_started, customer_erased, order_placed, status_changed

ACCOUNT, REGION = "123456789012", "us-east-1"
SENDER = "shop@example.com"  # config/local.yaml's marketing.sender
GROUP = "commerce-hub-marketing-test"
ADA, GRACE = "ada@example.com", "grace@example.com"


def record(body: dict, message_id: str) -> dict:
    base = copy.deepcopy(event("stock_updates_order_placed.json")["Records"][0])
    return dict(base, messageId=message_id, body=json.dumps(body))


def bus_record(hub_event, message_id: str) -> dict:
    envelope = {
        "version": "0",
        "id": message_id,
        "detail-type": hub_event.type,
        "source": f"commerce-hub.{hub_event.source}",
        "account": ACCOUNT,
        "time": "2026-11-20T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": json.loads(hub_event.model_dump_json()),
    }
    return record(envelope, message_id)


@pytest.fixture
def marketing(aws, load_function, monkeypatch):
    scheduler = boto3.client("scheduler")
    scheduler.create_schedule_group(Name=GROUP)
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:commerce-hub-marketing-dev"
    monkeypatch.setenv("HUB_MARKETING_SCHEDULE_GROUP", GROUP)
    monkeypatch.setenv("HUB_MARKETING_QUEUE_ARN", queue_arn)
    monkeypatch.setenv("HUB_MARKETING_SCHEDULER_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/marketing-scheduler")
    monkeypatch.setenv(
        "HUB_MARKETING_SCHEDULE_DLQ_ARN", f"arn:aws:sqs:{REGION}:{ACCOUNT}:commerce-hub-marketing-dlq-dev"
    )
    monkeypatch.setenv("HUB_UNSUBSCRIBE_URL", "https://hub.example/unsubscribe")
    from hub.settings import marketing_settings

    marketing_settings.cache_clear()
    return load_function("marketing_triggers")


def add_order(aws, order_id: str, email_address: str, at: datetime) -> None:
    order = Order(
        order_id=order_id,
        channel="shopify",
        status=OrderStatus.PAID,
        total=Money(5600, "USD"),
        lines=(OrderLine("MUG", 2, 1800), OrderLine("TEE", 1, 2000)),
        customer_email=email_address,
        placed_at=at,
    )
    entry = TimelineEntry(f"evt_{order_id}", "OrderPlaced", at, at, "placed")
    DynamoLedger(boto3.client("dynamodb"), aws.resources["HubTable"]).place_order(order, [], entry)


def add_profile(aws, email_address: str, consent: bool | None) -> None:
    profile = FakeProfiles().add(email_address, consent=consent, first_name="Ada", products=[("MUG", "Enamel Mug")])
    DynamoCustomerStore(boto3.client("dynamodb"), aws.resources["HubTable"]).save_profile(profile.email, profile, 0, {})


def schedules() -> dict[str, dict]:
    client = boto3.client("scheduler")
    return {
        s["Name"]: client.get_schedule(GroupName=GROUP, Name=s["Name"])
        for s in client.list_schedules(GroupName=GROUP)["Schedules"]
    }


def opted_out(aws) -> bool:
    """Whether any customer's unsubscribe is recorded (MKTOPTOUT#<erasure key>)."""
    table = aws.resources["HubTable"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return any(i["pk"]["S"].startswith("MKTOPTOUT#") for i in items)


def sent_mail() -> list[email.message.Message]:
    from moto.ses.models import ses_backends

    return [email.message_from_string(m.raw_data) for m in ses_backends[ACCOUNT][REGION].sent_messages]


def test_a_follow_up_is_scheduled_then_sent_by_ses_to_a_consenting_customer_only(
    aws, marketing, bus_tap, load_function, context
):
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    add_order(aws, "shopify:1", ADA, now)
    add_order(aws, "shopify:2", GRACE, now)
    add_profile(aws, ADA, consent=True)
    add_profile(aws, GRACE, consent=False)
    events = [
        order_placed("shopify:1", ADA, at=now),
        order_placed("shopify:2", GRACE, at=now, lines=[("MUG", "Enamel Mug"), ("CAP", "Wool Cap")]),
        status_changed("shopify:1", "paid", now),
        status_changed("shopify:2", "paid", now),
    ]
    records = [bus_record(e, f"m{n}") for n, e in enumerate(events)]
    assert marketing.lambda_handler({"Records": records + records}, context) == {"batchItemFailures": []}

    found = schedules()
    follow_ups = {n: s for n, s in found.items() if n.startswith("post_purchase-paid-")}
    assert len(follow_ups) == 2 and len(found) == 4  # and two win-backs; redelivery created none twice
    one = next(iter(follow_ups.values()))
    assert one["ScheduleExpression"].startswith("at(") and one["ScheduleExpressionTimezone"] == "UTC"
    assert one["ActionAfterCompletion"] == "DELETE" and one["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert one["Target"]["Arn"].endswith(":commerce-hub-marketing-dev")
    assert one["Target"]["RoleArn"].endswith(":role/marketing-scheduler")
    # What Scheduler cannot deliver within its retry policy goes to the marketing DLQ, not away.
    assert one["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert one["Target"]["DeadLetterConfig"] == {
        "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:commerce-hub-marketing-dlq-dev"
    }
    inputs = [json.loads(s["Target"]["Input"]) for s in follow_ups.values()]
    assert "@" not in json.dumps(inputs)  # no personal data in what Scheduler keeps

    # The schedules fire (twice: a redelivery): the Input arrives on the queue as is.
    fired = [record(i, f"due-{n}") for n, i in enumerate(inputs)]
    assert marketing.lambda_handler({"Records": fired + fired}, context) == {"batchItemFailures": []}
    [mail] = sent_mail()
    assert mail["To"] == ADA and mail["From"] == "Commerce Hub Shop <shop@example.com>"
    assert mail["Subject"] == "How are you getting on with your order?"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.get_payload()}
    assert "Enamel Mug (x2)" in parts["text/plain"] and "Wool Cap" in parts["text/plain"]
    assert "Enamel Mug" in parts["text/html"] and "Wool Cap" in parts["text/html"]
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://hub.example/unsubscribe?token=ck_") and link in parts["text/plain"]
    sent = [e for e in bus_tap.events() if e["detail-type"] == "MarketingMessageSent"]
    assert [(e["detail"]["data"]["trigger"], e["detail"]["data"]["channel"]) for e in sent] == [
        ("post_purchase", "email")
    ]

    # Opening the link (GET) asks and records nothing; the one-click POST (RFC 8058) unsubscribes, and
    # the next message is not sent.
    unsubscribe = load_function("marketing_unsubscribe")
    request = copy.deepcopy(event("admin_api_get_order.json"))
    token = parse_qs(urlsplit(link).query)["token"][0]
    request.update(rawPath="/unsubscribe", rawQueryString=f"token={token}", queryStringParameters={"token": token})
    request["requestContext"]["http"].update(method="GET", path="/unsubscribe")
    request["routeKey"] = "GET /unsubscribe"
    request.pop("pathParameters", None)
    answer = unsubscribe.lambda_handler(request, context)
    assert answer["statusCode"] == 200 and '<form method="post"' in answer["body"]
    assert not opted_out(aws)
    one_click = copy.deepcopy(request)
    one_click["requestContext"]["http"]["method"] = "POST"
    one_click.update(routeKey="POST /unsubscribe", body="List-Unsubscribe=One-Click", isBase64Encoded=False)
    one_click["headers"] = {**one_click.get("headers", {}), "content-type": "application/x-www-form-urlencoded"}
    answer = unsubscribe.lambda_handler(one_click, context)
    assert answer["statusCode"] == 200 and "You are unsubscribed" in answer["body"]
    assert opted_out(aws)
    forged = dict(one_click, queryStringParameters={"token": token[:-2] + "xx"}, rawQueryString="token=x")
    assert unsubscribe.lambda_handler(forged, context)["statusCode"] == 400

    win_backs = [json.loads(s["Target"]["Input"]) for n, s in found.items() if n.startswith("win_back-")]
    ada_win_back = next(i for i in win_backs if i["marketing_due"]["subject_id"] == "shopify:1")
    ada_win_back["marketing_due"]["due_at"] = datetime.now(UTC).isoformat()
    assert marketing.lambda_handler({"Records": [record(ada_win_back, "wb")]}, context) == {"batchItemFailures": []}
    assert len(sent_mail()) == 1


def test_an_erasure_deletes_the_customers_schedules(aws, marketing, context):
    now = datetime.now(UTC) - timedelta(minutes=5)
    add_order(aws, "shopify:1", ADA, now)
    events = [status_changed("shopify:1", "paid", now), checkout_started("shopify:tok", ADA, at=now)]
    records = [bus_record(e, f"m{n}") for n, e in enumerate(events)]
    assert marketing.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}
    assert {n.split("-")[0] for n in schedules()} == {"post_purchase", "abandoned_checkout"}

    salt = DynamoCustomerStore(boto3.client("dynamodb"), aws.resources["HubTable"]).salt()
    from hub.domain.customers import erasure_key

    erased = customer_erased(None, ["shopify:1"])
    erased = erased.model_copy(update={"data": erased.data.model_copy(update={"erasure_key": erasure_key(ADA, salt)})})
    assert marketing.lambda_handler({"Records": [bus_record(erased, "e1")]}, context) == {"batchItemFailures": []}
    assert schedules() == {}


def test_a_record_that_is_neither_a_hub_event_nor_a_due_message_fails_alone(aws, marketing, context):
    good = bus_record(status_changed("shopify:404", "shipped"), "ok")
    bad = record({"marketing_due": {"trigger": "spam"}}, "bad")
    assert marketing.lambda_handler({"Records": [good, bad]}, context) == {
        "batchItemFailures": [{"itemIdentifier": "bad"}]
    }


@pytest.mark.parametrize("sample", ["marketing_triggers_order_paid.json", "marketing_triggers_due.json"])
def test_the_sample_events_run(aws, marketing, context, sample):
    """events/ holds one of each input the queue carries (for `sam local invoke -e` too)."""
    add_order(aws, "shopify:820982911946154508", ADA, datetime(2026, 11, 20, 14, 0, tzinfo=UTC))
    assert marketing.lambda_handler(event(sample), context) == {"batchItemFailures": []}


def test_the_message_sent_and_the_report_name_the_customer_by_one_salted_key(
    aws, marketing, bus_tap, load_function, context
):
    """marketing_triggers announces the message under the erasure key; reporting, fed that event and
    the order, keys its customer facts the same way, so the message is attributed. Nowhere in the
    table or on the bus is there the bare SHA-256 of the email, which anyone could recompute."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    add_order(aws, "shopify:1", ADA, now)
    add_profile(aws, ADA, consent=True)
    placed = order_placed("shopify:1", ADA, at=now)
    batch = [bus_record(e, f"m{n}") for n, e in enumerate([placed, status_changed("shopify:1", "paid", now)])]
    assert marketing.lambda_handler({"Records": batch}, context) == {"batchItemFailures": []}
    follow_up = next(s for n, s in schedules().items() if n.startswith("post_purchase-paid-"))
    due = record(json.loads(follow_up["Target"]["Input"]), "due-1")
    assert marketing.lambda_handler({"Records": [due]}, context) == {"batchItemFailures": []}

    published = bus_tap.events()
    [sent] = [e for e in published if e["detail-type"] == "MarketingMessageSent"]
    salt = DynamoCustomerStore(boto3.client("dynamodb"), aws.resources["HubTable"]).salt()
    key = erasure_key(ADA, salt)
    assert sent["detail"]["data"]["customer"] == key

    # Reporting gets the order, the message, and a copy of the message dated before the order (so
    # that the order is attributed to it): all under the one key.
    reporting = load_function("reporting")
    earlier = copy.deepcopy(sent)
    earlier["detail"].update(event_id="earlier-message", occurred_at=(now - timedelta(hours=2)).isoformat())
    earlier["detail"]["data"]["sent_at"] = (now - timedelta(hours=2)).isoformat()
    messages = [parse_event(json.dumps(e["detail"])) for e in (sent, earlier)]
    records = [bus_record(e, f"r{n}") for n, e in enumerate([placed, *messages])]
    assert reporting.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}

    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    customers = [i for i in items if i["pk"]["S"].startswith("REPORT#customer#")]
    assert [i["pk"]["S"] for i in customers] == [f"REPORT#customer#{key}"]
    facts = json.loads(customers[0]["facts"]["S"])
    assert list(facts["orders"]) == ["shopify:1"]
    assert set(facts["messages"]) == {sent["detail"]["event_id"], "earlier-message"}
    days = [i for i in items if i["pk"]["S"].startswith("REPORT#DAY#")]
    assert sum(int(i.get("attributed_orders", {"N": "0"})["N"]) for i in days) == 1

    unsalted = hashlib.sha256(ADA.encode()).hexdigest()
    assert unsalted not in json.dumps(items) and unsalted not in json.dumps(published)


def test_the_rule_leaves_out_the_levels_a_reservation_lowered(aws):
    """StockLevelChanged reaches marketing when units may have come back (a set, a report, a release),
    never for a reservation: a fall brings nothing back in stock."""
    from hub.events import ProviderRef, StockLevelChanged, StockLevelData

    def changed(topic: str, available: int, previous: int | None) -> StockLevelChanged:
        return StockLevelChanged(
            event_id=f"level-{topic}-{available}",
            source="hub",
            channel="shopify",
            occurred_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            provider=ProviderRef(topic=topic),
            data=StockLevelData(
                sku="MUG", location="wh-east", available=available, previous=previous, origin="shopify"
            ),
        )

    sent = [
        changed("inventory/reserved", 4, 5),
        changed("inventory/set", 5, 0),
        changed("inventory/moved", 6, 4),
        changed("inventory/reported", 0, 3),  # nothing left: not for marketing either
    ]
    EventBridgePublisher(boto3.client("events"), aws.bus_name).publish(sent)  # as the hub publishes
    arrived = sorted(m["detail"]["event_id"] for m in aws.drain("MarketingQueue"))
    assert arrived == ["level-inventory/moved-6", "level-inventory/set-5"]
