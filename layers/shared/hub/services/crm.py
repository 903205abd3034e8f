"""Pushing profiles to the merchant's CRM, one customer at a time and never twice at once.

The customers whose profiles were derived again in one batch of events are pushed together (one
HubSpot call carries up to 100). Each customer is pushed under a lease (a conditional item in the
table) so that two pushes for the same customer never overlap: with an upsert by a unique key that
means no second contact can be created, and the CRM never receives an older profile after a newer
one, because the profile is read after the lease is taken. What was pushed is remembered as a
digest of the mapped properties, so a redelivered event or a change the CRM does not see (a field
that is not mapped) costs no call. A customer whose push fails, or whose lease is held by another
push, fails the records that touched it; SQS brings them back later, and then to the dead-letter
queue.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hub.config import CrmConfig, HubConfig
from hub.domain.customers import Contact, CustomerProfile, contact_value, erasure_key
from hub.domain.lineage import Call, CallResult, LineageEntry
from hub.errors import CrmBusyError, HubError
from hub.events import CustomerErased
from hub.ports import ContactDeleter, ContactRegistry, CrmClient, CustomerStore
from hub.services.contact_erasure import ContactErasure
from hub.services.lineage import LineageRecorder, failure_detail

__all__ = ["CRM_SYSTEMS", "CrmSync", "contact_digest", "contact_for"]

CRM_SYSTEMS = frozenset({"hubspot", "salesforce"})

LEASE_SECONDS = 120  # longer than the function's timeout, so a live push always outlasts its lease


def contact_for(profile: CustomerProfile, crm: CrmConfig) -> Contact:
    properties: dict[str, Any] = {}
    defaults = crm.defaults()
    for name, source in crm.mapping().items():
        value = contact_value(profile, source)
        if value in (None, "", []):
            value = defaults.get(name)
        if value is not None:
            properties[name] = value
    for name, value in defaults.items():
        properties.setdefault(name, value)
    return Contact(profile.email, properties)


# Part of the digest: digests kept before contacts were recorded for erasure never match, so each
# customer is pushed once more on their next event, and that push records the CRM's id.
_DIGEST_VERSION = "contact-ids-1"


def contact_digest(contact: Contact) -> str:
    values = {"email": contact.email, **contact.properties, "\x00version": _DIGEST_VERSION}
    canonical = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CrmSync:
    def __init__(
        self,
        store: CustomerStore,
        client: Callable[[CrmConfig], CrmClient | None],
        config: Callable[[], HubConfig],
        lease_seconds: int = LEASE_SECONDS,
        registry: ContactRegistry | None = None,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._lineage = lineage or LineageRecorder(None)
        self._store = store
        self._client = client
        self._config = config
        self._lease = lease_seconds
        self._contacts = ContactErasure(registry, self._deleters, CRM_SYSTEMS) if registry is not None else None

    def _deleters(self) -> dict[str, ContactDeleter]:
        crm = self._config().crm
        client = self._client(crm) if crm.provider != "none" else None
        return {client.system: client} if client is not None else {}

    def erase(self, event: CustomerErased) -> dict[str, int]:
        """Delete the erased customer's contact in the CRM (by the id recorded when it was pushed)."""
        return self._contacts.erase(event) if self._contacts is not None else {}

    def push(self, emails: Iterable[str], orders: Mapping[str, Iterable[str]] | None = None) -> dict[str, Exception]:
        """Push the current profile of each customer; email -> the error, for those that failed.

        `orders` (email -> the orders whose events led to the push) says whose lineage each
        outcome goes to: pushed, failed, or skipped because the CRM already has the profile.
        """
        emails = sorted(set(emails))
        crm = self._config().crm
        if not emails or crm.provider == "none":
            return {}
        try:
            client = self._client(crm)
        except Exception as exc:  # no token, no instance URL: every push fails, and says why
            failures: dict[str, Exception] = dict.fromkeys(emails, exc)
            self._record(orders, crm.provider, failures, {}, set())
            return failures
        if client is None:
            return {}
        system = getattr(client, "system", crm.provider)
        owner = uuid.uuid4().hex
        failures = {}
        pushed: dict[str, str | None] = {}
        unchanged: set[str] = set()
        held: list[str] = []
        try:
            contacts, digests = [], {}
            for email in emails:
                if not self._store.acquire(email, owner, self._lease):
                    failures[email] = CrmBusyError("another CRM push for this customer is in flight")
                    continue
                held.append(email)
                profile = self._store.get(email)
                if profile is None:
                    continue  # erased, or never had a profile: nothing to push
                contact = contact_for(profile, crm)
                digest = contact_digest(contact)
                if self._store.pushed(email) != digest:
                    contacts.append(contact)
                    digests[email] = digest
                else:
                    unchanged.add(email)
            if contacts:
                try:
                    outcomes = client.upsert(contacts)
                except HubError as exc:
                    # Not called, or failed whole (no time left, the CRM's circuit open, the CRM
                    # down): every contact's records fail, alone, and are retried.
                    outcomes = dict.fromkeys((c.email for c in contacts), exc)
                for contact in contacts:
                    outcome = outcomes.get(contact.email, HubError("the CRM gave no outcome for this contact"))
                    if isinstance(outcome, Exception):
                        failures[contact.email] = outcome
                        continue
                    if self._contacts is not None:
                        # Recorded before the digest: a push that dies in between is pushed (and recorded) again.
                        key = erasure_key(contact.email, self._store.salt())
                        self._contacts.record(key, system, outcome)
                    self._store.set_pushed(contact.email, digests[contact.email])
                    pushed[contact.email] = outcome
        finally:
            for email in held:
                self._store.release(email, owner)
        self._record(orders, system, failures, pushed, unchanged)
        return failures

    def _record(
        self,
        orders: Mapping[str, Iterable[str]] | None,
        system: str,
        failures: Mapping[str, Exception],
        pushed: Mapping[str, str | None],
        unchanged: set[str],
    ) -> None:
        """One lineage write for the whole push: each order, what became of its customer's contact."""
        if not orders:
            return
        entries: list[LineageEntry] = []
        for email, order_ids in sorted(orders.items()):
            if email in failures:
                result, detail, ref = CallResult.FAILED, f"retried later: {failure_detail(failures[email])}", None
            elif email in pushed:
                result, detail, ref = CallResult.OK, "contact created or updated", pushed[email]
            elif email in unchanged:
                result, detail, ref = CallResult.SKIPPED, "the CRM already has this profile", None
            else:
                continue
            entries.extend(
                self._lineage.call_entry(o, Call.CRM_PUSH, result, system=system, detail=detail, ref=ref)
                for o in sorted(set(order_ids))
            )
        self._lineage.record(entries)
