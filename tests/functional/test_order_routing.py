"""order_routing with moto: from a paid order's status change to a shipped, written-back order.

The order is recorded by stock_updates from events/, the status change is taken off the bus, and
order_routing runs in-process against respx-mocked EasyPost and Shopify APIs.
"""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.functional.conftest import CONFIG_PARAMETER, ROOT, event
from tests.functional.test_stock_updates import set_level
from tests.shippo_api import SHIPPO_TOKEN, FakeShippo

ORDER_ID = "shopify:820982911946154508"
SHOP = "https://ada-goods.myshopify.com"
GRAPHQL = f"{SHOP}/admin/api/2026-10/graphql.json"
ADDRESS = {
    "name": "Ada Lovelace",
    "street1": "12 Analytical Row",
    "city": "Boston",
    "state": "MA",
    "postal_code": "02110",
    "country": "US",
}


def configure(aws, provider: str) -> None:
    """The hub's configuration and secret as an operator would set them, caches dropped."""
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    document = (
        (ROOT / "config" / "local.yaml")
        .read_text()
        .replace("shopify: {platform: shopify}", "shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}")
    )
    document += (
        f"carrier:\n  provider: {provider}\n"
        "  from_address: {street1: 9 Dock St, city: Newark, state: NJ, zip: '07102', country: US}\n"
    )
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=document, Overwrite=True)
    aws.put_secrets(
        {
            **aws.secrets,
            "EASYPOST_API_KEY": "EZTK-functional",
            "SHIPPO_API_TOKEN": SHIPPO_TOKEN,
            "SHOPIFY_ACCESS_TOKEN": "shpat_functional",
        }
    )
    parameters.clear_caches()
    forget_config()


@pytest.fixture
def fast_retries(monkeypatch):
    from hub.adapters import http

    monkeypatch.setattr(http, "default_retry", functools.partial(http.default_retry, backoff=0.001, budget=1))


def record_for(published: dict, message_id: str) -> dict:
    body = json.dumps({**published, "account": "123456789012"})
    return dict(event("stock_updates_order_placed.json")["Records"][0], body=body, messageId=message_id)


def place_paid_order(aws, bus_tap, load_function, context, **stated) -> dict:
    """stock_updates records the sample order (with its address, and what else `stated` adds to its
    snapshot); returns the status change it published."""
    admin = load_function("admin_api")
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-west", 10)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 10)
    placed = event("stock_updates_order_placed.json")
    body = json.loads(placed["Records"][0]["body"])
    body["detail"]["data"]["shipping_address"] = ADDRESS
    body["detail"]["data"].update(stated)
    placed["Records"][0]["body"] = json.dumps(body)
    assert load_function("stock_updates").lambda_handler(placed, context) == {"batchItemFailures": []}
    (changed,) = [e for e in bus_tap.events() if e["detail-type"] == "OrderStatusChanged"]
    assert (changed["detail"]["data"]["status"], changed["detail"]["data"]["reserved"]) == ("paid", True)
    return changed


def read_order(load_function, context) -> dict:
    ev = event("admin_api_get_order.json")
    response = load_function("admin_api").lambda_handler(ev, context)
    return json.loads(response["body"])


def easypost(mock: respx.MockRouter) -> None:
    rates = [
        {"id": f"rate_{n}", "carrier": "USPS", "service": s, "rate": r, "currency": "USD", "delivery_days": d}
        for n, (s, r, d) in enumerate([("Priority", "7.90", 2), ("GroundAdvantage", "5.10", 5)])
    ]
    shipments = iter(f"shp_{n}" for n in range(1, 10))

    def create(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": next(shipments), "rates": rates})

    def read(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1], "rates": rates})

    def buy(request: httpx.Request) -> httpx.Response:
        shipment_id = request.url.path.split("/")[-2]
        return httpx.Response(
            200,
            json={
                "id": shipment_id,
                "tracking_code": f"9400{shipment_id[-1]}000000000000001",
                "postage_label": {"label_url": f"https://easypost-files.example/{shipment_id}.pdf"},
                "selected_rate": {"carrier": "USPS", "service": "GroundAdvantage"},
                "tracker": {"public_url": f"https://track.easypost.example/{shipment_id}"},
            },
        )

    mock.post("https://api.easypost.com/v2/shipments").mock(side_effect=create)
    mock.get(url__regex=r"https://api\.easypost\.com/v2/shipments/shp_\d+$").mock(side_effect=read)
    mock.post(url__regex=r"https://api\.easypost\.com/v2/shipments/shp_\d+/buy$").mock(side_effect=buy)


LINE_ITEMS = {
    "nodes": [
        {
            "id": "gid://shopify/FulfillmentOrderLineItem/1",
            "remainingQuantity": 2,
            "lineItem": {"id": "gid://shopify/LineItem/13178493698321", "sku": "MUG-ENAMEL-WHT"},
        },
        {
            "id": "gid://shopify/FulfillmentOrderLineItem/2",
            "remainingQuantity": 1,
            "lineItem": {"id": "gid://shopify/LineItem/13178493698322", "sku": "TEE-ORGANIC-L"},
        },
    ]
}


def shopify(mock: respx.MockRouter, *, fail: bool = False) -> respx.Route:
    def graphql(request: httpx.Request) -> httpx.Response:
        if fail:
            return httpx.Response(502, text="bad gateway")
        document = json.loads(request.content)
        if document["query"].startswith("query"):
            return httpx.Response(
                200,
                json={
                    "data": {
                        "order": {
                            "fulfillments": [],
                            "fulfillmentOrders": {
                                "nodes": [
                                    {
                                        "id": "gid://shopify/FulfillmentOrder/1",
                                        "status": "OPEN",
                                        "lineItems": LINE_ITEMS,
                                    }
                                ]
                            },
                        }
                    }
                },
            )
        return httpx.Response(
            200,
            json={
                "data": {"fulfillmentCreate": {"fulfillment": {"id": "gid://shopify/Fulfillment/5"}, "userErrors": []}}
            },
        )

    return mock.post(GRAPHQL).mock(side_effect=graphql)


def test_a_paid_order_is_routed_labelled_shipped_and_written_back(aws, bus_tap, load_function, context):
    configure(aws, "easypost")
    changed = place_paid_order(aws, bus_tap, load_function, context)
    routing = load_function("order_routing")
    with respx.mock(assert_all_called=False) as mock:
        easypost(mock)
        writes = shopify(mock)
        assert routing.lambda_handler({"Records": [record_for(changed, "m-1")]}, context) == {"batchItemFailures": []}

        order = read_order(load_function, context)
        assert order["status"] == "shipped"
        assert sorted((f["location"], f["status"], f["carrier"]) for f in order["fulfilments"]) == [
            ("wh-east", "shipped", "USPS"),
            ("wh-west", "shipped", "USPS"),
        ]
        assert all(f["label_url"] and f["tracking_number"] for f in order["fulfilments"])
        buys = [c for c in mock.calls if c.request.url.path.endswith("/buy")]
        assert len(buys) == 2
        assert all(c.request.headers["Authorization"].startswith("Basic ") for c in mock.calls)

        published = bus_tap.events()
        shipped = [e for e in published if e["detail-type"] == "FulfilmentShipped"]
        assert len(shipped) == 2
        assert [e["detail"]["data"]["status"] for e in published if e["detail-type"] == "OrderStatusChanged"] == [
            "fulfilling",
            "shipped",
        ]
        records = [record_for(e, f"s-{n}") for n, e in enumerate(shipped)]
        assert routing.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}
        assert routing.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}  # again
        creates = [c for c in writes.calls if "fulfillmentCreate" in json.loads(c.request.content)["query"]]
        assert len(creates) == 2
        assert all(c.request.headers["X-Shopify-Access-Token"] == "shpat_functional" for c in writes.calls)

        # A redelivery of the status change buys nothing more.
        assert routing.lambda_handler({"Records": [record_for(changed, "m-2")]}, context) == {"batchItemFailures": []}
        assert len([c for c in mock.calls if c.request.url.path.endswith("/buy")]) == 2

    order = read_order(load_function, context)
    assert all(f["written_back"] for f in order["fulfilments"])
    level = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": "SKU#MUG-ENAMEL-WHT"}, "sk": {"S": "LOC#wh-west"}}
    )["Item"]
    assert (level["available"]["N"], level["reserved"]["N"]) == ("8", "0")  # consumed by the shipment


def test_shippo_rates_too_old_to_buy_are_refreshed_and_the_new_shipment_kept_before_buying(
    aws, bus_tap, load_function, context
):
    configure(aws, "shippo")
    changed = place_paid_order(aws, bus_tap, load_function, context)
    routing = load_function("order_routing")
    now = datetime.now(UTC)
    clock = {"now": now - timedelta(days=8)}  # the first shipment's rates were made 8 days ago
    shippo = FakeShippo(clock=lambda: clock["now"])

    def answer(request: httpx.Request) -> httpx.Response:
        response = shippo.handle(request)
        if request.method == "POST" and request.url.path == "/shipments/":
            clock["now"] = now
        return response

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.goshippo.com").mock(side_effect=answer)
        shopify(mock)
        assert routing.lambda_handler({"Records": [record_for(changed, "m-1")]}, context) == {"batchItemFailures": []}

    assert read_order(load_function, context)["status"] == "shipped"
    assert len(shippo.shipments) == 3 and shippo.purchases == 2  # one shipment re-rated, one label each
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    bookings = [i for i in items if i["pk"]["S"].startswith("SHIPMENT#")]
    first, second, third = shippo.shipments
    assert sorted((b["shipment_id"]["S"], b.get("replaces", {}).get("S")) for b in bookings) == [
        (second, first),
        (third, None),
    ]


def test_without_a_carrier_the_order_waits_and_the_admin_api_ships_it(aws, bus_tap, load_function, context):
    configure(aws, "none")
    changed = place_paid_order(aws, bus_tap, load_function, context)
    routing = load_function("order_routing")
    assert routing.lambda_handler({"Records": [record_for(changed, "m-1")]}, context) == {"batchItemFailures": []}
    order = read_order(load_function, context)
    assert order["status"] == "fulfilling" and {f["status"] for f in order["fulfilments"]} == {"pending"}

    admin = load_function("admin_api")
    ev = event("admin_api_get_order.json")
    ev["routeKey"] = "POST /orders/{order_id}/shipments"
    ev["requestContext"]["http"]["method"] = "POST"
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = f"/orders/{ORDER_ID}/shipments"
    ev["body"] = json.dumps({"tracking_number": "1ZAAA", "carrier": "UPS"})
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 400 and "several locations" in json.loads(response["body"])["error"]
    for f in order["fulfilments"]:
        ev["body"] = json.dumps(
            {"tracking_number": f"1Z{f['location']}", "carrier": "UPS", "fulfilment_id": f["fulfilment_id"]}
        )
        response = admin.lambda_handler(ev, context)
        assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["status"] == "shipped"


def test_a_write_back_that_keeps_failing_ends_in_the_dead_letter_queue(
    aws, bus_tap, load_function, context, fast_retries
):
    configure(aws, "easypost")
    changed = place_paid_order(aws, bus_tap, load_function, context)
    routing = load_function("order_routing")
    sqs = boto3.client("sqs")
    queue, dlq = aws.queue_url("RoutingQueue"), aws.queue_url("RoutingDeadLetterQueue")
    with respx.mock(assert_all_called=False) as mock:
        easypost(mock)
        shopify(mock, fail=True)
        routing.lambda_handler({"Records": [record_for(changed, "m-1")]}, context)
        (shipped, *_) = [e for e in bus_tap.events() if e["detail-type"] == "FulfilmentShipped"]
        aws.drain("RoutingQueue")  # what the rule delivered so far; only the shipment is replayed below
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({**shipped, "account": "123456789012"}))
        failures = 0
        for _attempt in range(10):
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, AttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            message = got[0]
            record = copy.deepcopy(record_for(shipped, message["MessageId"]))
            record["body"] = message["Body"]
            # A batch whose every record failed is raised whole: Lambda returns all of it to the queue.
            with pytest.raises(BatchProcessingError, match="All records failed"):
                routing.lambda_handler({"Records": [record]}, context)
            failures += 1
            sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert failures == 5  # the queue's maxReceiveCount
    (dead,) = aws.drain("RoutingDeadLetterQueue")
    assert dead["detail"]["event_id"] == shipped["detail"]["event_id"]
    assert dlq


def test_the_sample_event_routes_the_sample_order(aws, load_function, context):
    """events/order_routing_order_status_changed.json, as `sam local invoke -e` would send it."""
    configure(aws, "none")
    admin = load_function("admin_api")
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 10)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 10)
    assert load_function("stock_updates").lambda_handler(event("stock_updates_order_placed.json"), context) == {
        "batchItemFailures": []
    }
    routing = load_function("order_routing")
    sample = event("order_routing_order_status_changed.json")
    assert routing.lambda_handler(sample, context) == {"batchItemFailures": []}
    order = read_order(load_function, context)
    assert order["status"] == "fulfilling"
    assert [(f["location"], f["status"]) for f in order["fulfilments"]] == [("wh-east", "pending")]


def test_routing_waits_for_the_storefront_fulfilment_its_snapshot_names(aws, bus_tap, load_function, context):
    """An orders/fulfilled delivery's placement recorded the order; its OrderFulfilled (Shopify's
    sample fulfillment 5290011223344) reaches order_routing in the same batch, after the status change."""
    configure(aws, "easypost")
    shipped = {
        "schema_version": 1,
        "event_id": "evt_functional_fulfilled",
        "source": "shopify",
        "channel": "shopify",
        "occurred_at": "2026-11-20T09:40:00-05:00",
        "provider": {"topic": "orders/fulfilled", "account": "ada-goods.myshopify.com"},
        "type": "OrderFulfilled",
        "data": {
            "order_id": ORDER_ID,
            "fulfilment_id": "5290011223344",
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "lines": [{"sku": "MUG-ENAMEL-WHT", "quantity": 2}, {"sku": "TEE-ORGANIC-L", "quantity": 1}],
        },
    }
    stated = [{"fulfilment_id": "5290011223344", "event_id": shipped["event_id"]}]
    changed = place_paid_order(aws, bus_tap, load_function, context, storefront_fulfilments=stated)
    fulfilled = {**changed, "detail-type": "OrderFulfilled", "source": "commerce-hub.shopify", "detail": shipped}
    routing = load_function("order_routing")
    with respx.mock(assert_all_called=False) as mock:
        easypost(mock)
        batch = {"Records": [record_for(changed, "m-1"), record_for(fulfilled, "m-2")]}
        # The status change goes back to its queue alone; the storefront's fulfilment applies.
        assert routing.lambda_handler(batch, context) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
        order = read_order(load_function, context)
        assert order["status"] == "shipped"
        assert [(f["status"], f["tracking_number"]) for f in order["fulfilments"]] == [
            ("shipped", "1Z999AA10123456784")
        ]

        # SQS redelivers the status change: nothing is left to route.
        assert routing.lambda_handler({"Records": [record_for(changed, "m-1")]}, context) == {"batchItemFailures": []}
        assert mock.calls.call_count == 0  # no shipment created, no label bought
    order = read_order(load_function, context)
    assert order["status"] == "shipped" and len(order["fulfilments"]) == 1
    assert any("not routed: the order is shipped" in entry["summary"] for entry in order["timeline"])
