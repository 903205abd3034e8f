"""crm_upsert's use case: every order, payment, refund and customer event into customer profiles.

Each event becomes one fact (`facts_from`), kept under its event id. A fact about an order makes
each customer the order's facts name derive again their summary of that order (from the order's
facts), and each customer concerned derives their profile again (from their own facts and their
order summaries, read at once, so the work per event does not grow with the customer's history).
The fact, the summaries and the profiles are written in one transaction, conditional on the
versions they were read at and on the erasure marks they were derived under (`record` says why no
fact is lost): two events for one customer or one order handled at once both derive, the later
write is refused and derives again, and neither is lost; a redelivery writes the same fact again
and derives the same result. Facts an erasure already covers (a late delivery, a replay of the
archive) are refused, and any that slipped in around an erasure are deleted when found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

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
from hub.domain.payments import order_id_for
from hub.errors import ProfileConflictError
from hub.events import (
    CustomerDataRequested,
    CustomerErased,
    CustomerProfileChanged,
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
    ProfileChangedData,
    RefundIssued,
    ShopRedactionRequested,
    hub_event,
)
from hub.ports import (
    AudienceMemberships,
    CustomerStore,
    DataKeys,
    Derived,
    EventPublisher,
    MessageHistory,
    OrderPrivacy,
    PayloadStore,
    StoredOrder,
)
from hub.services.privacy import Handled, PrivacyService

__all__ = ["CustomerService", "Handled", "facts_from"]

_ATTEMPTS = 8
_MARKS_REMEMBERED = 10_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def facts_from(event: HubEvent, config: HubConfig) -> Fact | None:
    """The fact an event states about a customer or an order's money; None when it states none."""

    def fact(
        kind: FactKind, *, email: str | None = None, order_id: str | None = None, data: Mapping[str, object] = {}
    ) -> Fact:
        return Fact(
            event_id=event.event_id,
            kind=kind,
            occurred_at=_aware(event.occurred_at),
            channel=event.channel,
            email=email,
            order_id=order_id,
            data=dict(data),
        )

    if isinstance(event, OrderPlaced):
        placed = event.data
        lines = placed_lines((ln.sku, ln.title, ln.quantity) for ln in placed.lines)
        return fact(
            FactKind.PLACED,
            email=normalise_email(placed.customer_email),
            order_id=placed.order_id,
            data={"currency": placed.currency.upper(), "total": placed.total, "paid": placed.paid, "lines": lines},
        )
    if isinstance(event, CustomerUpserted):
        customer = event.data
        email = normalise_email(customer.email)
        if email is None:
            return None
        stated = _aware(customer.updated_at).isoformat() if customer.updated_at else None
        values: dict[str, object] = {
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone,
            "platform_customer_id": customer.platform_customer_id,
            "email_marketing": customer.consent.email_marketing,
            "sms_marketing": customer.consent.sms_marketing,
            "stated_at": stated,
        }
        return fact(FactKind.CUSTOMER, email=email, data=values)
    if isinstance(event, OrderUpdated):
        update = event.data
        return fact(
            FactKind.STOREFRONT_UPDATE,
            order_id=update.order_id,
            data={
                "paid": update.paid,
                "cancelled": update.cancelled,
                "refunded_total": update.refunded_total,
                "currency": update.currency.upper() if update.currency else None,
            },
        )
    if isinstance(event, OrderPaid):
        values = {"amount": event.data.amount, "currency": event.data.currency.upper()}
        return fact(FactKind.STOREFRONT_PAID, order_id=event.data.order_id, data=values)
    if isinstance(event, OrderCancelled):
        return fact(FactKind.CANCELLED, order_id=event.data.order_id)
    if isinstance(event, RefundIssued):
        refund = event.data
        values = {
            "refund_id": refund.refund_id,
            "amount": refund.amount,
            "currency": (refund.currency or "").upper() or None,
        }
        return fact(FactKind.STOREFRONT_REFUND, order_id=refund.order_id, data=values)
    if isinstance(event, OrderStatusChanged):
        if not status_tells_a_summary(event.data.previous, event.data.status):
            return None  # the rule (template.yaml, CrmRule) does not even deliver these
        return fact(FactKind.STATUS, order_id=event.data.order_id, data={"status": event.data.status})
    if isinstance(event, PaymentSucceeded | PaymentRefunded):
        payment = event.data
        ref = payment.reference
        order_id = order_id_for(event.channel, ref.order_id, ref.invoice_id, config.invoice_prefix(payment.gateway))
        if order_id is None:
            return None
        if isinstance(event, PaymentSucceeded):
            values = {"amount": payment.amount, "currency": payment.currency.upper()}
            email = normalise_email(event.data.customer_email)
            return fact(FactKind.PAYMENT, email=email, order_id=order_id, data=values)
        status = (event.data.status or "completed").lower()
        values = {
            "refund_id": event.data.refund_id,
            "amount": payment.amount,
            "currency": payment.currency.upper(),
            "completed": status in ("completed", "succeeded"),
        }
        return fact(FactKind.GATEWAY_REFUND, order_id=order_id, data=values)
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
        messages: MessageHistory | None = None,
        audiences: AudienceMemberships | None = None,
    ) -> None:
        """`contacts` deletes an erased customer's CRM contact (hub.services.crm.CrmSync.erase);
        `messages` is marketing's history of what was sent to a customer and `audiences` the ad
        audiences the hub put them in (hub.adapters.audience_store), for data-request exports."""
        self._store = store
        self._config = config
        self._contacts = contacts
        self._publisher = publisher
        self._clock = clock
        self.privacy = PrivacyService(self, store, orders, publisher, exports, clock, data_keys, messages, audiences)
        # The erasure marks read by this sandbox: subject -> mark (None: not erased when read).
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

    def announce(self, causes: Mapping[str, Iterable[str]]) -> int:
        """Publish CustomerProfileChanged for each customer (email -> the ids of the events that changed
        their profile) when ad audiences are configured; else nothing, and no call. The event's id
        derives from the customer and its causes, so a redelivered batch publishes nothing new."""
        if self._config().audiences is None or not causes:
            return 0
        now = self._clock()
        events = []
        for email in sorted(causes):
            key = self.key(email)
            events.append(
                hub_event(
                    CustomerProfileChanged,
                    key=("profile-changed", key, *sorted(set(causes[email]))),
                    channel="hub",
                    occurred_at=now,
                    topic="customer/profile_changed",
                    data=ProfileChangedData(email=email, erasure_key=key),
                )
            )
        self._publisher.publish(events)
        return len(events)

    def record(self, fact: Fact) -> Handled:
        """Keep the fact and derive again the summary and profile of each customer it concerns, in one
        transaction (`CustomerStore.save_fact`); read again and retried when it fails its conditions.

        Per fact: a Query of the order's partition (its facts, their version first), a Query of each
        concerned customer's partition (their profile's version first), one transaction. Why no fact
        is lost though it is kept only with the derivation, not before any derivation reads: every
        derivation writes the version of each partition whose contents it derived from and that a
        fact of it lands in (the order's VERSION, each concerned customer's PROFILE, or a check of
        it), on condition it is still the one read, and reads that version before the rest of the
        partition. So of two derivations that each missed the other's fact, both read a version the
        other moves on (a fact of an order is written with the order's version, a fact naming a
        customer with that customer's profile): the one that commits second fails its condition,
        reads again and sees the other's fact. One that reads after another committed reads that
        version as moved on, and then (the version first) everything the other wrote with it.
        tests/functional/test_crm_upsert.py interleaves two such derivations on moto.

        Erasure marks: each derivation's write checks every mark it depends on (the shops of every
        fact and summary involved, every concerned customer) as the one it saw. Marks are read only
        when a write was refused: until then a subject not read yet is taken as not erased, which the
        transaction checks. A mark read is remembered for the sandbox's later records: marks only
        ever move forward, so a remembered mark that refuses a fact is never wrong, and one that
        moved on since fails the write, which reads the marks again."""
        for attempt in range(_ATTEMPTS):
            if attempt:
                self._seen = {}  # a write was refused: every mark is read again
            result = self._attempt(fact, fresh=attempt > 0)
            if result is not None:
                return result
        raise ProfileConflictError(f"a profile kept changing over {_ATTEMPTS} attempts")

    def _attempt(self, fact: Fact, fresh: bool) -> Handled | None:
        """One read, derivation and write; None when the write was refused."""
        order = self._store.order(fact.order_id) if fact.order_id else StoredOrder([], 0)
        order_facts = {f.event_id: f for f in order.facts} | ({fact.event_id: fact} if fact.order_id else {})
        emails = sorted(({fact.email} if fact.email else set()) | {f.email for f in order_facts.values() if f.email})
        stored = {email: self._store.customer(email) for email in emails}
        keys = {email: self.key(email) for email in emails}
        channels = {fact.channel} | {f.channel for f in order_facts.values()}
        for customer in stored.values():
            channels |= {f.channel for f in customer.facts} | {o.channel for o in customer.orders.values()}
        subjects = sorted({f"shop:{c}" for c in channels} | {f"customer:{k}" for k in keys.values()})
        marks = self._marks(subjects, fresh)
        if self._stale(fact, fact.email or "", keys.get(fact.email or "", ""), marks):
            if fact.kind is FactKind.PLACED:
                self.privacy.erase_late_order(fact)
            return Handled("already_erased")
        derived: list[Derived] = []
        stale: dict[str, Fact] = {}
        late: dict[str, Fact] = {}
        for email in emails:
            key, customer = keys[email], stored[email]
            orders = dict(customer.orders)
            summary = None
            if fact.order_id:
                covered = [f for f in order_facts.values() if self._stale(f, email, key, marks)]
                stale |= {f.event_id: f for f in covered}
                late |= {f.event_id: f for f in covered if f.kind is FactKind.PLACED}
                kept = [f for f in order_facts.values() if f.event_id not in {c.event_id for c in covered}]
                summary = summary_for(email, fact.order_id, kept)
                orders.pop(fact.order_id, None)
                if summary is not None:
                    orders[fact.order_id] = summary
            own = {f.event_id: f for f in customer.facts} | ({fact.event_id: fact} if fact.email == email else {})
            own_covered = {i: f for i, f in own.items() if self._stale(f, email, key, marks)}
            stale |= own_covered
            profile = build_profile(email, key, [f for i, f in own.items() if i not in own_covered], orders.values())
            derived.append(
                Derived(
                    email,
                    profile,
                    customer.version,
                    fact.order_id,
                    summary,
                    customer.summary_versions.get(fact.order_id, 0) if fact.order_id else 0,
                )
            )
        try:
            self._store.save_fact(fact, order.version, derived, {s: marks.get(s) for s in subjects})
        except ProfileConflictError:
            return None
        if stale:
            self._store.delete_facts(stale.values())
        for placed in late.values():
            self.privacy.erase_late_order(placed)
        return Handled("recorded", frozenset(emails), order_id=fact.order_id)

    def _marks(self, subjects: list[str], fresh: bool) -> dict[str, datetime]:
        """The erasure marks of `subjects`: read when `fresh`, else the ones remembered, a subject
        not read yet taken as not erased (the write that depends on it checks it)."""
        if fresh:
            missing = [s for s in subjects if s not in self._seen]
            if missing:
                found = self._store.erasure_marks(missing)
                self._seen.update({s: found.get(s) for s in missing})
        if len(self._seen) > _MARKS_REMEMBERED:
            self._seen = {s: self._seen[s] for s in subjects if s in self._seen}
        return {s: mark for s in subjects if (mark := self._seen.get(s)) is not None}

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
