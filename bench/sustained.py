"""Goals 1 and 2 of the performance issue, in one run of 1,000 orders through the whole local stack.

Four senders each POST a signed, paid Shopify order and send the next once the hub announces the
last one reserved (bench.completions: a bus rule to a queue of the benchmark's own, so the waiting
adds no DynamoDB request and no invocation). Every function of the template runs, so CRM,
reporting, marketing, routing and channel sync compete for the machine as they would.

Measured in the same run:
- the emulator's resident memory (VmRSS of its process, from /proc) before the first order, then
  after every tenth of the orders was reserved, and once every order is fulfilling;
- throughput in windows of a tenth of the orders: the first (orders 1-100 of 1,000) and the last
  (901-1,000), each as orders reserved in the window over the window's time;
- latency from the first POST of an order to its stock reserved, and to `fulfilling`;
- the intake's own answer: how long the POST that was accepted took;
- what the waiting itself asked of the emulator (its SQS calls; no DynamoDB request at all).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.completions import FULFILLING, RESERVED, Completions
from bench.through_stack import percentile, send, stock_up

__all__ = ["GOALS", "render", "rss_mb", "run"]

GOALS = {
    "rss_ratio_max": 2.0,  # RSS after 1,000 orders <= 2x RSS after 100
    "throughput_ratio_min": 0.8,  # throughput at the 1,000th order within 20% of the 100th
    "orders_per_second_min": 8.0,
    "reserved_p95_ms_max": 1500.0,
    "intake_p95_ms_max": 300.0,
}
DRAIN_SECONDS = 600.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc/<pid>/status (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise LookupError(f"no VmRSS for process {pid}")


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def run(stack: Any, orders: int = 1000, senders: int = 4) -> dict:
    """Send `orders` orders; returns every figure of the section (see the module docstring)."""
    window = max(1, orders // 10)
    pid = stack.emulator_pid
    stock_up(stack, orders)
    rss: dict[int, float] = {}
    rss_lock = threading.Lock()

    def sample(done: int) -> None:
        if done % window == 0 or done == orders:
            value = rss_mb(pid)
            with rss_lock:
                rss[done] = value
            print(f"  {done:,} of {orders:,} orders reserved, emulator RSS {value} MB", flush=True)

    load_before = round(os.getloadavg()[0], 1)
    with Completions(stack) as completions:
        rss[0] = rss_mb(pid)
        sent, start, end = send(stack, completions, orders, senders, RESERVED, on_done=sample)
        fulfilling = [completions.wait(s.order_id, FULFILLING, DRAIN_SECONDS) for s in sent]
        drained = max(fulfilling)
        rss_drained = rss_mb(pid)
        calls = dict(completions.calls)

    reserved_at = [s.done for s in sent]  # in the order they were reserved
    first_window = _rate(window, reserved_at[window - 1] - start)
    last_window = _rate(window, reserved_at[-1] - reserved_at[-window - 1]) if orders > window else first_window
    reserved_latency = [s.latency_s for s in sent]
    fulfilling_latency = [f - s.posted for s, f in zip(sent, fulfilling, strict=True)]
    intake = [s.intake_s for s in sent]
    rss_window, rss_all = rss[window], rss[orders]
    return {
        "orders": orders,
        "senders": senders,
        "window": window,
        "rss_mb": {str(k): v for k, v in sorted(rss.items())},
        "rss_start_mb": rss[0],
        "rss_window_mb": rss_window,
        "rss_all_mb": rss_all,
        "rss_drained_mb": rss_drained,
        "rss_ratio": round(rss_all / rss_window, 2),
        "orders_per_second": _rate(orders, end - start),
        "first_window_per_second": first_window,
        "last_window_per_second": last_window,
        "throughput_ratio": round(last_window / first_window, 2) if first_window else 0.0,
        "fulfilling_per_second": _rate(orders, drained - start),
        "reserved_p50_ms": _ms(statistics.median(reserved_latency)),
        "reserved_p95_ms": _ms(percentile(reserved_latency, 95)),
        "fulfilling_p50_ms": _ms(statistics.median(fulfilling_latency)),
        "fulfilling_p95_ms": _ms(percentile(fulfilling_latency, 95)),
        "intake_p50_ms": _ms(statistics.median(intake)),
        "intake_p95_ms": _ms(percentile(intake, 95)),
        "retried_503": sum(s.retried_503 for s in sent),
        "wait_calls": calls,
        "wall_seconds": round(time.perf_counter() - start, 1),
        # Other work on the machine shows here: the figures assume it had the cores to itself.
        "load_average": [load_before, round(os.getloadavg()[0], 1)],
        "cores": os.cpu_count(),
    }


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def render(r: dict) -> str:
    """The section of docs/performance.md for goals 1 and 2."""
    n, w = r["orders"], r["window"]
    rows = [
        (
            f"emulator RSS after {n:,} orders / after {w:,}",
            f"{r['rss_all_mb']} MB / {r['rss_window_mb']} MB = **{r['rss_ratio']}x**",
            f"<= {GOALS['rss_ratio_max']}x",
            r["rss_ratio"] <= GOALS["rss_ratio_max"],
        ),
        (
            f"throughput, orders {n - w + 1:,}-{n:,} / orders 1-{w:,}",
            f"{r['last_window_per_second']} / {r['first_window_per_second']} orders/s = **{r['throughput_ratio']}**",
            f">= {GOALS['throughput_ratio_min']} (within 20%)",
            r["throughput_ratio"] >= GOALS["throughput_ratio_min"],
        ),
        (
            "throughput, POST to stock reserved, whole run",
            f"**{r['orders_per_second']} orders/s**",
            f">= {GOALS['orders_per_second_min']:g} orders/s",
            r["orders_per_second"] >= GOALS["orders_per_second_min"],
        ),
        (
            "POST to stock reserved, p50 / p95",
            f"{r['reserved_p50_ms']} ms / **{r['reserved_p95_ms']} ms**",
            f"p95 <= {GOALS['reserved_p95_ms_max']:g} ms",
            r["reserved_p95_ms"] <= GOALS["reserved_p95_ms_max"],
        ),
        (
            "intake's answer (the accepted POST), p50 / p95",
            f"{r['intake_p50_ms']} ms / **{r['intake_p95_ms']} ms**",
            f"p95 <= {GOALS['intake_p95_ms_max']:g} ms",
            r["intake_p95_ms"] <= GOALS["intake_p95_ms_max"],
        ),
    ]
    table = "\n".join(f"| {what} | {value} | {goal} | {_verdict(met)} |" for what, value, goal, met in rows)
    curve = " | ".join(f"{int(k):,}" for k in r["rss_mb"])
    values = " | ".join(str(v) for v in r["rss_mb"].values())
    calls = r["wait_calls"]
    return f"""## (e) A day of orders through the local stack: memory, throughput over time, latency

Goals 1 and 2 of the performance issue, each measured in this one run: {n:,} signed, paid Shopify
orders from {r["senders"]} concurrent senders, every function of the template running (one worker
each), on a fresh stack. A sender sends its next order once the hub announces the last one
reserved.

How the benchmark waits: an EventBridge rule of its own on the hub bus sends every
`OrderStatusChanged` of a reserved order to an SQS queue of its own, which one thread long-polls for
all senders. Stock reserved is the `OrderStatusChanged` that stock_updates publishes after recording
the order with every unit held (`reserved` true, `previous` null); fulfilling is the one
order_routing publishes after recording the fulfilments (`status` "fulfilling"). Both are published
after the write, so the order reads that way by then. The waiting cost the emulator
{calls["ReceiveMessage"]:,} `ReceiveMessage` and {calls["DeleteMessageBatch"]:,} `DeleteMessageBatch` calls
and no DynamoDB request (polling `GET /orders/{{id}}` every 20 ms per sender, as before, cost an
admin API invocation and a DynamoDB read behind the emulator's DynamoDB lock each time).

Throughput in a window is the orders reserved in it over its time: orders 1-{w:,} from the first
POST to the {w:,}th order reserved, orders {n - w + 1:,}-{n:,} from the {n - w:,}th to the last. RSS
is `VmRSS` of the emulator process (`/proc/<pid>/status`).

| figure | measured | goal | verdict |
|---|---|---|---|
{table}

Emulator RSS (MB) after each tenth of the orders was reserved, then with every order fulfilling:

| orders reserved | {curve} | all fulfilling |
|{"---|" * (len(r["rss_mb"]) + 2)}
| RSS MB | {values} | {r["rss_drained_mb"]} |

The rest of each order's way, from the same run: POST to `fulfilling` p50 {r["fulfilling_p50_ms"]} ms,
p95 {r["fulfilling_p95_ms"]} ms; every order fulfilling at {r["fulfilling_per_second"]} orders/s over the
run; {r["retried_503"]} deliveries answered 503 and retried; {r["wall_seconds"]} s in all. The machine's
1-minute load average was {r["load_average"][0]} before and {r["load_average"][1]} after, on {r["cores"]} cores
(before the run it is what else the machine was doing).
"""
