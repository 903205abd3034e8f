"""The console's orders page with 1,000 orders in the table: first paint in a real headless Chromium.

The orders are written straight into the emulator's table with the hub's own codec (the order items,
index keys included, as stock_updates writes them), placed over the last hours of today, one in
twenty on hold, so the default view (the last 30 days) holds all of them and its first page is a
full 50. Then a signed-in Chromium (Debian's, through Playwright, as the browser tests) loads the
page again and again; each load reports the browser's own `first-contentful-paint` and the time to
the response's first byte (the console function's work: session, index query, rendering).
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.adapters.order_codec import order_items
from hub.adapters.table import Table, plain
from hub.domain.orders import HoldReason, OrderLine, OrderStatus
from hub.money import Money

GOAL_MS = 1000.0


def _seed(stack: Any, orders: int) -> None:
    from hub.domain.orders import Order

    table = Table(stack.client("dynamodb"), stack.physical_ids["HubTable"])
    now = datetime.now(UTC)
    items = []
    for n in range(orders):
        held = n % 20 == 0
        order = Order(
            order_id=f"shopify:{7_000_000 + n}",
            channel="shopify" if n % 3 else "woocommerce",
            status=OrderStatus.ON_HOLD if held else OrderStatus.PAID,
            hold_reason=HoldReason.INSUFFICIENT_STOCK if held else None,
            total=Money(1800 + n, "USD"),
            lines=(OrderLine("BENCH-SKU-1", 1, 1800 + n),),
            customer_email=f"buyer.{n}@example.com",
            placed_at=now - timedelta(seconds=30 * (orders - n)),
        )
        head, parts = order_items(order, now.isoformat())
        items.extend(plain(item) for item in (head, *parts))  # batch_put types them itself
    table.batch_put(items, what="seed the console benchmark's orders")


def _percentile(values: list[float], p: int) -> float:
    return values[0] if len(values) < 2 else statistics.quantiles(values, n=100)[p - 1]


def run(stack: Any, orders: int = 1000, loads: int = 20) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_options

    _seed(stack, orders)
    paints: list[float] = []
    first_bytes: list[float] = []
    rows = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        page = browser.new_context().new_page()
        page.goto(f"{stack.url}/console/login")
        page.get_by_label("Console token").fill(stack.api_token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/orders")
        for _ in range(loads):
            page.goto(f"{stack.url}/console/orders", wait_until="load")
            timing = page.evaluate(
                """() => {
                    const nav = performance.getEntriesByType('navigation')[0];
                    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                    return {fcp: fcp ? fcp.startTime : nav.loadEventEnd, ttfb: nav.responseStart - nav.requestStart};
                }"""
            )
            paints.append(float(timing["fcp"]))
            first_bytes.append(float(timing["ttfb"]))
        rows = page.locator("#orders tbody tr").count()
        browser.close()
    paints.sort()
    first_bytes.sort()
    return {
        "orders": orders,
        "loads": loads,
        "rows_on_page": rows,
        "paint_median_ms": round(statistics.median(paints), 1),
        "paint_p95_ms": round(_percentile(paints, 95), 1),
        "first_byte_median_ms": round(statistics.median(first_bytes), 1),
        "first_byte_p95_ms": round(_percentile(first_bytes, 95), 1),
        "goal_ms": GOAL_MS,
    }


def render(r: dict[str, Any] | None) -> str:
    if not r:
        return ""
    within = "within" if r["paint_p95_ms"] < r["goal_ms"] else "NOT within"
    return f"""## (i) The console's orders page with {r["orders"]:,} orders

{r["orders"]:,} orders in the table (written with the hub's own codec, so with their index keys),
all placed today; a signed-in headless Chromium (Debian's, driven by Playwright) loads
`/console/orders` {r["loads"]} times, a first page of {r["rows_on_page"]} rows each time. First
paint is the browser's `first-contentful-paint`; first byte is the console function's answer (the
session, one query of the `orders-by-day` index, the template) through the local gateway.

| first paint median ms | p95 ms | first byte median ms | p95 ms | goal |
|---|---|---|---|---|
| {r["paint_median_ms"]} | {r["paint_p95_ms"]} | {r["first_byte_median_ms"]} | {r["first_byte_p95_ms"]} | under {r["goal_ms"]:.0f} ms: {within} |

The page's cost does not grow with the table: it reads one page (51 rows) from the index whatever
the number of orders, and the page is server-rendered HTML with one small stylesheet and no script.
"""
