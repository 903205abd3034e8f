"""In-memory fakes of the customer ports, with the guarantees of the DynamoDB adapters: profiles saved
conditionally on their version and on the erasure marks they were derived under, CRM leases."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.domain.customers import Contact, CustomerProfile, Fact, OrderSummary, normalise_email
from hub.domain.privacy import OrderErasure, address_values, personal_pattern, scrub
from hub.errors import ProfileConflictError
from hub.ports import ContactRecord, Derived, StoredCustomer, StoredOrder


class FakeCustomerStore:
    def __init__(self, salt: str = "test-salt") -> None:
        self._salt = salt
        self.customers: dict[str, dict[str, Fact]] = {}
        self.orders: dict[str, dict[str, Fact]] = {}
        self.profiles: dict[str, tuple[CustomerProfile, int]] = {}
        self.summaries: dict[str, dict[str, tuple[OrderSummary, int]]] = {}
        self.order_versions: dict[str, int] = {}
        self.marks: dict[str, datetime] = {}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.crm: dict[str, str] = {}
        self.leases: dict[str, tuple[str, float]] = {}
        # Runs between a derivation's reads and its first write, once: a concurrent writer or an erasure.
        self.before_save: Callable[[], None] | None = None

    # ProfileStore
    def get(self, email: str) -> CustomerProfile | None:
        normalised = normalise_email(email)
        stored = self.profiles.get(normalised or "")
        return stored[0] if stored else None

    def salt(self) -> str:
        return self._salt

    def customer(self, email: str) -> StoredCustomer:
        stored = self.profiles.get(email)
        orders = {o: summary for o, (summary, _version) in self.summaries.get(email, {}).items()}
        versions = {o: version for o, (_summary, version) in self.summaries.get(email, {}).items()}
        return StoredCustomer(
            list(self.customers.get(email, {}).values()), orders, stored[1] if stored else 0, versions
        )

    def summary_version(self, email: str, order_id: str) -> int:
        stored = self.summaries.get(email, {}).get(order_id)
        return stored[1] if stored else 0

    def order_facts(self, order_id: str) -> list[Fact]:
        return list(self.orders.get(order_id, {}).values())

    def order(self, order_id: str) -> StoredOrder:
        return StoredOrder(self.order_facts(order_id), self.order_versions.get(order_id, 0))

    def facts_of_channel(self, channel: str) -> list[Fact]:
        found = {f.event_id: f for facts in [*self.customers.values(), *self.orders.values()] for f in facts.values()}
        return [f for f in found.values() if f.channel == channel]

    def delete_facts(self, facts: Iterable[Fact]) -> int:
        facts = list(facts)
        for fact in facts:
            for partitions, key in ((self.customers, fact.email), (self.orders, fact.order_id)):
                if key and key in partitions:
                    partitions[key].pop(fact.event_id, None)
                    if not partitions[key]:
                        del partitions[key]  # an empty partition is no partition, as in DynamoDB
        return len(facts)

    def erasure_marks(self, subjects: Iterable[str]) -> dict[str, datetime]:
        return {s: self.marks[s] for s in subjects if s in self.marks}

    def mark_erased(self, subject: str, before: datetime) -> None:
        if subject not in self.marks or self.marks[subject] < before:
            self.marks[subject] = before

    def _guard(self, current: int, version: int, marks: Mapping[str, datetime | None]) -> None:
        if self.before_save is not None:
            hook, self.before_save = self.before_save, None
            hook()
            raise _Retry
        if current != version or any(self.marks.get(s) != seen for s, seen in marks.items()):
            raise ProfileConflictError("changed")

    def save_profile(
        self, email: str, profile: CustomerProfile | None, version: int, marks: Mapping[str, datetime | None]
    ) -> None:
        for _ in range(2):
            stored = self.profiles.get(email)
            try:
                self._guard(stored[1] if stored else 0, version, marks)
            except _Retry:
                continue
            if profile is None:
                self.profiles.pop(email, None)
            else:
                self.profiles[email] = (profile, version + 1)
            return

    def save_summary(
        self,
        email: str,
        order_id: str,
        summary: OrderSummary | None,
        version: int,
        marks: Mapping[str, datetime | None],
    ) -> None:
        for _ in range(2):
            try:
                self._guard(self.summary_version(email, order_id), version, marks)
            except _Retry:
                continue
            orders = self.summaries.setdefault(email, {})
            if summary is None:
                orders.pop(order_id, None)
                if not orders:
                    del self.summaries[email]
            else:
                orders[order_id] = (summary, version + 1)
            return

    def save_fact(
        self, fact: Fact, order_version: int, derived: Sequence[Derived], marks: Mapping[str, datetime | None]
    ) -> None:
        # One transaction: every version and every mark is checked before anything lands.
        if self.before_save is not None:
            hook, self.before_save = self.before_save, None
            hook()
        stale = [fact.order_id and self.order_versions.get(fact.order_id, 0) != order_version]
        for d in derived:
            stored = self.profiles.get(d.email)
            stale.append((stored[1] if stored else 0) != d.profile_version)
            stale.append(bool(d.order_id) and self.summary_version(d.email, d.order_id or "") != d.summary_version)
        if any(stale) or any(self.marks.get(s) != seen for s, seen in marks.items()):
            raise ProfileConflictError("changed")
        if fact.email:
            self.customers.setdefault(fact.email, {})[fact.event_id] = fact
        if fact.order_id:
            self.orders.setdefault(fact.order_id, {})[fact.event_id] = fact
            self.order_versions[fact.order_id] = order_version + 1
        for d in derived:
            if d.order_id:
                orders = self.summaries.setdefault(d.email, {})
                if d.summary is None:
                    orders.pop(d.order_id, None)
                else:
                    orders[d.order_id] = (d.summary, d.summary_version + 1)
                if not orders:
                    del self.summaries[d.email]
            if d.profile is None:
                self.profiles.pop(d.email, None)
            else:
                self.profiles[d.email] = (d.profile, d.profile_version + 1)

    def record_privacy(self, subject: str, request: str, values: Mapping[str, str], counts: Mapping[str, int]) -> None:
        record = self.records.setdefault((subject, request), {})
        for name, value in values.items():
            record.setdefault(name, value)
        for name, value in counts.items():
            record[name] = record.get(name, 0) + value

    def forget(self, email: str) -> None:
        self.crm.pop(email, None)
        self.leases.pop(email, None)

    def acquire(self, email: str, owner: str, seconds: int) -> bool:
        held = self.leases.get(email)
        if held and held[1] > time.time():
            return False
        self.leases[email] = (owner, time.time() + seconds)
        return True

    def release(self, email: str, owner: str) -> None:
        if self.leases.get(email, ("",))[0] == owner:
            del self.leases[email]

    def pushed(self, email: str) -> str | None:
        return self.crm.get(email)

    def set_pushed(self, email: str, digest: str) -> None:
        if email in self.profiles:
            self.crm[email] = digest


class _Retry(Exception):
    """The hook ran: check the guard again, now that the concurrent writer has been."""


class FakeOrderPrivacy:
    """Orders as the ledger keeps them: `items[order_id]` is the partition's plain items."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {}

    def add_order(self, order_id: str, **head: Any) -> None:
        self.items.setdefault(order_id, []).append(
            {"pk": f"ORDER#{order_id}", "sk": "ORDER", "kind": "order", "order_id": order_id, "version": 1, **head}
        )

    def add_item(self, order_id: str, sk: str, kind: str, **values: Any) -> None:
        self.items.setdefault(order_id, []).append({"pk": f"ORDER#{order_id}", "sk": sk, "kind": kind, **values})

    def head(self, order_id: str) -> dict[str, Any]:
        return next(i for i in self.items[order_id] if i["sk"] == "ORDER")

    def erase_order(self, order_id: str, personal: Iterable[str]) -> OrderErasure:
        items = self.items.get(order_id)
        if not items:
            return OrderErasure(order_id, found=False)
        head = next((i for i in items if i["sk"] == "ORDER"), {})
        pattern = personal_pattern(
            [*personal, head.get("customer_email"), *address_values(head.get("shipping_address"))]
        )
        counts = {"order": False, "timeline": 0, "pending": 0, "other": 0}
        for index, item in enumerate(items):
            kept = {k: v for k, v in item.items() if k in ("pk", "sk", "kind", "version", "event_id", "type")}
            cleaned, changed = scrub({k: v for k, v in item.items() if k not in kept}, pattern)
            if not changed:
                continue
            items[index] = {**kept, **cleaned}
            if item["sk"] == "ORDER":
                items[index]["version"] = item["version"] + 1
                counts["order"] = True
            else:
                counts[item["kind"] if item["kind"] in ("timeline", "pending") else "other"] += 1
        return OrderErasure(
            order_id, True, bool(counts["order"]), counts["timeline"], counts["pending"], counts["other"]
        )

    def export_order(self, order_id: str) -> dict[str, Any] | None:
        items = self.items.get(order_id) or []
        head = next((i for i in items if i["sk"] == "ORDER"), None)
        return copy.deepcopy({k: v for k, v in head.items() if k not in ("pk", "sk")}) if head else None

    def orders_of_channel(self, channel: str) -> list[str]:
        return sorted(o for o in self.items if o.startswith(f"{channel}:"))


class FakePayloads:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes) -> str:
        self.objects[key] = body
        return "payload-bucket"

    def get(self, location: str, key: str) -> bytes:
        return self.objects[key]

    def delete_prefix(self, prefix: str) -> int:
        gone = [k for k in self.objects if k.startswith(prefix)]
        for key in gone:
            del self.objects[key]
        return len(gone)


class FakeCrm:
    """A CRM that records every upsert and answers from a script: email -> error (or its contact id).

    Contacts get ids `hs-1`, `hs-2`, ... (one per email); `delete_contact` removes one, answers False
    for an id it does not hold (already gone), and raises what `delete_errors` scripts."""

    system = "hubspot"

    def __init__(self) -> None:
        self.calls: list[list[Contact]] = []
        self.errors: dict[str, Exception] = {}
        self.ids: dict[str, str] = {}
        self.deleted: list[str] = []
        self.delete_errors: dict[str, Exception] = {}

    def upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        self.calls.append(list(contacts))
        outcomes: dict[str, Exception | str | None] = {}
        for contact in contacts:
            if contact.email in self.errors:
                outcomes[contact.email] = self.errors[contact.email]
                continue
            outcomes[contact.email] = self.ids.setdefault(contact.email, f"hs-{len(self.ids) + 1}")
        return outcomes

    def delete_contact(self, contact_id: str) -> bool:
        if contact_id in self.delete_errors:
            raise self.delete_errors[contact_id]
        email = next((e for e, i in self.ids.items() if i == contact_id), None)
        if email is None:
            return False
        del self.ids[email]
        self.deleted.append(contact_id)
        return True


class FakeContactRegistry:
    """hub.ports.ContactRegistry in memory: `contacts_kept` and `deletions` as the table keeps them."""

    def __init__(self) -> None:
        self.contacts_kept: set[ContactRecord] = set()
        self.deletions: dict[ContactRecord, tuple[str, datetime]] = {}

    def record_contact(self, contact: ContactRecord) -> None:
        self.contacts_kept.add(contact)

    def contacts(self, customer: str) -> list[ContactRecord]:
        return sorted((c for c in self.contacts_kept if c.customer == customer), key=lambda c: (c.system, c.contact_id))

    def record_deletion(self, contact: ContactRecord, outcome: str, at: datetime) -> None:
        self.contacts_kept.discard(contact)
        self.deletions[contact] = (outcome, at)
