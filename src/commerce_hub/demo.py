"""`commerce-hub demo`: seed stock, send a handful of realistic orders, show what became of each."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import httpx

from commerce_hub.client import HubClient, sign_delivery
from commerce_hub.local.template import find_project_root

STOCK = [
    ("MUG-ENAMEL-WHT", "wh-east", 3),
    ("MUG-ENAMEL-WHT", "wh-west", 20),
    ("TEE-ORGANIC-L", "wh-east", 5),
    ("CAP-WOOL-NVY", "wh-eu", 4),
    ("POSTER-A2-MAP", "wh-east", 1),
]
PRICES = {"MUG-ENAMEL-WHT": "18.00", "TEE-ORGANIC-L": "38.00", "CAP-WOOL-NVY": "24.50", "POSTER-A2-MAP": "15.00"}


@dataclass
class Scenario:
    label: str
    lines: list[tuple[str, int]]
    country: str = "US"
    currency: str = "USD"
    financial_status: str = "paid"
    redeliver_of: int | None = None  # index of an earlier scenario whose delivery is sent again
    answer: str = ""
    order: dict[str, Any] = field(default_factory=dict)


def scenarios() -> list[Scenario]:
    return [
        Scenario("paid, ships from the east", [("MUG-ENAMEL-WHT", 2), ("TEE-ORGANIC-L", 1)]),
        Scenario("awaiting payment", [("TEE-ORGANIC-L", 1)], financial_status="pending"),
        Scenario("German customer, EU warehouse", [("CAP-WOOL-NVY", 2)], country="DE", currency="EUR"),
        Scenario("more posters than exist", [("POSTER-A2-MAP", 2)]),
        Scenario("Shopify retries order 1", [], redeliver_of=0),
        Scenario("east ran low, west has all", [("MUG-ENAMEL-WHT", 5)]),
    ]


def order_payload(number: int, order_id: int, s: Scenario) -> bytes:
    total = sum(int(PRICES[sku].replace(".", "")) * qty for sku, qty in s.lines)
    return json.dumps(
        {
            "id": order_id,
            "name": f"#{number}",
            "order_number": number,
            "email": f"customer{number}@example.com",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "currency": s.currency,
            "total_price": f"{total // 100}.{total % 100:02d}",
            "financial_status": s.financial_status,
            "shipping_address": {"country_code": s.country},
            "line_items": [
                {"id": order_id * 10 + i, "sku": sku, "title": sku.title(), "quantity": qty, "price": PRICES[sku]}
                for i, (sku, qty) in enumerate(s.lines)
            ],
        }
    ).encode()


def _wait_for(client: HubClient, order_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/orders/{order_id}")
        if response.status_code == 200:
            return response.json()
        time.sleep(0.2)
    return {}


def _profiles(client: HubClient, emails: list[str], out: TextIO, timeout: float = 20.0) -> None:
    """Each customer's profile as crm_upsert built it (GET /customers/{email})."""
    rows = [["customer", "orders", "spent", "channels", "email consent"]]
    deadline = time.monotonic() + timeout
    for email in dict.fromkeys(emails):
        response = client.get(f"/customers/{quote(email, safe='')}")
        while response.status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
            response = client.get(f"/customers/{quote(email, safe='')}")
        if response.status_code != 200:
            rows.append([email, "(no profile yet)", "", "", ""])
            continue
        profile = response.json()
        spent = ", ".join(f"{amount} {currency}" for currency, amount in profile["total_spent"].items()) or "-"
        consent = {True: "yes", False: "no", None: "unknown"}[profile["consent"]["email_marketing"]["subscribed"]]
        rows.append([email, str(profile["order_count"]), spent, ", ".join(profile["channels"]), consent])
    print("\nCustomers\n" + _table(rows), file=out)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _status(client: HubClient, order_id: str, want: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    status = "(not recorded)"
    while time.monotonic() < deadline:
        response = client.get(f"/orders/{quote(order_id)}")
        if response.status_code == 200:
            status = response.json()["status"]
            if status == want:
                break
        time.sleep(0.2)
    return status


def _lifecycle(client: HubClient, out: TextIO) -> None:
    """One WooCommerce order from placement to delivery: Stripe pays it, a person ships it (no carrier
    is configured locally), and Shippo's tracking says it arrived."""
    number = int(time.time()) % 10**6 + 500_000
    order_id = f"woocommerce:{number}"
    secrets = client.secrets()
    payloads = find_project_root() / "events" / "payloads"
    woo = json.loads((payloads / "woocommerce_order_created.json").read_text())
    woo.update(id=number, number=str(number), status="pending", date_paid=None, date_paid_gmt=None, total="36.00",
               currency="USD", refunds=[], date_modified_gmt=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))  # fmt: skip
    woo["line_items"] = [dict(woo["line_items"][0], sku="MUG-ENAMEL-WHT", quantity=2, total="36.00", price=18)]
    stripe = json.loads((payloads / "stripe_payment_intent_succeeded.json").read_text())
    stripe.update(id=f"evt_demo_{number}", created=int(time.time()))
    stripe["data"]["object"].update(id=f"pi_demo_{number}", amount=3600, amount_received=3600, currency="usd")
    stripe["data"]["object"]["metadata"] = {"order_id": str(number), "channel": "woocommerce"}
    tracking = f"9400{number:018d}"
    shippo = json.loads((payloads / "shippo_track_updated.json").read_text())
    shippo["data"].update(tracking_number=tracking, metadata=None)
    shippo["data"]["tracking_status"].update(
        status="DELIVERED", status_date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )

    steps: list[list[str]] = [["step", "what the hub was told", "order status"]]

    def deliver(source: str, body: dict, topic: str | None, want: str, what: str) -> None:
        delivery = sign_delivery(source, json.dumps(body).encode(), topic=topic, secrets=secrets, url=client.url)
        answer = client.send(source, delivery).json().get("status", "?")
        steps.append([str(len(steps)), f"{what} ({source}: {answer})", _status(client, order_id, want)])

    deliver("woocommerce", woo, "order.created", "pending_payment", "order placed, awaiting payment")
    deliver("stripe", stripe, None, "fulfilling", "Stripe payment_intent.succeeded for it")
    shipped = client.post_json(f"/orders/{quote(order_id)}/shipments", {"tracking_number": tracking, "carrier": "USPS"})
    steps.append([str(len(steps)), f"shipped with tracking {tracking} (HTTP {shipped.status_code})",
                  _status(client, order_id, "shipped")])  # fmt: skip
    deliver("shippo", shippo, None, "delivered", "Shippo tracking: DELIVERED")
    print(f"\nLifecycle of {order_id}\n" + _table(steps), file=out)


def _marketing_and_report(client: HubClient, out: TextIO) -> None:
    """A consenting shopper abandons a checkout; five hours pass (the local stack fires the due
    schedules on demand); the reminder goes out. Then the day's report."""
    payloads = find_project_root() / "events" / "payloads"
    secrets = client.secrets()
    stamp = int(time.time())
    email = f"shopper{stamp}@example.com"
    customer = json.loads((payloads / "shopify_customers_create.json").read_text())
    customer.update(id=stamp, email=email, updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    checkout = json.loads((payloads / "shopify_checkouts_create.json").read_text())
    checkout.update(id=stamp, token=f"demo{stamp}", email=email,
                    created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))  # fmt: skip
    for topic, body in (("customers/create", customer), ("checkouts/create", checkout)):
        delivery = sign_delivery("shopify", json.dumps(body).encode(), topic=topic, secrets=secrets)
        client.send("shopify", delivery).raise_for_status()
    time.sleep(3)  # the checkout reaches marketing_triggers, which schedules the reminder
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5 * 3600))
    fired = client.post_json(f"/_local/scheduler/fire-due?now={later}", {})
    fired_names = fired.json().get("fired", []) if fired.status_code == 200 else []
    print(f"\nMarketing\n{email} consented and abandoned checkout demo{stamp}; 5 hours later "
          f"{len(fired_names)} reminder schedule(s) fired.", file=out)  # fmt: skip

    today = time.strftime("%Y-%m-%d", time.gmtime())
    deadline = time.monotonic() + 20
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/reports/daily?date={today}")
        if response.status_code == 200:
            report = response.json()
            if any(int(row.get("marketing_messages_sent", 0) or 0) for row in _report_rows(report)):
                break
        time.sleep(0.5)
    print(f"\nToday's report ({today})\n" + report_table(report), file=out)


def percent(rate: str | None) -> str:
    """A conversion rate ("0.6667", between 0 and 1) as a percentage ("66.7%"); "-" when there is none."""
    if rate is None:
        return "-"
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"


def report_table(report: dict[str, Any]) -> str:
    """The daily report's channels as a table: checkouts started and completed, and their conversion."""
    rows = [
        [
            "channel",
            "orders",
            "units",
            "revenue",
            "net revenue",
            "checkouts",
            "completed",
            "conversion",
            "messages sent",
        ]
    ]
    for row in _report_rows(report):
        currencies = row.get("currencies", [])
        rows.append(
            [
                str(row.get("channel")),
                str(row.get("orders")),
                str(row.get("units")),
                ", ".join(f"{c['revenue']} {c['currency']}" for c in currencies) or "-",
                ", ".join(f"{c['net_revenue']} {c['currency']}" for c in currencies) or "-",
                str(row.get("checkouts_started")),
                str(row.get("checkouts_completed")),
                percent(row.get("conversion_rate")),
                str(row.get("marketing_messages_sent")),
            ]
        )
    return _table(rows) if len(rows) > 1 else "(nothing yet)"


def _report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = report.get("channels") or []
    return rows if isinstance(rows, list) else []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="base URL of the stack (default http://127.0.0.1:$HUB_PORT)")


def run(client: HubClient, out: TextIO = sys.stdout) -> list[Scenario]:
    for sku, location, units in STOCK:
        response = client.put_json(f"/inventory/{sku}", {"location": location, "available": units})
        response.raise_for_status()
    print(f"Seeded {len(STOCK)} stock levels.", file=out)

    base = int(time.time() * 1000) % 10**10 * 100
    secrets = client.secrets()
    plan = scenarios()
    sent: list[tuple[bytes, str, str]] = []
    for i, s in enumerate(plan):
        if s.redeliver_of is not None:
            body, delivery_id, order_id = sent[s.redeliver_of]
        else:
            number = 3000 + i + 1
            body, delivery_id, order_id = order_payload(number, base + i, s), str(uuid.uuid4()), f"shopify:{base + i}"
        sent.append((body, delivery_id, order_id))
        delivery = sign_delivery("shopify", body, topic="orders/create", secrets=secrets, delivery_id=delivery_id)
        response = client.send("shopify", delivery)
        s.answer = f"{response.status_code} {response.json().get('status') or response.json().get('error')}"
    for s, (_body, _delivery, order_id) in zip(plan, sent, strict=True):
        s.order = _wait_for(client, order_id)

    rows = [["order", "scenario", "webhook", "status", "reserved at / note"]]
    for s, (_body, _delivery, order_id) in zip(plan, sent, strict=True):
        order = s.order
        where = ", ".join(f"{r['sku']}x{r['quantity']}@{r['location']}" for r in order.get("reservations", []))
        note = where or (
            f"{order.get('hold_reason')}: short {order.get('shortages')}" if order.get("hold_reason") else ""
        )
        rows.append([order_id, s.label, s.answer, order.get("status", "(not recorded)"), note])
    print("\nOrders\n" + _table(rows), file=out)

    rows = [["sku", "available", "reserved", "by location"]]
    for sku in dict.fromkeys(sku for sku, _, _ in STOCK):
        level = client.get(f"/inventory/{sku}").json()
        by_loc = ", ".join(f"{loc} {v['available']}/{v['reserved']}" for loc, v in level["locations"].items())
        rows.append([sku, str(level["available"]), str(level["reserved"]), by_loc])
    print("\nStock (available/reserved)\n" + _table(rows), file=out)

    _profiles(client, [json.loads(body)["email"] for body, _delivery, _order in sent], out)
    _lifecycle(client, out)
    _marketing_and_report(client, out)
    return plan


def main(args: argparse.Namespace) -> int:
    root: Path = find_project_root()
    with HubClient.from_environment(root, getattr(args, "url", None)) as client:
        try:
            run(client)
        except httpx.HTTPStatusError as exc:
            print(f"the hub answered {exc.response.status_code}: {exc.response.text}", file=sys.stderr)
            return 1
        except httpx.HTTPError as exc:
            print(f"could not reach the hub at {client.url}: {exc}. Is `make run` running?", file=sys.stderr)
            return 1
    return 0
