"""crm_upsert's use case: every order, payment, refund and customer event into customer profiles.

Each event becomes one fact (`facts_from`), kept under its event id. A fact about an order makes
each customer the order's facts name derive again their summary of that order (from the order's
facts); then each customer concerned derives their profile again (from their own facts and their
order summaries, read at once, so the work per event does not grow with the customer's history).
Both are stored conditionally on the version they were read at and on the erasure marks they were
derived under: two events for one customer handled at once both derive, the later write retries,
and neither is lost; a redelivery writes the same fact again and derives the same result. Facts an
erasure already covers (a late delivery, a replay of the archive) are refused, and any that
slipped in around an erasure are deleted when found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from hub.claimcheck import PayloadStore
from hub.config import HubConfig
from hub.domain.customers import (
    CustomerProfile,
    Fact,
    FactKind,
    build_profile,
    erasure_key,
    normalise_email,
    placed_lines,
    status_tells_a_summary,
    summary_for,
)
from hub.events import (
    CustomerDataRequested,
    CustomerErased,
    CustomerRedactionRequested,
    CustomerUpserted,
    HubEvent,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderStatusChanged,
    OrderUpdated,
    PaymentRefunded,
    PaymentSucceeded,
    RefundIssued,
    ShopRedactionRequested,
)
from hub.ports import CustomerStore, DataKeys, EventPublisher, OrderPrivacy, ProfileConflictError
from hub.services.payments import order_id_for
from hub.services.privacy import Handled, OrderNotRecordedError, PrivacyService

__all__ = ["CustomerService", "Handled", "OrderNotRecordedError", "facts_from"]

_ATTEMPTS = 8


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def facts_from(event: HubEvent, config: HubConfig) -> Fact | None:
    """The fact an event states about a customer or an order's money; None when it states none."""
    common = {"event_id": event.event_id, "occurred_at": _aware(event.occurred_at), "channel": event.channel}
    if isinstance(event, OrderPlaced):
        data = event.data
        lines = placed_lines((ln.sku, ln.title, ln.quantity) for ln in data.lines)
        return Fact(
            kind=FactKind.PLACED,
            email=normalise_email(data.customer_email),
            order_id=data.order_id,
            data={"currency": data.currency.upper(), "total": data.total, "paid": data.paid, "lines": lines},
            **common,
        )
    if isinstance(event, CustomerUpserted):
        data = event.data
        email = normalise_email(data.email)
        if email is None:
            return None
        stated = _aware(data.updated_at).isoformat() if data.updated_at else None
        values = {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "phone": data.phone,
            "platform_customer_id": data.platform_customer_id,
            "email_marketing": data.consent.email_marketing,
            "sms_marketing": data.consent.sms_marketing,
            "stated_at": stated,
        }
        return Fact(kind=FactKind.CUSTOMER, email=email, data=values, **common)
    if isinstance(event, OrderUpdated):
        data = event.data
        values = {"paid": data.paid, "cancelled": data.cancelled, "refunded_total": data.refunded_total}
        values["currency"] = data.currency.upper() if data.currency else None
        return Fact(kind=FactKind.STOREFRONT_UPDATE, order_id=data.order_id, data=values, **common)
    if isinstance(event, OrderPaid):
        values = {"amount": event.data.amount, "currency": event.data.currency.upper()}
        return Fact(kind=FactKind.STOREFRONT_PAID, order_id=event.data.order_id, data=values, **common)
    if isinstance(event, OrderCancelled):
        return Fact(kind=FactKind.CANCELLED, order_id=event.data.order_id, **common)
    if isinstance(event, RefundIssued):
        data = event.data
        values = {"refund_id": data.refund_id, "amount": data.amount, "currency": (data.currency or "").upper() or None}
        return Fact(kind=FactKind.STOREFRONT_REFUND, order_id=data.order_id, data=values, **common)
    if isinstance(event, OrderStatusChanged):
        if not status_tells_a_summary(event.data.previous, event.data.status):
            return None  # the rule (template.yaml, CrmRule) does not even deliver these
        return Fact(kind=FactKind.STATUS, order_id=event.data.order_id, data={"status": event.data.status}, **common)
    if isinstance(event, PaymentSucceeded | PaymentRefunded):
        data = event.data
        order_id = order_id_for(data.reference, event.channel, config, data.gateway)
        if order_id is None:
            return None
        if isinstance(event, PaymentSucceeded):
            values = {"amount": data.amount, "currency": data.currency.upper()}
            email = normalise_email(event.data.customer_email)
            return Fact(kind=FactKind.PAYMENT, email=email, order_id=order_id, data=values, **common)
        status = (event.data.status or "completed").lower()
        values = {
            "refund_id": event.data.refund_id,
            "amount": data.amount,
            "currency": data.currency.upper(),
            "completed": status in ("completed", "succeeded"),
        }
        return Fact(kind=FactKind.GATEWAY_REFUND, order_id=order_id, data=values, **common)
    return None


class CustomerService:
    def __init__(
        self,
        store: CustomerStore,
        orders: OrderPrivacy,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        exports: PayloadStore | None = None,
        clock: Callable[[], datetime] = _utcnow,
        contacts: Callable[[CustomerErased], Mapping[str, int]] | None = None,
        data_keys: DataKeys | None = None,
    ) -> None:
        """`contacts` deletes an erased customer's CRM contact (hub.services.crm.CrmSync.erase)."""
        self._store = store
        self._config = config
        self._contacts = contacts
        self.privacy = PrivacyService(self, store, orders, publisher, exports, clock, data_keys)
        # The erasure marks read while one fact is recorded: subject -> mark (None: not erased).
        self._seen: dict[str, datetime | None] = {}

    def handle(self, event: HubEvent) -> Handled:
        if isinstance(event, CustomerRedactionRequested | ShopRedactionRequested | CustomerDataRequested):
            return self.privacy.handle(event)
        if isinstance(event, CustomerErased):
            counts = self._contacts(event) if self._contacts is not None else {}
            return Handled("contacts_erased", detail={k: str(v) for k, v in counts.items()})
        fact = facts_from(event, self._config())
        if fact is None:
            return Handled("ignored")
        return self.record(fact)

    def key(self, email: str) -> str:
        return erasure_key(email, self._store.salt())

    def record(self, fact: Fact) -> Handled:
        """Keep the fact, then derive again the summary and profile of each customer it concerns.

        The erasure marks are read once for the fact and reused by the derivations: each derivation
        is written on condition that the marks it was derived under are still the ones stored, so a
        mark that changed in between fails the write, and the retry reads the marks again."""
        self._seen = {}
        try:
            return self._record(fact)
        finally:
            self._seen = {}

    def _record(self, fact: Fact) -> Handled:
        emails = {fact.email} if fact.email else set()
        if fact.order_id:
            emails |= {f.email for f in self._store.order_facts(fact.order_id) if f.email}
        if self._covered(fact, emails):
            if fact.kind is FactKind.PLACED:
                self.privacy.erase_late_order(fact)
            return Handled("already_erased")
        self._store.put_fact(fact)
        late: list[Fact] = []
        if fact.order_id:
            for email in sorted(emails):
                late += [f for f in self.derive(email, fact.order_id) if f.kind is FactKind.PLACED]
        else:
            for email in sorted(emails):
                self.refresh(email)
        for stale_fact in late:
            self.privacy.erase_late_order(stale_fact)
        return Handled("recorded", frozenset(emails), order_id=fact.order_id)

    def _marks(self, subjects: list[str], fresh: bool) -> dict[str, datetime]:
        """The erasure marks of `subjects`: read again when `fresh`, else the ones this fact already read."""
        if fresh:
            self._seen = {}
        missing = [s for s in subjects if s not in self._seen]
        if missing:
            found = self._store.erasure_marks(missing)
            self._seen.update({s: found.get(s) for s in missing})
        return {s: mark for s in subjects if (mark := self._seen[s]) is not None}

    def _covered(self, fact: Fact, emails: set[str]) -> bool:
        """Whether an erasure of the fact's shop or customer covers it. The marks of every customer
        the derivations will concern are read at the same time, in the same request."""
        subjects = [f"shop:{fact.channel}"] + ([f"customer:{self.key(fact.email)}"] if fact.email else [])
        marks = self._marks([*subjects, *(f"customer:{self.key(e)}" for e in sorted(emails))], fresh=False)
        return any(fact.occurred_at <= marks[s] for s in subjects if s in marks)

    def derive(self, email: str, order_id: str) -> list[Fact]:
        """Derive and store again the customer's summary of one order and their profile, in one write;
        returns the order's facts found to be covered by an erasure (now deleted).

        The customer's items (with the versions of the profile and of the summary) are read before the
        order's facts, so a fact kept after that read comes with a summary write that changes the
        version, and this write fails and is retried instead of losing it."""
        key = self.key(email)
        for attempt in range(_ATTEMPTS):
            stored = self._store.customer(email)
            facts = self._store.order_facts(order_id)
            channels = {f.channel for f in [*stored.facts, *facts]} | {o.channel for o in stored.orders.values()}
            subjects = [f"customer:{key}", *(f"shop:{c}" for c in sorted(channels))]
            marks = self._marks(subjects, fresh=attempt > 0)
            covered = [f for f in facts if self._stale(f, email, key, marks)]
            summary = summary_for(email, order_id, [f for f in facts if f not in covered])
            orders = {o: s for o, s in stored.orders.items() if o != order_id}
            if summary is not None:
                orders[order_id] = summary
            own_covered = [f for f in stored.facts if self._stale(f, email, key, marks)]
            profile = build_profile(email, key, [f for f in stored.facts if f not in own_covered], orders.values())
            try:
                self._store.save_derived(
                    email,
                    order_id,
                    summary,
                    stored.summary_versions.get(order_id, 0),
                    profile,
                    stored.version,
                    {s: marks.get(s) for s in subjects},
                )
            except ProfileConflictError:
                continue
            stale = covered + [f for f in own_covered if f not in covered]
            if stale:
                self._store.delete_facts(stale)
            return covered
        raise ProfileConflictError(f"a profile kept changing over {_ATTEMPTS} attempts")

    @staticmethod
    def _stale(fact: Fact, email: str, key: str, marks: dict[str, datetime]) -> bool:
        """Covered by an erasure of its shop, or (when it names this customer) of the customer."""
        shop = marks.get(f"shop:{fact.channel}")
        mine = marks.get(f"customer:{key}") if fact.email == email else None
        return any(mark and fact.occurred_at <= mark for mark in (shop, mine))

    def summarise(self, email: str, order_id: str) -> list[Fact]:
        """Derive and store the customer's summary of one order again; returns the facts found to be
        covered by an erasure (now deleted)."""
        key = self.key(email)
        for _attempt in range(_ATTEMPTS):
            version = self._store.summary_version(email, order_id)
            facts = self._store.order_facts(order_id)
            subjects = [f"customer:{key}", *(f"shop:{c}" for c in sorted({f.channel for f in facts}))]
            marks = self._store.erasure_marks(subjects)
            covered = [f for f in facts if self._stale(f, email, key, marks)]
            summary = summary_for(email, order_id, [f for f in facts if f not in covered])
            try:
                self._store.save_summary(email, order_id, summary, version, {s: marks.get(s) for s in subjects})
            except ProfileConflictError:
                continue
            if covered:
                self._store.delete_facts(covered)
            return covered
        raise ProfileConflictError(f"an order summary kept changing over {_ATTEMPTS} attempts")

    def refresh(self, email: str) -> tuple[CustomerProfile | None, list[Fact]]:
        """Derive and store the profile of `email` again; returns it, and the facts found to be covered
        by an erasure (now deleted)."""
        key = self.key(email)
        for _attempt in range(_ATTEMPTS):
            stored = self._store.customer(email)
            channels = {f.channel for f in stored.facts} | {o.channel for o in stored.orders.values()}
            subjects = [f"customer:{key}", *(f"shop:{c}" for c in sorted(channels))]
            marks = self._store.erasure_marks(subjects)
            covered = [f for f in stored.facts if self._stale(f, email, key, marks)]
            profile = build_profile(email, key, [f for f in stored.facts if f not in covered], stored.orders.values())
            try:
                self._store.save_profile(email, profile, stored.version, {s: marks.get(s) for s in subjects})
            except ProfileConflictError:
                continue
            if covered:
                self._store.delete_facts(covered)
            return profile, covered
        raise ProfileConflictError(f"a profile kept changing over {_ATTEMPTS} attempts")
