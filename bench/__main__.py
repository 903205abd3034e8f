"""`make bench`: every benchmark in one run; the figures go to docs/performance.md."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    budget,
    calls,
    coldstart,
    console,
    cost,
    flash_sale,
    intake,
    lifecycle,
    sizing,
    sustained,
    through_stack,
)
from commerce_hub.local import LocalStack
from commerce_hub.local.console import Console

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "performance.md"


def fresh_stack() -> LocalStack:
    """A new local stack on free ports, quiet, with none of the developer's HUB_ settings: each
    benchmark starts from an empty emulator, so none pays for what another left behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return LocalStack(ROOT, http_port=0, aws_port=0, env=env, console=Console(verbose=False, quiet=True))


def main() -> int:
    # The emulator's dummy account; nothing here may reach real AWS.
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_PROFILE", None)
    quick = "--quick" in sys.argv
    if "--console" in sys.argv:
        # The console's figure alone (python -m bench --console), written into its section.
        with fresh_stack() as stack:
            result = console.run(stack, orders=1000, loads=20)
        print(json.dumps(result, indent=2))
        OUT.write_text(with_section(OUT.read_text(), console.render(result)))
        print(f"wrote {OUT.relative_to(ROOT)}")
        return 0
    results: dict = {"machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"}
    print("flash sale model ...", flush=True)
    results["flash"] = flash_sale.run(quick=quick)
    print("cold start ...", flush=True)
    results["coldstart"] = coldstart.run(rounds=3 if quick else 7)
    with fresh_stack() as stack:
        print("intake in-process ...", flush=True)
        results["intake"] = intake.run(stack, webhooks=50 if quick else 300)
        print("cold first webhook ...", flush=True)
        results["cold"] = intake.cold(stack, rounds=2 if quick else 7)
    with fresh_stack() as stack:
        print("through the local stack ...", flush=True)
        results["stack"] = through_stack.run(stack, orders=50 if quick else 200, senders=4)
    with fresh_stack() as stack:
        print("CPU per order ...", flush=True)
        results["budget"] = budget.run(stack, orders=20 if quick else 100, warm=5 if quick else 20)
    with fresh_stack() as stack:
        print("paid order to fulfilling ...", flush=True)
        results["lifecycle"] = lifecycle.run(stack, orders=30 if quick else 80)
    with fresh_stack() as stack:
        print("a day of orders (goals 1 and 2) ...", flush=True)
        results["sustained"] = sustained.run(stack, orders=60 if quick else 1000, senders=4)
    with fresh_stack() as stack:
        print("AWS calls per order ...", flush=True)
        results["calls"] = calls.run(stack, orders=1 if quick else 3, quiet=1.0 if quick else 2.0)
    with fresh_stack() as stack:
        print("memory size per function ...", flush=True)
        results["sizing"] = sizing.run(stack, orders=8 if quick else 60)
    results["cost"] = cost.run(results.get("calls"), results["sizing"])
    with fresh_stack() as stack:
        print("the console's orders page ...", flush=True)
        results["console"] = console.run(stack, orders=100 if quick else 1000, loads=5 if quick else 20)
    print(json.dumps(results, indent=2, default=str))
    if not quick:
        OUT.write_text(render(results))
        print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


def render(r: dict) -> str:
    cs, it, st, cold, lc = r["coldstart"], r["intake"], r["stack"], r["cold"], r["lifecycle"]
    rows = "\n".join(
        f"| {name} | {v['import_ms']} | {v['ratio_to_boto3']} |" for name, v in sorted(cs["functions"].items())
    )
    page = f"""# Performance

Measured by `make bench` on {datetime.now(UTC).date()} ({r["machine"]}). Each figure is a ratio or
a rate measured in one run, so both sides of a ratio saw the same machine. The local stack runs
AWS in moto, which is much slower than AWS itself: the figures compare the hub with its floor and
show where time goes, they do not predict latency in AWS.

## (a) Intake in-process, per webhook, against the floor

The `webhook_intake` handler called in-process with a signed Shopify `orders/create` event,
against the floor: HMAC verify + `json.loads` + the same AWS calls made directly with boto3 on
the same emulator (conditional put of the dedupe record, `PutEvents`, update of the record).
{it["webhooks"]} webhooks each, alternated.

| | median ms | p95 ms |
|---|---|---|
| handler | {it["handler_median_ms"]} | {it["handler_p95_ms"]} |
| floor | {it["floor_median_ms"]} | {it["floor_p95_ms"]} |
| **ratio** | **{it["ratio"]}** | |

## (b) Cold start: handler import time against `import boto3`

Median of {cs["rounds"]} fresh interpreters each; the bare interpreter start
({cs["interpreter_ms"]} ms) is subtracted. `import boto3` alone: {cs["boto3_ms"]} ms. Handlers
import boto3 only when their composition root first runs (the first invocation), so this is the
part of a cold start spent before the first event.

| function | import ms | ratio to `import boto3` |
|---|---|---|
{rows}

### The first webhook of a cold sandbox

A fresh interpreter imports the intake handler and serves one signed Shopify order against the
emulator (boto3 imported, clients made, secret and configuration read, idempotency record,
`PutEvents`), against the floor doing the same from a fresh interpreter (import boto3, HMAC,
`json.loads`, the same three calls). Median of {cold["rounds"]} each. Shopify allows 5 s.

| | import ms | first call ms | wall ms (process start to answer) |
|---|---|---|---|
| handler | {cold["handler"]["import_ms"]} | {cold["handler"]["first_call_ms"]} | {cold["handler"]["wall_ms"]} |
| floor | {cold["floor"]["import_ms"]} | {cold["floor"]["first_call_ms"]} | {cold["floor"]["wall_ms"]} |
| **ratio (wall)** | | | **{cold["ratio_wall"]}** |

## (c) Through the local stack

{st["orders"]} signed Shopify orders from {st["senders"]} concurrent senders; each latency runs from
the POST to the moment the hub announces the order's stock reserved (intake -> EventBridge -> SQS ->
stock_updates -> DynamoDB, then its `OrderStatusChanged`, read as in (e)), one worker per function.

| orders/s | p50 ms | p95 ms | deliveries answered 503 and retried |
|---|---|---|---|
| {st["orders_per_second"]} | {st["p50_ms"]} | {st["p95_ms"]} | {st["retried_503"]} |

## (d) A paid order to `fulfilling` through the local stack

{lc["orders"]} paid Shopify orders from {lc["senders"]} concurrent senders; each latency runs from the
POST to the moment the hub announces the order `fulfilling` (intake -> stock_updates records and
reserves -> OrderStatusChanged -> order_routing chooses the location, records the fulfilment and
announces it, read as in (e)).

| orders/s | p50 ms | p95 ms | deliveries answered 503 and retried |
|---|---|---|---|
| {lc["orders_per_second"]} | {lc["p50_ms"]} | {lc["p95_ms"]} | {lc["retried_503"]} |

{budget.render(r["budget"])}
{sustained.render(r["sustained"])}

{flash_sale.render(r["flash"])}
"""
    return with_section(
        page + calls.render(r) + sizing.render(r["sizing"]) + cost.render(r["cost"]), console.render(r.get("console"))
    )


def with_section(text: str, section: str) -> str:
    """`text` with the section whose heading `section` starts with put in place of the one it has,
    or before the first section after it in the usual order (the cost), or at the end."""
    if not section:
        return text
    heading = section.split("\n", 1)[0].split(" with ", 1)[0]
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        return text[:start] + section.rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")
    cost_at = text.find("\n## (h) Cost")
    if cost_at >= 0:
        return text[: cost_at + 1] + section.rstrip("\n") + "\n\n" + text[cost_at + 1 :]
    return text.rstrip("\n") + "\n\n" + section


if __name__ == "__main__":
    raise SystemExit(main())
