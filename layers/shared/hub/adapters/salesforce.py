"""Salesforce: contacts upserted by an External ID field that holds the email, up to 200 per call.

**The upsert.** `PATCH {instance}/services/data/{version}/composite/sobjects/{Object}/{ExternalIdField}`
with `{"allOrNone": false, "records": [{"attributes": {"type": Object}, ExternalIdField: email, ...}]}`
(sObject Collections, API 46.0 and later, at most 200 records of the one type named in the path).
The email travels in the body, never in the URL: the single-record form put it in the path, where an
email whose top-level domain looks like a file extension (`ada@acme.inc`, `.json`, `.xml`) is read as
a format suffix and answered 404. Salesforce answers 200 with one UpsertResult per record, in the
order sent: `{"id", "success", "created", "errors": [{"statusCode", "message", "fields"}]}`. With
`allOrNone: false` each record stands alone: one refused record (a missing required field, a
validation rule) fails only its own customer, and its SQS records are retried alone.
`DUPLICATE_EXTERNAL_ID` (the external id matched several records) needs a person to merge them;
with the field marked Unique it cannot happen. A refusal of the whole call (400 malformed, 403
`REQUEST_LIMIT_EXCEEDED`, the org's daily API allocation) fails every record of it. Errors carry
Salesforce's codes and the fields they name, never its messages (which can quote the values).

The UpsertResult's `id` is returned so the hub can record it under the customer's erasure key, and
erasure deletes exactly that record, `DELETE {instance}/services/data/{version}/sobjects/{Object}/{id}`
(204; 404 `NOT_FOUND` or `ENTITY_IS_DELETED` means already gone). The record goes to Salesforce's
recycle bin, as every API delete does; it empties itself after 15 days.

**The session.** An access token lives as long as the org's session timeout (2 hours by default),
so a token pasted into the secret stops working that day. The hub gets its own with the OAuth 2.0
client credentials flow: `POST {My Domain}/services/oauth2/token` with `grant_type=client_credentials`,
`client_id` and `client_secret` (the consumer key and secret of an external client app, or connected
app, whose client credentials flow runs as an integration user). The answer has no expiry and no
refresh token: the token is kept for the life of the Lambda sandbox (one per My Domain and consumer
key), and when a call is answered 401 `INVALID_SESSION_ID` a new token is requested and the call
sent once more. *Why not the JWT bearer flow?* It would work as well, but needs a certificate
uploaded to the app, a private key in the hub's secret and a username to sign for; client
credentials needs only the key and secret, and the run-as user is chosen in Salesforce.
A static `SALESFORCE_ACCESS_TOKEN` is still accepted (tests, a quick trial): it cannot be renewed,
so its expiry fails the call with an error that says to configure the client credentials.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Generator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from hub.adapters.http import outbound_client, vendor_error
from hub.domain.customers import Contact
from hub.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforceLimitError,
    SalesforceMissingFieldsError,
    SalesforceMultipleMatchesError,
)

__all__ = [
    "BATCH_SIZE",
    "ClientCredentials",
    "SalesforceAuth",
    "SalesforceClient",
    "StaticToken",
    "salesforce_value",
]

BATCH_SIZE = 200  # sObject Collections take at most 200 records per call
OAUTH_TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
_OAUTH_CODE = re.compile(r"[a-z_]{1,48}")  # RFC 6749 error codes (invalid_client, ...); nothing else is kept


def salesforce_value(value: Any) -> Any:
    """JSON values Salesforce accepts: numbers as decimal strings (exact), lists as multi-select ';'."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return value


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _codes(response: httpx.Response) -> list[str]:
    body = _json(response)
    items = body if isinstance(body, list) else [body]
    return sorted({str(i.get("errorCode")) for i in items if isinstance(i, dict) and i.get("errorCode")})


def _session_expired(response: httpx.Response) -> bool:
    return response.status_code == 401 and "INVALID_SESSION_ID" in _codes(response)


# ------------------------------------------------------------------------------------------- sessions
class StaticToken:
    """A token pasted into the secret: used as it is, never renewed."""

    renewable = False

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        return None


class ClientCredentials:
    """Access tokens from the OAuth 2.0 client credentials flow, one per org for the sandbox's life.

    The cache is shared by every client built in the process (crm_upsert builds one per push), keyed
    by the token endpoint and the consumer key. `invalidate` drops a token only if it is still the
    one cached, so two pushes that see the same expiry fetch one new token, not two.
    """

    renewable = True
    _cache: dict[tuple[str, str], str] = {}
    _lock = threading.Lock()

    def __init__(
        self, base_url: str, client_id: str, client_secret: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._key = (base_url.rstrip("/") + OAUTH_TOKEN_PATH, client_id)
        self._client_id = client_id
        self._secret = client_secret
        self._http = outbound_client(base_url, transport=transport)

    @classmethod
    def forget_all(cls) -> None:
        """Drop every cached token (tests)."""
        with cls._lock:
            cls._cache.clear()

    def token(self) -> str:
        with self._lock:
            cached = self._cache.get(self._key)
            if cached:
                return cached
            token = self._request()
            self._cache[self._key] = token
            return token

    def invalidate(self, token: str) -> None:
        with self._lock:
            if self._cache.get(self._key) == token:
                del self._cache[self._key]

    def _request(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret}
        try:
            response = self._http.post(OAUTH_TOKEN_PATH, data=form)
        except httpx.HTTPError as exc:
            raise SalesforceAuthError(f"the Salesforce token endpoint did not answer ({type(exc).__name__})") from exc
        body = _json(response)
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
            return str(body["access_token"])
        # OAuth errors are {"error": "invalid_client", "error_description": ...}: the code only.
        code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
        code = code if code and _OAUTH_CODE.fullmatch(code) else None
        hint = (
            "; the client credentials flow must be called on the org's My Domain URL"
            " (SALESFORCE_INSTANCE_URL), and enabled for the app with a run-as user"
            if code in ("invalid_grant", "invalid_client", "unsupported_grant_type", "request_not_supported")
            else ""
        )
        raise SalesforceAuthError(
            f"Salesforce refused the client credentials with HTTP {response.status_code}"
            f" ({code or 'no error code'}){hint}",
            response.status_code,
            code=code,
        )


class SalesforceAuth(httpx.Auth):
    """Bearer auth that renews an expired session once: a 401 INVALID_SESSION_ID gets a new token
    and the same request again; a second refusal is the caller's error."""

    requires_response_body = True

    def __init__(self, session: StaticToken | ClientCredentials) -> None:
        self._session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._session.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if not _session_expired(response) or not self._session.renewable:
            return
        self._session.invalidate(token)
        request.headers["Authorization"] = f"Bearer {self._session.token()}"
        yield request


# ------------------------------------------------------------------------------------------- records
def _missing_only(outcome: Exception | str | None, defaults: Mapping[str, Any]) -> bool:
    return (
        isinstance(outcome, SalesforceMissingFieldsError) and bool(outcome.fields) and outcome.fields <= set(defaults)
    )


def _outcome(result: Any, sobject: str, field: str) -> str | Exception | None:
    if not isinstance(result, dict):
        return SalesforceError("Salesforce gave no result for this record")
    if result.get("success") is True:
        return str(result["id"]) if result.get("id") else None
    errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
    codes = sorted({str(e.get("statusCode")) for e in errors if e.get("statusCode")})
    fields = sorted({str(f) for e in errors for f in e.get("fields") or []})
    if "DUPLICATE_EXTERNAL_ID" in codes:
        return SalesforceMultipleMatchesError(f"several {sobject} records have this {field}: merge them in Salesforce")
    named = f" on {', '.join(fields)}" if fields else ""
    if codes == ["REQUIRED_FIELD_MISSING"]:
        return SalesforceMissingFieldsError(
            f"Salesforce refused the {sobject} record (REQUIRED_FIELD_MISSING){named}", frozenset(fields)
        )
    return SalesforceError(f"Salesforce refused the {sobject} record ({', '.join(codes) or 'no code'}){named}")


class SalesforceClient:
    system = "salesforce"

    def __init__(
        self,
        http: httpx.Client,
        *,
        sobject: str,
        external_id_field: str,
        api_version: str,
        renewable: bool = False,
        create_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        """`http` is based at the instance URL and authenticates its calls (SalesforceAuth);
        `renewable` says whether its session renews itself (client credentials) or is a static token;
        `create_defaults` are fields Salesforce requires only to create a record (a Lead's Company),
        sent only for the records it refused for lacking them."""
        self._http = http
        self._renewable = renewable
        self._create_defaults = dict(create_defaults or {})
        self._object = sobject
        self._field = external_id_field
        self._version = api_version

    @property
    def upsert_path(self) -> str:
        return f"/services/data/{self._version}/composite/sobjects/{self._object}/{self._field}"

    def upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        outcomes: dict[str, Exception | str | None] = {}
        for start in range(0, len(contacts), BATCH_SIZE):
            outcomes.update(self._upsert(contacts[start : start + BATCH_SIZE]))
        return outcomes

    def record(self, contact: Contact) -> dict[str, Any]:
        """The sObject sent for a contact: its type, the mapped fields, and the email as external id."""
        fields = {k: salesforce_value(v) for k, v in contact.properties.items() if v is not None}
        return {"attributes": {"type": self._object}, **fields, self._field: contact.email}

    def _upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        outcomes = self._call(contacts)
        if not self._create_defaults:
            return outcomes
        # New records refused for a field only creation needs: sent once more with it (updates never carry it).
        creating = [c for c in contacts if _missing_only(outcomes[c.email], self._create_defaults)]
        if creating:
            filled = [Contact(c.email, {**self._create_defaults, **c.properties}) for c in creating]
            outcomes.update(self._call(filled))
        return outcomes

    def _call(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        body = {"allOrNone": False, "records": [self.record(c) for c in contacts]}
        try:
            response = self._http.patch(self.upsert_path, json=body)
        except SalesforceAuthError as exc:
            return dict.fromkeys((c.email for c in contacts), exc)
        except httpx.HTTPError as exc:
            error = SalesforceError(f"Salesforce upsert did not answer ({type(exc).__name__})")
            return dict.fromkeys((c.email for c in contacts), error)
        results = _json(response)
        if response.status_code != 200 or not isinstance(results, list):
            error = self._call_error(response, "upsert")
            return dict.fromkeys((c.email for c in contacts), error)
        padded = [*results, *([None] * (len(contacts) - len(results)))]
        return {c.email: _outcome(r, self._object, self._field) for c, r in zip(contacts, padded, strict=False)}

    def delete_contact(self, contact_id: str) -> bool:
        path = f"/services/data/{self._version}/sobjects/{self._object}/{quote(contact_id, safe='')}"
        try:
            response = self._http.delete(path)
        except SalesforceAuthError:
            raise
        except httpx.HTTPError as exc:
            raise SalesforceError(f"Salesforce delete did not answer ({type(exc).__name__})") from exc
        if response.status_code in (200, 204):
            return True
        codes = _codes(response)
        if response.status_code == 404 or "ENTITY_IS_DELETED" in codes:
            return False
        raise self._call_error(response, "delete")

    def _call_error(self, response: httpx.Response, what: str) -> SalesforceError:
        status = response.status_code
        codes = _codes(response)
        if "REQUEST_LIMIT_EXCEEDED" in codes:
            return SalesforceLimitError("the Salesforce org's API request limit is exceeded", status)
        if _session_expired(response):
            why = (
                "even with a new token from the client credentials flow"
                if self._renewable
                else "SALESFORCE_ACCESS_TOKEN expired with the org's session timeout; set SALESFORCE_CLIENT_ID "
                "and SALESFORCE_CLIENT_SECRET so the hub renews its own session"
            )
            return SalesforceAuthError(
                f"Salesforce {what} refused the session (HTTP 401, INVALID_SESSION_ID): {why}",
                status,
                code="INVALID_SESSION_ID",
            )
        error = vendor_error(response)
        return SalesforceError(
            f"Salesforce {what} failed with HTTP {status} ({', '.join(codes) or 'no code'})",
            status,
            code=error.code,
            request_id=error.request_id,
        )
