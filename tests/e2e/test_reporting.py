"""The daily report end to end, through a local stack of this module's own (so only these orders are
in it): signed Shopify and WooCommerce orders and a Shopify checkout go in over HTTP, and
GET /reports/daily must match what was sent. GA4 and Meta are configured and pointed at fakes served
here on 127.0.0.1; each order reaches each of them once, as a request GA4's validation would accept."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.analytics_apis import (
    GA4_API_SECRET,
    GA4_MEASUREMENT_ID,
    META_ACCESS_TOKEN,
    META_API_VERSION,
    META_PIXEL_ID,
    FakeGa4,
    FakeMeta,
)

from .conftest import AUTH, ROOT, _environment
from .test_storefront_intake import payload, post
from .waiting import wait_for

pytestmark = pytest.mark.e2e

# One moment for everything sent, so the report's day is known (an hour ago: within Meta's 7 days).
AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
DAY = AT.date().isoformat()


@pytest.fixture(scope="module")
def apis() -> Iterator[tuple[FakeGa4, FakeMeta, str, str]]:
    ga4, meta = FakeGa4(), FakeMeta()
    with ga4.serve() as ga4_url, meta.serve() as meta_url:
        yield ga4, meta, ga4_url, meta_url


@pytest.fixture(scope="module")
def report_stack(apis, tmp_path_factory) -> Iterator[LocalStack]:
    _ga4, _meta, ga4_url, meta_url = apis
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["analytics"] = {
        "attribution_window_days": 7,
        "ga4": {"measurement_id": GA4_MEASUREMENT_ID, "api_url": ga4_url},
        "meta": {"pixel_id": META_PIXEL_ID, "api_version": META_API_VERSION, "api_url": meta_url},
    }
    config = tmp_path_factory.mktemp("config") / "reporting.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
        running.put_secrets(
            {**running.secrets, "GA4_API_SECRET": GA4_API_SECRET, "META_ACCESS_TOKEN": META_ACCESS_TOKEN}
        )
        yield running


@pytest.fixture
def http(report_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=report_stack.url, timeout=30) as client:
        yield client


def shopify_order(
    order_id: int, email: str, lines: list[tuple[str, int, str]], checkout_token: str | None = None
) -> bytes:
    body = payload("shopify_orders_create")
    if checkout_token:
        body["checkout_token"] = checkout_token  # the checkout the order completed
    template = body["line_items"][0]
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, created_at=AT.isoformat())
    body["line_items"] = [
        dict(template, id=order_id * 10 + n, sku=sku, quantity=quantity, price=price)
        for n, (sku, quantity, price) in enumerate(lines)
    ]
    total = sum(Decimal(price) * quantity for _sku, quantity, price in lines)
    body.update(total_price=str(total), subtotal_price=str(total), total_tax="0.00")
    return json.dumps(body).encode()


def woo_order(order_id: int, email: str, sku: str, quantity: int, price: str) -> bytes:
    body = payload("woocommerce_order_created")
    stamp = AT.strftime("%Y-%m-%dT%H:%M:%S")
    body.update(id=order_id, number=str(order_id), date_created_gmt=stamp, date_modified_gmt=stamp)
    body["billing"] = dict(body["billing"], email=email)
    total = Decimal(price) * quantity
    body["line_items"] = [
        dict(
            body["line_items"][0], sku=sku, quantity=quantity, price=float(price), subtotal=str(total), total=str(total)
        )
    ]
    body.update(total=str(total), shipping_total="0.00", total_tax="0.00", discount_total="0.00")
    return json.dumps(body).encode()


def shopify_checkout(token: str, email: str) -> bytes:
    body = payload("shopify_checkouts_create")
    body.update(token=token, email=email, created_at=AT.isoformat(), updated_at=AT.isoformat())
    return json.dumps(body).encode()


def report(http: httpx.Client) -> dict:
    response = http.get("/reports/daily", params={"date": DAY}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_daily_report_matches_the_orders_sent(report_stack, http, apis):
    ga4, meta, _ga4_url, _meta_url = apis
    run = uuid.uuid4().hex[:6].upper()
    mug, tee, tote = f"MUG-{run}", f"TEE-{run}", f"TOTE-{run}"
    base = int(uuid.uuid4().int % 10**9)
    deliveries = [
        (
            "shopify",
            shopify_order(base + 1, "ada@example.com", [(mug, 2, "18.00"), (tee, 1, "38.00")]),
            "orders/create",
        ),
        (
            "shopify",
            shopify_order(base + 2, "Ada@Example.com", [(mug, 3, "18.00")], checkout_token=f"tok{run.lower()}"),
            "orders/create",
        ),
        ("woocommerce", woo_order(base + 3, "grace@example.com", tote, 1, "48.00"), "order.created"),
        ("shopify", shopify_checkout(f"tok{run.lower()}", "grace@example.com"), "checkouts/create"),
    ]
    for source, body, topic in deliveries:
        response = post(http, report_stack, source, body, topic=topic)
        assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
    # The first order again, as Shopify retries it: counted once.
    again = post(http, report_stack, "shopify", deliveries[0][1], topic="orders/create")
    assert again.status_code == 200, again.text

    body = wait_for(lambda: (r := report(http))["totals"]["orders"] == 3 and r, what="three orders in the report")
    body = wait_for(
        lambda: (r := report(http))["totals"]["checkouts_completed"] == 1 and r, what="the completed checkout"
    )
    channels = {c["channel"]: c for c in body["channels"]}
    shop, woo = channels["shopify"], channels["woocommerce"]
    (shop_usd,) = shop["currencies"]
    (woo_usd,) = woo["currencies"]
    # Two orders, one of them through the one tracked checkout: 100% conversion, not 200%.
    assert (shop["orders"], shop["units"], shop["checkouts_started"], shop["checkouts_completed"]) == (2, 6, 1, 1)
    assert shop["conversion_rate"] == "1.0000"
    assert (shop_usd["revenue"], shop_usd["average_order_value"], shop_usd["refunds"]) == ("128.00", "64.00", "0.00")
    assert (shop_usd["new_customer_orders"], shop_usd["returning_customer_orders"]) == (1, 1)
    assert shop_usd["top_skus"][0] == {"sku": mug, "units": 5, "revenue": "90.00"}
    assert (woo["orders"], woo["units"], woo["conversion_rate"], woo_usd["revenue"]) == (1, 1, None, "48.00")
    assert woo_usd["top_skus"] == [{"sku": tote, "units": 1, "revenue": "48.00"}]
    (total_usd,) = body["totals"]["currencies"]
    assert (total_usd["orders"], total_usd["revenue"], total_usd["net_revenue"], total_usd["units"]) == (
        3,
        "176.00",
        "176.00",
        7,
    )
    assert body["totals"]["conversion_rate"] == "1.0000"  # the WooCommerce order had no tracked checkout

    # GA4 and Meta: one purchase per order, whatever was redelivered.
    wait_for(lambda: len(ga4.events("purchase")) >= 3 and len(meta.events("Purchase")) >= 3, what="the purchases")
    ours = {str(base + n) for n in (1, 2, 3)}
    assert sorted(e["params"]["transaction_id"] for e in ga4.events("purchase")) == sorted(ours)
    assert ga4.messages_of_collected() == [[]] * len(ga4.collected)
    assert ga4.collected[0].query == {"measurement_id": [GA4_MEASUREMENT_ID], "api_secret": [GA4_API_SECRET]}
    purchases = {e["event_id"]: e for e in meta.events("Purchase")}
    assert set(purchases) == ours
    assert purchases[str(base + 2)]["user_data"]["em"] == [hashlib.sha256(b"ada@example.com").hexdigest()]


def test_a_bad_date_is_a_400_that_says_what_to_send(http):
    response = http.get("/reports/daily", params={"date": "20-11-2026"}, headers=AUTH)
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["error"]
    assert http.get("/reports/daily", params={"date": DAY}).status_code == 401
