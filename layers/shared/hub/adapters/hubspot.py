"""HubSpot contacts: batch upsert by email (`POST /crm/objects/2026-03/contacts/batch/upsert`).

The upsert uses HubSpot's date-versioned path (the version pinned in hub.vendor_versions): its
request and response are documented as the same as the legacy `/crm/v3/...` path, which HubSpot
stops supporting in September 2027. The GDPR delete stays on the legacy v3 path until a dated
equivalent is documented.

Up to 100 inputs per call, each `{"idProperty": "email", "id": <email>, "properties": {...}}`;
the email is HubSpot's unique contact property, so an upsert never creates a second contact for
one address. 429 and 5xx are retried by the outbound client (Retry-After, else the
X-HubSpot-RateLimit-* window). A batch that partly fails (207 Multi-Status, or a 400 naming the
inputs it refused) is sent again with only the inputs that did not succeed; inputs HubSpot refuses
as invalid are not sent again and fail their records. Errors name categories and statuses, never
HubSpot's messages (they quote the email).

The id HubSpot gives each contact (`results[].id`) is returned, so the hub can record it under the
customer's erasure key; erasure deletes it with the GDPR delete,
`POST /crm/v3/objects/contacts/gdpr-delete` `{"objectId": <id>}` (204; 404 means already gone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from hub.adapters.http import vendor_error
from hub.domain.customers import Contact
from hub.errors import HubSpotError
from hub.vendor_versions import HUBSPOT_CRM_OBJECTS, HUBSPOT_LEGACY_V3

__all__ = ["GDPR_DELETE_PATH", "UPSERT_PATH", "HubSpotClient", "hubspot_value"]

UPSERT_PATH = f"/crm/objects/{HUBSPOT_CRM_OBJECTS}/contacts/batch/upsert"
GDPR_DELETE_PATH = f"/crm/{HUBSPOT_LEGACY_V3}/objects/contacts/gdpr-delete"
MAX_INPUTS = 100
_PERMANENT = frozenset({"VALIDATION_ERROR", "INVALID_EMAIL", "BAD_REQUEST", "PROPERTY_DOESNT_EXIST"})


def hubspot_value(value: Any) -> str:
    """HubSpot takes every property value as a string; lists are multi-select values joined by ';'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def _ids(context: Any) -> set[str]:
    if not isinstance(context, Mapping):
        return set()
    values: set[str] = set()
    for items in context.values():
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, str):
                values.add(item.strip().lower())
    return values


class HubSpotClient:
    system = "hubspot"

    def __init__(self, http: httpx.Client, *, batch_size: int = MAX_INPUTS, rounds: int = 3) -> None:
        self._http = http
        self._batch = max(1, min(batch_size, MAX_INPUTS))
        self._rounds = rounds

    def upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        outcomes: dict[str, Exception | str | None] = {}
        for start in range(0, len(contacts), self._batch):
            outcomes.update(self._chunk(contacts[start : start + self._batch]))
        return outcomes

    @staticmethod
    def _input(contact: Contact) -> dict[str, Any]:
        properties = {name: hubspot_value(value) for name, value in contact.properties.items() if value is not None}
        return {"idProperty": "email", "id": contact.email, "properties": properties}

    def delete_contact(self, contact_id: str) -> bool:
        """GDPR-delete the contact by HubSpot's id (never by email: an unknown email would be blocklisted)."""
        try:
            response = self._http.post(GDPR_DELETE_PATH, json={"objectId": contact_id})
        except httpx.HTTPError as exc:
            raise HubSpotError(f"HubSpot GDPR delete did not answer ({type(exc).__name__})") from exc
        if response.status_code in (200, 204):
            return True
        if response.status_code == 404:
            return False
        category = str(self._json(response).get("category") or "") or None
        raise HubSpotError(
            f"HubSpot GDPR delete failed with HTTP {response.status_code}" + (f" ({category})" if category else ""),
            response.status_code,
            category=category,
        )

    def _chunk(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        outcomes: dict[str, Exception | str | None] = {}
        pending = {c.email: c for c in contacts}
        last: Exception = HubSpotError("HubSpot was not called")
        for _round in range(self._rounds):
            try:
                response = self._http.post(UPSERT_PATH, json={"inputs": [self._input(c) for c in pending.values()]})
            except httpx.HTTPError as exc:
                last = HubSpotError(f"HubSpot batch upsert did not answer ({type(exc).__name__})")
                break
            status = response.status_code
            body = self._json(response)
            if status in (200, 201):
                ids = self._ids(body, set(pending))
                outcomes.update({email: ids.get(email) for email in pending})
                return outcomes
            refused = self._refused(body, set(pending))
            if status == 207 or (status == 400 and refused):
                if status == 207:
                    succeeded = set(pending) - set(refused) if refused else self._succeeded(body, set(pending))
                    ids = self._ids(body, succeeded)
                    outcomes.update({email: ids.get(email) for email in succeeded})
                    pending = {e: c for e, c in pending.items() if e not in succeeded}
                for email, category in refused.items():
                    if category in _PERMANENT:
                        outcomes[email] = HubSpotError(
                            f"HubSpot refused the contact ({category})", status, category=category
                        )
                        pending.pop(email, None)
                said = vendor_error(response)
                last = HubSpotError(
                    f"HubSpot batch upsert failed for some contacts ({said.describe()})",
                    status,
                    request_id=said.request_id,
                )
                if not pending:
                    return outcomes
                continue
            said = vendor_error(response)
            last = HubSpotError(
                f"HubSpot batch upsert failed with {said.describe()}", status, said.code, request_id=said.request_id
            )
            break
        outcomes.update(dict.fromkeys(pending, last))
        return outcomes

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @staticmethod
    def _refused(body: Mapping[str, Any], pending: set[str]) -> dict[str, str]:
        """email -> error category, for the inputs the errors name."""
        refused: dict[str, str] = {}
        errors: Iterable[Any] = body.get("errors") or ([body] if body.get("category") else [])
        for error in errors:
            if isinstance(error, Mapping):
                for email in _ids(error.get("context")) & pending:
                    refused[email] = str(error.get("category") or "UNKNOWN")
        return refused

    @staticmethod
    def _ids(body: Mapping[str, Any], emails: set[str]) -> dict[str, str]:
        """email -> HubSpot's contact id, from the results that name their email (or the only one)."""
        results = [r for r in body.get("results") or [] if isinstance(r, Mapping) and r.get("id")]
        ids: dict[str, str] = {}
        for result in results:
            email = (result.get("properties") or {}).get("email")
            if isinstance(email, str) and email.strip().lower() in emails:
                ids[email.strip().lower()] = str(result["id"])
        if not ids and len(results) == 1 and len(emails) == 1:
            ids[next(iter(emails))] = str(results[0]["id"])
        return ids

    @staticmethod
    def _succeeded(body: Mapping[str, Any], pending: set[str]) -> set[str]:
        """Inputs the results name by email; none when the results do not say (all are retried)."""
        found = set()
        for result in body.get("results") or []:
            email = ((result or {}).get("properties") or {}).get("email")
            if isinstance(email, str):
                found.add(email.strip().lower())
        return found & pending
