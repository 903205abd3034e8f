"""Salesforce: upsert one record per customer by an External ID field that holds the email.

`PATCH {instance}/services/data/{version}/sobjects/{Object}/{ExternalIdField}/{email}` with the
mapped fields: 201 created, 200 or 204 updated. 300 means the external id matched several records,
so nothing was written: a person must merge them, and the record fails (and, after its retries,
waits in the dead-letter queue). With the field marked Unique in Salesforce a second record for
one email cannot be created at all. REQUEST_LIMIT_EXCEEDED (403, the org's daily API allocation)
fails the record for a later retry. Errors carry Salesforce's error codes, never its messages.

The upsert's answer names the record's id (`{"id": "003...", "created": true}`; API 46.0 and later
answer an update with 200 and the same body): it is returned so the hub can record it under the
customer's erasure key, and erasure deletes exactly that record,
`DELETE {instance}/services/data/{version}/sobjects/{Object}/{id}` (204; 404 `NOT_FOUND` or
`ENTITY_IS_DELETED` means already gone). The record goes to Salesforce's recycle bin, as every
API delete does; it empties itself after 15 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from hub.adapters.http import OutboundError
from hub.domain.customers import Contact

__all__ = [
    "SalesforceClient",
    "SalesforceError",
    "SalesforceLimitError",
    "SalesforceMultipleMatchesError",
    "salesforce_value",
]


class SalesforceError(OutboundError):
    """Salesforce refused or failed the upsert of one record."""


class SalesforceMultipleMatchesError(SalesforceError):
    """HTTP 300: several records carry this external id; merge them in Salesforce."""


class SalesforceLimitError(SalesforceError):
    """The org's API request allocation is spent (REQUEST_LIMIT_EXCEEDED)."""


def salesforce_value(value: Any) -> Any:
    """JSON values Salesforce accepts: numbers as decimal strings (exact), lists as multi-select ';'."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return value


def _codes(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    items = body if isinstance(body, list) else [body]
    return sorted({str(i.get("errorCode")) for i in items if isinstance(i, dict) and i.get("errorCode")})


def _record_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    record_id = body.get("id") if isinstance(body, dict) else None
    return str(record_id) if record_id else None


class SalesforceClient:
    system = "salesforce"

    def __init__(self, http: httpx.Client, *, sobject: str, external_id_field: str, api_version: str) -> None:
        self._http = http
        self._object = sobject
        self._field = external_id_field
        self._version = api_version

    def path(self, email: str) -> str:
        return f"/services/data/{self._version}/sobjects/{self._object}/{self._field}/{quote(email, safe='')}"

    def upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        return {c.email: self._upsert(c) for c in contacts}

    def delete_contact(self, contact_id: str) -> bool:
        path = f"/services/data/{self._version}/sobjects/{self._object}/{quote(contact_id, safe='')}"
        try:
            response = self._http.delete(path)
        except httpx.HTTPError as exc:
            raise SalesforceError(f"Salesforce delete did not answer ({type(exc).__name__})") from exc
        if response.status_code in (200, 204):
            return True
        codes = _codes(response)
        if response.status_code == 404 or "ENTITY_IS_DELETED" in codes:
            return False
        if "REQUEST_LIMIT_EXCEEDED" in codes:
            raise SalesforceLimitError("the Salesforce org's API request limit is exceeded", response.status_code)
        raise SalesforceError(
            f"Salesforce delete failed with HTTP {response.status_code} ({', '.join(codes) or 'no code'})",
            response.status_code,
        )

    def _upsert(self, contact: Contact) -> Exception | str | None:
        # The external id is in the path; Salesforce refuses it in the body as well.
        body = {k: salesforce_value(v) for k, v in contact.properties.items() if v is not None and k != self._field}
        try:
            response = self._http.patch(self.path(contact.email), json=body)
        except httpx.HTTPError as exc:
            return SalesforceError(f"Salesforce upsert did not answer ({type(exc).__name__})")
        status = response.status_code
        if status in (200, 201):
            return _record_id(response)
        if status == 204:
            return None
        if status == 300:
            return SalesforceMultipleMatchesError(
                f"several {self._object} records have this {self._field}: merge them in Salesforce", status
            )
        codes = _codes(response)
        if "REQUEST_LIMIT_EXCEEDED" in codes:
            return SalesforceLimitError("the Salesforce org's API request limit is exceeded", status)
        return SalesforceError(f"Salesforce upsert failed with HTTP {status} ({', '.join(codes) or 'no code'})", status)
