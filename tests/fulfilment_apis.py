"""Small fakes of the EasyPost and WooCommerce REST APIs, served over HTTP on 127.0.0.1.

The local stack's order_routing calls them through the configured `api_url`s. They check the
credentials (WooCommerce's as the store does: tests.woocommerce_auth), keep what was created, and record every request (method, path, headers, JSON body).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.loopback import serving_json
from tests.woocommerce_auth import refusal as woocommerce_refusal

EASYPOST_KEY = "EZTK-e2e-key"
WOO_KEY, WOO_SECRET = "ck_e2e", "cs_e2e"


def easypost_carrier(api_url: str) -> dict:
    """The configuration's `carrier` section buying labels from the EasyPost fake at `api_url`."""
    return {
        "provider": "easypost",
        "api_url": api_url,
        "service_level": {"max_days": 3},
        "from_address": {"name": "Ada Goods", "street1": "9 Dock St", "city": "Newark", "state": "NJ",
                         "zip": "07102", "country": "US"},
    }  # fmt: skip


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApis:
    """EasyPost under /v2/, WooCommerce under /wp-json/wc/v3/, and, when `shopify` is set (a
    FakeStorefronts with its FakeShopifyOrders), Shopify's GraphQL Admin under /admin/api/, on one server."""

    requests: list[Seen] = field(default_factory=list)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    shopify: Any = None

    def seen(self, method: str, prefix: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def _basic(self, headers: dict[str, str], user: str, password: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers.get("authorization") == expected

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: Any, url: str | None = None
    ) -> tuple[int, Any]:
        """`url`: the whole URL, query included (WooCommerce takes credentials from the query too)."""
        if path.startswith("/admin/api/") and self.shopify is not None:
            return self.shopify.answer(method, path, headers, json.dumps(body).encode() if body is not None else b"")
        with self.lock:
            self.requests.append(Seen(method, path, headers, body))
            if path.startswith("/v2/"):
                if not self._basic(headers, EASYPOST_KEY, ""):
                    return 401, {"error": {"code": "APIKEY.INACTIVE"}}
                return self._easypost(method, path, body)
            if path.startswith("/wp-json/wc/v3/"):
                refused = woocommerce_refusal(url or path, headers, WOO_KEY, WOO_SECRET)
                if refused:
                    return refused
                return self._woocommerce(method, path, body)
            return 404, {"error": "no such path"}

    def _easypost(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        rates = [
            {
                "id": "rate_slow",
                "carrier": "USPS",
                "service": "GroundAdvantage",
                "rate": "5.10",
                "currency": "USD",
                "delivery_days": 5,
            },
            {
                "id": "rate_fast",
                "carrier": "USPS",
                "service": "Priority",
                "rate": "7.90",
                "currency": "USD",
                "delivery_days": 2,
            },
        ]
        if method == "POST" and parts == ["v2", "shipments"]:
            shipment_id = f"shp_{len(self.shipments) + 1:04d}"
            self.shipments[shipment_id] = {
                "id": shipment_id,
                "rates": rates,
                "reference": body["shipment"]["reference"],
            }
            return 201, self.shipments[shipment_id]
        if len(parts) >= 3 and parts[1] == "shipments" and parts[2] in self.shipments:
            shipment = self.shipments[parts[2]]
            if method == "GET" and len(parts) == 3:
                return 200, shipment
            if method == "POST" and parts[3:] == ["buy"]:
                if "tracking_code" not in shipment:
                    rate = next(r for r in rates if r["id"] == body["rate"]["id"])
                    shipment.update(
                        tracking_code=f"9400E2E{parts[2][-4:]}",
                        postage_label={"label_url": f"https://easypost-files.example/{parts[2]}.pdf"},
                        selected_rate=rate,
                        tracker={"public_url": f"https://track.easypost.example/{parts[2]}"},
                    )
                return 200, shipment
        return 404, {"error": {"code": "NOT_FOUND"}}

    def _woocommerce(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.removeprefix("/wp-json/wc/v3/").strip("/").split("/")
        if parts[0] != "orders" or len(parts) < 2:
            return 404, {"code": "rest_no_route"}
        order_id = parts[1]
        if parts[2:] == ["notes"]:
            notes = self.notes.setdefault(order_id, [])
            if method == "GET":
                return 200, notes
            note = {"id": 100 + len(notes), "note": body["note"], "customer_note": body.get("customer_note", False)}
            notes.append(note)
            return 201, note
        if method == "PUT" and not parts[2:]:
            self.statuses[order_id] = body["status"]
            return 200, {"id": int(order_id), "status": body["status"]}
        return 404, {"code": "rest_no_route"}

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(lambda r: self.answer(r.method, r.path, r.lowered_headers(), r.json(), r.url)) as url:
            yield url
