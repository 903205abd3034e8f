"""A small fake of the Shippo API for label purchases, answering through httpx (MockTransport or respx).

It follows the documented shapes (docs.goshippo.com, api-reference: shipments, transactions; the
shippo-python-sdk models `Shipment`, `Rate`, `Transaction`, `LabelFileTypeEnum`,
`ListTransactionsRequest`) and refuses what the real API refuses:

- a token other than its own (`Authorization: ShippoToken <token>`): 401;
- a `label_file_type` that is not one of Shippo's tokens (`ZPL`: Shippo spells it `ZPLII`): 400;
- a rate 7 days old or older ("Transactions can only be created for Rates that are less than 7 days
  old"): 400 naming `rate`.

It counts the labels it sold (`purchases`), so a test can prove one was bought once, and can be told
to buy the next label and then let the answer time out (`time_out_next_purchase`) or fail with a 5xx
(`fail_after_next_purchase`), as a slow carrier behind Shippo does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

SHIPPO_TOKEN = "shippo_test_fake_token"
LABEL_FILE_TYPES = (
    "PNG", "PNG_2.3x7.5", "PDF", "PDF_2.3x7.5", "PDF_4x6", "PDF_4x8", "PDF_A4", "PDF_A5", "PDF_A6", "ZPLII",
)  # fmt: skip
RATE_LIFETIME = timedelta(days=7)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FakeShippo:
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    token: str = SHIPPO_TOKEN
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    purchases: int = 0
    time_out_next_purchase: int = 0
    fail_after_next_purchase: int = 0

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"ShippoToken {self.token}":
            return httpx.Response(401, json={"detail": "Invalid token."})
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        query = parse_qs(request.url.query.decode())
        if request.method == "POST" and path == "/shipments/":
            return self._create_shipment(body)
        if request.method == "GET" and path.startswith("/shipments/"):
            shipment = self.shipments.get(path.removeprefix("/shipments/").strip("/"))
            return (
                httpx.Response(200, json=shipment) if shipment else httpx.Response(404, json={"detail": "Not found."})
            )
        if request.method == "GET" and path == "/transactions/":
            return self._list_transactions(query)
        if request.method == "POST" and path == "/transactions/":
            return self._purchase(body, request)
        return httpx.Response(404, json={"detail": "Not found."})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # ---------------------------------------------------------------------------------- shipments
    def _create_shipment(self, body: Any) -> httpx.Response:
        missing = [k for k in ("address_from", "address_to", "parcels") if not (body or {}).get(k)]
        if missing:
            return httpx.Response(400, json={k: ["This field is required."] for k in missing})
        shipment_id = f"{len(self.shipments) + 1:032x}"
        now = _iso(self.clock())
        rates = [
            {
                "object_id": f"{shipment_id[-8:]}r{n}",
                "object_created": now,
                "shipment": shipment_id,
                "provider": "USPS",
                "servicelevel": {"token": token, "name": name},
                "amount": amount,
                "currency": "USD",
                "estimated_days": days,
            }
            for n, (token, name, amount, days) in enumerate(
                [
                    ("usps_ground_advantage", "Ground Advantage", "4.90", 6),
                    ("usps_priority", "Priority Mail", "7.60", 2),
                ]
            )
        ]
        self.shipments[shipment_id] = {
            "object_id": shipment_id,
            "object_created": now,
            "status": "SUCCESS",
            "metadata": body.get("metadata", ""),
            "rates": rates,
        }
        return httpx.Response(201, json=self.shipments[shipment_id])

    def _rate(self, rate_id: str) -> dict[str, Any] | None:
        return next((r for s in self.shipments.values() for r in s["rates"] if r["object_id"] == rate_id), None)

    # ------------------------------------------------------------------------------- transactions
    def _list_transactions(self, query: dict[str, list[str]]) -> httpx.Response:
        found = self.transactions
        if "rate" in query:
            found = [t for t in found if t["rate"]["object_id"] == query["rate"][0]]
        if "object_status" in query:
            found = [t for t in found if t["status"] == query["object_status"][0]]
        return httpx.Response(200, json={"next": None, "previous": None, "results": found})

    def _purchase(self, body: Any, request: httpx.Request) -> httpx.Response:
        body = body or {}
        label_file_type = body.get("label_file_type")
        if label_file_type is not None and label_file_type not in LABEL_FILE_TYPES:
            return httpx.Response(400, json={"label_file_type": [f'"{label_file_type}" is not a valid choice.']})
        rate = self._rate(str(body.get("rate")))
        if rate is None:
            return httpx.Response(400, json={"rate": ["This rate does not exist."]})
        created = datetime.fromisoformat(rate["object_created"].replace("Z", "+00:00"))
        if self.clock() - created >= RATE_LIFETIME:
            return httpx.Response(
                400, json={"rate": ["Transactions can only be created for Rates that are less than 7 days old."]}
            )
        self.purchases += 1
        number = f"92055901755477000000{self.purchases:04d}"
        transaction = {
            "object_id": f"t{self.purchases:031x}",
            "object_created": _iso(self.clock()),
            "status": "SUCCESS",
            "rate": {"object_id": rate["object_id"], "provider": rate["provider"], "amount": rate["amount"]},
            "metadata": body.get("metadata", ""),
            "label_file_type": label_file_type or "PDF",
            "tracking_number": number,
            "tracking_url_provider": f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
            "label_url": f"https://shippo-delivery.example/{number}.pdf",
            "messages": [],
        }
        self.transactions.append(transaction)
        if self.time_out_next_purchase:
            self.time_out_next_purchase -= 1
            raise httpx.ReadTimeout("the carrier took too long to answer", request=request)
        if self.fail_after_next_purchase:
            self.fail_after_next_purchase -= 1
            return httpx.Response(502, json={"detail": "Bad gateway"})
        return httpx.Response(201, json=transaction)
