"""Orders through the whole local stack: POST a signed webhook, then wait until the hub announces the
order reserved (or fulfilling). Reports orders per second and p50/p95 latency.

The waiting reads the hub's bus through a rule and a queue of the benchmark's own
(bench.completions), so it adds no request to the path it measures."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.completions import RESERVED, Completions
from commerce_hub.client import sign_delivery

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())
SKUS = [f"BENCH-SKU-{i}" for i in range(10)]
WAIT_SECONDS = 120.0


def _order(order_id: int) -> bytes:
    """The sample as a new customer's order: a day of orders comes from many buyers, and every order
    from one buyer would make the hub re-derive one ever-growing profile for each (see docs/customers.md)."""
    email = f"buyer.{order_id}@example.com"
    body = dict(SAMPLE, id=order_id, total_price="20.00", email=email, contact_email=email)
    body["customer"] = dict(SAMPLE["customer"], id=order_id, email=email)
    sku = SKUS[order_id % len(SKUS)]
    body["line_items"] = [{"id": order_id, "sku": sku, "quantity": 1, "price": "20.00", "title": sku}]
    return json.dumps(body).encode()


@dataclass
class Sent:
    """One order: when its first POST left, how long the accepted POST took, when it was done."""

    order_id: str
    posted: float
    intake_s: float
    retried_503: int
    done: float

    @property
    def latency_s(self) -> float:
        return self.done - self.posted


def percentile(values: list[float], p: int) -> float:
    """The p-th percentile (statistics' exclusive method; the value itself for a single sample)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100)[p - 1]


def stock_up(stack: Any, units: int) -> None:
    """Every benchmark SKU available at wh-east, so no order waits on hold."""
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    with httpx.Client(base_url=stack.url, timeout=60) as http:
        for sku in SKUS:
            http.put(
                f"/inventory/{sku}", json={"location": "wh-east", "available": units}, headers=auth
            ).raise_for_status()


def send(
    stack: Any,
    completions: Completions,
    orders: int,
    senders: int,
    until: str = RESERVED,
    offset: int = 0,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[Sent], float, float]:
    """`orders` signed Shopify orders from `senders` threads, each sending its next order once the
    last reached `until`. A delivery answered 503 is retried after a pause, as a vendor does.
    `on_done(k)` runs in the sender that saw the k-th order done (k counts from 1).
    Returns the orders in the order they were done, the start and the end (perf_counter)."""
    http = httpx.Client(base_url=stack.url, timeout=60, limits=httpx.Limits(max_connections=senders * 2))
    base = int(time.time() * 1000) * 1000 + offset
    done: list[Sent] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        order_id = base + i
        delivery = sign_delivery("shopify", _order(order_id), topic="orders/create", secrets=stack.secrets)
        posted = time.perf_counter()
        retried = 0
        while True:
            attempt = time.perf_counter()
            response = http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
            answered = time.perf_counter()
            if response.status_code != 503:
                break
            retried += 1
            time.sleep(1.0)
        assert response.status_code == 200, response.text
        hub_id = f"shopify:{order_id}"
        at = completions.wait(hub_id, until, WAIT_SECONDS)
        with lock:
            done.append(Sent(hub_id, posted, answered - attempt, retried, at))
            count = len(done)
        if on_done is not None:
            on_done(count)

    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(one, range(orders)))
    end = time.perf_counter()
    http.close()
    done.sort(key=lambda sent: sent.done)
    return done, start, end


def drive(stack: Any, orders: int, senders: int, until: str = RESERVED, offset: int = 0) -> dict:
    """Orders per second and p50/p95 from the POST until the order reached `until`."""
    stock_up(stack, orders)
    with Completions(stack) as completions:
        sent, start, end = send(stack, completions, orders, senders, until, offset)
    latencies = [s.latency_s for s in sent]
    return {
        "orders": orders,
        "senders": senders,
        "orders_per_second": round(orders / (end - start), 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "retried_503": sum(s.retried_503 for s in sent),
    }


def run(stack: Any, orders: int = 300, senders: int = 8) -> dict:
    """POST until the hub announces the order reserved."""
    return drive(stack, orders, senders, RESERVED)
