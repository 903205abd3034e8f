"""AWS calls per order, counted exactly by the local stack's emulator (commerce_hub.local.calls).

Three scenarios, each sent ONE order at a time and counted from the moment its webhook is posted
until everything it caused has settled:

- `paid_order`: a paid Shopify `orders/create`, placed -> fulfilling, with CRM, reporting and
  marketing as config/local.yaml deploys them;
- `gateway_payment`: a Stripe `payment_intent.succeeded` for a WooCommerce order already recorded
  as pending payment (the order itself is sent and settled before counting starts);
- `shipped_to_delivered`: Shippo's `track_updated` with status DELIVERED for a Shopify order already
  shipped by hand (`POST /orders/{id}/shipments`, as `commerce-hub ship` does; before counting).

Settled means, all at once: no counted caller made a request for `quiet` seconds, every queue of
the stack (dead-letter queues included) holds exactly what it held when the webhook was posted
(nothing visible, in flight or delayed), and the counts did not move while the queues were read.
An order whose message ends in a dead-letter queue never settles: the run fails, naming the queue.

Not counted as work of the order: empty `ReceiveMessage` polls (they measure the clock), the
runner's polling of Scheduler for due one-time schedules (in AWS, Scheduler keeps its own clock),
the functions run on a schedule (queue_health, reconciler: the clock runs them, not the order),
and the benchmark's own reads of the queues. Each order is a new customer buying one unit of a SKU
of its own, so no state left by an earlier order changes what the next one costs; the first order
of each scenario warms the functions' caches (configuration, secrets, data keys) and is not
reported (`warm_up`). The counted orders must agree exactly, call for call; if they do not, the run
fails.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from commerce_hub.local.calls import EMPTY_RECEIVE, EVENT_SOURCE_MAPPING, SCHEDULER
from commerce_hub.signing import sign_delivery

__all__ = ["BENCH", "SCENARIOS", "Settler", "count_order", "render", "run", "warm_up"]

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "events" / "payloads"
BENCH = "bench"  # the app id of this module's own AWS clients, left out of every count
SCENARIOS = ("paid_order", "gateway_payment", "shipped_to_delivered")
# What the runner calls to stand in for EventBridge Scheduler's own clock.
_EMULATION = {(SCHEDULER, "scheduler:ListSchedules"), (SCHEDULER, "scheduler:GetSchedule")}
_QUEUE_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


class NotSettledError(RuntimeError):
    """What an order caused did not settle in time."""


# ------------------------------------------------------------------------------------------ settling
class Settler:
    """Waits until what was sent has settled (see the module docstring) and returns its calls."""

    def __init__(self, stack: Any, quiet: float = 2.0, timeout: float = 90.0) -> None:
        self.stack = stack
        self.quiet = quiet
        self.timeout = timeout
        self.sqs = stack.client("sqs", app_id=BENCH)
        self.queues = sorted(self.sqs.list_queues().get("QueueUrls", []))
        arns = {}
        dead_letter_arns = set()
        for url in self.queues:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])
            arns[url] = attributes["Attributes"]["QueueArn"]
            policy = attributes["Attributes"].get("RedrivePolicy")
            if policy:
                dead_letter_arns.add(json.loads(policy)["deadLetterTargetArn"])
        self.dead_letter_queues = {url for url, arn in arns.items() if arn in dead_letter_arns}
        # Functions the clock runs (rate() rules and schedules of the template), not an order.
        self.excluded = {BENCH} | {spec.function for spec in getattr(stack, "schedules", [])}
        self._baseline: dict[str, int] = {}

    def depths(self) -> dict[str, int]:
        """Messages per queue: visible, in flight and delayed."""
        found = {}
        for url in self.queues:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_QUEUE_ATTRIBUTES)["Attributes"]
            found[url] = sum(int(attributes.get(name, 0)) for name in _QUEUE_ATTRIBUTES)
        return found

    def _dead_letters(self, depths: dict[str, int]) -> dict[str, int]:
        return {url: n for url, n in depths.items() if url in self.dead_letter_queues}

    def start(self) -> None:
        """Begin a count: once what came before has settled, the counts go back to zero."""
        self._settle(self._dead_letters(self.depths()))
        self._baseline = self._dead_letters(self.depths())
        self.stack.reset_calls()

    def wait(self) -> dict[str, Any]:
        """The calls counted since `start`, once they have settled."""
        return self._settle(self._baseline)

    def counted(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The snapshot without what is not the order's work (see the module docstring)."""
        calls = {}
        for caller, actions in snapshot["calls"].items():
            if caller in self.excluded:
                continue
            # How the event source mappings' messages fall into batches depends on timing; the
            # messages do not. Their receives and deletes are counted per message: what an order
            # costs when its messages arrive one by one (batching under load only lowers it).
            per_message = snapshot.get("messages", {}).get(caller, {}) if caller == EVENT_SOURCE_MAPPING else {}
            kept = {
                action: per_message.get(action, n)
                for action, n in actions.items()
                if not action.endswith(EMPTY_RECEIVE) and (caller, action) not in _EMULATION
            }
            if kept:
                calls[caller] = kept
        units = {caller: c for caller, c in snapshot["dynamodb_units"].items() if caller in calls}
        totals: dict[str, int] = {}
        for actions in calls.values():
            for action, n in actions.items():
                service = action.split(":", 1)[0]
                totals[service] = totals.get(service, 0) + n
        return {"calls": calls, "dynamodb_units": units, "totals": dict(sorted(totals.items()))}

    def _idle(self, snapshot: dict[str, Any]) -> float:
        seen = [
            seconds
            for caller, seconds in snapshot["idle_seconds"].items()
            if caller not in self.excluded and caller != SCHEDULER
        ]
        return min(seen, default=float("inf"))

    def _still(self, depths: dict[str, int], dead_letters: dict[str, int]) -> bool:
        return all(n == 0 for url, n in depths.items() if url not in self.dead_letter_queues) and (
            self._dead_letters(depths) == dead_letters
        )

    def _settle(self, dead_letters: dict[str, int]) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            snapshot = self.stack.calls()
            idle = self._idle(snapshot)
            if idle < self.quiet:
                time.sleep(min(0.25, self.quiet - idle + 0.01))
                continue
            if not self._still(self.depths(), dead_letters):
                time.sleep(0.25)
                continue
            settled = self.counted(self.stack.calls())
            if settled == self.counted(snapshot):
                return settled
        depths = self.depths()
        busy = {url.rsplit("/", 1)[-1]: n for url, n in depths.items() if url not in self.dead_letter_queues and n}
        dead = {
            url.rsplit("/", 1)[-1]: n - dead_letters.get(url, 0)
            for url, n in self._dead_letters(depths).items()
            if n != dead_letters.get(url, 0)
        }
        raise NotSettledError(
            f"not settled after {self.timeout:.0f} s; messages in queues: {busy or 'none'}, "
            f"new in dead-letter queues: {dead or 'none'}"
        )


# ------------------------------------------------------------------------------------------ orders
def _number() -> int:
    return int(time.time() * 1000) % 10**12 + uuid.uuid4().int % 1000


def _email(n: int) -> str:
    return f"calls-{n}@example.com"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def shopify_paid(n: int, sku: str) -> bytes:
    """Shopify's orders/create example (events/payloads), paid now, one unit of `sku`, a new customer.

    Placed now, so that nothing it schedules (marketing's messages) comes due while it is counted."""
    body = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    body.update(id=n, financial_status="paid", total_price="20.00", currency="USD", email=_email(n))
    body.update(created_at=_now(), updated_at=_now())
    body["customer"] = dict(body["customer"], id=n, email=_email(n))
    body["line_items"] = [dict(body["line_items"][0], id=n, sku=sku, quantity=1, price="20.00")]
    return json.dumps(body).encode()


def woocommerce_pending(n: int, sku: str) -> bytes:
    """WooCommerce's order.created example (events/payloads), not yet paid, one unit of `sku`."""
    body = json.loads((PAYLOADS / "woocommerce_order_created.json").read_text())
    body.update(id=n, number=str(n), status="pending", date_paid=None, date_paid_gmt=None, total="20.00",
                currency="USD", refunds=[], customer_id=0)  # fmt: skip
    body["billing"] = dict(body["billing"], email=_email(n))
    now = _now().removesuffix("Z")
    body.update(date_created=now, date_created_gmt=now, date_modified=now, date_modified_gmt=now)
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=1, total="20.00", price=20)]
    return json.dumps(body).encode()


def stripe_succeeded(n: int) -> bytes:
    """Stripe's payment_intent.succeeded example (events/payloads) for WooCommerce order `n`."""
    body = json.loads((PAYLOADS / "stripe_payment_intent_succeeded.json").read_text())
    body["id"] = f"evt_{uuid.uuid4().hex[:20]}"
    body["created"] = int(time.time())
    intent = body["data"]["object"]
    intent["metadata"] = {**intent.get("metadata", {}), "order_id": str(n), "site_url": "", "channel": "woocommerce"}
    intent.update(id=f"pi_{n}", amount=2000, amount_received=2000, currency="usd")
    return json.dumps(body).encode()


def shippo_delivered(tracking_number: str) -> bytes:
    """Shippo's track_updated example (events/payloads) moved to DELIVERED."""
    body = json.loads((PAYLOADS / "shippo_track_updated.json").read_text())
    body["data"]["tracking_number"] = tracking_number
    body["data"]["tracking_status"].update(status="DELIVERED", object_id=uuid.uuid4().hex)
    return json.dumps(body).encode()


@dataclass
class _Hub:
    stack: Any
    http: httpx.Client

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.api_token}"}

    def send(self, source: str, body: bytes, topic: str | None = None) -> None:
        delivery = sign_delivery(source, body, topic=topic, secrets=self.stack.secrets, url=self.stack.url)
        for _attempt in range(5):
            response = self.http.post(
                f"/webhooks/{source}", content=delivery.body, headers=delivery.headers, params=delivery.params or None
            )
            if response.status_code != 503:
                break
            time.sleep(1.0)  # as the vendor would: a 503 is retried (a cold function on a busy machine)
        if response.status_code != 200 or response.json().get("status") != "accepted":
            raise RuntimeError(f"{source} webhook: HTTP {response.status_code} {response.text}")

    def stock(self, sku: str) -> None:
        self.http.put(
            f"/inventory/{sku}", json={"location": "wh-east", "available": 100}, headers=self.auth
        ).raise_for_status()

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.http.get(f"/orders/{order_id}", headers=self.auth)
        response.raise_for_status()
        return response.json()


@dataclass
class _Scenario:
    prepare: Callable[[_Hub, Settler, int], str]  # sends what comes before (uncounted); the order id
    trigger: Callable[[_Hub, int], None]  # sends what is counted
    expected: str  # the order's status once it settled


def _prepare_paid(hub: _Hub, settler: Settler, n: int) -> str:
    hub.stock(f"CALLS-{n}")
    return f"shopify:{n}"


def _prepare_payment(hub: _Hub, settler: Settler, n: int) -> str:
    hub.stock(f"CALLS-{n}")
    settler.start()
    hub.send("woocommerce", woocommerce_pending(n, f"CALLS-{n}"), "order.created")
    settler.wait()
    return f"woocommerce:{n}"


def _prepare_shipped(hub: _Hub, settler: Settler, n: int) -> str:
    hub.stock(f"CALLS-{n}")
    settler.start()
    hub.send("shopify", shopify_paid(n, f"CALLS-{n}"), "orders/create")
    settler.wait()
    order_id = f"shopify:{n}"
    settler.start()
    shipped = hub.http.post(
        f"/orders/{order_id}/shipments", json={"tracking_number": f"1ZCALLS{n}", "carrier": "UPS"}, headers=hub.auth
    )
    shipped.raise_for_status()
    settler.wait()
    return order_id


_SCENARIOS = {
    "paid_order": _Scenario(
        _prepare_paid,
        lambda hub, n: hub.send("shopify", shopify_paid(n, f"CALLS-{n}"), "orders/create"),
        "fulfilling",
    ),
    "gateway_payment": _Scenario(
        _prepare_payment, lambda hub, n: hub.send("stripe", stripe_succeeded(n)), "fulfilling"
    ),
    "shipped_to_delivered": _Scenario(
        _prepare_shipped, lambda hub, n: hub.send("shippo", shippo_delivered(f"1ZCALLS{n}")), "delivered"
    ),
}


def count_order(stack: Any, scenario: str, *, quiet: float = 2.0, http: httpx.Client | None = None) -> dict[str, Any]:
    """The AWS calls of one order of `scenario`, from its webhook until it settled."""
    own = http is None
    client = http or httpx.Client(base_url=stack.url, timeout=60)
    try:
        hub, settler, plan = _Hub(stack, client), Settler(stack, quiet), _SCENARIOS[scenario]
        n = _number()
        order_id = plan.prepare(hub, settler, n)
        settler.start()
        plan.trigger(hub, n)
        counted = settler.wait()
        status = hub.order(order_id)["status"]
        if status != plan.expected:
            raise RuntimeError(f"{scenario}: {order_id} settled as {status!r}, expected {plan.expected!r}")
        return counted
    finally:
        if own:
            client.close()


def _wait_status(hub: _Hub, order_id: str, status: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = hub.http.get(f"/orders/{order_id}", headers=hub.auth)
        if response.status_code == 200 and response.json()["status"] == status:
            return
        time.sleep(0.2)
    raise NotSettledError(f"{order_id} did not reach {status!r} in {seconds:.0f} s")


def _warm(stack: Any, scenario: str) -> None:
    with httpx.Client(base_url=stack.url, timeout=60) as http:
        hub, n = _Hub(stack, http), _number()
        sku = f"CALLS-{n}"
        hub.stock(sku)
        if scenario == "gateway_payment":
            hub.send("woocommerce", woocommerce_pending(n, sku), "order.created")
            _wait_status(hub, f"woocommerce:{n}", "pending_payment")
            hub.send("stripe", stripe_succeeded(n))
            _wait_status(hub, f"woocommerce:{n}", "fulfilling")
            return
        hub.send("shopify", shopify_paid(n, sku), "orders/create")
        _wait_status(hub, f"shopify:{n}", "fulfilling")
        if scenario == "shipped_to_delivered":
            shipment = {"tracking_number": f"1ZCALLS{n}", "carrier": "UPS"}
            http.post(f"/orders/shopify:{n}/shipments", json=shipment, headers=hub.auth).raise_for_status()
            hub.send("shippo", shippo_delivered(f"1ZCALLS{n}"))
            _wait_status(hub, f"shopify:{n}", "delivered")


def warm_up(stack: Any, quiet: float = 2.0) -> None:
    """One uncounted order of every scenario, side by side: each function has then read what it
    caches (configuration, secrets, clients) for every path the counted orders take."""
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        for done in [pool.submit(_warm, stack, scenario) for scenario in SCENARIOS]:
            done.result()
    Settler(stack, quiet).start()


def run(stack: Any, orders: int = 3, quiet: float = 2.0) -> dict[str, Any]:
    """Per scenario, `orders` counted orders after a warm-up, which must agree exactly.

    The functions re-read their configuration and secrets every five minutes; an order that happens
    to pay for that refresh disagrees with the others, so a scenario whose orders disagree is warmed
    and counted once more before the run gives up."""
    results: dict[str, Any] = {}
    warm_up(stack, quiet)
    with httpx.Client(base_url=stack.url, timeout=60) as http:
        for scenario in SCENARIOS:
            for attempt in (1, 2):
                counted = [count_order(stack, scenario, quiet=quiet, http=http) for _ in range(orders)]
                differing = [i for i, c in enumerate(counted) if c != counted[0]]
                if not differing:
                    break
                if attempt == 2:
                    raise RuntimeError(
                        f"{scenario}: the counted orders disagree; first: {json.dumps(counted[0])}, "
                        f"order {differing[0] + 1}: {json.dumps(counted[differing[0]])}"
                    )
                _warm(stack, scenario)
            results[scenario] = counted[0]
    return results


# ------------------------------------------------------------------------------------------ report
_TITLES = {
    "paid_order": "(a) A paid Shopify order, placed -> fulfilling",
    "gateway_payment": "(b) A Stripe payment for a WooCommerce order waiting for it -> fulfilling",
    "shipped_to_delivered": "(c) Shipped -> delivered, by Shippo's tracking webhook",
}

# Why each DynamoDB call that remains is needed, by function and action.
WHY: dict[tuple[str, str], str] = {
    ("WebhookIntakeFunction", "dynamodb:PutItem"): (
        "the delivery's idempotency record, taken before publishing (a retried delivery is answered from it); "
        "for a new customer, also their data key (DEK#), created on condition none exists"
    ),
    ("WebhookIntakeFunction", "dynamodb:GetItem"): (
        "the customer's data key, to seal the personal fields before they leave the function (a new customer "
        "has none yet; a known one is cached by the sandbox)"
    ),
    ("WebhookIntakeFunction", "dynamodb:UpdateItem"): (
        "the idempotency record completed with the answer once PutEvents succeeded (the table of Powertools); "
        "a delivery that names no order (a carrier's tracking update) is also counted for the console's "
        "webhooks page by one ADD to its source's hourly item (WEBHOOKS#)"
    ),
    ("WebhookIntakeFunction", "dynamodb:BatchWriteItem"): (
        "the delivery's lineage entries, and its count for the console's webhooks page (an item of its own, "
        "WEBHOOKS#<source>), in one request"
    ),
    ("ChannelSyncFunction", "dynamodb:BatchWriteItem"): (
        "the SKU's stock change history (docs/stock.md, change history): the changes of a batch of "
        "StockLevelChanged in one request, off the order's path (channel_sync's own queue); added with the "
        "history, instead of an item per reservation in stock_updates' transaction (which would put every order "
        "of a hot SKU on one more partition and halve the reservations a transaction holds)"
    ),
    ("StockUpdatesFunction", "dynamodb:GetItem"): (
        "the customer's data key, to open the sealed fields (once per customer per sandbox)"
    ),
    ("StockUpdatesFunction", "dynamodb:Query"): (
        "the order first (a later delivery of a recorded placement costs this read only), the SKU's levels to "
        "plan the reservation (the levels after it are computed from them, not read again), and, for the "
        "StockLevelChanged it announced, the SKU's partition once: its levels and its low-stock crossing (LOW) "
        "together, so a crossing is announced once"
    ),
    ("StockUpdatesFunction", "dynamodb:TransactWriteItems"): (
        "the order, its first timeline entry and every reservation in one transaction, each reservation on "
        "condition `available >= quantity`: no oversell, and a redelivery changes nothing"
    ),
    ("PaymentConfirmationFunction", "dynamodb:Query"): (
        "payments kept for the order before it was recorded (a gateway's payment may arrive first), or the "
        "order a payment applies to"
    ),
    ("PaymentConfirmationFunction", "dynamodb:TransactWriteItems"): (
        "the payment applied to the order (status, payments, timeline entry) on condition the order is unchanged"
    ),
    ("OrderRoutingFunction", "dynamodb:Query"): (
        "shipments kept for an order not yet recorded, and the order itself, read once and routed"
    ),
    ("OrderRoutingFunction", "dynamodb:GetItem"): "which order and fulfilment a tracking number belongs to",
    ("OrderRoutingFunction", "dynamodb:TransactWriteItems"): (
        "the fulfilments (or the delivery) and the timeline entry, on condition the order is unchanged"
    ),
    ("CrmUpsertFunction", "dynamodb:GetItem"): "the customer's data key, to open the sealed email (once per sandbox)",
    ("CrmUpsertFunction", "dynamodb:Query"): (
        "per fact, the order's partition (its facts, their version read first: which customers it concerns, "
        "what their summary is derived from), and each concerned customer's partition (profile version first, "
        "then summaries and facts), each read once"
    ),
    ("CrmUpsertFunction", "dynamodb:TransactWriteItems"): (
        "per fact, everything at once: the fact (under the order and the customer), the order's fact version, "
        "each concerned customer's summary and profile, on the versions read and the erasure marks seen, so "
        "that of two derivations that missed each other's fact the second is refused and reads again (marks "
        "are checked as absent until a refused write has read them, in one BatchGetItem, so none is read here)"
    ),
    ("ReportingFunction", "dynamodb:GetItem"): "the customer's data key, to open the sealed email (once per sandbox)",
    ("ReportingFunction", "dynamodb:BatchGetItem"): (
        "the order's and the customer's report facts together, with the versions their write is conditional on"
    ),
    ("ReportingFunction", "dynamodb:TransactWriteItems"): (
        "the order's and the customer's facts, each on its version, with the day's counters moved once by the "
        "sum of both changes (one transaction may name the day's counter item only once)"
    ),
    ("MarketingTriggersFunction", "dynamodb:GetItem"): (
        "the customer's data key, to open the sealed email (once per customer per sandbox)"
    ),
    ("MarketingTriggersFunction", "dynamodb:BatchGetItem"): (
        "one per decision, what it reads: the customer's erasure mark and whether each message it would "
        "schedule already went out; for a placement also the customer's newest order and the order's "
        "co-purchase guard"
    ),
    ("MarketingTriggersFunction", "dynamodb:TransactWriteItems"): (
        "a placement's decision in one write: the co-purchase counts and titles (once per order), the "
        "customer's newest order (on condition it is still the one read) and the win-back's schedule "
        "remembered under the customer before it is created"
    ),
    ("MarketingTriggersFunction", "dynamodb:Query"): (
        "the customer's open checkouts (an order converts them), the order on `paid` (whose it is)"
    ),
    ("MarketingTriggersFunction", "dynamodb:PutItem"): (
        "a schedule a status sets (post-purchase on `paid`) remembered under the customer before it is "
        "created, so an erasure finds it"
    ),
    ("MarketingTriggersFunction", "dynamodb:DeleteItem"): "a schedule replaced on delivery, forgotten",
}


def _table(calls: dict[str, dict[str, int]]) -> str:
    rows = ["| function | call | per order |", "|---|---|---|"]
    for caller, actions in calls.items():
        for action, n in actions.items():
            rows.append(f"| {caller} | `{action}` | {n} |")
    return "\n".join(rows)


def _units(units: dict[str, dict[str, float]]) -> str:
    rows = ["| function | read units | write units |", "|---|---|---|"]
    for caller, c in units.items():
        rows.append(f"| {caller} | {c['read']:g} | {c['write']:g} |")
    read = sum(c["read"] for c in units.values())
    write = sum(c["write"] for c in units.values())
    rows.append(f"| **all** | **{read:g}** | **{write:g}** |")
    return "\n".join(rows)


def _why(results: dict[str, Any]) -> str:
    lines = []
    seen = set()
    for scenario in SCENARIOS:
        for caller, actions in results.get(scenario, {}).get("calls", {}).items():
            for action in actions:
                if action.startswith("dynamodb:") and (caller, action) not in seen:
                    seen.add((caller, action))
                    reason = WHY.get((caller, action), "(no reason recorded)")
                    lines.append(f"- **{caller}** `{action}`: {reason}")
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    """The docs/performance.md section: calls per order by function, service and action."""
    counted = results["calls"]
    sections = []
    for scenario in SCENARIOS:
        if scenario not in counted:
            continue
        figures = counted[scenario]
        totals = ", ".join(f"{service} {n}" for service, n in figures["totals"].items())
        sections.append(
            f"""### {_TITLES[scenario]}

Requests per order: {totals}.

{_table(figures["calls"])}

DynamoDB capacity per order (on-demand units):

{_units(figures["dynamodb_units"])}
"""
        )
    body = "\n".join(sections)
    return f"""
## AWS calls per order

Every AWS request the functions make, counted by the local stack's emulator: by function (the
botocore app id each worker sets), service and action, one order at a time, from its webhook until
everything it caused has settled (no request for a while, and no message left in any queue). Each
order is a new customer buying one unit of a SKU of its own; an uncounted order of each scenario
first warms the functions' caches (configuration and secrets, re-read every five minutes). The
counts are deterministic: {len(SCENARIOS)} scenarios, several orders each, the same call for call,
and `tests/e2e/test_calls_per_order.py` pins them.

- `event-source-mapping` is what Lambda's SQS event source mappings do on the function's behalf,
  counted per message (one receive and one delete each, as when an order's messages arrive one by
  one; batching under load only lowers it). Empty polls are left out: they cost by the clock
  (20-second long polls on AWS), not by the order. So are the runner's reads of Scheduler, which
  stand in for Scheduler's own clock, and the functions run on a schedule (queue_health, reconciler).
- DynamoDB units are computed as on-demand DynamoDB bills them: per item, writes per 1 KB of the
  larger of the item before and after, reads per 4 KB (a Query per 4 KB of all it returned),
  eventually consistent reads at half, transactions double; sizes are the emulator's own items.
  Approximations: a Query's items dropped by a filter are not counted, and a refused write is charged
  the items it named.
- EventBridge's deliveries to the queues happen inside the emulator and are not listed: each message
  a queue received is one SQS `SendMessage` EventBridge makes (billed as an SQS request), as many as
  the `sqs:ReceiveMessage` of `event-source-mapping`.

{body}
### Fewer DynamoDB requests per order

Before this count existed, a paid order cost 73 DynamoDB requests (a Stripe payment 70, a delivery
20). crm_upsert read the erasure marks six times per fact and wrote each summary and profile in two
transactions (39 requests per paid order); it now reads the marks once per fact and writes summary
and profile in one transaction (20). Its event rule then stopped delivering the hub's status changes
that cannot change a customer's summary (routed, shipped, delivered; an order recorded as paid, which
its placement already said): 20 -> 8 per paid order, 25 -> 17 per Stripe payment, 6 -> 0 per
delivery, each with one SQS receive and delete fewer. It then kept each fact in its derivation's
transaction instead of two PutItems before it, and read the order's facts and each customer's
partition once (each partition's version first): 8 -> 5 and 17 -> 10. Last, the erasure marks are no
longer read before each derivation: the transaction checks them (as absent, until a refused write
has read them), so a customer nobody erased costs no read: 5 -> 4 and 10 -> 8.
order_routing read a just-recorded order twice (3 queries, now 2).
stock_updates read the SKU's levels again after its transaction, and the low-stock crossing apart from
the levels (7 requests per paid order); it now computes the levels after from the levels it read and
the units it took, and reads levels and crossing in one Query of the SKU's partition (5). marketing
read the customer's erasure mark and each message's marker with a GetItem apiece, wrote the
co-purchase counts, the customer's newest order and the win-back's schedule in three requests, and
took a reservation's StockLevelChanged (which did not say the level fell) for a rise, looking for
back-in-stock waiters (12); each of its decisions now reads what it needs in one BatchGetItem, a
placement writes what it decided in one transaction on condition that what it read did not move,
and its rule leaves a reservation's StockLevelChanged on the bus, one SQS message fewer (7).
reporting read the order's and the customer's facts apart and wrote them in two transactions, both
moving the same day counter (5); it now reads them in one BatchGetItem and writes them in one
transaction, the counter moved once by the sum of both changes (3).
All together: a paid order costs 28 DynamoDB requests (73 at first, 53 before this round), a Stripe
payment 18 (70, 36), a delivery 8 (20, 14). What remains is listed below, one line per function and
action.
Since then webhook_intake counts every delivery it answers for the console's webhooks page: a
delivery that names an order in the BatchWriteItem that keeps its lineage (no request more), any
other by one UpdateItem (a delivery 9) ([console.md](console.md#webhooks)).

### Why each DynamoDB call remains

{_why(counted)}
"""
