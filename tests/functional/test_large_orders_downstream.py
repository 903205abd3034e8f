"""Large orders downstream of the stock ledger, on moto: reporting, crm_upsert and
marketing_triggers fed the OrderPlaced event of a 150-SKU order and of a 3,000-line order.

The orders are Shopify `orders/create` webhooks of a paid order built as in
tests/functional/test_large_orders.py: the repository's events/payloads/shopify_orders_create.json
(shaped as the orders/create example of Shopify's Admin REST API reference, Order resource) with its
`line_items` multiplied, each line keeping the example's fields (id, product_id, variant_id, sku,
title, quantity, price). Titles are product titles of realistic length (a product name, then the
variant title, as Shopify's `name` spells it). They go through webhook_intake onto the bus, and the
bus's records reach each consumer's queue as in AWS (a large event by claim check).
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from tests.functional.conftest import event
from tests.functional.test_large_orders import records, shopify_order, webhook
from tests.functional.test_marketing_triggers import marketing  # noqa: F401 (a fixture)

ADA = "ada.lovelace@example.com"  # the customer of events/payloads/shopify_orders_create.json
DAY = "2026-11-20"  # its created_at, in UTC
PRODUCTS = ("Enamel Camping Mug", "Heavyweight Organic Cotton Tee", "Waxed Canvas Weekender Bag", "Trail Socks")
VARIANTS = ("Forest Green / Large", "Slate Grey / Medium", "Natural / One Size", "Black / 12 oz")


def title(n: int) -> str:
    return f"{PRODUCTS[n % 4]} No. {n:04d} - {VARIANTS[(n // 4) % 4]} (wholesale case of 12 units)"


def order_body(order_id: int, lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    """A paid Shopify order of `lines` (sku, quantity, price) at a unit price per line."""
    body = shopify_order(order_id, [(sku, qty) for sku, qty, _price in lines])
    total = 0
    for n, (item, (_sku, qty, price)) in enumerate(zip(body["line_items"], lines, strict=True)):
        item.update(price=price, title=title(n), name=title(n))
        total += qty * int(price.replace(".", ""))
    text = f"{total // 100}.{total % 100:02d}"
    body.update(subtotal_price=text, total_price=text)
    return body


def publish(aws, functions, context, body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    response = functions["webhook_intake"].lambda_handler(webhook("orders/create", body), context)
    assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "accepted", response
    return {q: aws.drain(q) for q in ("ReportingQueue", "CrmQueue", "MarketingQueue")}


def table_items(aws) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    pages = client.get_paginator("scan").paginate(TableName=aws.resources["HubTable"])
    return [item for page in pages for item in page["Items"]]


def largest_item(aws, prefix: str) -> int:
    """The size of the largest item whose pk starts with `prefix`, as its JSON (above DynamoDB's count)."""

    def size(item: dict[str, Any]) -> int:
        return len(json.dumps(item, default=lambda raw: "x" * len(raw)))

    return max(size(i) for i in table_items(aws) if i["pk"]["S"].startswith(prefix))


def get(admin, context, name: str, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    ev = event(name)
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
    if params:
        ev["queryStringParameters"] = params
        ev["rawQueryString"] = "&".join(f"{k}={v}" for k, v in params.items())
    else:
        key = "email" if path.startswith("/customers/") else "order_id"
        ev["pathParameters"] = {key: path.rsplit("/", 1)[1]}
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"][:300]
    return json.loads(response["body"])


@pytest.fixture
def functions(aws, load_function):
    return {name: load_function(name) for name in ("webhook_intake", "reporting", "crm_upsert", "admin_api")}


def sku_lines(count: int, distinct: int) -> list[tuple[str, int, str]]:
    """`count` lines over `distinct` SKUs, quantities 1-3, unit prices 1.00 to 9.99."""
    return [(f"WHOLESALE-{n % distinct:04d}", 1 + n % 3, f"{1 + n % 9}.{(n * 37) % 100:02d}") for n in range(count)]


def expected_report(lines: list[tuple[str, int, str]]) -> tuple[int, int, list[dict[str, Any]]]:
    """Revenue and units recomputed from the lines, and the top ten SKUs by units, revenue, SKU."""
    per_sku: dict[str, list[int]] = {}
    for sku, qty, price in lines:
        entry = per_sku.setdefault(sku, [0, 0])
        entry[0] += qty
        entry[1] += qty * int(price.replace(".", ""))
    ranked = sorted(per_sku.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[:10]
    top = [{"sku": sku, "units": u, "revenue": f"{r // 100}.{r % 100:02d}"} for sku, (u, r) in ranked]
    return sum(r for _u, r in per_sku.values()), sum(u for u, _r in per_sku.values()), top


@pytest.mark.parametrize(("count", "distinct"), [(150, 150), (3000, 300)], ids=["150-skus", "3000-lines"])
def test_the_daily_report_counts_a_large_order_once_and_a_redelivery_changes_nothing(
    aws, functions, context, count, distinct
):
    lines = sku_lines(count, distinct)
    bodies = publish(aws, functions, context, order_body(5849162203412, lines))["ReportingQueue"]
    assert [b["detail-type"] for b in bodies].count("OrderPlaced") == 1

    started = time.monotonic()
    result = functions["reporting"].lambda_handler(records(bodies, "ReportingQueue"), context)
    assert result == {"batchItemFailures": []}
    assert time.monotonic() - started < 30

    revenue, units, top = expected_report(lines)
    report = get(functions["admin_api"], context, "admin_api_get_daily_report.json", "/reports/daily", {"date": DAY})
    (usd,) = report["totals"]["currencies"]
    assert (usd["orders"], usd["units"], usd["revenue"]) == (1, units, f"{revenue // 100}.{revenue % 100:02d}")
    assert usd["top_skus"] == top

    # An SQS redelivery, and the webhook sent again (a new delivery of the same order): nothing moves.
    again = functions["reporting"].lambda_handler(records(bodies, "ReportingQueue"), context)
    assert again == {"batchItemFailures": []}
    assert (
        get(functions["admin_api"], context, "admin_api_get_daily_report.json", "/reports/daily", {"date": DAY})
        == report
    )
    assert largest_item(aws, "REPORT#") < 350_000


@pytest.mark.parametrize(("count", "distinct"), [(150, 150), (3000, 300)], ids=["150-skus", "3000-lines"])
def test_the_customer_profile_of_a_large_order_is_recorded_within_the_item_limit(
    aws, functions, context, count, distinct
):
    lines = sku_lines(count, distinct)
    bodies = publish(aws, functions, context, order_body(5849162203412, lines))["CrmQueue"]

    started = time.monotonic()
    assert functions["crm_upsert"].lambda_handler(records(bodies, "CrmQueue"), context) == {"batchItemFailures": []}
    assert functions["crm_upsert"].lambda_handler(records(bodies, "CrmQueue"), context) == {"batchItemFailures": []}
    assert time.monotonic() - started < 30

    profile = get(functions["admin_api"], context, "admin_api_get_customer.json", f"/customers/{ADA}")
    assert profile["order_count"] == 1
    products = {p["sku"]: p for p in profile["products"]}
    assert len(products) == distinct
    assert sum(p["quantity"] for p in products.values()) == sum(qty for _sku, qty, _price in lines)
    assert all(p["orders"] == 1 for p in products.values())
    assert largest_item(aws, "CUST") < 350_000


class CrashAfter:
    """A DynamoDB client whose process stops (an exception) after `transactions` transactions."""

    def __init__(self, client: Any, transactions: int) -> None:
        self._client, self._left = client, transactions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self._left == 0:
            raise RuntimeError("the function stopped here")
        self._left -= 1
        return self._client.transact_write_items(**kwargs)


def test_counters_added_in_chunks_are_each_added_once_when_the_function_stops_between_them(
    aws, functions, context, monkeypatch
):
    # Limits shrunk so that the 150-SKU order's counters need many chunks, as 3,000 distinct SKUs do.
    from hub.adapters import report_store
    from hub.adapters.customers import DynamoCustomerStore
    from hub.config import load_config
    from hub.services.reporting import ReportingService

    monkeypatch.setattr(report_store, "_MAX_COUNTERS", 4)
    monkeypatch.setattr(report_store, "_CHUNK", 6)
    lines = sku_lines(150, 150)
    bodies = publish(aws, functions, context, order_body(5849162203412, lines))["ReportingQueue"]
    (placed,) = [b for b in bodies if b["detail-type"] == "OrderPlaced"]
    from hub.events import parse_event

    hub_event = parse_event(json.dumps(placed["detail"]))
    table = aws.resources["HubTable"]
    salt = DynamoCustomerStore(boto3.client("dynamodb"), table).salt  # the deployment's, as the function's
    crashing = ReportingService(
        report_store.DynamoReportStore(CrashAfter(boto3.client("dynamodb"), 5), table), load_config, salt=salt
    )
    with pytest.raises(RuntimeError, match="the function stopped here"):
        crashing.handle(hub_event)
    facts = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": "REPORT#order#shopify:5849162203412"}, "sk": {"S": "FACTS"}}
    )["Item"]
    assert int(facts["owed_done"]["N"]) == 5  # five chunks added, the rest still owed

    # The redelivery finishes what is owed, once, and adds nothing more.
    assert functions["reporting"].lambda_handler(records(bodies, "ReportingQueue"), context) == {
        "batchItemFailures": []
    }
    revenue, units, top = expected_report(lines)
    report = get(functions["admin_api"], context, "admin_api_get_daily_report.json", "/reports/daily", {"date": DAY})
    (usd,) = report["totals"]["currencies"]
    assert (usd["orders"], usd["units"], usd["revenue"]) == (1, units, f"{revenue // 100}.{revenue % 100:02d}")
    assert usd["top_skus"] == top
    facts = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": "REPORT#order#shopify:5849162203412"}, "sk": {"S": "FACTS"}}
    )["Item"]
    assert "owed" not in facts and "owed_done" not in facts


@pytest.mark.parametrize(("count", "distinct"), [(150, 150), (3000, 300)], ids=["150-skus", "3000-lines"])
def test_marketing_counts_a_large_orders_co_purchases_once_within_its_bound(
    aws,
    functions,
    context,
    marketing,  # noqa: F811 (the fixture imported above)
    count,
    distinct,
):
    from hub.domain.marketing_rules import MAX_PAIRED_SKUS

    bodies = publish(aws, functions, context, order_body(5849162203412, sku_lines(count, distinct)))["MarketingQueue"]
    started = time.monotonic()
    assert marketing.lambda_handler(records(bodies, "MarketingQueue"), context) == {"batchItemFailures": []}
    assert marketing.lambda_handler(records(bodies, "MarketingQueue"), context) == {"batchItemFailures": []}
    assert time.monotonic() - started < 30
    pairs = [i for i in table_items(aws) if i["pk"]["S"].startswith("MKTPAIR#")]
    # Only the first MAX_PAIRED_SKUS distinct SKUs (sorted) are paired, each pair counted once.
    assert len(pairs) == MAX_PAIRED_SKUS * (MAX_PAIRED_SKUS - 1)
    assert {int(i["orders"]["N"]) for i in pairs} == {1}
