"""Large orders on moto: more reservations than one DynamoDB transaction holds (100 items), more
lines than one item holds (400 KB), and the failures in between.

The orders are Shopify `orders/create` webhooks of a paid order, built from the repository's
events/payloads/shopify_orders_create.json (shaped as the orders/create example of Shopify's Admin
REST API reference, Order resource) with its `line_items` multiplied: each line keeps the example's
fields (id, product_id, variant_id, sku, title, quantity, price). They go through webhook_intake,
the stock queue and stock_updates as in AWS; the cancellation is Shopify's `orders/cancelled`
(events/payloads/shopify_orders_cancelled.json) through payment_confirmation.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hub.adapters.dynamodb import CHUNK_SIZE, DynamoLedger
from hub.adapters.eventbridge import EventBridgePublisher
from hub.adapters.order_privacy import DynamoOrderPrivacy
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import StockConflictError
from hub.events import parse_event
from hub.services.stock import StockService

from tests.functional.conftest import ROOT, event
from tests.unit.test_shopify_source import sign

PAYLOADS = ROOT / "events" / "payloads"
SECRET = "local-shopify-webhook-secret"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = parse_config("locations: [{id: wh-east, country: US}, {id: wh-west, country: US}]\n")


def shopify_order(order_id: int, lines: list[tuple[str, int]]) -> dict[str, Any]:
    body = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    template = body["line_items"][0]
    items = [
        {**template, "id": order_id * 10_000 + n, "sku": sku, "title": sku, "quantity": qty, "price": "1.00"}
        for n, (sku, qty) in enumerate(lines)
    ]
    total = f"{sum(qty for _, qty in lines)}.00"
    body.update(
        id=order_id,
        name=f"#{order_id}",
        line_items=items,
        financial_status="paid",
        subtotal_price=total,
        total_price=total,
        total_tax="0.00",
        total_discounts="0.00",
        total_shipping_price_set={"shop_money": {"amount": "0.00", "currency_code": "USD"}},
    )
    body.pop("shipping_lines", None)
    return body


def webhook(topic: str, body: dict[str, Any]) -> dict[str, Any]:
    ev = event("webhook_intake_shopify_orders_create.json")
    raw = json.dumps(body)
    delivery = str(uuid.uuid4())
    ev["body"] = raw
    ev["headers"].update(
        {
            "x-shopify-topic": topic,
            "x-shopify-webhook-id": delivery,
            "x-shopify-event-id": delivery,
            "x-shopify-triggered-at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "x-shopify-hmac-sha256": sign(raw.encode(), SECRET),
            "content-length": str(len(raw)),
        }
    )
    return ev


def records(bodies: list[dict[str, Any]], queue: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795529567200",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795529567210",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


@pytest.fixture
def functions(aws, load_function):
    return {name: load_function(name) for name in ("webhook_intake", "stock_updates", "payment_confirmation")}


@pytest.fixture
def ledger(aws) -> DynamoLedger:
    return DynamoLedger(boto3.client("dynamodb"), aws.resources["HubTable"])


def stock(ledger: DynamoLedger, skus: list[str], available: int, location: str = "wh-east") -> None:
    for sku in skus:
        ledger.set_level(sku, location, available, by="admin", at=NOW, newer_only=False)


def levels(ledger: DynamoLedger, sku: str) -> dict[str, tuple[int, int]]:
    return {loc: (lvl.available, lvl.reserved) for loc, lvl in ledger.levels_for(sku).items()}


def deliver(aws, functions, context, topic: str, body: dict[str, Any]) -> None:
    """The webhook through intake, then the order's events on the stock and payments queues through
    their functions (the low-stock checks of every SKU are left out: they are tested elsewhere)."""
    response = functions["webhook_intake"].lambda_handler(webhook(topic, body), context)
    assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "accepted", response
    for _round in range(3):
        for queue, name in (("StockQueue", "stock_updates"), ("PaymentsQueue", "payment_confirmation")):
            bodies = [b for b in aws.drain(queue) if b["detail-type"] != "StockLevelChanged"]
            if bodies:
                result = functions[name].lambda_handler(records(bodies, queue), context)
                assert result == {"batchItemFailures": []}, (name, result)


def test_a_paid_order_of_150_skus_is_recorded_reserved_and_its_cancellation_releases_every_sku(
    aws, functions, ledger, context
):
    skus = [f"BULK-{n:03d}" for n in range(150)]
    stock(ledger, skus, 10)
    order_id = 5849162203412

    deliver(
        aws, functions, context, "orders/create", shopify_order(order_id, [(s, 1 + n % 3) for n, s in enumerate(skus)])
    )

    order = ledger.get_order(f"shopify:{order_id}")
    assert order is not None and order.status.value in ("paid", "fulfilling")
    assert len(order.lines) == 150 and len(order.reservations) == 150
    for n, sku in enumerate(skus):
        assert levels(ledger, sku) == {"wh-east": (10 - (1 + n % 3), 1 + n % 3)}, sku
    # Every reservation announced, in PutEvents batches of at most ten.
    changed = [b for b in aws.drain("ChannelSyncQueue") if b["detail-type"] == "StockLevelChanged"]
    assert sorted(b["detail"]["data"]["sku"] for b in changed) == skus

    cancelled = json.loads((PAYLOADS / "shopify_orders_cancelled.json").read_text())
    cancelled.update(id=order_id, name=f"#{order_id}", line_items=shopify_order(order_id, [])["line_items"])
    deliver(aws, functions, context, "orders/cancelled", cancelled)

    order = ledger.get_order(f"shopify:{order_id}")
    assert order.status.value == "cancelled"
    assert all(r.released == r.quantity for r in order.reservations)
    for sku in skus:
        assert levels(ledger, sku) == {"wh-east": (10, 0)}, sku
    released = [b for b in aws.drain("ChannelSyncQueue") if b["detail-type"] == "StockLevelChanged"]
    assert sorted(b["detail"]["data"]["sku"] for b in released) == skus
    # Nothing is left owed, and the placement's plan is done.
    partition = boto3.client("dynamodb").query(
        TableName=aws.resources["HubTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ORDER#shopify:{order_id}"}},
    )["Items"]
    assert not [i for i in partition if i["sk"]["S"].startswith("OWED#")]
    assert [i["state"]["S"] for i in partition if i["sk"]["S"] == "PLACING"] == ["placed"]


def test_an_order_of_3000_lines_is_recorded_whole_and_read_back_line_by_line(
    aws, functions, ledger, context, load_function
):
    # A wholesale order: 3,000 lines (several lines of a SKU, as a storefront sends for each
    # customisation), over 300 SKUs, so more than three chunks of reservations.
    skus = [f"PART-{n:04d}" for n in range(300)]
    stock(ledger, skus, 12)
    order_id = 5849162209999
    lines = [(skus[n % 300], 1) for n in range(3000)]

    deliver(aws, functions, context, "orders/create", shopify_order(order_id, lines))

    ev = event("admin_api_get_order.json")
    ev["rawPath"] = f"/orders/shopify:{order_id}"
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    ev["pathParameters"] = {"order_id": f"shopify:{order_id}"}
    response = load_function("admin_api").lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"][:500]
    view = json.loads(response["body"])
    assert len(view["lines"]) == 3000
    assert [ln["sku"] for ln in view["lines"]] == [sku for sku, _ in lines]
    assert sum(r["quantity"] for r in view["reservations"]) == 3000
    for sku in skus[::7]:
        assert levels(ledger, sku) == {"wh-east": (2, 10)}
    # The order item stays far below DynamoDB's 400 KB: its lines live in part items.
    head = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"ORDER#shopify:{order_id}"}, "sk": {"S": "ORDER"}}
    )["Item"]
    assert "lines" not in head and set(head["parts"]["M"]) == {"lines", "reservations"}
    assert len(json.dumps(head)) < 100_000
    # A customer's data export has every line too.
    exported = DynamoOrderPrivacy(boto3.client("dynamodb"), aws.resources["HubTable"]).export_order(
        f"shopify:{order_id}"
    )
    assert len(exported["lines"]) == 3000


class Interfering:
    """The DynamoDB client, with something happening just before the n-th placement chunk is written:
    another order taking stock, or the function crashing."""

    def __init__(self, client: Any, before_chunk: int, action) -> None:
        self._client = client
        self._chunk = before_chunk
        self._action = action
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        keys = [
            next(iter(i.values())).get("Key") or next(iter(i.values())).get("Item") for i in kwargs["TransactItems"]
        ]
        chunk = [k["sk"]["S"] for k in keys if k and k["sk"]["S"].startswith("PLACED#")]
        if (
            not self.fired
            and chunk
            and chunk[0].endswith(f"#{self._chunk:04d}")
            and "Put" in kwargs["TransactItems"][1]
        ):
            self.fired = True
            self._action()
        return self._client.transact_write_items(**kwargs)


class Crash(Exception):
    """The function stopped (timeout, out of memory) between two writes."""


def _unhurried() -> float:
    """A deadline these tests never meet: on a loaded machine moto alone can take longer than the
    service's own budget over 150 SKUs, and what they test is the chunks, not the budget (the
    budget has its own test below, with a transaction that always conflicts)."""
    return time.monotonic() + 300


def service(client: Any, aws) -> StockService:
    return StockService(
        DynamoLedger(client, aws.resources["HubTable"]),
        EventBridgePublisher(boto3.client("events"), aws.bus_name),
        lambda: CONFIG,
    )


def placed_event(aws, functions, context, order_id: int, lines: list[tuple[str, int]]):
    response = functions["webhook_intake"].lambda_handler(
        webhook("orders/create", shopify_order(order_id, lines)), context
    )
    assert json.loads(response["body"])["status"] == "accepted"
    (body,) = [b for b in aws.drain("StockQueue") if b["detail-type"] == "OrderPlaced"]
    return parse_event(json.dumps(body["detail"]))


def test_a_chunk_failing_midway_gives_back_the_chunks_before_it_and_stock_stays_exact(aws, functions, ledger, context):
    skus = [f"RACE-{n:03d}" for n in range(150)]
    stock(ledger, skus, 1)
    event_ = placed_event(aws, functions, context, 7001, [(s, 1) for s in skus])
    # Just before the second chunk, a racing order takes the last unit of a SKU in that chunk.
    victim = skus[CHUNK_SIZE + 5]
    client = boto3.client("dynamodb")

    def racing_order() -> None:
        ledger.set_level(victim, "wh-east", 0, by="admin", at=NOW, newer_only=False)

    result = service(Interfering(client, 1, racing_order), aws).place_order(event_, deadline=_unhurried())

    assert result.order.status.value == "on_hold" and result.order.hold_reason.value == "insufficient_stock"
    assert result.order.shortages == {victim: 1}
    assert ledger.get_order("shopify:7001").reservations == ()
    for sku in skus:
        assert levels(ledger, sku) == {"wh-east": (0 if sku == victim else 1, 0)}, sku


def test_a_chunk_failing_midway_is_placed_elsewhere_when_another_location_has_the_units(
    aws, functions, ledger, context
):
    skus = [f"MOVE-{n:03d}" for n in range(120)]
    stock(ledger, skus, 1)
    victim = skus[CHUNK_SIZE + 1]
    stock(ledger, [victim], 4, location="wh-west")
    event_ = placed_event(aws, functions, context, 7002, [(s, 1) for s in skus])

    def racing_order() -> None:
        ledger.set_level(victim, "wh-east", 0, by="admin", at=NOW, newer_only=False)

    result = service(Interfering(boto3.client("dynamodb"), 1, racing_order), aws).place_order(
        event_, deadline=_unhurried()
    )

    assert result.order.status.value == "paid"
    assert {(r.sku, r.location) for r in result.order.reservations if r.sku == victim} == {(victim, "wh-west")}
    assert levels(ledger, victim) == {"wh-east": (0, 0), "wh-west": (3, 1)}
    for sku in skus:
        if sku != victim:
            assert levels(ledger, sku) == {"wh-east": (0, 1)}, sku


def test_a_crash_between_chunks_and_the_redelivery_converge_on_one_placement(aws, functions, ledger, context):
    skus = [f"CRASH-{n:03d}" for n in range(190)]
    stock(ledger, skus, 3)
    event_ = placed_event(aws, functions, context, 7003, [(s, 2) for s in skus])

    def crash() -> None:
        raise Crash("the function stopped")

    client = boto3.client("dynamodb")
    with pytest.raises(Crash):
        service(Interfering(client, 2, crash), aws).place_order(event_)
    # Two chunks are held, the order is not visible half reserved.
    assert ledger.get_order("shopify:7003") is None
    assert levels(ledger, skus[0]) == {"wh-east": (1, 2)} and levels(ledger, skus[-1]) == {"wh-east": (3, 0)}

    # The redelivery continues the stored plan (its own reading of the levels would find them short).
    again = service(client, aws).place_order(event_)
    assert again.order.status.value == "paid" and len(again.order.reservations) == 190
    for sku in skus:
        assert levels(ledger, sku) == {"wh-east": (1, 2)}, sku
    # And a third delivery changes nothing.
    service(client, aws).place_order(event_)
    assert levels(ledger, skus[100]) == {"wh-east": (1, 2)}


def test_a_crash_while_releasing_a_large_order_is_finished_by_the_redelivery(aws, functions, ledger, context):
    skus = [f"REL-{n:03d}" for n in range(150)]
    stock(ledger, skus, 2)
    order_id = 7004
    deliver(aws, functions, context, "orders/create", shopify_order(order_id, [(s, 1) for s in skus]))
    aws.drain("ChannelSyncQueue")
    cancelled = json.loads((PAYLOADS / "shopify_orders_cancelled.json").read_text())
    cancelled.update(id=order_id, name=f"#{order_id}", line_items=[])
    response = functions["webhook_intake"].lambda_handler(webhook("orders/cancelled", cancelled), context)
    assert json.loads(response["body"])["status"] == "accepted"
    bodies = aws.drain("PaymentsQueue")

    # The order is stored cancelled, then the function stops after the first chunk of releases.
    payments = functions["payment_confirmation"]
    in_use = payments.sandbox
    payments.sandbox = Sandbox(dynamodb=StopsAfter(boto3.client("dynamodb"), transactions=2))
    # The record fails (a batch of one that fails whole is raised, as Powertools does).
    with pytest.raises(BatchProcessingError, match="the function stopped"):
        payments.lambda_handler(records(bodies, "PaymentsQueue"), context)
    payments.sandbox = in_use
    assert ledger.get_order(f"shopify:{order_id}").status.value == "cancelled"
    assert sum(levels(ledger, s)["wh-east"][1] for s in skus) == 150 - CHUNK_SIZE  # still owed

    # SQS delivers the record again: the rest of the releases are applied, once.
    assert payments.lambda_handler(records(bodies, "PaymentsQueue"), context) == {"batchItemFailures": []}
    assert payments.lambda_handler(records(bodies, "PaymentsQueue"), context) == {"batchItemFailures": []}
    for sku in skus:
        assert levels(ledger, sku) == {"wh-east": (2, 0)}, sku


class StopsAfter:
    """The DynamoDB client of a function that stops (times out) after `transactions` transactions."""

    def __init__(self, client: Any, transactions: int) -> None:
        self._client = client
        self._left = transactions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if not self._left:
            raise Crash("the function stopped")
        self._left -= 1
        return self._client.transact_write_items(**kwargs)


def test_stock_that_never_settles_still_fails_the_record(aws, functions, ledger, context):
    event_ = placed_event(aws, functions, context, 7005, [("NEVER", 1)])
    stock(ledger, ["NEVER"], 1)

    class AlwaysConflicting:
        def __init__(self, real):
            self._real = real

        def __getattr__(self, name):
            return getattr(self._real, name)

        def transact_write_items(self, **kwargs):
            from botocore.exceptions import ClientError

            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )

    import time

    with pytest.raises(StockConflictError, match="kept changing"):
        service(AlwaysConflicting(boto3.client("dynamodb")), aws).place_order(event_, deadline=time.monotonic() + 1)
    assert levels(ledger, "NEVER") == {"wh-east": (1, 0)}
