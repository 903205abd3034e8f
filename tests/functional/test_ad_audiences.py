"""ad_audiences with moto: crm_upsert announces a changed profile (only when audiences are
configured), ad_audiences adds the consenting customer to Meta and Google Ads (the fakes of
tests/audience_apis.py behind respx), records what it sent, sends nothing again on a redelivery,
removes an erased customer from every audience, and runs its daily review."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import respx
from hub.domain.customers import erasure_key
from hub.events import CustomerRedactionRequested, RedactionData

from tests.audience_apis import AUDIENCE_SECRETS, FakeGoogleAds, FakeMetaAudiences
from tests.functional.conftest import event
from tests.functional.test_crm_upsert import deliver, use_config
from tests.unit.test_customer_profiles import _envelope, customer, placed

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


def test_without_audiences_crm_upsert_announces_nothing(aws, functions, context, bus_tap):
    crm, _audiences = functions
    deliver(crm, context, customer(ADA, email_ok=True), recent(placed("1", ADA)))
    assert [e for e in bus_tap.events() if e["detail-type"] == "CustomerProfileChanged"] == []
