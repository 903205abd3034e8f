"""A fake of the GA4 Data API (v1beta runReport) and of Google's OAuth token endpoint for service accounts.

The same fake answers through `httpx.MockTransport` (unit and functional tests) and over real HTTP on
127.0.0.1 (end to end, where the local stack's traffic_import function calls it); it records every
request and can be told to fail the next calls.

- `POST /token`: the service-account flow (developers.google.com/identity/protocols/oauth2/service-account
  #httprest): form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`; the JWT's
  RS256 signature is checked with the test key's public half, and its claims (`iss`, `scope`, `aud`
  = this endpoint, `iat`/`exp` at most an hour apart). Answers `{"access_token", "expires_in": 3599,
  "token_type": "Bearer"}`, or 400 `{"error": "invalid_grant", "error_description": ...}`.
- `POST /v1beta/properties/{id}:runReport`: the bearer token must be one it issued (else 401
  UNAUTHENTICATED); a property the account may not read is 403 PERMISSION_DENIED. Answers in the shape
  of the API reference's RunReportResponse
  (developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/RunReportResponse):
  `dimensionHeaders`, `metricHeaders` with `TYPE_INTEGER`, `rows` of string values, `rowCount`,
  `metadata.currencyCode`/`timeZone`, `propertyQuota` when asked, `kind: analyticsData#runReport`;
  `rows` and `rowCount` are left out when there are none (proto3 JSON), `date` is YYYYMMDD, and
  `limit`/`offset` page the rows. Errors are Google's JSON error (`{"error": {"code", "message",
  "status"}}`, cloud.google.com/apis/design/errors).

Samples: the quota answer's message is the one GA4 sends for a spent property bucket ("Exhausted
property tokens ...", quoted in bakissation/mcp-google-multi#204); a real runReport answer with
`metricHeaders[].type` `TYPE_INTEGER` and string metric values ("1520") is printed in
8-bit-sheep/googleAnalyticsR#406; the 403 message is the Data API's own, which points at its
property-id page; the key file's fields are those of a key downloaded from the Cloud console.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.loopback import Request, json_transport, serving_json

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
CLIENT_EMAIL = "hub-traffic@commerce-hub-test.iam.gserviceaccount.com"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
PRIVATE_KEY_ID = "3f1c0de2a9b84e7d9c1a0b2c3d4e5f60718293a4"


def service_account_json(token_uri: str = GOOGLE_TOKEN_URI, key: str = PRIVATE_KEY_PEM) -> str:
    """A key file as the Cloud console downloads it (every field it has, with test values)."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "commerce-hub-test",
            "private_key_id": PRIVATE_KEY_ID,
            "private_key": key,
            "client_email": CLIENT_EMAIL,
            "client_id": "104729384756102938475",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/hub-traffic",
            "universe_domain": "googleapis.com",
        }
    )


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def google_error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


QUOTA_EXHAUSTED = google_error(
    429, "RESOURCE_EXHAUSTED", "Exhausted property tokens per hour for this property. Try again later."
)
PERMISSION_DENIED = google_error(
    403,
    "PERMISSION_DENIED",
    "User does not have sufficient permissions for this property. To learn more about Property ID, see "
    "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
)


@dataclass
class FakeGa4Data:
    """`traffic[property][(YYYYMMDD, source, medium)] = (sessions, users)`; a day's users are `day_users`
    when set (users are not additive across sources), else the sum."""

    traffic: dict[str, dict[tuple[str, str, str], tuple[int, int]]] = field(default_factory=dict)
    day_users: dict[tuple[str, str], int] = field(default_factory=dict)
    readable: set[str] | None = None  # properties the account may read (None: every one)
    time_zone: str = "UTC"
    token_lifetime: int = 3599
    requests: list[Request] = field(default_factory=list)
    failures: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    clock: Any = time.time  # what the token endpoint takes for now (tests that move time set it)

    def fail_next(self, status: int, body: Any, headers: dict[str, str] | None = None, times: int = 1) -> None:
        self.failures.extend([(status, body, headers or {})] * times)

    def set_day(self, property_id: str, day: date, sources: dict[tuple[str, str], tuple[int, int]], users: int) -> None:
        key = day.strftime("%Y%m%d")
        table = self.traffic.setdefault(property_id, {})
        for old in [k for k in table if k[0] == key]:
            del table[old]
        for (source, medium), figures in sources.items():
            table[(key, source, medium)] = figures
        self.day_users[(property_id, key)] = users

    def report_calls(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith(":runReport")]

    def token_calls(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/token"]

    # ------------------------------------------------------------------ answering
    def answer(self, request: Request) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        self.requests.append(request)
        if request.path == "/token":
            return self._token(request)
        if self.failures:
            return self.failures.pop(0)
        if (
            request.method == "POST"
            and request.path.startswith("/v1beta/properties/")
            and request.path.endswith(":runReport")
        ):
            return self._run_report(request, request.path[len("/v1beta/properties/") : -len(":runReport")])
        return 404, google_error(404, "NOT_FOUND", "Method not found.")

    def _token(self, request: Request) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        refused = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        try:
            header_b64, claims_b64, signature_b64 = form["assertion"].split(".")
            _KEY.public_key().verify(
                _unb64(signature_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            header, claims = json.loads(_unb64(header_b64)), json.loads(_unb64(claims_b64))
        except Exception:
            return refused
        now = self.clock()
        if (
            header.get("alg") != "RS256"
            or header.get("kid") != PRIVATE_KEY_ID
            or claims.get("iss") != CLIENT_EMAIL
            or claims.get("scope") != SCOPE
            or claims.get("aud") != request.url.split("?")[0]
            or not claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0)
            or claims["exp"] - claims["iat"] > 3600
        ):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: claims are not valid."}
        self.assertions.append(claims)
        token = "ya29.c." + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}

    def _run_report(self, request: Request, property_id: str) -> tuple[int, Any]:
        auth = request.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.tokens:
            return 401, google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential.",
            )
        if self.readable is not None and property_id not in self.readable:
            return 403, PERMISSION_DENIED
        body = request.json()
        dims = [d["name"] for d in body["dimensions"]]
        mets = [m["name"] for m in body["metrics"]]
        if mets != ["sessions", "totalUsers"] or dims not in (["date"], ["date", "sessionSource", "sessionMedium"]):
            return 400, google_error(400, "INVALID_ARGUMENT", "Field not supported by this fake.")
        (span,) = body["dateRanges"]
        first, last = (date.fromisoformat(span[k]).strftime("%Y%m%d") for k in ("startDate", "endDate"))
        table = {k: v for k, v in self.traffic.get(property_id, {}).items() if first <= k[0] <= last}
        rows: list[tuple[list[str], list[int]]] = []
        if dims == ["date"]:
            for day in sorted({k[0] for k in table}):
                sessions = sum(v[0] for k, v in table.items() if k[0] == day)
                users = self.day_users.get((property_id, day), sum(v[1] for k, v in table.items() if k[0] == day))
                rows.append(([day], [sessions, users]))
        else:
            ordered = sorted(table.items(), key=lambda kv: (kv[0][0], -kv[1][0]))
            rows = [([day, source, medium], [sessions, users]) for (day, source, medium), (sessions, users) in ordered]
        offset, limit = int(body.get("offset", 0)), int(body.get("limit", 10000))
        page = rows[offset : offset + limit]
        answer: dict[str, Any] = {
            "dimensionHeaders": [{"name": name} for name in dims],
            "metricHeaders": [{"name": name, "type": "TYPE_INTEGER"} for name in mets],
            "metadata": {"currencyCode": "USD", "timeZone": self.time_zone},
            "kind": "analyticsData#runReport",
        }
        if page:
            answer["rows"] = [
                {"dimensionValues": [{"value": v} for v in d], "metricValues": [{"value": str(n)} for n in m]}
                for d, m in page
            ]
        if rows:
            answer["rowCount"] = len(rows)
        if body.get("returnPropertyQuota"):
            calls = len(self.report_calls())
            answer["propertyQuota"] = {
                "tokensPerDay": {"consumed": 10, "remaining": 200000 - 10 * calls},
                "tokensPerHour": {"consumed": 10, "remaining": 40000 - 10 * calls},
                "concurrentRequests": {"consumed": 0, "remaining": 10},
                "serverErrorsPerProjectPerHour": {"consumed": 0, "remaining": 10},
                "potentiallyThresholdedRequestsPerHour": {"consumed": 0, "remaining": 120},
                "tokensPerProjectPerHour": {"consumed": 10, "remaining": 14000},
            }
        return 200, answer

    # ------------------------------------------------------------------ wiring
    def transport(self) -> httpx.MockTransport:
        return json_transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url
