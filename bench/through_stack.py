"""Orders through the whole local stack: POST a signed webhook, then poll until the order is
readable with its stock reserved. Reports orders per second and p50/p95 latency."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from commerce_hub.client import sign_delivery

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())
SKUS = [f"BENCH-SKU-{i}" for i in range(10)]


def _order(order_id: int) -> bytes:
    body = dict(SAMPLE, id=order_id, total_price="20.00")
    sku = SKUS[order_id % len(SKUS)]
    body["line_items"] = [{"id": order_id, "sku": sku, "quantity": 1, "price": "20.00", "title": sku}]
    return json.dumps(body).encode()


def drive(stack: Any, orders: int, senders: int, done: Callable[[dict], bool], offset: int = 0) -> dict:
    """Send `orders` signed Shopify orders from `senders` threads; each latency runs from the POST
    until `done(order JSON)` holds. A delivery answered 503 is retried after a pause, as a vendor does."""
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    http = httpx.Client(base_url=stack.url, timeout=60, limits=httpx.Limits(max_connections=senders * 2))
    for sku in SKUS:
        http.put(
            f"/inventory/{sku}", json={"location": "wh-east", "available": orders}, headers=auth
        ).raise_for_status()
    retries: list[int] = []
    base = int(time.time() * 1000) * 1000 + offset

    def one(i: int) -> float:
        order_id = base + i
        delivery = sign_delivery("shopify", _order(order_id), topic="orders/create", secrets=stack.secrets)
        start = time.perf_counter()
        while True:
            response = http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
            if response.status_code != 503:
                break
            retries.append(1)
            time.sleep(1.0)
        assert response.status_code == 200, response.text
        while True:
            got = http.get(f"/orders/shopify:{order_id}", headers=auth)
            if got.status_code == 200 and done(got.json()):
                return time.perf_counter() - start
            time.sleep(0.02)

    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        latencies = list(pool.map(one, range(orders)))
    wall = time.perf_counter() - start
    http.close()
    cuts = statistics.quantiles(latencies, n=20)
    return {
        "orders": orders,
        "senders": senders,
        "orders_per_second": round(orders / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(cuts[18] * 1000, 1),
        "retried_503": len(retries),
    }


def run(stack: Any, orders: int = 300, senders: int = 8) -> dict:
    """POST until the order is readable with its stock reserved."""
    return drive(stack, orders, senders, lambda order: bool(order["reservations"]))
