"""Cost per 1M orders in AWS, from the AWS calls counted per order (bench/calls.py, results["calls"])
and the Lambda durations measured per function (bench/sizing.py, results["sizing"]), next to what the
same volume costs on Zapier, Make and Celigo at their public prices.

Marginal cost: free tiers are left out (they are per account and month, and 1M orders a month
exceeds most of them), and so are storage, logs and data transfer. Prices are us-east-1, in USD.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

MILLION = Decimal(1_000_000)
READ_ON = "2026-12-06"  # the date the prices below were read (stored copies of the pages)


class Price:
    """A unit price: USD per `per` units, with where it was read."""

    def __init__(self, usd: str, per: int, unit: str, source: str, confirmed: bool = True) -> None:
        self.usd, self.per, self.unit, self.source, self.confirmed = Decimal(usd), per, unit, source, confirmed

    def of(self, quantity: Decimal | float | int) -> Decimal:
        return Decimal(str(quantity)) * self.usd / self.per


PRICES: dict[str, Price] = {
    "lambda_gb_s": Price(
        "0.0000133334",
        1,
        "GB-s (arm64, first 7.5 billion GB-s a month)",
        "https://aws.amazon.com/lambda/pricing/ ; figure as quoted by https://cloudchipr.com/blog/aws-lambda-pricing",
    ),
    "lambda_requests": Price("0.20", 1_000_000, "requests", "https://aws.amazon.com/lambda/pricing/"),
    "dynamodb_write": Price(
        "0.625",
        1_000_000,
        "write request units (on-demand, after the Nov 2024 cut)",
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing (July 2025)",
    ),
    "dynamodb_read": Price(
        "0.125",
        1_000_000,
        "read request units (on-demand)",
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing (July 2025)",
    ),
    "events": Price(
        "1.00",
        1_000_000,
        "custom events (each 64 KB chunk)",
        "https://cloudburn.io/blog/amazon-eventbridge-pricing (March 2026)",
    ),
    "sqs": Price(
        "0.40",
        1_000_000,
        "requests (standard queue, each 64 KB chunk)",
        "https://www.factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard/ (June 2026)",
    ),
    "scheduler": Price(
        "1.00",
        1_000_000,
        "schedule invocations (after 14M free a month)",
        "https://cloudburn.io/blog/amazon-eventbridge-pricing (March 2026)",
    ),
    "ses": Price("0.10", 1_000, "emails", "AWS SES pricing page: not read here", confirmed=False),
    "secretsmanager": Price(
        "0.05", 10_000, "API calls", "AWS Secrets Manager pricing page: not read here", confirmed=False
    ),
    "kms": Price("0.03", 10_000, "requests", "AWS KMS pricing page: not read here", confirmed=False),
    "s3_put": Price("0.005", 1_000, "PUT/POST requests (S3 Standard)", "AWS S3 pricing: not read here", False),
    "s3_get": Price("0.0004", 1_000, "GET requests (S3 Standard)", "AWS S3 pricing: not read here", False),
    "http_api": Price(
        "1.00",
        1_000_000,
        "HTTP API requests (first 300M a month, 512 KB each)",
        "https://appropri8-astro.pages.dev/tutorials/2025/12/02/deploying-simple-api-aws/page/7",
    ),
}

# What an order is made of: placed and paid -> fulfilling, then shipped -> delivered. A gateway payment
# (an order paid by a Stripe/PayPal/Square webhook instead of at checkout) is added to `gateway_share`
# of orders.
ORDER = ("paid_order", "shipped_to_delivered")
GATEWAY = "gateway_payment"

S3_PUTS = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"})
S3_GETS = frozenset({"GetObject", "HeadObject"})


def service_counts(calls: Mapping[str, Mapping[str, int]]) -> dict[str, Decimal]:
    """Billed quantities of one scenario from its calls {caller: {"service:Action": n}} (DynamoDB is
    priced from its units, not here). Each SQS and EventBridge call is taken as one 64 KB chunk (the
    hub keeps its messages small: large bodies go to S3 by claim check) and each PutEvents call as
    one event (the hub publishes one event per call)."""
    q: dict[str, Decimal] = {}

    def add(key: str, n: int) -> None:
        q[key] = q.get(key, Decimal(0)) + n

    for actions in calls.values():
        for name, n in actions.items():
            service, _, action = name.partition(":")
            if service == "events" and action == "PutEvents":
                add("events", n)
            elif service == "sqs":
                add("sqs", n)
            elif service == "scheduler" and action == "CreateSchedule":
                add("scheduler", n)  # a one-time schedule: it fires (is billed) once
            elif service in ("ses", "sesv2") and action in ("SendEmail", "SendRawEmail", "SendTemplatedEmail"):
                add("ses", n)
            elif service == "secretsmanager" and action == "GetSecretValue":
                add("secretsmanager", n)
            elif service == "kms":
                add("kms", n)
            elif service == "s3" and action in S3_PUTS:
                add("s3_put", n)
            elif service == "s3" and action in S3_GETS:
                add("s3_get", n)
    return q


def dynamodb_units(units: Mapping[str, Mapping[str, float]]) -> dict[str, Decimal]:
    """Read and write request units of one scenario (transactions already counted double)."""
    read = sum((Decimal(str(u.get("read", 0))) for u in units.values()), Decimal(0))
    write = sum((Decimal(str(u.get("write", 0))) for u in units.values()), Decimal(0))
    return {"dynamodb_read": read, "dynamodb_write": write}


def per_order_quantities(calls_results: Mapping[str, Any], gateway_share: Decimal) -> dict[str, Decimal]:
    """Billed quantities of AWS services (Lambda aside) for one order: the scenarios of ORDER, plus
    `gateway_share` of a gateway payment."""
    total: dict[str, Decimal] = {}
    weights = [(name, Decimal(1)) for name in ORDER] + [(GATEWAY, gateway_share)]
    for scenario, weight in weights:
        if scenario not in calls_results or not weight:
            continue
        figures = calls_results[scenario]
        for key, n in {
            **service_counts(figures.get("calls", {})),
            **dynamodb_units(figures.get("dynamodb_units", {})),
        }.items():
            total[key] = total.get(key, Decimal(0)) + n * weight
    return total


def lambda_per_order(sizing: Mapping[str, Any]) -> dict[str, Decimal]:
    """GB-s and requests per order from the sizing run: each function's invocations per order at its
    configured memory (the template's), billed per started ms."""
    gb_s, requests, http = Decimal(0), Decimal(0), Decimal(0)
    for logical_id, f in sizing["functions"].items():
        per_order = Decimal(str(f["per_order"]))
        if logical_id in ("WebhookIntakeFunction", "AdminApiFunction", "MarketingUnsubscribeFunction"):
            http += per_order
        if not per_order or "sizes" not in f:
            continue
        memory = int(f["configured_mb"])
        size = f["sizes"].get(memory) or f["sizes"].get(str(memory))
        if size is None:  # configured outside the measured sizes: the nearest measured one
            size = f["sizes"][min(f["sizes"], key=lambda m: abs(int(m) - memory))]
        gb_s += per_order * Decimal(str(size["billed_ms"])) / 1000 * memory / 1024
        requests += per_order
    return {"lambda_gb_s": gb_s, "lambda_requests": requests, "http_api": http}


def aws_cost(calls_results: Mapping[str, Any] | None, sizing: Mapping[str, Any] | None, gateway_share: Decimal) -> dict:
    """Rows {service: {"per_order": quantity, "usd_per_million_orders": USD}} and the total."""
    quantities: dict[str, Decimal] = {}
    if sizing:
        quantities.update(lambda_per_order(sizing))
    if calls_results:
        quantities.update(per_order_quantities(calls_results, gateway_share))
    rows = {}
    for key, quantity in quantities.items():
        usd = PRICES[key].of(quantity * MILLION)
        rows[key] = {"per_order": _round(quantity, "0.0001"), "usd_per_million_orders": _round(usd, "0.01")}
    total = sum((r["usd_per_million_orders"] for r in rows.values()), Decimal(0))
    return {"rows": rows, "total_usd_per_million_orders": total}


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


# ---------------------------------------------------------------- the same flow on Zapier, Make, Celigo

# The hub's work for one order as a no-code flow, step by step: (step, Zapier tasks, Make operations).
# Zapier bills each successful action (not the trigger); Make bills every module run, the trigger too.
EQUIVALENT_FLOW: tuple[tuple[str, int, int], ...] = (
    ("order paid (trigger: storefront webhook)", 0, 1),
    ("look up and reserve stock (find row, update row)", 2, 2),
    ("choose the location and record the fulfilment", 1, 1),
    ("upsert the customer in the CRM", 1, 1),
    ("send the order confirmation / add to the marketing flow", 1, 1),
    ("add the order to the day's report", 1, 1),
    ("push the new stock level to the other channels", 1, 1),
    ("shipped (trigger), record tracking, tell the storefront", 2, 3),
    ("delivered (trigger: carrier webhook), record it", 1, 2),
    ("schedule the review request (delay step)", 1, 1),
)

COMPETITORS = {
    "zapier": {
        "plan": "Professional, 5,000 tasks a month for $89 ($0.0178 a task; extra tasks at 1.25x that)",
        "usd_per_unit": Decimal(89) / 5000,
        "unit": "tasks",
        "sources": [
            "https://arment.com/ArmstrongIAppConnector/Documentation/FAQ.aspx (a Zapier partner quoting Zapier's "
            "plan: Professional $89/mo for 5,000 tasks; overage $0.02225 a task)",
            "https://help.zapier.com/hc/en-us/articles/15279018245901-How-pay-per-task-billing-works-in-Zapier "
            "(extra tasks at 1.25x the plan's task cost, up to 3x the plan's tasks)",
            "https://help.zapier.com/hc/en-us/articles/15279018245901-Metered-tasks-in-Zapier (Professional 2M "
            "tasks or higher: metered tasks; the price of those tiers is not public in what was read)",
        ],
        "note": "1M orders need tiers above 2M tasks a month, priced by Zapier's sales (and pay-per-task stops "
        "at 3x a plan's tasks): the per-task price of the 5,000-task plan is the public reference used, "
        "without its 1.25x overage",
    },
    "make": {
        "plan": "Core, 150,000 operations (credits) a month for $113.85",
        "usd_per_unit": Decimal("113.85") / 150_000,
        "unit": "operations (credits)",
        "sources": [
            "https://www.make.com/en/help/general/changing-your-subscription--upgrading,-downgrading,-or-canceling- "
            "(Core plan at $113.85 for 150,000 operations, in its worked example)",
            "https://help.make.com/credits (credits replaced operations; 1 operation = 1 credit for non-AI modules)",
        ],
        "note": "higher tiers may cost less per operation; the tier price read is the only one confirmed",
    },
    "celigo": {
        "plan": "quoted per contract: entitlements are endpoints (apps connected) and flows, not records",
        "usd_per_unit": None,
        "unit": "flows and endpoints",
        "sources": [
            "https://docs.celigo.com/hc/en-us/articles/8136520732059-How-much-capacity-does-my-account-have "
            "(entitlements: endpoint apps, integration flows)",
            "https://docs.celigo.com/hc/en-us/articles/30722413400859-Track-your-flow-usage (flows run count "
            "once a month however often they run)",
        ],
        "note": "no public price: Celigo sells by quote, so its cost does not grow with orders but could not "
        "be confirmed; the flow above needs about 5 flows and 5 endpoints (storefront, stock table, CRM, "
        "email, carrier)",
    },
}


def competitors(orders: int = 1_000_000) -> dict[str, dict]:
    tasks = sum(t for _, t, _ in EQUIVALENT_FLOW)
    operations = sum(o for _, _, o in EQUIVALENT_FLOW)
    out = {}
    for name, c in COMPETITORS.items():
        units = {"zapier": tasks, "make": operations}.get(name)
        usd = None if c["usd_per_unit"] is None or units is None else _round(c["usd_per_unit"] * units * orders, "1")
        out[name] = {"units_per_order": units, "unit": c["unit"], "plan": c["plan"], "usd_per_million_orders": usd}
    return out


def run(calls_results: Mapping[str, Any] | None, sizing: Mapping[str, Any] | None, gateway_share: float = 0.25) -> dict:
    share = Decimal(str(gateway_share))
    return {
        "gateway_share": share,
        "aws": aws_cost(calls_results, sizing, share),
        "competitors": competitors(),
        "calls_counted": calls_results is not None,
    }


# ---------------------------------------------------------------- the section of docs/performance.md

LABELS = {
    "lambda_gb_s": "Lambda duration (GB-s)",
    "lambda_requests": "Lambda requests",
    "http_api": "API Gateway HTTP API requests",
    "dynamodb_write": "DynamoDB write request units",
    "dynamodb_read": "DynamoDB read request units",
    "events": "EventBridge custom events",
    "sqs": "SQS requests",
    "scheduler": "EventBridge Scheduler invocations",
    "ses": "SES emails",
    "secretsmanager": "Secrets Manager calls",
    "kms": "KMS requests",
    "s3_put": "S3 PUT requests",
    "s3_get": "S3 GET requests",
}


def _usd(value: Decimal | None) -> str:
    return "not public" if value is None else f"{value:,}"


def render(r: dict) -> str:
    aws = r["aws"]
    rows = "\n".join(
        f"| {LABELS[key]} | {row['per_order']} | ${PRICES[key].usd} per {PRICES[key].per:,} {PRICES[key].unit}"
        f"{'' if PRICES[key].confirmed else ' (not confirmed)'} | {row['usd_per_million_orders']} |"
        for key, row in aws["rows"].items()
    )
    counted = (
        "DynamoDB, EventBridge, SQS, Scheduler, SES, Secrets Manager, KMS and S3 come from the calls counted "
        "per order (the section on AWS calls), for a paid order placed -> fulfilling plus shipped -> delivered, plus "
        f"{r['gateway_share']} of a gateway payment."
        if r["calls_counted"]
        else "**The AWS calls per order were not counted in this run**, so only Lambda and API Gateway are "
        "priced; the other services need the AWS calls counted per order."
    )
    flow = "\n".join(f"| {step} | {tasks} | {ops} |" for step, tasks, ops in EQUIVALENT_FLOW)
    comp = "\n".join(
        f"| {name.title()} | {c['units_per_order'] if c['units_per_order'] is not None else '-'} {c['unit']} | "
        f"{c['plan']} | {_usd(c['usd_per_million_orders'])} |"
        for name, c in r["competitors"].items()
    )
    notes = "\n".join(f"- {name.title()}: {c['note']}." for name, c in COMPETITORS.items())
    sources = "\n".join(
        [f"- {LABELS[key]}: {PRICES[key].source}" for key in aws["rows"]]
        + [f"- {name.title()}: " + "; ".join(c["sources"]) for name, c in COMPETITORS.items()]
    )
    return f"""
## (h) Cost per 1M orders

What 1M orders cost in AWS (us-east-1, marginal: free tiers, storage, logs and data transfer left
out). Lambda is priced from section (g): each function's invocations per order at the memory the
template sets, at the modelled duration, billed per started ms (arm64); an upper bound, as that
duration carries the emulator's waiting. {counted} Each SQS or
EventBridge call is one 64 KB chunk (bodies over the limit go to S3 by claim check), each
`PutEvents` one event. Not counted as calls of the hub: the `SendMessage` EventBridge makes to each
queue a rule targets ($0.40 per million more per target), and the queue pollers' empty receives
(fixed: 8 consumer queues x about 5 pollers x one 20 s long poll each, some 5.2M requests or $2.07 a
month, whatever the orders), and the recurring schedules (queue health, reconcilers). Prices read on {READ_ON}.

| what | per order | price | USD per 1M orders |
|---|---|---|---|
{rows}
| **total** | | | **{aws["total_usd_per_million_orders"]}** |

### The same orders on Zapier, Make and Celigo

The hub's work for one order built as a no-code flow (one order line; a search step counts as a
task on Zapier when it finds something):

| step | Zapier tasks | Make operations |
|---|---|---|
{flow}

| platform | per order | plan and price read | USD per 1M orders |
|---|---|---|---|
{comp}

{notes}

Sources (read {READ_ON}):
{sources}
"""
