"""From a paid order to `fulfilling` through the local stack: intake -> stock_updates (recorded,
reserved) -> OrderStatusChanged -> order_routing (location chosen, fulfilment recorded)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.through_stack import SKUS, _order
from commerce_hub.signing import sign_delivery


def run(stack: Any, orders: int = 100, senders: int = 4) -> dict:
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    http = httpx.Client(base_url=stack.url, timeout=60, limits=httpx.Limits(max_connections=senders * 2))
    for sku in SKUS:
        http.put(
            f"/inventory/{sku}", json={"location": "wh-east", "available": orders}, headers=auth
        ).raise_for_status()
    retries: list[int] = []
    base = int(time.time() * 1000) * 1000 + 500

    def one(i: int) -> float:
        order_id = base + i
        delivery = sign_delivery("shopify", _order(order_id), topic="orders/create", secrets=stack.secrets)
        start = time.perf_counter()
        # As a vendor does: a 503 (not made durable in time) is retried after a pause.
        while True:
            response = http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
            if response.status_code != 503:
                break
            retries.append(1)
            time.sleep(1.0)
        assert response.status_code == 200, response.text
        while True:
            got = http.get(f"/orders/shopify:{order_id}", headers=auth)
            if got.status_code == 200 and got.json()["status"] == "fulfilling":
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
