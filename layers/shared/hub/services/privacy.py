"""Privacy requests (Shopify's mandatory topics): erase a customer, erase a shop, export a customer.

An erasure first marks its subject (`customer:<erasure key>` or `shop:<channel>`) as erased up to
the moment the hub received the request; from then on every fact that occurred before that moment
is refused, whenever it arrives (a late delivery, a replay of the archive). Then it removes what
the hub keeps: the customer's facts and profile, what the CRM sync keeps, and the personal data on
their orders (email, addresses, and the customer's values wherever they appear in the order's
timeline and in payments kept for it). The order itself stays, with its money and lines, for the
merchant's books. Data-request exports written for the customer (named by the erasure key) are
deleted from the payload bucket. The erasure is recorded under the erasure key alone, and
`CustomerErased` is published so that whatever else keeps something for the customer drops it
(marketing schedules; the CRM, Klaviyo and Mailchimp contacts, deleted by their consumers).
Last, the data keys of the customer and of their orders (of the shop, its orders and the customers
left with no profile) are deleted: every archived, queued or stored copy of their events then
reads as erased (crypto-shredding, hub.shredding).

Every step can run again: a redelivered request finds less to do and the record adds up what each
run removed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from hub.domain.customers import Fact, FactKind, normalise_email, owner_of
from hub.domain.privacy import OrderErasure
from hub.errors import OrderNotRecordedError
from hub.events import (
    CustomerDataRequested,
    CustomerErased,
    CustomerErasedData,
    CustomerRedactionRequested,
    ShopRedactionRequested,
    hub_event,
)
from hub.ports import (
    AudienceMemberships,
    CustomerStore,
    DataKeys,
    EventPublisher,
    MessageHistory,
    OrderPrivacy,
    PayloadStore,
    Profiles,
)
from hub.views import audience_memberships_view, customer_view, message_view

__all__ = ["EXPORTED_MESSAGES", "Handled", "PrivacyService"]

_ORDERS_PER_EVENT = 200
# The most marketing messages one export lists, newest first: far above what the frequency cap lets
# marketing send in the 400 days it keeps them (hub.config.marketing.FrequencyCap: at most 100 a day).
EXPORTED_MESSAGES = 50_000


@dataclass(frozen=True)
class Handled:
    """What one event did: an outcome for metrics and logs, the customers whose profile was derived
    again (for the CRM push), and details safe to log (ids and counts, never personal data)."""

    outcome: str
    emails: frozenset[str] = frozenset()
    detail: dict[str, str] = field(default_factory=dict)
    order_id: str | None = None  # the order the event concerns, for the lineage of the CRM push


def _exports_prefix(key: str) -> str:
    return f"privacy/data-requests/{key}/"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _personal(email: str, facts: Iterable[Fact]) -> list[str]:
    values = [email]
    for fact in facts:
        if fact.kind is FactKind.CUSTOMER:
            names = [fact.data.get(k) for k in ("first_name", "last_name", "phone")]
            values += [str(v) for v in names if v]
            if fact.data.get("first_name") and fact.data.get("last_name"):
                values.append(f"{fact.data['first_name']} {fact.data['last_name']}")
    return values


class PrivacyService:
    def __init__(
        self,
        profiles: Profiles,
        store: CustomerStore,
        orders: OrderPrivacy,
        publisher: EventPublisher,
        exports: PayloadStore | None,
        clock: Callable[[], datetime],
        data_keys: DataKeys | None = None,
        messages: MessageHistory | None = None,
        audiences: AudienceMemberships | None = None,
    ) -> None:
        self._profiles = profiles
        self._messages = messages
        self._audiences = audiences
        self._store = store
        self._orders = orders
        self._publisher = publisher
        self._exports = exports
        self._clock = clock
        self._keys = data_keys

    def handle(self, event: CustomerRedactionRequested | ShopRedactionRequested | CustomerDataRequested) -> Handled:
        if isinstance(event, CustomerRedactionRequested):
            return self.erase_customer(event)
        if isinstance(event, ShopRedactionRequested):
            return self.erase_shop(event)
        return self.export(event)

    # ------------------------------------------------------------------ a customer
    def erase_customer(self, event: CustomerRedactionRequested) -> Handled:
        data = event.data
        before = _aware(event.received_at)
        named = set(data.order_ids)
        emails = {e for e in [normalise_email(data.email)] if e}
        if not emails:
            # Named by its platform id only: the customer is whoever the named orders belong to.
            for order_id in sorted(named):
                emails |= {e for e in [owner_of(self._store.order_facts(order_id))] if e}
                exported = self._orders.export_order(order_id) or {}
                emails |= {e for e in [normalise_email(exported.get("customer_email"))] if e}
        events: list[CustomerErased] = []
        totals: defaultdict[str, int] = defaultdict(int)
        erased_orders: set[str] = set()
        for email in sorted(emails):
            key = self._profiles.key(email)
            self._store.mark_erased(f"customer:{key}", before)
            stored = self._store.customer(email)
            covered = [f for f in stored.facts if f.occurred_at <= before]
            order_ids = {f.order_id for f in covered if f.order_id} | named
            erased = self._erase_orders(order_ids, _personal(email, covered), before)
            erased_orders |= order_ids
            self._store.delete_facts(covered)
            for order_id in sorted(order_ids | set(stored.orders)):
                self._profiles.summarise(email, order_id)
            self._store.forget(email)
            profile, _stale = self._profiles.refresh(email)
            counts = self._counts(erased, facts=len(covered), profile=bool(stored.version) and profile is None)
            counts["exports"] = self._delete_exports(key)
            self._record(f"customer:{key}", event.event_id, "customer", data.request_id, event, before, counts)
            events.append(self._erased(event, key, "customer", key, before, profile is None, sorted(order_ids)))
            for name, value in counts.items():
                totals[name] += value
        if not emails and named:
            erased = self._erase_orders(named, [], before)
            counts = self._counts(erased, facts=0, profile=False)
            self._record("customer:unknown", event.event_id, "customer", data.request_id, event, before, counts)
            events.append(self._erased(event, None, "customer", "orders", before, False, sorted(named)))
            totals.update(counts)
        if events:
            self._publisher.publish(events)
        self._shred([("customer", e) for e in sorted(emails)] + [("order", o) for o in sorted(named | erased_orders)])
        return Handled("erased", detail={k: str(v) for k, v in totals.items()})

    # ------------------------------------------------------------------ a shop
    def erase_shop(self, event: ShopRedactionRequested) -> Handled:
        channel = event.channel
        before = _aware(event.received_at)
        self._store.mark_erased(f"shop:{channel}", before)
        facts = [f for f in self._store.facts_of_channel(channel) if f.occurred_at <= before]
        order_ids = set(self._orders.orders_of_channel(channel)) | set(event.data.order_ids)
        order_ids |= {f.order_id for f in facts if f.order_id}
        by_order: dict[str, list[Fact]] = defaultdict(list)
        for fact in facts:
            if fact.order_id:
                by_order[fact.order_id].append(fact)
        owners = {o: owner_of(by_order.get(o, ())) for o in order_ids}
        emails = {f.email for f in facts if f.email} | {e for e in owners.values() if e}
        stored = {e: self._store.customer(e) for e in emails}
        personal = {e: _personal(e, stored[e].facts) for e in emails}
        erased: list[OrderErasure] = []
        for order_id in sorted(order_ids):
            erased += self._erase_orders({order_id}, personal.get(owners[order_id] or "", []), before)
        self._store.delete_facts(facts)
        events = []
        profiles_erased = exports_deleted = 0
        customers_left: dict[str, bool] = {}
        for email in sorted(emails):
            theirs_here = {o for o, summary in stored[email].orders.items() if summary.channel == channel}
            theirs_here |= {f.order_id for f in facts if f.email == email and f.order_id}
            for order_id in sorted(theirs_here):
                self._profiles.summarise(email, order_id)
            profile, _stale = self._profiles.refresh(email)
            customers_left[email] = profile is not None
            if profile is None:
                self._store.forget(email)
                profiles_erased += 1
                exports_deleted += self._delete_exports(self._profiles.key(email))
            theirs = sorted(o for o, owner in owners.items() if owner == email)
            key = self._profiles.key(email)
            events.append(self._erased(event, key, "shop", key, before, profile is None, theirs))
        unowned = sorted(o for o, owner in owners.items() if owner is None)
        for start in range(0, len(unowned), _ORDERS_PER_EVENT):
            chunk = unowned[start : start + _ORDERS_PER_EVENT]
            events.append(self._erased(event, None, "shop", f"orders-{start}", before, False, chunk))
        counts = self._counts(erased, facts=len(facts), profile=False)
        counts["profiles"] = profiles_erased
        counts["exports"] = exports_deleted
        self._record(f"shop:{channel}", event.event_id, "shop", event.data.request_id, event, before, counts)
        if events:
            self._publisher.publish(events)
        gone = [e for e, profile_left in customers_left.items() if not profile_left]
        self._shred(
            [("channel", channel)] + [("order", o) for o in sorted(order_ids)] + [("customer", e) for e in sorted(gone)]
        )
        return Handled("erased", detail={k: str(v) for k, v in counts.items()})

    # ------------------------------------------------------------------ a late order of an erased customer
    def erase_late_order(self, fact: Fact) -> None:
        """An order placed before its customer's (or shop's) erasure arrived after it: erase it too."""
        if not fact.order_id:
            return
        result = self._orders.erase_order(fact.order_id, [fact.email] if fact.email else [])
        if not result.found:
            raise OrderNotRecordedError(f"order {fact.order_id} is not recorded yet; its erasure is retried")

    # ------------------------------------------------------------------ export
    def export(self, event: CustomerDataRequested) -> Handled:
        if self._exports is None:
            raise RuntimeError("no payload bucket is configured for data request exports (HUB_PAYLOAD_BUCKET)")
        data = event.data
        email = normalise_email(data.email)
        profile = self._store.get(email) if email else None
        order_ids = sorted(set(profile.order_ids if profile else ()) | set(data.order_ids))
        orders = [o for o in (self._orders.export_order(i) for i in order_ids) if o is not None]
        key = self._profiles.key(email) if email else "unknown"
        # What marketing sent them is theirs too: kept under the same erasure key, for as long as
        # marketing keeps it (hub.domain.marketing.SentMessage), so every one of them is exported.
        sent = self._messages.sent_messages(key, EXPORTED_MESSAGES) if self._messages and email else []
        # So is what the hub told ad platforms about them: which audiences it put them in or took them
        # out of, and since when (never the hashed identifiers it sent). Read whether or not audiences
        # are configured now: an audience of an earlier configuration was still told about them.
        audiences = self._audiences.memberships(key) if self._audiences and email else {}
        document = {
            "request_id": data.request_id or event.event_id,
            "channel": event.channel,
            "shop": data.shop,
            "requested_at": _aware(event.occurred_at).isoformat(),
            "generated_at": self._clock().isoformat(),
            "customer": customer_view(profile) if profile else None,
            "orders": orders,
            "marketing_messages": [message_view(m) for m in sent],
            "ad_audiences": audience_memberships_view(audiences),
        }
        object_key = f"{_exports_prefix(key)}{event.event_id}.json"
        bucket = self._exports.put(object_key, json.dumps(document, indent=2, sort_keys=True).encode())
        values = {
            "scope": "export",
            "request_id": data.request_id or event.event_id,
            "bucket": bucket,
            "object_key": object_key,
            "exported_at": self._clock().isoformat(),
        }
        counts = {"orders": len(orders), "marketing_messages": len(sent), "ad_audiences": len(audiences)}
        self._store.record_privacy(f"customer:{key}", f"EXPORT#{event.event_id}", values, counts)
        detail = {"bucket": bucket, "object_key": object_key} | {k: str(v) for k, v in counts.items()}
        return Handled("exported", detail=detail)

    def _delete_exports(self, key: str) -> int:
        """The customer's data-request exports: deleted with them (named by erasure key, so found without the email)."""
        return self._exports.delete_prefix(_exports_prefix(key)) if self._exports is not None else 0

    # ------------------------------------------------------------------ shared steps
    def _shred(self, subjects: list[tuple[str, str]]) -> None:
        """Delete the data keys the subjects' events were sealed with: the last step, once the rest is done."""
        if self._keys is None:
            return
        for kind, value in subjects:
            self._keys.forget(self._keys.subject_of(kind, value))

    def _erase_orders(self, order_ids: Iterable[str], personal: list[str], before: datetime) -> list[OrderErasure]:
        results = []
        for order_id in sorted(set(order_ids)):
            results.append(self._orders.erase_order(order_id, personal))
            self._store.delete_facts([f for f in self._store.order_facts(order_id) if f.occurred_at <= before])
        return results

    @staticmethod
    def _counts(erased: list[OrderErasure], *, facts: int, profile: bool) -> dict[str, int]:
        return {
            "profiles": int(profile),
            "orders": sum(1 for e in erased if e.order),
            "timeline_entries": sum(e.timeline_entries for e in erased),
            "pending_payments": sum(e.pending_payments for e in erased),
            "other_items": sum(e.other_items for e in erased),
            "facts": facts,
        }

    def _record(
        self,
        subject: str,
        event_id: str,
        scope: str,
        request_id: str | None,
        event: CustomerRedactionRequested | ShopRedactionRequested,
        before: datetime,
        counts: dict[str, int],
    ) -> None:
        values = {
            "scope": scope,
            "request_id": request_id or event_id,
            "event_id": event_id,
            "channel": event.channel,
            "erased_before": before.isoformat(),
            "erased_at": self._clock().isoformat(),
        }
        self._store.record_privacy(subject, f"ERASURE#{event_id}", values, counts)

    @staticmethod
    def _erased(
        cause: CustomerRedactionRequested | ShopRedactionRequested,
        key: str | None,
        scope: Literal["customer", "shop"],
        part: str,
        before: datetime,
        profile_erased: bool,
        order_ids: list[str],
    ) -> CustomerErased:
        return hub_event(
            CustomerErased,
            key=("customer-erased", cause.event_id, part),
            channel=cause.channel,
            occurred_at=cause.occurred_at,
            topic="privacy/erased",
            cause=cause.event_id,
            data=CustomerErasedData(
                erasure_key=key,
                scope=scope,
                request_id=cause.data.request_id or cause.event_id,
                erased_before=before,
                profile_erased=profile_erased,
                order_ids=order_ids,
            ),
        )
