"""Meta Custom Audiences and Google Ads Customer Match: the exact requests (`AudienceDestination`),
over the outbound client (timeouts, retries with backoff on 429, 5xx and Meta's throttling codes,
circuit breakers, the record's time budget).

Meta (developers.facebook.com/docs/marketing-api/reference/custom-audience/users):
`POST /{version}/{audience id}/users` adds and `DELETE` of the same path removes, the form field
`payload` = `{"schema": [...], "data": [[...], ...]}` of SHA-256 hashes, at most 10,000 rows a
request; several requests of one change are one `session` (`session_id`, `batch_seq`,
`last_batch_flag`). The answer says `num_received`, which must be every row sent.

Google (developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match):
`POST /{version}/customers/{id}/offlineUserDataJobs:create` a CUSTOMER_MATCH_USER_LIST job for the
user list, `POST /{version}/{job}:addOperations` with `create` (add) or `remove` operations of
`userIdentifiers` (`hashedEmail`, `hashedPhoneNumber`), at most 100,000 identifiers a request, then
`POST /{version}/{job}:run`. Headers: `developer-token`, `login-customer-id` (a manager account),
and `Authorization: Bearer` an OAuth access token from the refresh token (Google's token endpoint).

No error raised here carries a URL, a body or a token: the outbound client's errors name the call,
its status, the vendor's code and request id only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from secrets import randbelow
from typing import Any

import httpx
from httpx_retries import Retry

from hub.adapters.http import check, outbound_client
from hub.config import AudiencesConfig
from hub.config.audiences import GoogleAdsAudiencesConfig, MetaAudiencesConfig
from hub.domain.audiences import META_SCHEMA, Identifiers
from hub.errors import AudiencesConfigError, OutboundError
from hub.ports import AudienceDestination
from hub.secrets import SecretsProvider

__all__ = [
    "GOOGLE_MAX_IDENTIFIERS",
    "META_MAX_ROWS",
    "GoogleCustomerMatch",
    "MetaCustomAudiences",
    "audience_destinations",
]

META_MAX_ROWS = 10_000
GOOGLE_MAX_IDENTIFIERS = 100_000


def _call(client: httpx.Client, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        # Not chained: the httpx error holds the request, whose URL or headers hold the credential.
        raise OutboundError(f"{what} failed: {type(exc).__name__}") from None
    return check(response, what)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise OutboundError(f"{what} answered {response.status_code} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise OutboundError(f"{what} answered {response.status_code} with a body that is not a JSON object")
    return body


class MetaCustomAudiences:
    """Custom Audience users: add with POST, remove with DELETE, 10,000 rows a request."""

    name = "meta"

    def __init__(
        self,
        config: MetaAudiencesConfig,
        access_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._version = config.api_version
        self._token = access_token
        self._http = outbound_client(config.api_url, transport=transport, retry=retry)

    def add(self, audience_id: str, members: Sequence[Identifiers]) -> str:
        return self._send("POST", audience_id, members)

    def remove(self, audience_id: str, members: Sequence[Identifiers]) -> str:
        return self._send("DELETE", audience_id, members)

    def _send(self, method: str, audience_id: str, members: Sequence[Identifiers]) -> str:
        rows = [list(m.meta) for m in members if any(m.meta)]
        if not rows:
            return "nothing to match on"
        what = f"Meta custom audience {'add' if method == 'POST' else 'remove'}"
        batches = [rows[i : i + META_MAX_ROWS] for i in range(0, len(rows), META_MAX_ROWS)]
        # One session for the batches of one change (Meta: a positive 64-bit integer, new per
        # session); an HTTP retry repeats its request, so the same session and sequence number.
        session_id = randbelow(2**63 - 1) + 1
        received = invalid = 0
        for sequence, batch in enumerate(batches, start=1):
            form = {
                "payload": json.dumps({"schema": list(META_SCHEMA), "data": batch}, separators=(",", ":")),
                "session": json.dumps(
                    {
                        "session_id": session_id,
                        "batch_seq": sequence,
                        "last_batch_flag": sequence == len(batches),
                        "estimated_num_total": len(rows),
                    },
                    separators=(",", ":"),
                ),
            }
            response = _call(
                self._http,
                method,
                f"/{self._version}/{audience_id}/users",
                what,
                params={"access_token": self._token},
                data=form,
            )
            body = _json(response, what)
            got = body.get("num_received")
            if got != len(batch):
                raise OutboundError(f"{what}: Meta received {got} of {len(batch)} rows")
            received += got
            invalid += int(body.get("num_invalid_entries") or 0)
        return f"meta received {received}, invalid {invalid}, session {session_id}"


class GoogleCustomerMatch:
    """Customer Match through OfflineUserDataJobService: create a job, add its operations, run it."""

    name = "google"

    def __init__(
        self,
        config: GoogleAdsAudiencesConfig,
        secrets: Callable[[str], str],
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._secrets = secrets
        self._clock = clock
        self._token: tuple[str, float] | None = None
        self._http = outbound_client(config.api_url, transport=transport, retry=retry)
        token_url = httpx.URL(config.token_url)
        self._token_path = token_url.raw_path.decode() or "/"
        self._oauth = outbound_client(str(token_url.copy_with(raw_path=b"/")), transport=transport, retry=retry)

    def add(self, audience_id: str, members: Sequence[Identifiers]) -> str:
        return self._job(audience_id, members, "create")

    def remove(self, audience_id: str, members: Sequence[Identifiers]) -> str:
        return self._job(audience_id, members, "remove")

    def access_token(self) -> str:
        """An OAuth access token from the refresh token, kept until a minute before it expires."""
        now = self._clock()
        if self._token is not None and self._token[1] > now:
            return self._token[0]
        form = {
            "grant_type": "refresh_token",
            "client_id": self._secrets("GOOGLE_ADS_CLIENT_ID"),
            "client_secret": self._secrets("GOOGLE_ADS_CLIENT_SECRET"),
            "refresh_token": self._secrets("GOOGLE_ADS_REFRESH_TOKEN"),
        }
        body = _json(
            _call(self._oauth, "POST", self._token_path, "Google OAuth token refresh", data=form), "Google OAuth"
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise OutboundError("Google OAuth token refresh answered without an access_token")
        lifetime = float(body.get("expires_in") or 3600)
        self._token = (token, now + max(0.0, lifetime - 60))
        return token

    def _headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.access_token()}",
            "developer-token": self._secrets("GOOGLE_ADS_DEVELOPER_TOKEN"),
            "Content-Type": "application/json",
        }
        if self._config.login_customer_id:
            headers["login-customer-id"] = self._config.login_customer_id
        return headers

    def _post(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        content = json.dumps(body, separators=(",", ":"))
        return _json(_call(self._http, "POST", path, what, content=content, headers=self._headers()), what)

    def _job(self, user_list_id: str, members: Sequence[Identifiers], operation: str) -> str:
        operations = [
            {operation: {"userIdentifiers": [{field: value} for field, value in m.google]}} for m in members if m.google
        ]
        if not operations:
            return "nothing to match on"
        version, customer = self._config.api_version, self._config.customer_id
        created = self._post(
            f"/{version}/customers/{customer}/offlineUserDataJobs:create",
            {
                "job": {
                    "type": "CUSTOMER_MATCH_USER_LIST",
                    "customerMatchUserListMetadata": {
                        "userList": f"customers/{customer}/userLists/{user_list_id}",
                        # Only customers who consented are ever sent (hub.domain.audiences).
                        "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"},
                    },
                }
            },
            "Google Ads offline user data job create",
        )
        job = created.get("resourceName")
        if not isinstance(job, str) or not job.startswith(f"customers/{customer}/offlineUserDataJobs/"):
            raise OutboundError("Google Ads offline user data job create answered without the job's resourceName")
        failures = 0
        for chunk in _chunks(operations):
            added = self._post(
                f"/{version}/{job}:addOperations",
                {"enablePartialFailure": True, "operations": chunk},
                "Google Ads offline user data job addOperations",
            )
            partial = added.get("partialFailureError")
            if isinstance(partial, dict):
                failures += len(partial.get("details") or [1])
        self._post(f"/{version}/{job}:run", {}, "Google Ads offline user data job run")
        said = f", partial failures {failures}" if failures else ""
        return f"google job {job.rsplit('/', 1)[-1]} {operation} {len(operations)}{said}"


def _chunks(operations: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Operations in requests of at most GOOGLE_MAX_IDENTIFIERS identifiers each."""
    chunks: list[list[dict[str, Any]]] = [[]]
    count = 0
    for op in operations:
        size = len(next(iter(op.values()))["userIdentifiers"])
        if chunks[-1] and count + size > GOOGLE_MAX_IDENTIFIERS:
            chunks.append([])
            count = 0
        chunks[-1].append(op)
        count += size
    return chunks


def audience_destinations(
    config: AudiencesConfig,
    secrets: SecretsProvider,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
) -> dict[str, AudienceDestination]:
    """The configured vendors, each with its credentials from the hub's audiences secret."""

    def required(key: str, section: str) -> str:
        value = secrets.get(key)
        if not value:
            raise AudiencesConfigError(f"audiences.{section} is configured but {key} is not in the hub secret")
        return value

    found: dict[str, AudienceDestination] = {}
    if config.meta is not None:
        token = required("META_ADS_ACCESS_TOKEN", "meta")
        found["meta"] = MetaCustomAudiences(config.meta, token, transport=transport, retry=retry)
    if config.google_ads is not None:
        for key in ("GOOGLE_ADS_DEVELOPER_TOKEN", "GOOGLE_ADS_CLIENT_ID", "GOOGLE_ADS_CLIENT_SECRET"):
            required(key, "google_ads")
        required("GOOGLE_ADS_REFRESH_TOKEN", "google_ads")
        found["google"] = GoogleCustomerMatch(
            config.google_ads, lambda key: required(key, "google_ads"), transport=transport, retry=retry
        )
    return found
