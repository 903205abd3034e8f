"""A fake of the payment gateways' list APIs the reconcilers read, in process (httpx.MockTransport)
or over HTTP on 127.0.0.1 (`serve`). It refuses what the gateways refuse: a wrong key, a cursor it
never gave, a query the API does not take.

- Stripe (docs.stripe.com/api/events/list, /api/pagination): `GET /v1/events` with `created[gt]`,
  `created[lte]`, `types[]` (at most 20), `limit` (1-100), `starting_after`; newest first; answers
  `{"object": "list", "url": "/v1/events", "has_more", "data"}`. A wrong key is 401
  `invalid_request_error`; an unknown `starting_after` is 400 `resource_missing`.
- Square (developer.squareup.com/reference/square/payments-api/list-payments, refunds-api/get-payment-refund):
  `GET /v2/payments` with `updated_at_begin_time`, `sort_field=UPDATED_AT`, `sort_order=ASC`, `limit`
  (at most 100), `cursor`; `GET /v2/refunds/{id}`. Needs `Square-Version` and the bearer token (401
  `AUTHENTICATION_ERROR` / `UNAUTHORIZED`); an unknown cursor is 400 `INVALID_REQUEST_ERROR`.
- PayPal (developer.paypal.com/api/rest/authentication, /api/webhooks/v1 "List event notifications"):
  `POST /v1/oauth2/token` (client credentials, HTTP Basic; 401 `invalid_client`), then
  `GET /v1/notifications/webhooks-events` with `start_time`, `end_time`, `page_size` (at most 300)
  and the bearer token; newest first, the next page in `links[rel=next]`.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.loopback import serving_json

STRIPE_KEY = "sk_test_51ReconcileFakeKey"
SQUARE_TOKEN = "EAAAl-fake-square-token"
PAYPAL_CLIENT_ID = "AfakePayPalClientId"
PAYPAL_CLIENT_SECRET = "EfakePayPalClientSecret"
PAYPAL_ACCESS_TOKEN = "A21AAfakePayPalAccessToken"
GATEWAY_SECRETS = {
    "STRIPE_API_KEY": STRIPE_KEY,
    "SQUARE_ACCESS_TOKEN": SQUARE_TOKEN,
    "PAYPAL_CLIENT_ID": PAYPAL_CLIENT_ID,
    "PAYPAL_CLIENT_SECRET": PAYPAL_CLIENT_SECRET,
}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Asked:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeGatewayApis:
    stripe_events: list[dict[str, Any]] = field(default_factory=list)
    square_payments: list[dict[str, Any]] = field(default_factory=list)
    square_refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    paypal_events: list[dict[str, Any]] = field(default_factory=list)
    asked: list[Asked] = field(default_factory=list)
    fail_next: int = 0  # the next N calls answer `fail_status`
    fail_status: int = 503
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, path: str) -> list[Asked]:
        with self.lock:
            return [a for a in self.asked if a.path == path]

    def answer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.asked.append(Asked(method, parts.path, query, headers))
            if self.fail_next:
                self.fail_next -= 1
                return self.fail_status, {"error": {"type": "api_error", "message": "unavailable"}}
            if parts.path == "/v1/events" and method == "GET":
                return self._stripe(query, headers)
            if parts.path == "/v2/payments" and method == "GET":
                return self._square_payments(query, headers)
            if parts.path.startswith("/v2/refunds/") and method == "GET":
                return self._square_refund(parts.path.rsplit("/", 1)[-1], headers)
            if parts.path == "/v1/oauth2/token" and method == "POST":
                return self._paypal_token(headers, body)
            if parts.path == "/v1/notifications/webhooks-events" and method == "GET":
                return self._paypal_events(query, headers, f"{parts.scheme}://{parts.netloc}")
        return 404, {"error": f"no route {method} {parts.path}"}

    # ----------------------------------------------------------------------------------- Stripe
    def _stripe(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {STRIPE_KEY}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        types = query.get("types[]", [])
        if len(types) > 20:
            return 400, {"error": {"type": "invalid_request_error", "param": "types", "code": "parameter_invalid"}}
        limit = int(query.get("limit", ["10"])[0])
        if not 1 <= limit <= 100:
            return 400, {"error": {"type": "invalid_request_error", "param": "limit", "code": "parameter_invalid"}}
        try:
            after = int(query["created[gt]"][0]) if "created[gt]" in query else None
            upto = int(query["created[lte]"][0]) if "created[lte]" in query else None
        except ValueError:
            return 400, {"error": {"type": "invalid_request_error", "param": "created", "code": "parameter_invalid"}}
        events = sorted(self.stripe_events, key=lambda e: (e["created"], e["id"]), reverse=True)
        events = [
            e
            for e in events
            if (after is None or e["created"] > after)
            and (upto is None or e["created"] <= upto)
            and (not types or e["type"] in types)
        ]
        start = query.get("starting_after", [None])[0]
        if start is not None:
            ids = [e["id"] for e in events]
            if start not in ids:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "param": "starting_after",
                        "message": f"No such event: '{start}'",
                    }
                }
            events = events[ids.index(start) + 1 :]
        page = events[:limit]
        return 200, {"object": "list", "url": "/v1/events", "has_more": len(events) > limit, "data": page}

    # ----------------------------------------------------------------------------------- Square
    def _square_auth(self, headers: dict[str, str]) -> tuple[int, Any] | None:
        if headers.get("authorization") != f"Bearer {SQUARE_TOKEN}":
            return 401, {
                "errors": [
                    {
                        "category": "AUTHENTICATION_ERROR",
                        "code": "UNAUTHORIZED",
                        "detail": "This request could not be authorized.",
                    }
                ]
            }
        if not headers.get("square-version"):
            return 400, {
                "errors": [{"category": "INVALID_REQUEST_ERROR", "code": "BAD_REQUEST", "detail": "no version"}]
            }
        return None

    def _square_payments(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        refused = self._square_auth(headers)
        if refused:
            return refused
        limit = int(query.get("limit", ["100"])[0])
        if query.get("sort_field", ["CREATED_AT"])[0] != "UPDATED_AT" or query.get("sort_order", ["DESC"])[0] != "ASC":
            return 400, {
                "errors": [
                    {
                        "category": "INVALID_REQUEST_ERROR",
                        "code": "BAD_REQUEST",
                        "detail": "this fake sorts by UPDATED_AT ASC only",
                    }
                ]
            }
        begin = query.get("updated_at_begin_time", [None])[0]
        payments = sorted(self.square_payments, key=lambda p: (p["updated_at"], p["id"]))
        if begin is not None:
            payments = [p for p in payments if _time(p["updated_at"]) >= _time(begin)]
        start = 0
        cursor = query.get("cursor", [None])[0]
        if cursor is not None:
            try:
                start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
            except ValueError:
                return 400, {
                    "errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_VALUE", "field": "cursor"}]
                }
        page = payments[start : start + min(limit, 100)]
        answer: dict[str, Any] = {"payments": page} if page else {}
        if start + len(page) < len(payments):
            answer["cursor"] = base64.b64encode(f"offset:{start + len(page)}".encode()).decode()
        return 200, answer

    def _square_refund(self, refund_id: str, headers: dict[str, str]) -> tuple[int, Any]:
        refused = self._square_auth(headers)
        if refused:
            return refused
        refund = self.square_refunds.get(refund_id)
        if refund is None:
            return 404, {"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND", "detail": "no refund"}]}
        return 200, {"refund": refund}

    # ----------------------------------------------------------------------------------- PayPal
    def _paypal_token(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        basic = base64.b64encode(f"{PAYPAL_CLIENT_ID}:{PAYPAL_CLIENT_SECRET}".encode()).decode()
        if headers.get("authorization") != f"Basic {basic}":
            return 401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
        if parse_qs(body.decode()).get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}
        return 200, {"scope": "https://uri.paypal.com/services/applications/webhooks", "access_token": PAYPAL_ACCESS_TOKEN,
                     "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": "fake"}  # fmt: skip

    def _paypal_events(self, query: dict[str, list[str]], headers: dict[str, str], base: str) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {PAYPAL_ACCESS_TOKEN}":
            return 401, {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed due to invalid authentication credentials or a missing Authorization header.", "debug_id": "fake1"}  # fmt: skip
        size = int(query.get("page_size", ["10"])[0])
        if not 1 <= size <= 300:
            return 400, {"name": "VALIDATION_ERROR", "debug_id": "fake2", "details": [{"field": "page_size"}]}
        start = query.get("start_time", [None])[0]
        end = query.get("end_time", [None])[0]
        events = sorted(self.paypal_events, key=lambda e: (e["create_time"], e["id"]), reverse=True)
        events = [
            e
            for e in events
            if (start is None or _time(e["create_time"]) >= _time(start))
            and (end is None or _time(e["create_time"]) <= _time(end))
        ]
        offset = 0
        token = query.get("next_page_token", [None])[0]
        if token is not None:
            try:
                offset = int(base64.b64decode(token).decode().removeprefix("page:"))
            except ValueError:
                return 400, {"name": "INVALID_REQUEST", "debug_id": "fake3", "details": [{"field": "next_page_token"}]}
        page = events[offset : offset + size]
        links = [
            {
                "href": f"{base}/v1/notifications/webhooks-events?{urlencode(_flat(query))}",
                "rel": "self",
                "method": "GET",
            }
        ]
        if offset + size < len(events):
            following = {**_flat(query), "next_page_token": base64.b64encode(f"page:{offset + size}".encode()).decode()}
            links.append(
                {
                    "href": f"{base}/v1/notifications/webhooks-events?{urlencode(following)}",
                    "rel": "next",
                    "method": "GET",
                }
            )
        return 200, {"events": page, "count": len(page), "links": links}

    # ------------------------------------------------------------------------------- transport
    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            status, body = self.answer(request.method, str(request.url), dict(request.headers), request.content)
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the fake on 127.0.0.1; yields its base URL."""
        with serving_json(lambda r: self.answer(r.method, r.url, dict(r.headers), r.body)) as url:
            yield url


def _flat(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in query.items() if k != "next_page_token"}
