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
from collections.abc import Callable, Iterable
from typing import Any

from hub.config import CrmConfig, HubConfig
from hub.domain.customers import Contact, CustomerProfile, contact_value
from hub.ports import CrmClient, CustomerStore, HubError

__all__ = ["CrmBusyError", "CrmSync", "contact_digest", "contact_for"]

LEASE_SECONDS = 120  # longer than the function's timeout, so a live push always outlasts its lease


class CrmBusyError(HubError):
    """Another push for the same customer holds the lease; this one is retried later."""


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


def contact_digest(contact: Contact) -> str:
    canonical = json.dumps({"email": contact.email, **contact.properties}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CrmSync:
    def __init__(
        self,
        store: CustomerStore,
        client: Callable[[CrmConfig], CrmClient | None],
        config: Callable[[], HubConfig],
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._client = client
        self._config = config
        self._lease = lease_seconds

    def push(self, emails: Iterable[str]) -> dict[str, Exception]:
        """Push the current profile of each customer; email -> the error, for those that failed."""
        emails = sorted(set(emails))
        crm = self._config().crm
        if not emails or crm.provider == "none":
            return {}
        try:
            client = self._client(crm)
        except Exception as exc:  # no token, no instance URL: every push fails, and says why
            return dict.fromkeys(emails, exc)
        if client is None:
            return {}
        owner = uuid.uuid4().hex
        failures: dict[str, Exception] = {}
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
            if contacts:
                outcomes = client.upsert(contacts)
                for contact in contacts:
                    error = outcomes.get(contact.email, HubError("the CRM gave no outcome for this contact"))
                    if error is None:
                        self._store.set_pushed(contact.email, digests[contact.email])
                    else:
                        failures[contact.email] = error
        finally:
            for email in held:
                self._store.release(email, owner)
        return failures
