"""Erasure beyond the hub: delete the contacts the hub created in CRMs and marketing tools.

Why the contacts are found through a registry and not by email: `CustomerErased` names the customer
by its erasure key only (the event is archived and replayable, so it carries no email), and by the
time it is handled the hub has forgotten the email. So every adapter that creates or updates a
downstream record records the vendor's id of it under the erasure key (`ContactRegistry`), and the
consumer that owns the adapter deletes those ids when `CustomerErased` arrives: crm_upsert for
HubSpot and Salesforce, marketing_triggers for Klaviyo and Mailchimp. A vendor outage then delays
only the downstream deletion (retried by the queue, dead-lettered after its retries), never the
hub's own erasure.

A record already gone at the vendor counts as deleted. Each deletion is recorded (system, vendor id,
outcome, time; nothing personal). A recorded contact whose system is no longer configured fails the
record, so that it reaches the dead-letter queue and its alarm instead of being forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from hub.errors import ContactErasureError
from hub.events import CustomerErased
from hub.ports import ContactDeleter, ContactRecord, ContactRegistry

__all__ = ["ContactErasure", "erases_contacts"]


def _now() -> datetime:
    return datetime.now(UTC)


def erases_contacts(event: CustomerErased) -> bool:
    """Whether the erasure removes the customer's downstream contacts.

    A customer erased by their own request always; a customer seen in an erased shop only when
    nothing of theirs is left in the hub (they still buy in another shop otherwise)."""
    data = event.data
    return bool(data.erasure_key) and (data.scope == "customer" or data.profile_erased)


class ContactErasure:
    def __init__(
        self,
        registry: ContactRegistry,
        deleters: Callable[[], Mapping[str, ContactDeleter]],
        systems: frozenset[str],
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """`deleters` builds the configured systems' clients on demand; `systems` are the ones this
        function owns (the others' records are left to their own consumer)."""
        self._registry = registry
        self._deleters = deleters
        self._systems = systems
        self._clock = clock

    def record(self, customer: str, system: str, contact_id: str | None) -> None:
        if contact_id:
            self._registry.record_contact(ContactRecord(customer, system, contact_id))

    def known(self, customer: str, system: str) -> bool:
        return any(c.system == system for c in self._registry.contacts(customer))

    def erase(self, event: CustomerErased) -> dict[str, int]:
        """Delete every recorded contact of the erased customer in this function's systems.

        Returns counts per outcome (`deleted`, `gone`); raises ContactErasureError after trying all
        of them when any could not be deleted, so the event is retried."""
        counts = {"deleted": 0, "gone": 0}
        if not erases_contacts(event):
            return counts
        key = event.data.erasure_key or ""
        mine = [c for c in self._registry.contacts(key) if c.system in self._systems]
        if not mine:
            return counts
        deleters = self._deleters()
        failed: list[str] = []
        for contact in mine:
            deleter = deleters.get(contact.system)
            if deleter is None:
                failed.append(f"{contact.system} (not configured)")
                continue
            try:
                outcome = "deleted" if deleter.delete_contact(contact.contact_id) else "gone"
            except Exception as exc:  # every failure is retried; the others still go on
                failed.append(f"{contact.system} ({type(exc).__name__}: {exc})")
                continue
            self._registry.record_deletion(contact, outcome, self._clock())
            counts[outcome] += 1
        if failed:
            raise ContactErasureError("could not delete the customer's contact in " + "; ".join(failed))
        return counts
