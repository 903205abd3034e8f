"""A customer's marketing messages with moto, from the send to the page and to their erasure:
marketing_triggers sends a follow-up (SES) and keeps it in the customer's history with the message's
marker; `GET /customers/{email}` (admin_api) and the console's customer page show it with the
profile crm_upsert built, its orders and consent; a Shopify `customers/redact` (crm_upsert), whose
CustomerErased reaches marketing_triggers, leaves nothing of it.

The events are the hub's canonical ones, built by the unit tests' helpers (a Shopify customer with
email consent, tests/unit/test_customer_profiles.py; the order status change, tests/marketing_fakes.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import boto3
from hub.events import CustomerDataRequested, CustomerRedactionRequested, RedactionData, parse_event

from tests.functional import test_console, test_marketing_triggers
from tests.functional.test_console import http, set_cookies, sign_in
from tests.functional.test_crm_upsert import deliver, get_customer, table_text
from tests.functional.test_marketing_triggers import add_order, bus_record, record, schedules, sent_mail
from tests.marketing_fakes import status_changed
from tests.unit.test_customer_profiles import _envelope, customer, placed

ADA = "ada.lovelace@example.com"
ENCODED = "ada.lovelace%40example.com"

# The fixtures of those modules: the console with its token, marketing_triggers with its schedule group.
console = test_console.console
marketing = test_marketing_triggers.marketing


def history_items(aws) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith("MKTCUST#") and i["sk"]["S"].startswith("SENT#")]


def send_a_follow_up(aws, marketing, crm, context) -> datetime:
    """Ada consents (a Shopify customer event) and places shopify:1, paid; its follow-up fires and is sent."""
    assert deliver(crm, context, customer(ADA, first="Ada", last="Lovelace", email_ok=True)) == {
        "batchItemFailures": []
    }
    assert deliver(crm, context, placed("1", ADA, 2000)) == {"batchItemFailures": []}
    paid_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    add_order(aws, "shopify:1", ADA, paid_at)
    paid = bus_record(status_changed("shopify:1", "paid", paid_at), "paid")
    assert marketing.lambda_handler({"Records": [paid]}, context) == {"batchItemFailures": []}
    follow_up = next(s for n, s in schedules().items() if n.startswith("post_purchase-paid-"))
    due = json.loads(follow_up["Target"]["Input"])
    due["marketing_due"]["due_at"] = datetime.now(UTC).isoformat()  # time has passed
    assert marketing.lambda_handler({"Records": [record(due, "due")]}, context) == {"batchItemFailures": []}
    assert [m["To"] for m in sent_mail()] == [ADA]
    return paid_at


def test_a_message_sent_is_in_the_customers_json_and_page_and_gone_once_they_are_erased(
    aws, marketing, load_function, console, bus_tap, context
):
    crm, admin = load_function("crm_upsert"), load_function("admin_api")
    send_a_follow_up(aws, marketing, crm, context)
    [item] = history_items(aws)
    assert "@" not in json.dumps(item)  # the customer is their erasure key; the record names no email

    status, body = get_customer(admin, context, "Ada.Lovelace%40Example.com")
    assert status == 200, body
    assert body["orders"] == ["shopify:1"]
    assert body["consent"]["email_marketing"]["subscribed"] is True
    [message] = body["messages"]
    assert message["trigger"] == "post_purchase" and message["outcome"] == "sent"
    assert message["channels"] == ["email"] and message["subject"] == {"kind": "order", "id": "shopify:1"}
    assert message["basis"] == "paid" and message["channel"] == "shopify"
    assert datetime.fromisoformat(message["sent_at"]) > datetime.now(UTC) - timedelta(minutes=5)

    cookies = set_cookies(sign_in(console, context))
    search = console.lambda_handler(
        http("GET", "/console/customers", query={"email": " Ada.Lovelace@Example.com"}, cookies=cookies), context
    )
    assert (search["statusCode"], search["headers"]["Location"]) == (303, f"/console/customers/{ENCODED}")
    page = console.lambda_handler(http("GET", f"/console/customers/{ENCODED}", cookies=cookies), context)
    assert page["statusCode"] == 200
    html = page["body"]
    assert f'<span id="customer-email">{ADA}</span>' in html and "Ada Lovelace" in html
    assert 'href="/console/orders/shopify%3A1"' in html  # the order, linked to its page
    consent = re.search(r'<tr data-consent="email_marketing">(.*?)</tr>', html, re.S).group(1)
    assert "subscribed" in consent and "not subscribed" not in consent
    row = re.search(r'<tr data-trigger="post_purchase">(.*?)</tr>', html, re.S).group(1)
    assert "Post-purchase follow-up" in row and "email (Amazon SES)" in row and ">sent<" in row
    # An order's page links its customer's page.
    order = console.lambda_handler(http("GET", "/console/orders/shopify%3A1", cookies=cookies), context)
    assert f'href="/console/customers/{ENCODED}"' in order["body"]

    # Shopify's customers/redact: crm_upsert erases the profile and announces CustomerErased, which
    # marketing_triggers receives from its queue and removes what it keeps, the history included.
    redaction = CustomerRedactionRequested(
        **_envelope("customers/redact", ADA, minutes=24 * 60),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA, order_ids=[]),
    )
    assert deliver(crm, context, redaction) == {"batchItemFailures": []}
    [erased] = [e for e in bus_tap.events() if e["detail-type"] == "CustomerErased"]
    erased_record = bus_record(parse_event(erased["detail"]), "erased")
    assert marketing.lambda_handler({"Records": [erased_record]}, context) == {"batchItemFailures": []}
    assert history_items(aws) == []
    assert not any(
        i["pk"]["S"] == item["pk"]["S"]
        for i in boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
        if not i["pk"]["S"].startswith("MKTOPTOUT#")
    )
    assert get_customer(admin, context, ENCODED)[0] == 404
    assert "ada.lovelace" not in table_text(aws)
    gone = console.lambda_handler(http("GET", f"/console/customers/{ENCODED}", cookies=cookies), context)
    assert gone["statusCode"] == 404 and "No customer with that email" in gone["body"]


def test_the_search_says_when_no_customer_has_that_email(aws, console, context):
    cookies = set_cookies(sign_in(console, context))
    empty = console.lambda_handler(http("GET", "/console/customers", cookies=cookies), context)
    assert empty["statusCode"] == 200 and '<label for="email">Customer email</label>' in empty["body"]
    assert 'href="/console/customers" aria-current="page">Customers</a>' in empty["body"]
    unknown = console.lambda_handler(
        http("GET", "/console/customers", query={"email": "nobody@example.com"}, cookies=cookies), context
    )
    assert unknown["statusCode"] == 404
    assert re.search(r'role="alert" id="customer-error">No customer with that email\.', unknown["body"])
    assert 'value="nobody@example.com"' in unknown["body"]  # kept in the form to correct it
    wrong = console.lambda_handler(
        http("GET", "/console/customers", query={"email": "not an email"}, cookies=cookies), context
    )
    assert wrong["statusCode"] == 400 and "Enter a customer&#39;s email address" in wrong["body"]


def test_a_data_request_export_lists_the_marketing_messages_sent_to_the_customer(
    aws, marketing, load_function, context
):
    crm = load_function("crm_upsert")
    send_a_follow_up(aws, marketing, crm, context)
    request = CustomerDataRequested(
        **_envelope("customers/data_request", "9999", minutes=24 * 60),
        data=RedactionData(
            scope="customer", shop="ada-goods.myshopify.com", email=ADA, order_ids=[], request_id="9999"
        ),
    )
    assert deliver(crm, context, request) == {"batchItemFailures": []}
    bucket = aws.resources["PayloadBucket"]
    (key,) = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    document = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    [message] = document["marketing_messages"]
    assert (message["trigger"], message["outcome"], message["channels"]) == ("post_purchase", "sent", ["email"])
    assert message["subject"] == {"kind": "order", "id": "shopify:1"}
    assert document["customer"]["email"] == ADA and document["customer"]["orders"] == ["shopify:1"]
    assert document["ad_audiences"] == []  # no ad audience was ever told about her
