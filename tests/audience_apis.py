"""Small fakes of Meta's Custom Audience users endpoint and Google Ads' Customer Match
(OfflineUserDataJobService, with Google's OAuth token endpoint).

The same fakes answer through `httpx.MockTransport` (unit and functional tests) and over real HTTP on
127.0.0.1 (end to end). Each keeps the members of each audience as the vendor would, records every
request, and can be told to throttle or fail the next calls with the vendor's own answer.

Shapes, from the vendors' references:
- Meta: developers.facebook.com/docs/marketing-api/reference/custom-audience/users (POST adds,
  DELETE removes, form field `payload` {schema, data}, at most 10,000 rows; answer `audience_id`,
  `session_id`, `num_received`, `num_invalid_entries`, `invalid_entry_samples`); errors are
  `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`, throttling HTTP 400 with
  code 80003 (custom audience calls) or 17 (developers.facebook.com/docs/graph-api/overview/rate-limiting).
- Google Ads REST: developers.google.com/google-ads/api/rest/reference/rest/v26/customers.offlineUserDataJobs
  (`:create` answers `{"resourceName"}`, `:addOperations` `{}` (or `partialFailureError`), `:run` a
  long-running operation `{"name"}`); errors are google.rpc.Status `{"error": {"code", "message",
  "status", "details": [GoogleAdsFailure]}}`, RESOURCE_EXHAUSTED with HTTP 429. The token endpoint:
  developers.google.com/identity/protocols/oauth2/web-server#offline (refresh_token grant).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.loopback import Reply, Request, json_transport, serving_json
from tests.social_apis import graph_error

META_ADS_ACCESS_TOKEN = "local-meta-ads-token"
META_AD_ACCOUNT = "act_1010101010"
META_VERSION = "v25.0"
GOOGLE_DEVELOPER_TOKEN = "local-developer-token"
GOOGLE_CLIENT_ID = "local-client-id.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "local-client-secret"
GOOGLE_REFRESH_TOKEN = "1//local-refresh-token"
GOOGLE_CUSTOMER = "1234567890"
GOOGLE_LOGIN_CUSTOMER = "9876543210"
GOOGLE_VERSION = "v26"

AUDIENCE_SECRETS = {
    "META_ADS_ACCESS_TOKEN": META_ADS_ACCESS_TOKEN,
    "GOOGLE_ADS_DEVELOPER_TOKEN": GOOGLE_DEVELOPER_TOKEN,
    "GOOGLE_ADS_CLIENT_ID": GOOGLE_CLIENT_ID,
    "GOOGLE_ADS_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
    "GOOGLE_ADS_REFRESH_TOKEN": GOOGLE_REFRESH_TOKEN,
}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_META_KEYS = {"EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "EXTERN_ID", "GEN", "DOBY", "MADID"}


@dataclass
class MetaCall:
    method: str
    audience_id: str
    schema: list[str]
    data: list[list[str]]
    session: dict[str, Any]


@dataclass
class FakeMetaAudiences:
    audiences: tuple[str, ...] = ("23850000000000001", "23850000000000002", "23850000000000003")
    version: str = META_VERSION
    access_token: str = META_ADS_ACCESS_TOKEN
    members: dict[str, set[str]] = field(default_factory=dict)  # audience -> EMAIL hashes
    calls: list[MetaCall] = field(default_factory=list)
    throttle_next: int = 0
    throttle_code: int = 80003
    fail_next: int = 0

    def answer(self, request: Request) -> Reply:
        if self.fail_next:
            self.fail_next -= 1
            return 500, graph_error("An unknown error has occurred.", 1)
        if self.throttle_next:
            self.throttle_next -= 1
            return 400, graph_error("There have been too many calls to this ad-account.", self.throttle_code, 2446079)
        match = re.fullmatch(rf"/{re.escape(self.version)}/(\d+)/users", request.path)
        if match is None or request.method not in ("POST", "DELETE"):
            return 400, graph_error("Unsupported request - method type: get", 100)
        if parse_qs(request.query).get("access_token") != [self.access_token]:
            return 400, graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        audience = match.group(1)
        if audience not in self.audiences:
            return 400, graph_error(f"Unsupported post request. Object with ID '{audience}' does not exist", 100, 33)
        form = parse_qs(request.body.decode())
        try:
            payload = json.loads(form["payload"][0])
            session = json.loads(form["session"][0]) if "session" in form else {}
        except (KeyError, ValueError):
            return 400, graph_error("(#100) The parameter payload is required", 100)
        schema, data = payload.get("schema"), payload.get("data")
        if not isinstance(schema, list) or not schema or set(schema) - _META_KEYS:
            return 400, graph_error("(#100) Invalid schema", 100)
        if not isinstance(data, list) or not data:
            return 400, graph_error("(#100) The parameter data is required", 100)
        if len(data) > 10_000:
            return 400, graph_error("(#100) The number of users in a request must be at most 10000", 100)
        invalid = 0
        for row in data:
            if not isinstance(row, list) or len(row) != len(schema):
                return 400, graph_error("(#100) Each row must have a value for each key of the schema", 100)
            if not all(v == "" or _HEX64.match(v) for v in row) or not any(row):
                invalid += 1
        self.calls.append(MetaCall(request.method, audience, schema, data, session))
        emails = {row[schema.index("EMAIL")] for row in data if "EMAIL" in schema and row[schema.index("EMAIL")]}
        held = self.members.setdefault(audience, set())
        if request.method == "POST":
            held |= emails
        else:
            held -= emails
        return 200, {
            "audience_id": audience,
            "session_id": str(session.get("session_id", "1")),
            "num_received": len(data),
            "num_invalid_entries": invalid,
            "invalid_entry_samples": {},
        }

    def transport(self) -> httpx.MockTransport:
        return json_transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url


def _google_error(status: int, code: str, message: str, error_code: dict[str, str]) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": code,
            "details": [
                {
                    "@type": f"type.googleapis.com/google.ads.googleads.{GOOGLE_VERSION}.errors.GoogleAdsFailure",
                    "errors": [{"errorCode": error_code, "message": message}],
                    "requestId": "Gz1x2y3",
                }
            ],
        }
    }


@dataclass
class GoogleJob:
    user_list: str
    consent: dict[str, str]
    operations: list[dict[str, Any]] = field(default_factory=list)
    ran: bool = False


@dataclass
class FakeGoogleAds:
    """The Google Ads API and Google's OAuth token endpoint (`/token`) on one base URL."""

    customer: str = GOOGLE_CUSTOMER
    login_customer: str | None = GOOGLE_LOGIN_CUSTOMER
    user_lists: tuple[str, ...] = ("7000001", "7000002", "7000003")
    version: str = GOOGLE_VERSION
    jobs: dict[str, GoogleJob] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)  # user list -> hashedEmail values
    tokens_issued: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    exhaust_next: int = 0
    _access_token: str = "ya29.local-access-token"

    def answer(self, request: Request) -> Reply:
        self.requests.append((request.method, request.path))
        if request.path == "/token":
            return self._token(request)
        if self.exhaust_next:
            self.exhaust_next -= 1
            return 429, _google_error(
                429, "RESOURCE_EXHAUSTED", "Too many requests. Retry in 1 seconds.",
                {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
            )  # fmt: skip
        headers = request.lowered_headers()
        if headers.get("authorization") != f"Bearer {self._access_token}":
            return 401, _google_error(
                401, "UNAUTHENTICATED", "Request is missing required authentication credential.",
                {"authenticationError": "OAUTH_TOKEN_INVALID"},
            )  # fmt: skip
        if headers.get("developer-token") != GOOGLE_DEVELOPER_TOKEN:
            return 401, _google_error(
                401, "UNAUTHENTICATED", "The developer token is not valid.",
                {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
            )  # fmt: skip
        if self.login_customer and headers.get("login-customer-id") != self.login_customer:
            return 403, _google_error(
                403, "PERMISSION_DENIED", "User doesn't have permission to access customer.",
                {"authorizationError": "USER_PERMISSION_DENIED"},
            )  # fmt: skip
        prefix = f"/{self.version}/customers/{self.customer}/offlineUserDataJobs"
        body = request.json() or {}
        if request.method == "POST" and request.path == prefix + ":create":
            return self._create(body)
        match = re.fullmatch(re.escape(prefix) + r"/(\d+):(addOperations|run)", request.path)
        if request.method != "POST" or match is None:
            return 404, _google_error(404, "NOT_FOUND", "Not found", {"requestError": "UNKNOWN"})
        job = self.jobs.get(match.group(1))
        if job is None:
            return 400, _google_error(
                400, "INVALID_ARGUMENT", "Resource was not found.", {"mutateError": "RESOURCE_NOT_FOUND"}
            )
        if match.group(2) == "addOperations":
            return self._add(job, body)
        job.ran = True
        for op in job.operations:
            kind = "create" if "create" in op else "remove"
            emails = {i["hashedEmail"] for i in op[kind]["userIdentifiers"] if "hashedEmail" in i}
            held = self.members.setdefault(job.user_list, set())
            if kind == "create":
                held |= emails
            else:
                held -= emails
        return 200, {"name": f"customers/{self.customer}/operations/{match.group(1)}"}

    def _token(self, request: Request) -> Reply:
        form = parse_qs(request.body.decode())
        expected = {
            "grant_type": ["refresh_token"],
            "client_id": [GOOGLE_CLIENT_ID],
            "client_secret": [GOOGLE_CLIENT_SECRET],
            "refresh_token": [GOOGLE_REFRESH_TOKEN],
        }
        if form != expected:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        self.tokens_issued += 1
        return 200, {
            "access_token": self._access_token,
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/adwords",
            "token_type": "Bearer",
        }

    def _create(self, body: dict[str, Any]) -> Reply:
        job = body.get("job") or {}
        metadata = job.get("customerMatchUserListMetadata") or {}
        user_list = str(metadata.get("userList", ""))
        match = re.fullmatch(rf"customers/{self.customer}/userLists/(\d+)", user_list)
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or match is None:
            return 400, _google_error(
                400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                {"offlineUserDataJobError": "INVALID_USER_LIST_ID"},
            )  # fmt: skip
        if match.group(1) not in self.user_lists:
            return 400, _google_error(
                400, "INVALID_ARGUMENT", "The user list does not exist.",
                {"offlineUserDataJobError": "INVALID_USER_LIST_ID"},
            )  # fmt: skip
        job_id = str(len(self.jobs) + 501)
        self.jobs[job_id] = GoogleJob(match.group(1), dict(metadata.get("consent") or {}))
        return 200, {"resourceName": f"customers/{self.customer}/offlineUserDataJobs/{job_id}"}

    def _add(self, job: GoogleJob, body: dict[str, Any]) -> Reply:
        operations = body.get("operations")
        if job.ran or not isinstance(operations, list) or not operations:
            return 400, _google_error(
                400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                {"offlineUserDataJobError": "INVALID_JOB_STATE"},
            )  # fmt: skip
        count = 0
        for op in operations:
            kinds = [k for k in ("create", "remove") if k in op]
            if len(kinds) != 1 or set(op) != set(kinds):
                return 400, _google_error(
                    400, "INVALID_ARGUMENT", "An operation must have one of create or remove.",
                    {"requestError": "INVALID_INPUT"},
                )  # fmt: skip
            identifiers = op[kinds[0]].get("userIdentifiers") or []
            for identifier in identifiers:
                (name, value), *rest = identifier.items()
                if rest or name not in ("hashedEmail", "hashedPhoneNumber") or not _HEX64.match(str(value)):
                    return 400, _google_error(
                        400, "INVALID_ARGUMENT", "The identifier is not a SHA-256 hash.",
                        {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"},
                    )  # fmt: skip
            count += len(identifiers)
        if count > 100_000:
            return 400, _google_error(
                400, "INVALID_ARGUMENT", "Too many identifiers in one request.",
                {"offlineUserDataJobError": "TOO_MANY_USER_IDENTIFIERS"},
            )  # fmt: skip
        job.operations.extend(operations)
        return 200, {}

    def transport(self) -> httpx.MockTransport:
        return json_transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url
