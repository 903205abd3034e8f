"""A flash sale of 500 orders/s on one SKU, on AWS: a model on paper against DynamoDB's documented
limits, and a discrete, seeded, in-process simulation of the stock ledger at that rate with those
limits enforced (per-item write units, transaction conflicts), for today's single stock row per
SKU/location and for the sharded design (`stock.shards`, docs/stock.md#hot-skus-sharded-stock).

The simulation plans each order with the hub's own domain code (`draw_from_shards`,
`rebalance_moves`, `split_units`, `home_shard`) and retries as `StockService.place_order` does
(`hub.services.retry.Patience`: full jitter, 10 ms doubling to 500 ms, until the record's deadline).
Nothing here talks to AWS or to the emulator: it runs in a second and is deterministic (seeded).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from typing import Any

from hub.domain.stock import HEAD, draw_from_shards, home_shard, rebalance_moves, split_units
from hub.errors import InsufficientStockError

# ----------------------------------------------------------------------------------- documented limits
DOCS = {
    "partition": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html",
    "adaptive": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html",
    "transactions": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html",
    "units": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html",
    "on_demand": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html",
    "prewarm": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/pre-warming-on-demand-capacity-mode.html",
    "hot_partitions": (
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html"
    ),
    "lambda_scaling": "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
    "lambda_concurrency": "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "sqs_scaling": "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
    "sqs_parameters": "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html",
    "eventbridge_quotas": "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
    "putevents": "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html",
}

ITEM_WCU = 1_000  # write units a second one partition (so one item) serves
PARTITION_RCU = 3_000  # read units a second one partition serves
TXN_WCU_PER_KB = 2  # a transactional write costs two write units per KB (two underlying writes)
TXN_RCU_PER_4KB = 2  # a transactional read: two read units per 4 KB
TABLE_QUOTA = 40_000  # on-demand table-level read and write request units a second, default (adjustable)
NEW_TABLE_WRITES, NEW_TABLE_READS = 4_000, 12_000  # a new on-demand table, before it has seen a peak
STOCK_ITEM_KB = 1  # a stock row or shard is well under 1 KB: one unit per (transactional half of a) write

RATE = 500  # orders a second, all for the same SKU at the same location
BASE_TXN_MS = 15.0  # time a TransactWriteItems holds its items (not documented: the model varies it)
TXN_MS = (5.0, 15.0, 30.0, 50.0)
SHARD_CHOICES = (1, 2, 4, 8, 16, 32, 64)
MAX_CONFLICT = 0.20  # at most one attempt in five cancelled by another transaction on the same shard
MAX_ITEM_SHARE = 0.5  # at most half an item's write units, leaving room for retries and releases


def conflict_probability(rate_per_item: float, txn_ms: float) -> float:
    """The share of transactions that find their item held by another one: the item is a single
    server that holds each transaction for `txn_ms` and turns away the ones arriving meanwhile
    (DynamoDB cancels them with TransactionConflict): Erlang's loss formula with one server."""
    load = rate_per_item * txn_ms / 1000
    return load / (1 + load)


def reads_per_order(shards: int) -> int:
    """Read units one order costs on the hot SKU, as the hub reads it: the placement reads the
    location rows (Query, 1 unit) and, sharded, every shard (BatchGetItem, 1 unit each, strongly
    consistent); the low-stock check on its StockLevelChanged reads them again, plus `LOW`. The
    published levels of a sharded SKU come from the placement's read, not a third one."""
    rows = 1 + (shards if shards > 1 else 0)
    after_placement = 0 if shards > 1 else 1  # an unsharded placement reads the levels again to publish them
    return rows + rows * after_placement + rows + 1


def model(rate: int = RATE) -> dict[str, Any]:
    """The paper model: for each shard count, the write units on the busiest item, the conflict
    probability at each transaction time, the ceiling a held item puts on transactions, and the
    read units per partition and for the table; then the shard count the limits call for."""
    rows = []
    for shards in SHARD_CHOICES:
        per_item = rate / shards
        wcu = per_item * TXN_WCU_PER_KB * STOCK_ITEM_KB
        reads = reads_per_order(shards)
        row_partition_rcu = rate * (2 + (1 if shards == 1 else 0) + 1)  # Query x2 (+1 unsharded) + LOW
        shard_partition_rcu = rate * 2 if shards > 1 else 0
        rows.append(
            {
                "shards": shards,
                "orders_per_item": round(per_item, 1),
                "wcu_per_item": round(wcu),
                "wcu_share": round(wcu / ITEM_WCU, 3),
                "conflict": {f"{ms:g}": round(conflict_probability(per_item, ms), 3) for ms in TXN_MS},
                "ceiling_orders_per_s": round(shards * 1000 / BASE_TXN_MS),
                "read_units_per_order": reads,
                "table_rcu": rate * reads,
                "row_partition_rcu": row_partition_rcu,
                "shard_partition_rcu": shard_partition_rcu,
            }
        )
    chosen = next(
        r["shards"]
        for r in rows
        if r["wcu_share"] <= MAX_ITEM_SHARE
        and r["conflict"][f"{BASE_TXN_MS:g}"] <= MAX_CONFLICT
        and r["table_rcu"] <= TABLE_QUOTA
        and r["shard_partition_rcu"] <= PARTITION_RCU
        and r["row_partition_rcu"] <= PARTITION_RCU
    )
    return {"rate": rate, "base_txn_ms": BASE_TXN_MS, "rows": rows, "chosen": chosen}


# ----------------------------------------------------------------------------------- simulation
@dataclass
class _Item:
    available: int = 0
    reserved: int = 0
    held_until: float = 0.0  # a transaction holds the item until then
    tokens: float = ITEM_WCU  # write units left in the item's bucket (refilled at ITEM_WCU a second)
    refilled: float = 0.0
    writes: dict[int, int] = field(default_factory=dict)  # write units per whole second

    def take_units(self, now: float, units: int) -> bool:
        self.tokens = min(ITEM_WCU, self.tokens + (now - self.refilled) * ITEM_WCU)
        self.refilled = now
        if self.tokens < units:
            return False
        self.tokens -= units
        second = int(now)
        self.writes[second] = self.writes.get(second, 0) + units
        return True


@dataclass
class _Order:
    number: int
    key: str
    quantity: int
    arrived: float
    attempts: int = 0
    outcome: str = ""
    decided: float = 0.0


class Sale:
    """One SKU at one location, `shards` rows (1: today's single row), orders arriving at `rate` a
    second (Poisson) for `seconds`, `stock` units. Each attempt reads the committed rows, plans with
    the domain, and starts its transaction `read_ms` later: it is cancelled if an item is held by
    another transaction (TransactionConflict), throttled if an item has no write units left, and
    refused if a draw's `available >= units` fails; otherwise it holds its items for a transaction
    time (log-normal around `txn_ms`) and its changes land at the end. Placements that fell over
    rebalance as the service does; a few orders are cancelled later, releasing to the row."""

    def __init__(
        self,
        *,
        shards: int,
        rate: int = RATE,
        seconds: float = 10.0,
        stock: int = 4_000,
        txn_ms: float = BASE_TXN_MS,
        read_ms: float = 4.0,
        budget_s: float = 10.0,
        cancel_share: float = 0.02,
        seed: int = 12,
    ) -> None:
        self.shards, self.rate, self.seconds, self.stock = shards, rate, seconds, stock
        self.txn_ms, self.read_ms, self.budget_s, self.cancel_share = txn_ms, read_ms, budget_s, cancel_share
        self.random = random.Random(seed)
        self.items: dict[int, _Item] = {HEAD: _Item()}
        if shards > 1:
            for n, units in enumerate(split_units(stock, shards)):
                self.items[n] = _Item(available=units)
        else:
            self.items[HEAD].available = stock
        self.queue: list[tuple[float, int, str, Any]] = []
        self.sequence = 0
        self.orders: list[_Order] = []
        self.counts = {"conflicts": 0, "throttled": 0, "refused": 0, "moves": 0, "moves_skipped": 0, "released": 0}
        self.committed_at = 0.0  # when the last transaction let go of its rows
        self.lowest = 0  # the lowest `available` any row ever held (below zero would be an oversell)

    # --------------------------------------------------------------------------------- machinery
    def _at(self, when: float, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (when, self.sequence, kind, payload))

    def _hold(self) -> float:
        return self.txn_ms / 1000 * math.exp(self.random.gauss(0, 0.35))

    def _try(self, now: float, changes: list[tuple[int, int, int]]) -> str:
        """One transaction over `changes` (row, available delta, reserved delta) at `now`: "ok",
        "conflict", "throttled" or "refused"; on "ok" the rows are held and the changes land later."""
        rows = [self.items[row] for row, _, _ in changes]
        if any(item.held_until > now for item in rows):
            return "conflict"
        if any(item.available + delta < 0 for item, (_, delta, _) in zip(rows, changes, strict=True)):
            return "refused"
        if not all(item.take_units(now, TXN_WCU_PER_KB * STOCK_ITEM_KB) for item in rows):
            return "throttled"
        end = now + self._hold()
        self.committed_at = end
        for item in rows:
            item.held_until = end
        self._at(end, "commit", changes)
        return "ok"

    def _wait(self, attempt: int) -> float:
        return self.random.random() * min(0.5, 0.01 * 2 ** min(attempt, 16))

    # --------------------------------------------------------------------------------- the sale
    def run(self) -> dict[str, Any]:
        now, number = 0.0, 0
        while True:
            now += self.random.expovariate(self.rate)
            if now >= self.seconds:
                break
            order = _Order(number, f"shopify:{7_000_000 + number}", 2 if self.random.random() < 0.1 else 1, now)
            self.orders.append(order)
            self._at(now, "attempt", order)
            number += 1
        while self.queue:
            now, _seq, kind, payload = heapq.heappop(self.queue)
            if kind == "attempt":
                self._attempt(now, payload)
            elif kind == "commit":
                for row, available, reserved in payload:
                    item = self.items[row]
                    item.available += available
                    item.reserved += reserved
                    self.lowest = min(self.lowest, item.available)
            elif kind == "transact":
                self._transact(now, *payload)
            elif kind == "move":
                self._move(now, payload)
            elif kind == "release":
                self._release(now, *payload)
        return self._results()

    def _attempt(self, now: float, order: _Order) -> None:
        order.attempts += 1
        shards = tuple(self.items[n].available for n in range(self.shards)) if self.shards > 1 else ()
        spare = self.items[HEAD].available
        try:
            draws = draw_from_shards(order.key, order.quantity, shards, spare) if shards else []
            if not shards and spare < order.quantity:
                raise InsufficientStockError({"": order.quantity - spare})
        except InsufficientStockError:
            order.outcome, order.decided = "held", now  # on hold, holding nothing (as the hub does today)
            return
        changes = [(d.shard, -d.units, d.units) for d in draws] or [(HEAD, -order.quantity, order.quantity)]
        # The transaction reaches DynamoDB after the read: it is judged then, in time order.
        self._at(now + self.read_ms / 1000, "transact", (order, changes, draws, shards, spare))

    def _transact(self, now: float, order: _Order, changes: list, draws: list, shards: tuple, spare: int) -> None:
        result = self._try(now, changes)
        if result == "ok":
            order.outcome, order.decided = "reserved", self.committed_at
            if self.random.random() < self.cancel_share:
                self._at(now + self.random.uniform(1, 5), "release", (order.quantity, 0))
            if shards:
                self._rebalance(now, order, shards, spare, draws)
            return
        self.counts[{"conflict": "conflicts", "throttled": "throttled", "refused": "refused"}[result]] += 1
        wait = self._wait(order.attempts)
        if now + wait > order.arrived + self.budget_s:
            order.outcome, order.decided = "failed", now  # the SQS record fails; SQS delivers it again
            return
        self._at(now + wait, "attempt", order)

    def _rebalance(self, now: float, order: _Order, shards: tuple[int, ...], spare: int, draws: list) -> None:
        after = list(shards)
        for d in draws:
            if d.shard != HEAD:
                after[d.shard] -= d.units
        row = spare - sum(d.units for d in draws if d.shard == HEAD)
        fell_over = len(draws) > 1 or draws[0].shard != home_shard(order.key, len(shards))
        if not (fell_over or row > 0):
            return
        for move in rebalance_moves(after, row):
            self._at(now + self.read_ms / 1000, "move", move)

    def _move(self, now: float, move: Any) -> None:
        if self._try(now, [(move.source, -move.units, 0), (move.target, move.units, 0)]) == "ok":
            self.counts["moves"] += 1
        else:
            self.counts["moves_skipped"] += 1

    def _release(self, now: float, quantity: int, attempt: int) -> None:
        if self._try(now, [(HEAD, quantity, -quantity)]) == "ok":
            self.counts["released"] += quantity
            return
        self._at(now + self._wait(attempt + 1), "release", (quantity, attempt + 1))

    def _results(self) -> dict[str, Any]:
        orders = self.orders
        reserved = [o for o in orders if o.outcome == "reserved"]
        held = [o for o in orders if o.outcome == "held"]
        failed = [o for o in orders if o.outcome == "failed"]
        units = sum(o.quantity for o in reserved)
        available = sum(item.available for item in self.items.values())
        on_rows = sum(item.reserved for item in self.items.values())
        latencies = sorted((o.decided - o.arrived) * 1000 for o in reserved)
        attempts = sorted(o.attempts for o in orders)
        busiest = max((max(item.writes.values(), default=0) for item in self.items.values()), default=0)
        # Conservation: every unit is available or reserved (releases move units back to available).
        assert available + units - self.counts["released"] == self.stock, "units appeared or vanished"
        assert on_rows == units - self.counts["released"]
        return {
            "shards": self.shards,
            "txn_ms": self.txn_ms,
            "orders": len(orders),
            "stock": self.stock,
            "reserved_orders": len(reserved),
            "reserved_units": units,
            "held_orders": len(held),
            "failed_orders": len(failed),
            "decided_share": round((len(reserved) + len(held)) / max(1, len(orders)), 4),
            "oversold_units": max(0, units - self.counts["released"] - self.stock) + max(0, -self.lowest),
            "lowest_available": self.lowest,
            "left_available": available,
            "attempts_mean": round(sum(attempts) / max(1, len(attempts)), 2),
            "attempts_p99": attempts[int(0.99 * (len(attempts) - 1))] if attempts else 0,
            "p50_ms": round(latencies[len(latencies) // 2]) if latencies else None,
            "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))]) if latencies else None,
            "reserved_per_s_first_second": sum(1 for o in reserved if o.decided < 1.0),
            "reserved_per_s": round(len(reserved) / max(1e-9, max((o.decided for o in reserved), default=0.0)), 1),
            "busiest_item_wcu_per_s": busiest,
            **self.counts,
        }


def run(quick: bool = False) -> dict[str, Any]:
    paper = model()
    seconds, stock = (2.0, 800) if quick else (10.0, 4_000)
    sims = [Sale(shards=n, seconds=seconds, stock=stock).run() for n in (1, 8, paper["chosen"])]
    sensitivity = [
        Sale(shards=paper["chosen"], seconds=seconds, stock=stock, txn_ms=ms).run() for ms in (5.0, 30.0, 50.0)
    ]
    return {"model": paper, "simulations": sims, "sensitivity": sensitivity, "seconds": seconds}


# ----------------------------------------------------------------------------------- render
def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def render(results: dict[str, Any]) -> str:
    paper, sims, sens = results["model"], results["simulations"], results["sensitivity"]
    chosen = paper["chosen"]
    ms_cols = " | ".join(f"conflict at {ms:g} ms" for ms in TXN_MS)
    model_rows = "\n".join(
        f"| {r['shards']} | {r['orders_per_item']} | {r['wcu_per_item']} ({_pct(r['wcu_share'])}) | "
        + " | ".join(_pct(r["conflict"][f"{ms:g}"]) for ms in TXN_MS)
        + f" | {r['ceiling_orders_per_s']:,} | {r['read_units_per_order']} | {r['table_rcu']:,} | "
        f"{r['row_partition_rcu']:,} | {r['shard_partition_rcu']:,} |"
        for r in paper["rows"]
    )
    sim_rows = "\n".join(
        f"| {s['shards']} | {s['txn_ms']:g} | {s['orders']:,} | {s['stock']:,} | {s['reserved_units']:,} | {s['released']} | "
        f"{s['held_orders']:,} | {s['failed_orders']:,} | {_pct(s['decided_share'])} | {s['oversold_units']} | "
        f"{s['attempts_mean']} / {s['attempts_p99']} | {s['conflicts']:,} | {s['throttled']:,} | {s['refused']:,} | "
        f"{s['p50_ms']} / {s['p99_ms']} | {s['busiest_item_wcu_per_s']:,} | {s['moves']:,} |"
        for s in [*sims, *sens]
    )
    today = sims[0]
    best = sims[-1]
    orders_per_call = RATE * 3
    return f"""## (f) A flash sale: 500 orders/s on one SKU, on AWS

Model and simulation in `bench/flash_sale.py` (no AWS call; seeded, so the figures repeat). The
design is in [stock.md](stock.md#hot-skus-sharded-stock): a hot SKU's units at a location are split
over N shard rows (`stock.shards: {{"SKU": N}}`), each its own partition key; an order draws from the
shard its id hashes to and falls over to the next ones when it is short; a placement that fell over
moves units between two rows in one transaction (rebalancing); every draw is guarded by
`available >= units` on its row, so a stale plan fails and is retried but never oversells.

### DynamoDB's limits the model uses

| limit | value | source |
|---|---|---|
| write units a second, one partition (so one item) | {ITEM_WCU:,} | [warm throughput]({DOCS["partition"]}), [hot partitions]({DOCS["hot_partitions"]}); adaptive capacity can give a hot item a partition of its own, [still at that limit]({DOCS["adaptive"]}) |
| read units a second, one partition | {PARTITION_RCU:,} | [warm throughput]({DOCS["partition"]}) |
| a transactional write | {TXN_WCU_PER_KB} write units per KB (two underlying writes) | [transactions: capacity]({DOCS["transactions"]}), [read and write units]({DOCS["units"]}) |
| a transaction meeting another on the same item | cancelled, `TransactionConflict` | [transactions: conflict handling]({DOCS["transactions"]}) |
| on-demand table, default | {TABLE_QUOTA:,} read and {TABLE_QUOTA:,} write request units a second (adjustable) | [on-demand]({DOCS["on_demand"]}) |
| a new on-demand table | {NEW_TABLE_WRITES:,} writes and {NEW_TABLE_READS:,} reads a second at once; up to double the previous peak within 30 minutes | [on-demand]({DOCS["on_demand"]}), [pre-warming]({DOCS["prewarm"]}) |

The time a transaction holds its items is not documented; the model takes {BASE_TXN_MS:g} ms and
shows {", ".join(f"{ms:g}" for ms in TXN_MS)} ms.

### On paper, at {paper["rate"]} orders/s

Each order's reservation is one transactional update of one stock row (a row is under 1 KB: 2 write
units). A row held by one transaction turns away every other one for the transaction's time, so one
row serves at most 1 / (transaction time) transactions a second whatever its write units, and the
share turned away is Erlang's loss formula, load / (1 + load), load = (orders a second on the row) x
(transaction time). Reads: the units one order costs on the hot SKU (its placement, the low-stock
check of its `StockLevelChanged`), for the table and for the busiest partitions.

| shards | orders/s per row | write units/s per row | {ms_cols} | ceiling (orders/s) at {BASE_TXN_MS:g} ms | read units per order | read units/s, table | read units/s, location rows' partition | read units/s, each shard's partition |
|---|---|---|---|---|---|---|---|---|---|---|---|
{model_rows}

**Today (1 row per SKU/location) cannot hold the rate:** {paper["rows"][0]["wcu_per_item"]:,} write
units a second on one item is all of its {ITEM_WCU:,} before any retry, release or storefront level;
and a row held {BASE_TXN_MS:g} ms per transaction serves at most {paper["rows"][0]["ceiling_orders_per_s"]}
orders a second, so {_pct(paper["rows"][0]["conflict"][f"{BASE_TXN_MS:g}"])} of the attempts meet a
conflict. **{chosen} shards** is the least count (of 1, 2, 4, ...) that keeps every shard under half
its write units, the conflicts under {_pct(MAX_CONFLICT)} at {BASE_TXN_MS:g} ms, each partition
under {PARTITION_RCU:,} read units and the hot SKU's reads under the table's default
{TABLE_QUOTA:,}: configure `stock.shards: {{"SKU": {chosen}}}` for such a sale. The rest of each
order's reads (its order, timeline, customer and reports: see the calls per order) come on top, so
at this rate ask for the table's read quota to be raised (it is adjustable) before the sale. A larger count buys fewer conflicts with more
reads (every placement reads every shard) and a larger set transaction (the row and every shard,
at most {64} shards). A table that has never seen such a peak should be pre-warmed (above): the
sale's reads alone exceed what a new on-demand table serves at once.

### Simulated: {results["seconds"]:g} s of the sale, limits enforced

Orders arrive at {RATE}/s (Poisson; one unit, one in ten two), for fewer units than are ordered so
the sale sells out. Each attempt reads the committed rows, plans with the hub's domain code, and
transacts {4} ms later: cancelled when a row is held by another transaction, throttled when a row
has no write units left, refused when a draw's condition fails; retried as `StockService` retries
(full jitter, 10 ms doubling to 500 ms) for 10 s, after which the SQS record fails (counted
below as failed: SQS would deliver it again). 2% of the orders are cancelled 1-5 s later (released to
the location's row). "Oversold" is units reserved beyond the stock, or a row below zero: it must be 0.

| shards | transaction ms | orders | units in stock | units reserved | units released (and sold again) | held (no stock) | failed (deadline) | decided | oversold | attempts mean / p99 | conflicts | throttled | refused (stale plan) | ms to reserved p50 / p99 | busiest row, write units in a second | rebalancing moves |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{sim_rows}

Today's single row reserves {today["reserved_per_s_first_second"]} orders in the sale's first second and
fails {today["failed_orders"]:,} of {today["orders"]:,} orders past their deadline; with {chosen} shards
{best["reserved_per_s_first_second"]} are reserved in the first second, {_pct(best["decided_share"])}
are decided (reserved, or on hold once the units are gone), and nothing is oversold.

### Lambda, SQS and EventBridge at {RATE} orders/s

| what | documented | at {RATE} orders/s |
|---|---|---|
| Lambda concurrency, account | 1,000 concurrent executions a Region by default ([Lambda quotas]({DOCS["lambda_concurrency"]})); each function scales by 1,000 environments every 10 s ([scaling]({DOCS["lambda_scaling"]})) | concurrency = requests/s x seconds each: intake ~{RATE} x 0.1 s = 50; each queue consumer ~{RATE} x 0.05 s per record = 25 (stock_updates, payment_confirmation, order_routing, crm_upsert, reporting, marketing_triggers, channel_sync: ~175); about 225 in all, under 1,000. Reserve concurrency for webhook_intake so that consumers never starve it |
| SQS event source mapping | starts at 5 concurrent batches, adds up to 300 a minute, at most 1,000 per mapping; `MaximumConcurrency` 2-1,000 ([SQS scaling]({DOCS["sqs_scaling"]})) | 25 concurrent stock_updates batches are reached within the first minute; until then the queue holds the burst (latency, not loss). Set `MaximumConcurrency` per consumer so one queue cannot take the account's concurrency |
| SQS batch size | 10 by default; up to 10,000 for standard queues with a batching window ([parameters]({DOCS["sqs_parameters"]})) | 10 gives {RATE // 10} invocations a second per consumer. A larger batch does not help stock_updates (a batch's records run one after another and share its deadline); reporting and analytics may take 100 with a 1 s window |
| EventBridge `PutEvents` | 10,000 requests a second in us-east-1, 2,400 in us-east-2, other figures per Region (adjustable); at most 10 entries (256 KB) a request ([quotas]({DOCS["eventbridge_quotas"]}), [PutEvents]({DOCS["putevents"]})) | about 3 `PutEvents` per paid order (intake; stock_updates' follow-ons, each call holding up to 10 entries; order_routing): ~{orders_per_call:,} a second: within us-east-1's 10,000; in a Region with a smaller quota, ask for an increase before the sale (it is adjustable) |
| EventBridge invocations (rule targets) | 18,750 a second in us-east-1 ([quotas]({DOCS["eventbridge_quotas"]})) | each event goes to one to four queues: ~10 deliveries per order, ~5,000 a second |
"""  # noqa: S608 (Markdown, not SQL)


__all__ = ["DOCS", "Sale", "conflict_probability", "model", "render", "run"]
