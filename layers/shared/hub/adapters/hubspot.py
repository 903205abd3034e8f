"""HubSpot contacts: batch upsert by email (`POST /crm/v3/objects/contacts/batch/upsert`).

Up to 100 inputs per call, each `{"idProperty": "email", "id": <email>, "properties": {...}}`;
the email is HubSpot's unique contact property, so an upsert never creates a second contact for
one address. 429 and 5xx are retried by the outbound client (Retry-After, else the
X-HubSpot-RateLimit-* window). A batch that partly fails (207 Multi-Status, or a 400 naming the
inputs it refused) is sent again with only the inputs that did not succeed; inputs HubSpot refuses
as invalid are not sent again and fail their records. Errors name categories and statuses, never
HubSpot's messages (they quote the email).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from hub.adapters.http import OutboundError, vendor_error
from hub.domain.customers import Contact

__all__ = ["UPSERT_PATH", "HubSpotClient", "HubSpotError", "hubspot_value"]

UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
MAX_INPUTS = 100
_PERMANENT = frozenset({"VALIDATION_ERROR", "INVALID_EMAIL", "BAD_REQUEST", "PROPERTY_DOESNT_EXIST"})


class HubSpotError(OutboundError):
    """HubSpot refused or failed one contact (or the whole call)."""

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        category: str | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status_code, code=category, request_id=request_id)
        self.category = category


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
    def __init__(self, http: httpx.Client, *, batch_size: int = MAX_INPUTS, rounds: int = 3) -> None:
        self._http = http
        self._batch = max(1, min(batch_size, MAX_INPUTS))
        self._rounds = rounds

    def upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | None]:
        outcomes: dict[str, Exception | None] = {}
        for start in range(0, len(contacts), self._batch):
            outcomes.update(self._chunk(contacts[start : start + self._batch]))
        return outcomes

    @staticmethod
    def _input(contact: Contact) -> dict[str, Any]:
        properties = {name: hubspot_value(value) for name, value in contact.properties.items() if value is not None}
        return {"idProperty": "email", "id": contact.email, "properties": properties}

    def _chunk(self, contacts: Sequence[Contact]) -> dict[str, Exception | None]:
        outcomes: dict[str, Exception | None] = {}
        pending = {c.email: c for c in contacts}
        last: Exception = HubSpotError("HubSpot was not called")
        for _round in range(self._rounds):
            try:
                response = self._http.post(UPSERT_PATH, json={"inputs": [self._input(c) for c in pending.values()]})
            except httpx.HTTPError as exc:
                last = HubSpotError(f"HubSpot batch upsert did not answer ({type(exc).__name__})")
                break
            status = response.status_code
            if status in (200, 201):
                outcomes.update(dict.fromkeys(pending))
                return outcomes
            body = self._json(response)
            refused = self._refused(body, set(pending))
            if status == 207 or (status == 400 and refused):
                if status == 207:
                    succeeded = set(pending) - set(refused) if refused else self._succeeded(body, set(pending))
                    outcomes.update(dict.fromkeys(succeeded))
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
    def _succeeded(body: Mapping[str, Any], pending: set[str]) -> set[str]:
        """Inputs the results name by email; none when the results do not say (all are retried)."""
        found = set()
        for result in body.get("results") or []:
            email = ((result or {}).get("properties") or {}).get("email")
            if isinstance(email, str):
                found.add(email.strip().lower())
        return found & pending
