"""CPU per order: what each process of the local stack spends on one order, and the rate it allows.

A closed loop of signed Shopify orders (as in through_stack: each sender sends its next order once
the last is reserved) runs until everything the orders caused has settled (bench.calls.Settler: no
message left in any queue, no request for a while). Meanwhile the CPU time of every process is read
from /proc (user + system, Linux): the AWS emulator, each function's workers, and this process,
which holds the runner (the HTTP API, the queue pollers, the schedules) and the senders.

From it, two ceilings, both upper bounds that assume no time is lost to waiting:
- the emulator's: it is one Python process, so it serves at most one core of requests;
- the machine's: every process together serves at most as many cores as the machine has.
The lower of the two bounds orders per second on this machine, whatever the latency.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.calls import Settler
from bench.completions import RESERVED, Completions
from bench.through_stack import send, stock_up

__all__ = ["render", "run"]

_TICKS = os.sysconf("SC_CLK_TCK")
RUNNER = "runner and senders"
EMULATOR = "AWS emulator"


def _cpu_seconds(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime, in clock ticks


def _function_name(pid: str) -> str | None:
    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return entry.split(b"=", 1)[1].decode()
    return None


def processes(emulator_pid: int) -> dict[str, float]:
    """CPU seconds so far of the emulator, of each function (its workers summed) and of this process."""
    spent = {EMULATOR: _cpu_seconds(emulator_pid), RUNNER: sum(os.times()[:2])}
    me = os.getpid()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            name = _function_name(pid) if parent == me else None
            if name:
                spent[name] = spent.get(name, 0.0) + _cpu_seconds(pid)
        except (OSError, ValueError):  # a worker that exited meanwhile
            continue
    return spent


def _requests(snapshot: dict[str, Any]) -> int:
    return sum(n for actions in snapshot["calls"].values() for n in actions.values())


def run(stack: Any, orders: int = 100, senders: int = 4, warm: int = 20, quiet: float = 1.0) -> dict[str, Any]:
    stock_up(stack, orders + warm)
    settler = Settler(stack, quiet, timeout=600)
    with Completions(stack) as completions:
        send(stack, completions, warm, senders, RESERVED)  # every function warm, caches filled
        settler.start()
        before, started = processes(stack.emulator_pid), time.perf_counter()
        send(stack, completions, orders, senders, RESERVED, offset=warm)
        settler.wait()
        after, wall = processes(stack.emulator_pid), time.perf_counter() - started
    served = _requests(stack.calls())
    per_order = {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / orders, 1)
        for name in sorted(after, key=lambda n: before.get(n, 0.0) - after[n])
    }
    total = sum(per_order.values())
    cores = os.cpu_count() or 1
    return {
        "orders": orders,
        "senders": senders,
        "wall_s": round(wall, 1),
        "cores": cores,
        "cpu_ms_per_order": per_order,
        "total_cpu_ms_per_order": round(total, 1),
        "requests_per_order": round(served / orders, 1),
        "emulator_ms_per_request": round(per_order[EMULATOR] * orders / served, 2) if served else None,
        "emulator_ceiling": round(1000 / per_order[EMULATOR], 1) if per_order[EMULATOR] else None,
        "machine_ceiling": round(cores * 1000 / total, 1) if total else None,
        "achieved": round(orders / wall, 2),
    }


def render(r: dict[str, Any]) -> str:
    rows = "\n".join(f"| {name} | {ms} |" for name, ms in r["cpu_ms_per_order"].items())
    return f"""
## CPU per order, and the rate it allows on this machine

{r["orders"]} signed Shopify orders from {r["senders"]} senders (each sends its next once the last is
reserved), measured until everything they caused had settled ({r["wall_s"]} s, so
{r["achieved"]} orders/s including the work after the last reservation). CPU time (user + system) of
every process of the local stack, per order:

| process | CPU ms per order |
|---|---|
{rows}
| **all** | **{r["total_cpu_ms_per_order"]}** |

The emulator served {r["requests_per_order"]} AWS requests per order (every request, the queue
pollers' empty receives included), {r["emulator_ms_per_request"]} ms of CPU each. Two ceilings follow,
both upper bounds that assume nothing ever waits:

| ceiling | orders/s |
|---|---|
| the emulator, one Python process: one core | {r["emulator_ceiling"]} |
| every process together: {r["cores"]} cores | {r["machine_ceiling"]} |

The issue's goal of 8 orders/s through the whole stack needs every process together to spend at most
{round(r["cores"] * 1000 / 8)} ms of CPU per order on {r["cores"]} cores, and the emulator at most 125 ms.
"""
