"""The GA4 Data API (v1beta `runReport`), read with a service account: sessions and users per day, and
per day and source/medium, of one property.

Auth is Google's OAuth 2.0 flow for service accounts
(developers.google.com/identity/protocols/oauth2/service-account#httprest): a JWT signed RS256 with
the key file's private key (`iss` the account's email, `scope` analytics.readonly, `aud` the token
endpoint, one hour at most), exchanged at the key's `token_uri` with
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`. The JWT is signed with `cryptography` (a
dependency already); the access token is cached per account and endpoint until a minute before it
expires, and a 401 from the Data API drops it and asks again once.

`runReport` (developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/runReport):
`POST {api_url}/v1beta/properties/{id}:runReport` with `dateRanges`, `dimensions`, `metrics`,
`limit`/`offset` paging (`rowCount` is the whole result's), `returnPropertyQuota`. Its quirks:
metric values are strings; `date` is `YYYYMMDD` in the property's time zone; a report with no rows
omits `rows` and `rowCount` (proto3 JSON leaves out empty fields); sources GA4 cannot name are
`(not set)` and direct traffic `(direct)` / `(none)`. Quota answers are 429 `RESOURCE_EXHAUSTED`
(retried with backoff by the outbound client, then the run fails); 401 `UNAUTHENTICATED`, 403
`PERMISSION_DENIED` (the account has no access to the property) are errors that say what to fix.
Errors carry the status and Google's `error.status`, never a body, a token or the key.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from httpx_retries import Retry

from hub.adapters.http import default_retry, outbound_client, vendor_error
from hub.config import Ga4TrafficConfig
from hub.domain.traffic import SourceMedium, TrafficDay, top_sources
from hub.errors import Ga4DataError, ServiceAccountError
from hub.secrets import SecretsProvider

__all__ = [
    "GA4_SCOPE",
    "JWT_BEARER",
    "Ga4DataClient",
    "Ga4TrafficSource",
    "ReportPage",
    "ServiceAccount",
    "ServiceAccountTokens",
    "ga4_traffic_source",
    "parse_report",
    "read_traffic",
    "signed_assertion",
    "sources_request",
    "totals_request",
]

GA4_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PAGE_SIZE = 10_000  # rows per runReport page (the API allows up to 250,000)
_TOKEN_LIFETIME = 3600  # seconds: the longest a service-account JWT may ask for
_EARLY = 60  # seconds before expiry a cached token is renewed
_OAUTH_CODE = re.compile(r"[a-z_]{1,48}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------------------------------------ the service account
@dataclass(frozen=True, repr=False)
class ServiceAccount:
    """The fields of a key file the flow needs. `repr` never shows the key."""

    client_email: str
    private_key_id: str
    private_key: str
    token_uri: str

    def __repr__(self) -> str:
        return f"ServiceAccount({self.client_email})"

    @classmethod
    def from_json(cls, text: str | None) -> ServiceAccount:
        """The key file's JSON (GA4_SERVICE_ACCOUNT_JSON); ServiceAccountError saying what is wrong."""
        if not text:
            raise ServiceAccountError(
                "GA4 traffic is configured but GA4_SERVICE_ACCOUNT_JSON is not in the hub's traffic secret; "
                "put the service account's key file (JSON) there"
            )
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or document.get("type") != "service_account":
            raise ServiceAccountError(
                'GA4_SERVICE_ACCOUNT_JSON is not a service account key file (JSON with "type": "service_account")'
            )
        missing = [
            name
            for name in ("client_email", "private_key_id", "private_key", "token_uri")
            if not isinstance(document.get(name), str) or not document[name]
        ]
        if missing:
            raise ServiceAccountError(f"GA4_SERVICE_ACCOUNT_JSON lacks {', '.join(missing)}")
        return cls(document["client_email"], document["private_key_id"], document["private_key"], document["token_uri"])

    def signing_key(self) -> rsa.RSAPrivateKey:
        try:
            key = serialization.load_pem_private_key(self.private_key.encode(), password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ServiceAccountError("GA4_SERVICE_ACCOUNT_JSON's private_key is not an RSA private key in PEM")
        return key


def signed_assertion(account: ServiceAccount, audience: str, now: float, scope: str = GA4_SCOPE) -> str:
    """The JWT the token endpoint exchanges for an access token, signed RS256 with the account's key."""
    header = {"alg": "RS256", "typ": "JWT", "kid": account.private_key_id}
    issued = int(now)
    claims = {
        "iss": account.client_email,
        "scope": scope,
        "aud": audience,
        "iat": issued,
        "exp": issued + _TOKEN_LIFETIME,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = account.signing_key().sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


class ServiceAccountTokens:
    """Access tokens for one account at one token endpoint, cached (per process) until near expiry."""

    _cache: dict[tuple[str, str], tuple[str, float]] = {}
    _lock = threading.Lock()

    def __init__(
        self,
        account: ServiceAccount,
        token_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._url = token_url or account.token_uri
        self._key = (self._url, account.client_email)
        url = httpx.URL(self._url)
        self._path = url.raw_path.decode() or "/"
        self._http = outbound_client(f"{url.scheme}://{url.netloc.decode()}", transport=transport, retry=retry)
        self._clock = clock

    @classmethod
    def forget_all(cls) -> None:
        """Drop every cached token (tests)."""
        with cls._lock:
            cls._cache.clear()

    def token(self) -> str:
        with self._lock:
            cached = self._cache.get(self._key)
            if cached and cached[1] - _EARLY > self._clock():
                return cached[0]
            token, lifetime = self._request()
            self._cache[self._key] = (token, self._clock() + lifetime)
            return token

    def invalidate(self, token: str) -> None:
        with self._lock:
            cached = self._cache.get(self._key)
            if cached and cached[0] == token:
                del self._cache[self._key]

    def _request(self) -> tuple[str, float]:
        form = {"grant_type": JWT_BEARER, "assertion": signed_assertion(self._account, self._url, self._clock())}
        try:
            response = self._http.post(self._path, data=form)
        except httpx.HTTPError as exc:
            raise Ga4DataError(f"Google's token endpoint did not answer ({type(exc).__name__})") from None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            return body["access_token"], float(body.get("expires_in") or _TOKEN_LIFETIME)
        # OAuth errors are {"error": "invalid_grant", "error_description": ...}: the code only.
        code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
        code = code if code and _OAUTH_CODE.fullmatch(code) else None
        raise Ga4DataError(
            f"Google refused the service account's token request with HTTP {response.status_code}"
            f" ({code or 'no error code'}); check GA4_SERVICE_ACCOUNT_JSON (a key that was deleted or"
            " rotated is refused with invalid_grant)",
            response.status_code,
            code=code,
        )


class _BearerAuth(httpx.Auth):
    """The cached access token; a 401 drops it and the request goes once more with a new one."""

    def __init__(self, tokens: ServiceAccountTokens) -> None:
        self._tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        self._tokens.invalidate(token)
        request.headers["Authorization"] = f"Bearer {self._tokens.token()}"
        yield request


# ------------------------------------------------------------------------------ runReport
def totals_request(first: date, last: date, offset: int = 0, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """Sessions and users per day (users are not additive across sources, so they are asked apart)."""
    return {
        "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
        "orderBys": [{"dimension": {"dimensionName": "date"}}],
        "limit": str(limit),
        "offset": str(offset),
        "returnPropertyQuota": True,
    }


def sources_request(first: date, last: date, offset: int = 0, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """Sessions and users per day and source/medium, most sessions first."""
    return {
        "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
        "dimensions": [{"name": "date"}, {"name": "sessionSource"}, {"name": "sessionMedium"}],
        "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
        "orderBys": [{"dimension": {"dimensionName": "date"}}, {"metric": {"metricName": "sessions"}, "desc": True}],
        "limit": str(limit),
        "offset": str(offset),
        "returnPropertyQuota": True,
    }


@dataclass(frozen=True)
class ReportPage:
    rows: list[tuple[list[str], list[int]]]  # dimension values, metric values (integers)
    row_count: int
    quota_remaining: int | None  # tokensPerHour.remaining, when GA4 returned it
    time_zone: str | None = None  # metadata.timeZone: the property's reporting time zone


def _integer(value: Any, what: str) -> int:
    """A metric value: GA4 sends every metric as a string ("1043"); sessions and users are integers."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"[0-9]{1,15}", text):
        raise Ga4DataError(f"GA4 answered a {what} that is not a whole number")
    return int(text)


def parse_report(body: Any, dimensions: Sequence[str], metrics: Sequence[str]) -> ReportPage:
    """One runReport answer's rows, checked against the headers asked for."""
    if not isinstance(body, Mapping):
        raise Ga4DataError("GA4 answered runReport with something that is not a JSON object")
    dims = [h.get("name") for h in body.get("dimensionHeaders") or []]
    mets = [h.get("name") for h in body.get("metricHeaders") or []]
    rows_in = body.get("rows") or []  # omitted when empty
    if rows_in and (dims != list(dimensions) or mets != list(metrics)):
        raise Ga4DataError(f"GA4 answered columns {dims + mets}, not the {list(dimensions) + list(metrics)} asked for")
    rows = []
    for row in rows_in:
        values = [str(v.get("value", "")) for v in row.get("dimensionValues") or []]
        numbers = [
            _integer(v.get("value"), name) for v, name in zip(row.get("metricValues") or [], metrics, strict=False)
        ]
        if len(values) != len(dimensions) or len(numbers) != len(metrics):
            raise Ga4DataError("GA4 answered a row without every column asked for")
        rows.append((values, numbers))
    quota = (body.get("propertyQuota") or {}).get("tokensPerHour") or {}
    remaining = quota.get("remaining")
    zone = (body.get("metadata") or {}).get("timeZone")
    return ReportPage(
        rows,
        int(body.get("rowCount") or 0),
        remaining if isinstance(remaining, int) and remaining >= 0 else None,
        zone if isinstance(zone, str) and zone else None,
    )


def _day(value: str) -> str:
    """GA4's `date` (YYYYMMDD, the property's day) as the report's YYYY-MM-DD."""
    try:
        return datetime.strptime(value, "%Y%m%d").date().isoformat()
    except ValueError:
        raise Ga4DataError("GA4 answered a date that is not YYYYMMDD") from None


class Ga4DataClient:
    """runReport for the properties one service account may read."""

    def __init__(
        self,
        tokens: ServiceAccountTokens,
        api_url: str = "https://analyticsdata.googleapis.com",
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._http = outbound_client(
            api_url, auth=_BearerAuth(tokens), transport=transport, retry=retry or default_retry(attempts=3)
        )
        self.page_size = page_size
        self.quota_remaining: int | None = None
        self.time_zones: dict[str, str] = {}

    def run_report(self, property_id: str, body: Mapping[str, Any]) -> Any:
        what = f"GA4 runReport of property {property_id}"
        try:
            response = self._http.post(f"/v1beta/properties/{property_id}:runReport", json=dict(body))
        except httpx.HTTPError as exc:
            raise Ga4DataError(f"{what} failed: {type(exc).__name__}") from None
        if response.is_success:
            return response.json()
        error = vendor_error(response)
        hint = {
            401: "; Google refused the service account's token (check GA4_SERVICE_ACCOUNT_JSON)",
            403: f"; give the service account the Viewer role on property {property_id} (Admin > Property access)",
            429: "; the property's Data API quota is spent (tokens per hour or per day): the next run reads again",
        }.get(response.status_code, "")
        raise Ga4DataError(
            f"{what} failed with {error.describe()}{hint}",
            response.status_code,
            code=error.code,
            request_id=error.request_id,
        )

    def rows(
        self, property_id: str, build: Callable[[int, int], dict[str, Any]], dimensions: Sequence[str]
    ) -> list[tuple[list[str], list[int]]]:
        """Every row of a report, page by page (`limit`/`offset`) until `rowCount` rows are read."""
        out: list[tuple[list[str], list[int]]] = []
        while True:
            page = parse_report(
                self.run_report(property_id, build(len(out), self.page_size)), dimensions, ("sessions", "totalUsers")
            )
            if page.quota_remaining is not None:
                self.quota_remaining = page.quota_remaining
            if page.time_zone is not None:
                self.time_zones[property_id] = page.time_zone
            out.extend(page.rows)
            if not page.rows or len(out) >= page.row_count:
                return out


def read_traffic(
    client: Ga4DataClient,
    property_id: str,
    channel: str,
    first: date,
    last: date,
    *,
    top: int,
    read_at: str,
) -> list[TrafficDay]:
    """Each day from `first` to `last` of one property: a day GA4 has no row for had no sessions."""
    totals = client.rows(property_id, lambda offset, limit: totals_request(first, last, offset, limit), ("date",))
    per_day: dict[str, tuple[int, int]] = {}
    for (day,), (sessions, users) in totals:
        per_day[_day(day)] = (sessions, users)
    sources: dict[str, list[SourceMedium]] = {}
    if top > 0:
        rows = client.rows(
            property_id,
            lambda offset, limit: sources_request(first, last, offset, limit),
            ("date", "sessionSource", "sessionMedium"),
        )
        for (day, source, medium), (sessions, users) in rows:
            sources.setdefault(_day(day), []).append(SourceMedium(source, medium, sessions, users))
    days = [date.fromordinal(n).isoformat() for n in range(first.toordinal(), last.toordinal() + 1)]
    return [
        TrafficDay(
            day=day,
            channel=channel,
            property_id=property_id,
            sessions=per_day.get(day, (0, 0))[0],
            users=per_day.get(day, (0, 0))[1],
            sources=top_sources(sources.get(day, ()), top),
            read_at=read_at,
        )
        for day in days
    ]


class Ga4TrafficSource:
    """`hub.ports.TrafficSource` over the Data API: one client (and one cached token) per account."""

    def __init__(self, client: Ga4DataClient) -> None:
        self._client = client

    @property
    def quota_remaining(self) -> int | None:
        return self._client.quota_remaining

    @property
    def time_zones(self) -> dict[str, str]:
        return dict(self._client.time_zones)

    def read(
        self, property_id: str, channel: str, first: date, last: date, *, top: int, read_at: str
    ) -> list[TrafficDay]:
        return read_traffic(self._client, property_id, channel, first, last, top=top, read_at=read_at)


def ga4_traffic_source(
    config: Ga4TrafficConfig, secrets: SecretsProvider, *, transport: httpx.BaseTransport | None = None
) -> Ga4TrafficSource:
    """The source for `config`, with the service account of the hub's traffic secret."""
    account = ServiceAccount.from_json(secrets.get("GA4_SERVICE_ACCOUNT_JSON"))
    tokens = ServiceAccountTokens(account, config.token_url, transport=transport)
    return Ga4TrafficSource(Ga4DataClient(tokens, config.api_url, transport=transport))
