"""ad_audiences with moto: crm_upsert announces a changed profile (only when audiences are
configured), ad_audiences adds the consenting customer to Meta and Google Ads (the fakes of
tests/audience_apis.py behind respx), records what it sent, sends nothing again on a redelivery,
removes an erased customer from every audience, and runs its daily review: with the clock moved past
a customer's recent-buyer window, then past the lapsed threshold, the review removes them from
recent_buyers at both vendors and adds them to lapsed. A customer crossing high_value's min_spend
joins it and leaves it when a refund takes them back below. A data-request export (crm_upsert) lists
the audiences the hub put the customer in, and since when, without any identifier sent."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import respx
from hub.adapters.table import from_micros
from hub.domain.customers import erasure_key
from hub.events import CustomerDataRequested, CustomerRedactionRequested, RedactionData

from tests.audience_apis import AUDIENCE_SECRETS, FakeGoogleAds, FakeMetaAudiences
from tests.functional.conftest import event
from tests.functional.test_crm_upsert import deliver, use_config
from tests.unit.test_customer_profiles import _envelope, customer, placed, storefront_refund

ADA = "ada.lovelace@example.com"
GRACE = "grace.hopper@example.com"
AUDIENCES = """
audiences:
  meta: {ad_account_id: act_1010101010}
  google_ads: {customer_id: "1234567890", login_customer_id: "9876543210"}
  segments:
    recent_buyers: {days: 30, meta_audience_id: "23850000000000001", google_user_list_id: "7000001"}
    lapsed: {after_days: 180, meta_audience_id: "23850000000000002"}
"""


@pytest.fixture
def fakes():
    meta, google = FakeMetaAudiences(), FakeGoogleAds()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="graph.facebook.com").mock(side_effect=meta.transport().handle_request)
        router.route(host="googleads.googleapis.com").mock(side_effect=google.transport().handle_request)
        router.route(host="oauth2.googleapis.com").mock(side_effect=google.transport().handle_request)
        yield meta, google


@pytest.fixture
def functions(aws, load_function):
    return load_function("crm_upsert"), load_function("ad_audiences")


def configured(aws, monkeypatch) -> None:
    use_config(aws, monkeypatch, AUDIENCES, AUDIENCE_SECRETS)


def recent(hub_event):
    return hub_event.model_copy(update={"occurred_at": datetime.now(UTC) - timedelta(hours=2)})


def tapped_records(bus_tap, *types: str) -> list[dict]:
    """What the bus delivered, as the audiences queue would hand it to ad_audiences."""
    base = event("stock_updates_order_placed.json")["Records"][0]
    envelope = {"version": "0", "account": "123456789012", "region": "us-east-1", "resources": []}
    return [
        dict(base, messageId=f"tap-{i}", body=json.dumps({**envelope, **e}))
        for i, e in enumerate(e for e in bus_tap.events() if e["detail-type"] in types)
    ]


def audience_item(aws, key: str) -> dict | None:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"AUDIENCE#{key}"}, "sk": {"S": "STATE"}}
    )
    return item.get("Item")


def table_dump(aws) -> str:
    return json.dumps(boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"], default=str)


def audience_keys(aws) -> int:
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    return sum(1 for i in items if i["pk"]["S"].startswith("DEK#audience:"))


def salt(aws) -> str:
    from hub.adapters.customers import DynamoCustomerStore

    return DynamoCustomerStore(boto3.client("dynamodb"), aws.resources["HubTable"], lambda: None).salt()


def test_a_consenting_buyer_is_added_once_and_an_erasure_removes_them_everywhere(
    aws, monkeypatch, functions, context, bus_tap, fakes
):
    crm, audiences = functions
    meta, google = fakes
    configured(aws, monkeypatch)
    ada = customer(ADA, first="Ada", last="Lovelace", phone="+1 617 555 0142", email_ok=True)
    grace = customer(GRACE, email_ok=False)
    assert deliver(crm, context, ada, recent(placed("1", ADA)), grace, recent(placed("2", GRACE))) == {
        "batchItemFailures": []
    }
    changed = tapped_records(bus_tap, "CustomerProfileChanged")
    assert len(changed) == 2
    # The email travels sealed: nothing of the person on the bus.
    assert "lovelace" not in json.dumps(changed).lower()

    assert audiences.lambda_handler({"Records": changed}, context) == {"batchItemFailures": []}
    hashed = __import__("hashlib").sha256(ADA.encode()).hexdigest()
    assert meta.members == {"23850000000000001": {hashed}}
    assert google.members == {"7000001": {hashed}}
    assert [job.consent for job in google.jobs.values()] == [{"adUserData": "GRANTED", "adPersonalization": "GRANTED"}]
    key = erasure_key(ADA, salt(aws))
    item = audience_item(aws, key)
    assert item is not None and item["members"]["M"]["meta:23850000000000001"]["M"]["member"]["BOOL"] is True
    assert audience_item(aws, erasure_key(GRACE, salt(aws))) is None  # never consented: nothing kept
    # The identifiers kept for later removals are sealed under an audience data key of Ada's own:
    # no SHA-256 of her email is readable in the table.
    assert set(item["sent"]["M"]) == {"enc", "subject", "ct"}
    assert hashed not in table_dump(aws)
    assert audience_keys(aws) == 1

    # Redelivered: nothing sent again.
    calls = (len(meta.calls), len(google.jobs))
    assert audiences.lambda_handler({"Records": changed}, context) == {"batchItemFailures": []}
    assert (len(meta.calls), len(google.jobs)) == calls

    # Shopify's customers/redact: crm_upsert erases, announces CustomerErased; ad_audiences removes.
    redaction = CustomerRedactionRequested(
        **_envelope("customers/redact", "6940095564049", minutes=24 * 60),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA,
                           platform_customer_id="shopify:1", order_ids=["shopify:1"]),
    )  # fmt: skip
    assert deliver(crm, context, redaction) == {"batchItemFailures": []}
    erased = tapped_records(bus_tap, "CustomerErased")
    assert len(erased) == 1
    assert audiences.lambda_handler({"Records": erased}, context) == {"batchItemFailures": []}
    assert meta.members["23850000000000001"] == set() and google.members["7000001"] == set()
    item = audience_item(aws, key)
    assert item is not None and set(item) == {"pk", "sk", "members"}  # no identifier, no input left
    assert {m["M"]["member"]["BOOL"] for m in item["members"]["M"].values()} == {False}
    assert audience_keys(aws) == 0  # and the key that sealed her identifiers is gone


def test_a_vendor_refusing_after_retries_fails_the_record_for_its_queue(
    aws, monkeypatch, functions, context, bus_tap, fakes
):
    crm, audiences = functions
    meta, _google = fakes
    configured(aws, monkeypatch)
    deliver(crm, context, customer(ADA, email_ok=True), recent(placed("1", ADA)), customer(GRACE, email_ok=False))
    changed = tapped_records(bus_tap, "CustomerProfileChanged")
    ada_record = next(r["messageId"] for r in changed if erasure_key(ADA, salt(aws)) in r["body"])
    meta.fail_next = 100
    response = audiences.lambda_handler({"Records": changed}, context)
    # Ada's record fails (back to the queue, then its DLQ); Grace's, with nothing to send, does not.
    assert response == {"batchItemFailures": [{"itemIdentifier": ada_record}]}
    failures = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"FAILURE#{ada_record}"}, "sk": {"S": "FAILURE"}}
    )
    assert "lovelace" not in json.dumps(failures).lower()


def test_the_daily_review_reads_the_due_customers(aws, monkeypatch, functions, context, bus_tap, fakes):
    crm, audiences = functions
    configured(aws, monkeypatch)
    deliver(crm, context, customer(ADA, email_ok=True), recent(placed("1", ADA)))
    audiences.lambda_handler({"Records": tapped_records(bus_tap, "CustomerProfileChanged")}, context)
    # Nothing is due yet: the recent-buyer window closes in 30 days.
    assert audiences.lambda_handler(event("ad_audiences_scheduled.json"), context) == {
        "reviewed": 0,
        "recorded": 0,
        "sent": {},
    }


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def review_at(audiences, context, monkeypatch, now: datetime) -> dict:
    """The daily schedule's run with the ad_audiences sandbox's clock moved to `now`."""
    monkeypatch.setattr(audiences.sandbox.audiences, "_clock", lambda: now)
    return audiences.lambda_handler(event("ad_audiences_scheduled.json"), context)


def memberships(aws, key: str) -> dict[str, bool]:
    item = audience_item(aws, key)
    assert item is not None
    return {name: m["M"]["member"]["BOOL"] for name, m in item["members"]["M"].items()}


def test_the_daily_review_moves_a_customer_out_of_recent_buyers_then_into_lapsed(
    aws, monkeypatch, functions, context, bus_tap, fakes
):
    crm, audiences = functions
    meta, google = fakes
    configured(aws, monkeypatch)
    order = recent(placed("1", ADA))
    deliver(crm, context, customer(ADA, first="Ada", last="Lovelace", email_ok=True), order)
    audiences.lambda_handler({"Records": tapped_records(bus_tap, "CustomerProfileChanged")}, context)
    assert meta.members == {"23850000000000001": {sha(ADA)}} and google.members == {"7000001": {sha(ADA)}}
    key = erasure_key(ADA, salt(aws))
    placed_at = order.occurred_at
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)

    # A day before her recent-buyer window closes nothing is due.
    assert review_at(audiences, context, monkeypatch, placed_at + timedelta(days=29)) == {
        "reviewed": 0, "recorded": 0, "sent": {},
    }  # fmt: skip
    assert (len(meta.calls), len(google.jobs)) == (meta_calls, google_jobs)

    # 30 days after her order, time alone takes her out of recent_buyers at both vendors.
    assert review_at(audiences, context, monkeypatch, placed_at + timedelta(days=30, minutes=1)) == {
        "reviewed": 1,
        "recorded": 1,
        "sent": {"meta:23850000000000001 remove": 1, "google:7000001 remove": 1},
    }
    (removal,) = meta.calls[meta_calls:]
    assert (removal.method, removal.audience_id, removal.schema) == (
        "DELETE",
        "23850000000000001",
        ["EMAIL", "PHONE", "FN", "LN"],
    )
    assert removal.data == [[sha(ADA), "", sha("ada"), sha("lovelace")]]
    (job,) = list(google.jobs.values())[google_jobs:]
    assert job.user_list == "7000001" and job.ran
    assert job.operations == [{"remove": {"userIdentifiers": [{"hashedEmail": sha(ADA)}]}}]
    assert meta.members["23850000000000001"] == set() and google.members["7000001"] == set()
    assert "23850000000000002" not in meta.members  # not lapsed yet: that takes 180 days
    assert memberships(aws, key) == {"meta:23850000000000001": False, "google:7000001": False}

    # 180 days after her order, she is lapsed: added to the lapsed audience (Meta only, as configured).
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)
    assert review_at(audiences, context, monkeypatch, placed_at + timedelta(days=180, minutes=1)) == {
        "reviewed": 1,
        "recorded": 1,
        "sent": {"meta:23850000000000002 add": 1},
    }
    (addition,) = meta.calls[meta_calls:]
    assert (addition.method, addition.audience_id) == ("POST", "23850000000000002")
    assert addition.data == [[sha(ADA), "", sha("ada"), sha("lovelace")]]
    assert len(google.jobs) == google_jobs
    assert meta.members["23850000000000002"] == {sha(ADA)}
    assert memberships(aws, key) == {
        "meta:23850000000000001": False, "google:7000001": False, "meta:23850000000000002": True,
    }  # fmt: skip
    # Time changes nothing more for her: she is off the review schedule, and a later run sends nothing.
    assert "review_at" not in audience_item(aws, key)
    assert review_at(audiences, context, monkeypatch, placed_at + timedelta(days=400)) == {
        "reviewed": 0, "recorded": 0, "sent": {},
    }  # fmt: skip
    assert len(meta.calls) == meta_calls + 1


def test_one_review_run_moves_a_long_quiet_buyer_from_recent_buyers_to_lapsed(
    aws, monkeypatch, functions, context, bus_tap, fakes
):
    crm, audiences = functions
    meta, google = fakes
    configured(aws, monkeypatch)
    order = recent(placed("1", ADA))
    deliver(crm, context, customer(ADA, email_ok=True), order)
    audiences.lambda_handler({"Records": tapped_records(bus_tap, "CustomerProfileChanged")}, context)
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)
    # The reviews in between did not run (a long outage): the first run after 180 days removes and adds
    # in one go, removes first.
    assert review_at(audiences, context, monkeypatch, order.occurred_at + timedelta(days=200)) == {
        "reviewed": 1,
        "recorded": 1,
        "sent": {"meta:23850000000000001 remove": 1, "google:7000001 remove": 1, "meta:23850000000000002 add": 1},
    }
    calls = meta.calls[meta_calls:]
    assert [(c.method, c.audience_id) for c in calls] == [
        ("DELETE", "23850000000000001"),
        ("POST", "23850000000000002"),
    ]
    assert [c.data for c in calls] == [[[sha(ADA), "", "", ""]]] * 2
    (job,) = list(google.jobs.values())[google_jobs:]
    assert job.operations == [{"remove": {"userIdentifiers": [{"hashedEmail": sha(ADA)}]}}]
    assert meta.members == {"23850000000000001": set(), "23850000000000002": {sha(ADA)}}
    assert google.members == {"7000001": set()}


HIGH_VALUE = """
audiences:
  meta: {ad_account_id: act_1010101010}
  google_ads: {customer_id: "1234567890", login_customer_id: "9876543210"}
  segments:
    recent_buyers: {days: 30, meta_audience_id: "23850000000000001"}
    high_value:
      min_spend: {amount: "500.00", currency: USD}
      meta_audience_id: "23850000000000003"
      google_user_list_id: "7000003"
"""


def test_high_value_is_joined_past_min_spend_left_below_it_and_exported(
    aws, monkeypatch, functions, context, bus_tap, fakes
):
    crm, audiences = functions
    meta, google = fakes
    use_config(aws, monkeypatch, HIGH_VALUE, AUDIENCE_SECRETS)

    def announce(*events) -> dict:
        assert deliver(crm, context, *events) == {"batchItemFailures": []}
        changed = tapped_records(bus_tap, "CustomerProfileChanged")  # the tap hands each event once
        assert changed, "crm_upsert announced the changed profile"
        return audiences.lambda_handler({"Records": changed}, context)

    # 300.00 USD spent: a recent buyer, not high value.
    announce(customer(ADA, email_ok=True), recent(placed("1", ADA, total=30000)))
    assert meta.members == {"23850000000000001": {sha(ADA)}} and google.members == {}
    # 250.00 USD more: 550.00 reaches min_spend (500.00 USD): she joins high_value at both vendors.
    assert announce(recent(placed("2", ADA, total=25000))) == {"batchItemFailures": []}
    assert meta.members["23850000000000003"] == {sha(ADA)} and google.members == {"7000003": {sha(ADA)}}
    assert [c.method for c in meta.calls if c.audience_id == "23850000000000003"] == ["POST"]
    # 100.00 USD of the second order refunded: 450.00 net, below min_spend: she leaves high_value
    # (and stays a recent buyer: nothing is sent to that audience).
    recent_calls = [c for c in meta.calls if c.audience_id == "23850000000000001"]
    assert announce(storefront_refund("2", "r1", 10000)) == {"batchItemFailures": []}
    assert meta.members["23850000000000003"] == set() and google.members["7000003"] == set()
    assert [c.method for c in meta.calls if c.audience_id == "23850000000000003"] == ["POST", "DELETE"]
    assert [c for c in meta.calls if c.audience_id == "23850000000000001"] == recent_calls
    (removal,) = [j for j in google.jobs.values() if j.operations and "remove" in j.operations[0]]
    assert removal.user_list == "7000003"
    assert removal.operations == [{"remove": {"userIdentifiers": [{"hashedEmail": sha(ADA)}]}}]

    # Her data request (Shopify customers/data_request): the export lists every audience the hub
    # told about her, member or not and since when, and no identifier it sent.
    request = CustomerDataRequested(
        **_envelope("customers/data_request", "9999", minutes=24 * 60),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA, order_ids=[],
                           request_id="9999"),
    )  # fmt: skip
    assert deliver(crm, context, request) == {"batchItemFailures": []}
    bucket = aws.resources["PayloadBucket"]
    (object_key,) = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    text = boto3.client("s3").get_object(Bucket=bucket, Key=object_key)["Body"].read().decode()
    exported = json.loads(text)["ad_audiences"]
    record = audience_item(aws, erasure_key(ADA, salt(aws)))
    assert record is not None
    at = {name: from_micros(int(m["M"]["at"]["N"])) for name, m in record["members"]["M"].items()}
    assert exported == [
        {"vendor": "google", "audience_id": "7000003", "member": False,
         "since": at["google:7000003"].isoformat()},
        {"vendor": "meta", "audience_id": "23850000000000001", "member": True,
         "since": at["meta:23850000000000001"].isoformat()},
        {"vendor": "meta", "audience_id": "23850000000000003", "member": False,
         "since": at["meta:23850000000000003"].isoformat()},
    ]  # fmt: skip
    assert at["meta:23850000000000001"] < at["meta:23850000000000003"]  # joined first, left last
    assert sha(ADA) not in text and "hashed" not in text.lower()
    privacy = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"],
        Key={"pk": {"S": f"PRIVACY#customer:{erasure_key(ADA, salt(aws))}"}, "sk": {"S": "EXPORT#" + request.event_id}},
    )
    assert privacy["Item"]["ad_audiences"] == {"N": "3"}  # the request's record counts them


def test_without_audiences_crm_upsert_announces_nothing(aws, functions, context, bus_tap):
    crm, _audiences = functions
    deliver(crm, context, customer(ADA, email_ok=True), recent(placed("1", ADA)))
    assert [e for e in bus_tap.events() if e["detail-type"] == "CustomerProfileChanged"] == []
