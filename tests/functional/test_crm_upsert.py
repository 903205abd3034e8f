"""crm_upsert with moto: profiles from events, GET /customers/{email}, the HubSpot push (respx), a
Shopify redaction erasing a stored order's email, and a data request exported to the payload bucket."""

from __future__ import annotations

import json
import re

import boto3
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hub.events import CustomerDataRequested, CustomerRedactionRequested, RedactionData

from tests.functional.conftest import CONFIG_PARAMETER, ROOT, event
from tests.functional.test_payment_confirmation import record
from tests.unit.test_customer_profiles import _envelope, customer, payment, placed

ADA = "ada.lovelace@example.com"


@pytest.fixture
def functions(aws, load_function):
    return load_function("crm_upsert"), load_function("admin_api"), load_function("stock_updates")


def deliver(fn, context, *events) -> dict:
    return fn.lambda_handler({"Records": [record(e, f"m{i}") for i, e in enumerate(events)]}, context)


def get_customer(admin, context, email: str) -> tuple[int, dict]:
    ev = event("admin_api_get_customer.json")
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = f"/customers/{email}"
    ev["pathParameters"] = {"email": email}
    response = admin.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


def use_config(aws, monkeypatch, extra: str, secrets: dict | None = None) -> None:
    from hub.config import forget_config

    text = (ROOT / "config" / "local.yaml").read_text() + extra
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=text, Overwrite=True)
    forget_config()
    if secrets:
        aws.put_secrets({**aws.secrets, **secrets})
    parameters.clear_caches()


def table_text(aws) -> str:
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    return json.dumps(items).lower()


def test_the_sample_event_builds_a_profile_readable_at_get_customers(aws, functions, context):
    crm, admin, _stock = functions
    assert crm.lambda_handler(event("crm_upsert_order_placed.json"), context) == {"batchItemFailures": []}
    status, body = get_customer(admin, context, "Ada.Lovelace%40Example.com")
    assert status == 200, body
    assert body["email"] == ADA and body["channels"] == ["shopify"]
    assert body["orders"] == ["shopify:820982911946154508"] and body["order_count"] == 1
    assert body["total_spent"] == {"USD": "85.92"} and body["average_order_value"] == {"USD": "85.92"}
    assert [p["sku"] for p in body["products"]] == ["MUG-ENAMEL-WHT", "TEE-ORGANIC-L"]
    assert body["consent"]["email_marketing"] == {"subscribed": None, "stated_at": None, "channel": None}

    status, body = get_customer(admin, context, "nobody%40example.com")
    assert status == 404 and "nobody" not in body["error"]


def test_orders_and_customer_events_make_one_profile_in_any_spelling(aws, functions, context):
    crm, admin, _stock = functions
    result = deliver(
        crm,
        context,
        placed("1001", "Ada@Example.com", 5000),
        placed("727", " ada@example.com", 2500, channel="woocommerce", minutes=30),
        customer("ADA@example.com", first="Ada", last="Lovelace", email_ok=True, minutes=10),
    )
    assert result == {"batchItemFailures": []}
    status, body = get_customer(admin, context, "ADA%40EXAMPLE.COM")
    assert status == 200
    assert (body["first_name"], body["order_count"], body["channels"]) == ("Ada", 2, ["shopify", "woocommerce"])
    assert body["consent"]["email_marketing"]["subscribed"] is True
    # A redelivery of the whole batch changes nothing.
    assert deliver(crm, context, placed("1001", "Ada@Example.com", 5000)) == {"batchItemFailures": []}
    assert get_customer(admin, context, "ada%40example.com")[1] == body


def test_profiles_are_pushed_to_hubspot_and_a_failed_contact_fails_only_its_records(
    aws, functions, context, monkeypatch
):
    crm, _admin, _stock = functions
    use_config(aws, monkeypatch, "crm: {provider: hubspot}\n", {"HUBSPOT_ACCESS_TOKEN": "pat-test"})

    def answer(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        refused = [i["id"] for i in inputs if i["id"].startswith("bad")]
        errors = [{"status": "error", "category": "VALIDATION_ERROR", "message": "x", "context": {"ids": refused}}]
        return httpx.Response(
            207 if refused else 200, json={"status": "COMPLETE", "results": [], "errors": errors if refused else []}
        )

    with respx.mock(assert_all_called=True) as hubspot:
        route = hubspot.post("https://api.hubapi.com/crm/objects/2026-03/contacts/batch/upsert").mock(
            side_effect=answer
        )
        result = deliver(
            crm,
            context,
            placed("1", "ada@example.com"),
            customer("ada@example.com", first="Ada", minutes=1),
            placed("2", "bad@example.com", minutes=2),
        )
        assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
        (call,) = route.calls
        assert call.request.headers["Authorization"] == "Bearer pat-test"
        inputs = json.loads(call.request.content)["inputs"]
        assert [(i["id"], i["properties"]) for i in inputs] == [
            ("ada@example.com", {"email": "ada@example.com", "firstname": "Ada"}),
            ("bad@example.com", {"email": "bad@example.com"}),
        ]
        # SQS brings back only the failed record (alone in its batch, its failure fails the batch); Ada is
        # not pushed again.
        with pytest.raises(BatchProcessingError):
            deliver(crm, context, placed("2", "bad@example.com", minutes=2))
        assert [json.loads(c.request.content)["inputs"][0]["id"] for c in route.calls] == [
            "ada@example.com",
            "bad@example.com",
        ]


def test_a_shopify_redaction_erases_the_stored_orders_email(aws, functions, context, bus_tap):
    crm, admin, stock = functions
    order_event = event("stock_updates_order_placed.json")
    assert stock.lambda_handler(order_event, context) == {"batchItemFailures": []}
    assert crm.lambda_handler(event("crm_upsert_order_placed.json"), context) == {"batchItemFailures": []}
    order_ev = event("admin_api_get_order.json")
    assert json.loads(admin.lambda_handler(order_ev, context)["body"])["customer_email"] == ADA
    bus_tap.events()

    redaction = CustomerRedactionRequested(
        **_envelope("customers/redact", "6940095564049", minutes=24 * 60),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA,
                           platform_customer_id="shopify:6940095564049", order_ids=["shopify:820982911946154508"]),
    )  # fmt: skip
    assert deliver(crm, context, redaction) == {"batchItemFailures": []}

    order = json.loads(admin.lambda_handler(order_ev, context)["body"])
    assert order["customer_email"] is None and order["lines"]
    assert get_customer(admin, context, "ada.lovelace%40example.com")[0] == 404
    assert "ada.lovelace" not in table_text(aws)
    (erased,) = [e for e in bus_tap.events() if e["detail-type"] == "CustomerErased"]
    assert erased["detail"]["data"]["order_ids"] == ["shopify:820982911946154508"]
    assert erased["detail"]["data"]["erasure_key"].startswith("ck_")
    # Nothing of the person: not the email, not the name (random hex ids may well contain "ada").
    assert not [p for p in ("ada.lovelace", "lovelace", "ada@") if p in json.dumps(erased).lower()]


def test_a_data_request_is_exported_to_the_payload_bucket(aws, functions, context):
    crm, _admin, stock = functions
    stock.lambda_handler(event("stock_updates_order_placed.json"), context)
    crm.lambda_handler(event("crm_upsert_order_placed.json"), context)
    request = CustomerDataRequested(
        **_envelope("customers/data_request", "9999", minutes=24 * 60),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA,
                           order_ids=["shopify:820982911946154508"], request_id="9999"),
    )  # fmt: skip
    assert deliver(crm, context, request) == {"batchItemFailures": []}
    bucket = aws.resources["PayloadBucket"]
    (key,) = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    # Named by the erasure key, never by the email (random hex may well contain "ada", so the
    # check is on the shape and on the address's own parts).
    assert re.fullmatch(r"privacy/data-requests/ck_[A-Za-z0-9_-]+/[A-Za-z0-9_-]+\.json", key), key
    assert not [part for part in ("lovelace", "@", "example.com") if part in key]
    document = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document["customer"]["email"] == ADA and document["orders"][0]["customer_email"] == ADA
    assert document["orders"][0]["total_minor"] == 8592


def test_a_record_that_is_not_a_hub_event_fails_alone(aws, functions, context):
    crm, _admin, _stock = functions
    good = record(placed("1", "ada@example.com"), "good")
    bad = dict(good, messageId="bad", body=json.dumps({"not": "an event"}))
    assert crm.lambda_handler({"Records": [good, bad]}, context) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


# ------------------------------------------------------------------------------ two sandboxes at once
def _interleave(first, second, context, first_events, second_events) -> list[str]:
    """Deliver `first_events` to one crm_upsert sandbox and, once it has read everything and is about
    to write, all of `second_events` to another: both read before either writes. Returns the facts
    each transaction carried, in the order they were tried."""
    store = first.sandbox.customer_store
    tried: list[str] = []
    save = store.save_fact

    def save_fact(fact, *args):  # type: ignore[no-untyped-def]
        if not tried:
            tried.append(f"{fact.kind.value}: second sandbox runs")
            assert deliver(second, context, *second_events) == {"batchItemFailures": []}
        tried.append(fact.kind.value)
        return save(fact, *args)

    store.save_fact = save_fact
    assert deliver(first, context, *first_events) == {"batchItemFailures": []}
    return tried


def test_two_facts_for_one_customer_read_at_once_both_end_in_the_profile(aws, load_function, context):
    # Each fact is kept only in the transaction of its derivation: the one that writes second read
    # the profile's version before the other moved it on, is refused, reads again, and keeps both.
    first, second, admin = load_function("crm_upsert"), load_function("crm_upsert"), load_function("admin_api")
    tried = _interleave(first, second, context, [placed("1", ADA, 2000)], [placed("2", ADA, 3000, minutes=5)])
    assert tried == ["placed: second sandbox runs", "placed", "placed"]  # refused once, then written
    status, body = get_customer(admin, context, ADA)
    assert status == 200, body
    assert body["orders"] == ["shopify:1", "shopify:2"] and body["total_spent"] == {"USD": "50.00"}


def test_two_facts_for_one_order_naming_two_customers_read_at_once_both_count(aws, load_function, context):
    # Ada's unpaid WooCommerce order and Grace's Stripe payment of it: neither derivation writes the
    # other's customer, so the order's own version is what refuses the second write.
    first, second, admin = load_function("crm_upsert"), load_function("crm_upsert"), load_function("admin_api")
    order = placed("9", ADA, 5000, channel="woocommerce", paid=False)
    tried = _interleave(first, second, context, [order], [payment("9", 5000, email="grace@example.com")])
    assert tried == ["placed: second sandbox runs", "placed", "placed"]
    status, body = get_customer(admin, context, ADA)
    assert status == 200 and body["orders"] == ["woocommerce:9"]
    assert body["total_spent"] == {"USD": "50.00"}  # paid by the payment the first read missed
    status, _body = get_customer(admin, context, "grace%40example.com")
    assert status == 404  # the payer has no order of hers: the order is Ada's


def test_a_new_sandbox_that_reads_no_mark_first_still_refuses_an_erased_customers_fact(aws, load_function, context):
    # Marks are read only once a transaction was refused: a sandbox that never read Ada's mark
    # tries the write as if she were not erased, is refused by the mark, reads it and refuses the fact.
    eraser, late, admin = load_function("crm_upsert"), load_function("crm_upsert"), load_function("admin_api")
    assert deliver(eraser, context, customer(ADA, first="Ada", minutes=1)) == {"batchItemFailures": []}
    redaction = CustomerRedactionRequested(
        **_envelope("customers/redact", ADA, minutes=60),
        data=RedactionData(scope="customer", shop="ada-goods.myshopify.com", email=ADA, order_ids=[]),
    )
    assert deliver(eraser, context, redaction) == {"batchItemFailures": []}
    assert deliver(late, context, customer(ADA, first="Ada", phone="+1 617 555 0142", minutes=30)) == {
        "batchItemFailures": []
    }
    assert get_customer(admin, context, "ada.lovelace%40example.com")[0] == 404
    assert "ada.lovelace" not in table_text(aws) and "555 0142" not in table_text(aws)
    # She comes back after the erasure: a new profile, written on condition the mark is the one read.
    assert deliver(late, context, customer(ADA, first="Ada", minutes=90)) == {"batchItemFailures": []}
    status, body = get_customer(admin, context, "ada.lovelace%40example.com")
    assert status == 200 and body["first_name"] == "Ada"


def test_each_partition_is_read_with_its_version_first(aws, load_function, context):
    # What the argument against lost facts rests on: a Query returns, for each later part of the read,
    # what a transaction committed before it, so the version must come before the facts.
    from hub.adapters.customers import DynamoCustomerStore

    assert deliver(load_function("crm_upsert"), context, placed("1", ADA, 2000)) == {"batchItemFailures": []}
    client = boto3.client("dynamodb")
    queries: list[dict] = []
    client.meta.events.register("provide-client-params.dynamodb.Query", lambda params, **_: queries.append(params))
    store = DynamoCustomerStore(client, aws.resources["HubTable"], lambda: "salt")
    assert store.customer(ADA).version == 1 and store.order("shopify:1").version == 1
    read = [[i["sk"]["S"] for i in boto3.client("dynamodb").query(**q)["Items"]] for q in queries]
    assert read[0][0] == "PROFILE" and {"ORDER#shopify:1", "FACT#" + placed("1", ADA).event_id} <= set(read[0])
    assert read[1] == ["VERSION", "FACT#" + placed("1", ADA).event_id]
