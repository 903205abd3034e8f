"""Memory size per function from measurement: AWS Lambda Power Tuning's method, approximated locally.

Power Tuning runs a function at several memory sizes in AWS and compares duration and cost. Here
the local stack runs each function once, in its own process, and measures per invocation the
handler's CPU time (`time.process_time()`) and wall time (functions.Usage). Lambda gives a function
CPU in proportion to its memory, one whole vCPU at 1,769 MB, so at memory M the same invocation
would take about

    duration(M) = cpu_ms * max(1, 1769 / M) + wait_ms,      wait_ms = wall_ms - cpu_ms

`wait_ms` is the time the handler spent not running on a CPU: waiting for the AWS emulator, for a
vendor's (fake) API, or to be scheduled on this busy 2-core machine. It stands for the AWS and
vendor round trips, and overstates them: moto answers far slower than DynamoDB and serialises its
requests. For each M the model gives the p95 duration and the cost of a million invocations
(GB-s at the arm64 price, billed per started millisecond, plus the request price). Each function
gets the cheapest M at which its own CPU time (per message, for a queue consumer) takes at most half
its latency budget at p95, whose memory holds its measured peak RSS with headroom, and at which a
cold start's CPU takes at most half its timeout (see `choose`).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from bench.through_stack import SKUS
from commerce_hub.client import sign_delivery

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "events" / "payloads"

MEMORY_SIZES = (128, 256, 512, 768, 1024)
FULL_VCPU_MB = 1769  # Lambda: "at 1,769 MB, a function has the equivalent of one vCPU"
# us-east-1, arm64, first tier (up to 7.5 billion GB-s a month); see bench/cost.py for the sources.
ARM64_USD_PER_GB_SECOND = Decimal("0.0000133334")
USD_PER_REQUEST = Decimal("0.20") / 1_000_000
HEADROOM = 1.5  # memory >= 1.5 x the measured peak RSS: larger orders than the benchmark's need more
CPU_SHARE = 0.5  # of a latency budget, what the function's own CPU may take: the rest is AWS round trips

# The latency each function may take at p95, in ms, and why (its CPU may take CPU_SHARE of it).
BUDGETS_MS: dict[str, int] = {
    "WebhookIntakeFunction": 300,  # a vendor waits on it; goal: intake p95 <= 300 ms
    "AdminApiFunction": 300,  # a person or the console waits on it
    "MarketingUnsubscribeFunction": 300,  # a shopper's browser waits on it
    "StockUpdatesFunction": 1000,  # on the order's path to "stock reserved" (goal: p95 <= 1.5 s)
    "PaymentConfirmationFunction": 1000,  # on the order's path to "paid"
    "OrderRoutingFunction": 1000,  # on the order's path to "fulfilling"
}
BACKGROUND_BUDGET_MS = 3000  # CRM, reporting, marketing, channel sync, resource fetch: nobody waits
SCHEDULED_BUDGET_MS = 10_000  # queue health, reconciler: once every few minutes


# ---------------------------------------------------------------- the arithmetic


def duration_ms(cpu_ms: float, wall_ms: float, memory_mb: int) -> float:
    """The modelled duration at `memory_mb` of an invocation measured locally (one local core)."""
    wait = max(0.0, wall_ms - cpu_ms)
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + wait


def invocation_usd(duration: float, memory_mb: int) -> Decimal:
    """What one invocation costs: its duration billed per started ms at memory_mb, plus the request."""
    billed_ms = math.ceil(duration)
    gb_seconds = Decimal(billed_ms) / 1000 * Decimal(memory_mb) / 1024
    return gb_seconds * ARM64_USD_PER_GB_SECOND + USD_PER_REQUEST


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def model(
    cpu_ms: Sequence[float],
    wall_ms: Sequence[float],
    sizes: Iterable[int] = MEMORY_SIZES,
    records: Sequence[int] | None = None,
) -> dict[int, dict]:
    """For each memory size: p95 and mean modelled duration, p95 of its CPU part alone per message
    (a batch's CPU divided by its `records`), mean billed duration (whole ms), and USD per million
    invocations."""
    per_message = [c / max(1, n) for c, n in zip(cpu_ms, records or [1] * len(cpu_ms), strict=True)]
    table = {}
    for memory in sizes:
        durations = [duration_ms(c, w, memory) for c, w in zip(cpu_ms, wall_ms, strict=True)]
        usd = sum((invocation_usd(d, memory) for d in durations), Decimal(0)) / len(durations)
        table[memory] = {
            "p95_ms": round(percentile(durations, 95), 1),
            "cpu_p95_ms": round(percentile([c * max(1.0, FULL_VCPU_MB / memory) for c in per_message], 95), 1),
            "mean_ms": round(statistics.fmean(durations), 1),
            "billed_ms": round(statistics.fmean(math.ceil(d) for d in durations), 3),
            "usd_per_million": (usd * 1_000_000).quantize(Decimal("0.0001")),
        }
    return table


def choose(
    table: Mapping[int, Mapping],
    peak_rss_mb: float,
    budget_ms: float,
    cold_cpu_ms: float = 0.0,
    timeout_ms: float = math.inf,
) -> tuple[int, str]:
    """The cheapest size that holds peak RSS x HEADROOM, whose cold start (the first event's CPU:
    imports, clients) takes at most half the function's timeout, and whose p95 CPU time takes at
    most CPU_SHARE of the latency budget. The budget is judged on the CPU part, the part memory
    changes: the waiting measured here is the emulator's, far longer than DynamoDB's, and no size
    changes it. When no size meets it, the largest tested."""
    sizes = sorted(table)
    fits = [
        m for m in sizes if peak_rss_mb * HEADROOM <= m and cold_cpu_ms * max(1.0, FULL_VCPU_MB / m) <= timeout_ms / 2
    ]
    if not fits:
        return sizes[-1], f"peak RSS {peak_rss_mb:.0f} MB or its cold start needs more than {sizes[-1]} MB"
    cpu_budget = budget_ms * CPU_SHARE
    within = [m for m in fits if table[m]["cpu_p95_ms"] <= cpu_budget]
    if not within:
        largest = fits[-1]
        return largest, (
            f"CPU p95 {table[largest]['cpu_p95_ms']:.0f} ms even at {largest} MB, over {cpu_budget:.0f} ms: the largest tested"
        )
    chosen = min(within, key=lambda m: (table[m]["usd_per_million"], m))
    why = f"cheapest with CPU p95 <= {cpu_budget:.0f} ms"
    if chosen == fits[0] and fits[0] > sizes[0]:
        why += f"; the smallest that holds {peak_rss_mb:.0f} MB x {HEADROOM} and a {cold_cpu_ms:.0f} ms CPU cold start"
    return chosen, why


def budget_of(logical_id: str, scheduled: bool) -> int:
    if logical_id in BUDGETS_MS:
        return BUDGETS_MS[logical_id]
    return SCHEDULED_BUDGET_MS if scheduled else BACKGROUND_BUDGET_MS


def size_functions(
    usage: Mapping[str, Mapping[str, Any]],
    orders: int,
    configured: Mapping[str, int],
    scheduled: Iterable[str] = (),
    not_per_order: Mapping[str, int] | None = None,
    cold_cpu_ms: Mapping[str, float] | None = None,
    timeouts: Mapping[str, int] | None = None,
) -> dict[str, dict]:
    """The figures and the choice per function from LocalStack.function_usage() after `orders` orders.

    `not_per_order` counts invocations the benchmark made itself (its polls of the admin API, its
    stock settings, the schedules it fired), left out of invocations per order; `cold_cpu_ms` is the
    CPU of each function's first event, `timeouts` its Timeout in seconds."""
    scheduled, extra = set(scheduled), dict(not_per_order or {})
    out: dict[str, dict] = {}
    for logical_id in sorted(usage):
        u = usage[logical_id]
        row: dict[str, Any] = {
            "invocations": u["invocations"],
            "per_order": round(max(0, u["invocations"] - extra.get(logical_id, 0)) / orders, 3) if orders else 0.0,
            "configured_mb": configured.get(logical_id),
            "budget_ms": budget_of(logical_id, logical_id in scheduled),
        }
        if u["cpu_ms"]:
            cpu, wall = u["cpu_ms"], u["wall_ms"]
            wait = [max(0.0, w - c) for c, w in zip(cpu, wall, strict=True)]
            peak = u["peak_rss_kb"] / 1024
            records = u.get("records") or [1] * len(cpu)
            table = model(cpu, wall, records=records)
            cold = (cold_cpu_ms or {}).get(logical_id, 0.0)
            timeout_ms = (timeouts or {}).get(logical_id, 900) * 1000
            chosen, why = choose(table, peak, row["budget_ms"], cold, timeout_ms)
            row.update(
                cpu_ms={"p50": round(statistics.median(cpu), 1), "p95": round(percentile(cpu, 95), 1)},
                wait_ms={"p50": round(statistics.median(wait), 1), "p95": round(percentile(wait, 95), 1)},
                peak_rss_mb=round(peak, 1),
                batch=round(statistics.fmean(records), 1),
                cold_cpu_ms=round(cold, 1),
                sizes=table,
                chosen_mb=chosen,
                why=why,
            )
        out[logical_id] = row
    return out


def configured_memory(template_path: Path = ROOT / "template.yaml") -> tuple[dict[str, int], set[str]]:
    """MemorySize of every function in the template (its own, else Globals) and those run on a schedule."""
    memory, scheduled, _ = template_functions(template_path)
    return memory, scheduled


def template_functions(template_path: Path = ROOT / "template.yaml") -> tuple[dict[str, int], set[str], dict[str, int]]:
    """(MemorySize, the functions run on a schedule, Timeout) of the template's functions."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(template_path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    globals_ = template.get("Globals", {}).get("Function", {}) or {}
    default, default_timeout = globals_.get("MemorySize"), globals_.get("Timeout", 3)
    memory, scheduled, timeouts = {}, set(), {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        memory[logical_id] = properties.get("MemorySize", default)
        timeouts[logical_id] = properties.get("Timeout", default_timeout)
        events = (properties.get("Events") or {}).values()
        if any(e.get("Type") in ("Schedule", "ScheduleV2") for e in events):
            scheduled.add(logical_id)
    return memory, scheduled, timeouts


# ---------------------------------------------------------------- the load


def _shopify_order(order_id: int) -> bytes:
    body = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    sku = SKUS[order_id % len(SKUS)]
    email = f"buyer{order_id % 997}@example.com"  # customers who come back, as in a real shop
    body.update(id=order_id, name=f"#{order_id}", total_price="20.00", email=email, financial_status="paid")
    body["customer"] = dict(body.get("customer") or {}, id=order_id % 997 + 1, email=email)
    body["line_items"] = [{"id": order_id, "sku": sku, "quantity": 1, "price": "20.00", "title": sku}]
    return json.dumps(body).encode()


def _woocommerce_order(number: int) -> bytes:
    body = json.loads((PAYLOADS / "woocommerce_order_created.json").read_text())
    sku = SKUS[number % len(SKUS)]
    body.update(id=number, number=str(number), status="pending", date_paid=None, date_paid_gmt=None, total="20.00",
                currency="USD", refunds=[], date_modified_gmt=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))  # fmt: skip
    body["billing"] = dict(body.get("billing") or {}, email=f"buyer{number % 997}@example.com")
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=1, total="20.00", price=20)]
    return json.dumps(body).encode()


def _stripe_payment(number: int) -> bytes:
    body = json.loads((PAYLOADS / "stripe_payment_intent_succeeded.json").read_text())
    body.update(id=f"evt_bench_{number}", created=int(time.time()))
    body["data"]["object"].update(id=f"pi_bench_{number}", amount=2000, amount_received=2000, currency="usd")
    body["data"]["object"]["metadata"] = {"order_id": str(number), "channel": "woocommerce"}
    return json.dumps(body).encode()


def _delivered(tracking: str) -> bytes:
    body = json.loads((PAYLOADS / "shippo_track_updated.json").read_text())
    body["data"].update(tracking_number=tracking, metadata=None)
    body["data"]["tracking_status"].update(
        status="DELIVERED", status_date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    return json.dumps(body).encode()


class _Driver:
    """Orders through their whole life on the running stack, counting its own admin API requests."""

    def __init__(self, stack: Any, senders: int) -> None:
        self.stack = stack
        self.http = httpx.Client(
            base_url=stack.url,
            timeout=60,
            headers={"Authorization": f"Bearer {stack.api_token}"},
            limits=httpx.Limits(max_connections=senders * 2),
        )
        self.admin_requests = 0  # GETs and PUTs of the benchmark: not per-order work

    def send(self, source: str, body: bytes, topic: str | None) -> None:
        delivery = sign_delivery(source, body, topic=topic, secrets=self.stack.secrets, url=self.stack.url)
        while True:
            response = self.http.post(
                f"/webhooks/{source}", content=delivery.body, headers=delivery.headers, params=delivery.params or None
            )
            if response.status_code != 503:
                break
            time.sleep(1.0)  # as a vendor retries
        if response.status_code != 200:
            raise RuntimeError(f"{source} delivery answered {response.status_code}: {response.text}")

    def wait_status(self, order_id: str, want: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.admin_requests += 1
            got = self.http.get(f"/orders/{quote(order_id)}")
            if got.status_code == 200 and got.json()["status"] == want:
                return
            time.sleep(0.25)  # light polling: the load is what is measured, not the waiting
        raise RuntimeError(f"{order_id} did not reach {want} in {timeout:.0f} s")

    def lifecycle(self, i: int, base: int, gateway_every: int) -> None:
        """Placed and paid -> fulfilling -> shipped (by hand, the admin API) -> delivered (Shippo)."""
        number = base + i
        if gateway_every and i % gateway_every == gateway_every - 1:
            order_id = f"woocommerce:{number}"
            self.send("woocommerce", _woocommerce_order(number), "order.created")
            self.wait_status(order_id, "pending_payment")
            self.send("stripe", _stripe_payment(number), None)
        else:
            order_id = f"shopify:{number}"
            self.send("shopify", _shopify_order(number), "orders/create")
        self.wait_status(order_id, "fulfilling")
        tracking = f"9400{number:018d}"[-22:]
        shipped = self.http.post(
            f"/orders/{quote(order_id)}/shipments", json={"tracking_number": tracking, "carrier": "USPS"}
        )
        shipped.raise_for_status()
        self.wait_status(order_id, "shipped")
        self.send("shippo", _delivered(tracking), None)
        self.wait_status(order_id, "delivered")

    def settle(self, quiet: float = 3.0, timeout: float = 120.0) -> None:
        """Until no function has been invoked for `quiet` seconds (CRM, reporting, marketing finish)."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            total = sum(len(u["cpu_ms"]) for u in self.stack.function_usage().values())
            if total != last:
                last, since = total, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.5)


def run(stack: Any, orders: int = 60, senders: int = 4, gateway_every: int = 4) -> dict:
    """Drive `orders` orders through their whole life (one in `gateway_every` a WooCommerce order
    paid by a Stripe webhook, the rest paid Shopify orders), fire each schedule a few times, and
    size every function from what its invocations used."""
    driver = _Driver(stack, senders)
    configured, scheduled, timeouts = template_functions(stack.root / "template.yaml")
    schedules = [s for s in stack.schedules if s.function in scheduled]
    for sku in SKUS:
        driver.http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": orders + 10}).raise_for_status()
    # Warm every worker first: handlers import boto3 and make their clients on their first event, a
    # cold start AWS pays once per sandbox, not per order (its import times are in section (b)).
    base = int(time.time() * 1000) % 10**9 * 1000
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda i: driver.lifecycle(i, base, 2), range(2)))
    for schedule in schedules:
        stack.fire_schedule(schedule.logical_id)
    driver.settle(quiet=2.0)
    warm_up = stack.function_usage(reset=True)
    cold_cpu = {name: max(u["cpu_ms"]) for name, u in warm_up.items() if u["cpu_ms"]}
    driver.admin_requests = 0
    fired: dict[str, int] = {}
    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(lambda i: driver.lifecycle(i, base + 10, gateway_every), range(orders)))
    for schedule in schedules:
        for _ in range(3):
            stack.fire_schedule(schedule.logical_id)
            fired[schedule.function] = fired.get(schedule.function, 0) + 1
    driver.settle()
    wall = time.perf_counter() - start
    usage = stack.function_usage()
    driver.http.close()
    not_per_order = dict(fired)
    not_per_order["AdminApiFunction"] = driver.admin_requests
    return {
        "orders": orders,
        "senders": senders,
        "cpu": _cpu_model(),
        "gateway_every": gateway_every,
        "seconds": round(wall, 1),
        "functions": size_functions(usage, orders, configured, scheduled, not_per_order, cold_cpu, timeouts),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "local CPU"


# ---------------------------------------------------------------- the section of docs/performance.md


def render(r: dict) -> str:
    functions = r["functions"]
    head = "| function | invocations per order | batch | CPU p50/p95 ms | wait p50/p95 ms | peak RSS MB |"
    for memory in MEMORY_SIZES:
        head += f" {memory} MB: p95 (CPU) ms, $/1M |"
    head += " budget ms | chosen MB | template MB |"
    rule = "|" + "---|" * (head.count("|") - 1)
    rows = []
    for name, f in functions.items():
        short = name.removesuffix("Function")
        if "sizes" not in f:
            rows.append(f"| {short} | {f['per_order']} | not invoked by the load |" + " |" * (len(MEMORY_SIZES) + 3)
                        + f" {f['budget_ms']} | - | {f['configured_mb']} |")  # fmt: skip
            continue
        cells = []
        for memory in MEMORY_SIZES:
            size = f["sizes"][memory]
            mark = "**" if memory == f["chosen_mb"] else ""
            cells.append(f"{mark}{size['p95_ms']:.0f} ({size['cpu_p95_ms']:.0f}), {size['usd_per_million']:.2f}{mark}")
        flag = "" if f["configured_mb"] == f["chosen_mb"] else " (differs)"
        rows.append(
            f"| {short} | {f['per_order']} | {f['batch']} | {f['cpu_ms']['p50']}/{f['cpu_ms']['p95']} | "
            f"{f['wait_ms']['p50']}/{f['wait_ms']['p95']} | {f['peak_rss_mb']} | "
            + " | ".join(cells)
            + f" | {f['budget_ms']} | {f['chosen_mb']} | {f['configured_mb']}{flag} |"
        )
    why = "\n".join(f"- {name.removesuffix('Function')}: {f['why']}." for name, f in functions.items() if "why" in f)
    gateway = f"one in {r['gateway_every']}" if r["gateway_every"] else "none"
    return f"""
## (g) Memory size per function (AWS Lambda Power Tuning, approximated locally)

{r["orders"]} orders through their whole life from {r["senders"]} senders in {r["seconds"]} s: placed and
paid (a Shopify `orders/create`; {gateway} a WooCommerce order paid by a Stripe
`payment_intent.succeeded`) -> fulfilling -> shipped (the admin API) -> delivered (Shippo), with CRM,
reporting and marketing as the local configuration deploys them; then each schedule fired three
times. Every invocation's CPU time (`time.process_time()`) and wall time are measured in the worker.

Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB, so at memory M an invocation takes
about `cpu_ms x max(1, 1769 / M) + wait_ms`, with `wait_ms = wall_ms - cpu_ms` measured here. The
wait stands for the AWS and vendor round trips; it overstates them (moto is far slower than
DynamoDB, and this 2-core machine is shared by every worker and the emulator), which makes memory
look less useful than it is. The CPU time is this machine's ({r.get("cpu", "local CPU")}), not a
Graviton2 core's. Each cell: p95 modelled duration, p95 of its CPU part alone (per message), and
USD per million invocations at the arm64
price (${ARM64_USD_PER_GB_SECOND} per GB-s, billed per started ms, plus $0.20 per million requests).
Invocations per order leave out the benchmark's own admin API polls and the schedules it fired.

{head}
{rule}
{chr(10).join(rows)}

The choice: the cheapest size at which the function's own CPU time takes at most half its latency
budget at p95 (budgets: 300 ms where a sender or a person waits on the answer; 1,000 ms on an
order's way to reserved, paid and fulfilling; {BACKGROUND_BUDGET_MS:,} ms in the background; {SCHEDULED_BUDGET_MS:,} ms on a schedule;
the other half is for the AWS round trips, which memory does not change and which the emulator
makes far slower than AWS), whose memory holds the measured peak RSS x {HEADROOM} (larger orders, up to
1 MiB bodies and 250 lines, take more than the benchmark's), and at which the first event of a cold
sandbox (its CPU measured while warming up: boto3 is imported and the clients made then) takes at
most half the function's timeout. A queue consumer's CPU is judged per message (its batch's CPU
divided by the batch's size, "batch" being the mean here): at a steady 1M orders a month, 0.4 a
second, its batches hold about one message, where the benchmark's queues fill faster than some
consumers drain them. Durations and costs stay per invocation, as billed.
`template.yaml` sets each function's `MemorySize` to the chosen size; "(differs)" marks a function
whose measurement moved since. Functions the load does not invoke (an unsubscribe click; the
resource fetch of thin BigCommerce and Magento webhooks) keep 512 MB. The reconciler has no vendor
credentials locally, so its runs stop before listing anything.

{why}
"""
