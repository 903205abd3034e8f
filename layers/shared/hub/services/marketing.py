"""marketing_triggers' service: hub events schedule, cancel or send marketing messages.

Two kinds of input arrive on the marketing queue: hub events (`handle`) and messages that came due
(`fire`, from a one-time EventBridge Scheduler schedule, or at once for back in stock). The rules
themselves are `hub.domain.marketing_rules`; this module keeps state, asks the store and the ledger what
is true now, and sends.

Every message, on every channel, goes through the same gate when it is sent:
1. the rule is still on and the message still applies (`rules.skip_reason`), and is not stale;
2. the customer is not erased (for anything before the erasure) and has not unsubscribed;
3. the profile says the customer consented to email marketing (unknown is no);
4. the once-only marker is claimed (`attribute_not_exists`, written before sending); a message
   already sent is never sent again, a failed attempt leaves the marker for the retry to resume
   (channels already done stay done), and an attempt that died holding it is taken over once its
   lease runs out;
5. the frequency cap admits it (a conditional counter per customer, a sliding window);
6. each configured channel sends it, then MarketingMessageSent is published once per channel.

A message sent (or refused by the cap) is kept in the customer's history with its marker's last
write (`MarketingStore.finish`), so the customer's page lists it at no extra request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from hub.config import HubConfig, MarketingConfig
from hub.domain.customers import CustomerProfile, ProductBought, normalise_email
from hub.domain.lineage import Call, CallResult, LineageEntry
from hub.domain.marketing import CheckoutState, LastOrder, OutboundMessage, SentMessage, Waiter
from hub.domain.marketing_rules import (
    STALE_AFTER,
    Due,
    Plan,
    Situation,
    Trigger,
    co_purchase_pairs,
    for_checkout,
    for_order_placed,
    for_shortage,
    for_status,
    order_schedule_names,
    skip_reason,
    suggest,
)
from hub.domain.orders import Order, OrderStatus
from hub.errors import MarketingConflictError, MessageBusyError
from hub.events import (
    RESERVED_TOPIC,
    CheckoutStarted,
    CustomerErased,
    HubEvent,
    MarketingMessageData,
    MarketingMessageSent,
    OrderPlaced,
    OrderStatusChanged,
    StockLevelChanged,
    StockShortage,
    hub_event,
)
from hub.marketing.render import Renderer
from hub.marketing.unsubscribe import unsubscribe_link
from hub.money import format_minor
from hub.ports import (
    ActivityTracker,
    ContactDeleter,
    ContactRegistry,
    CustomerKeys,
    EventPublisher,
    MarketingStore,
    MessageSender,
    OrderReader,
    ProfileStore,
    Schedules,
)
from hub.services.contact_erasure import ContactErasure
from hub.services.lineage import LineageRecorder, failure_detail

__all__ = ["MARKETING_SYSTEMS", "Handled", "MarketingService"]

MARKETING_SYSTEMS = frozenset({"klaviyo", "mailchimp"})

# A one-time schedule is never set in the past: at least this far ahead.
_MIN_LEAD = timedelta(minutes=1)
# Reads and decisions of one placement before its write gives up (another delivery of the order, or
# another order of the customer, moved what it read each time).
_MAX_ATTEMPTS = 8
# How long an attempt holds a message before another may take it over (above the function timeout).
LEASE_SECONDS = 900
_STATUSES = frozenset({"paid", "delivered", "cancelled", "refunded"})
_SUGGESTION_SOURCES = 10  # at most this many of the customer's products feed the suggestions
_ITEMS_SHOWN = 5


@dataclass(frozen=True)
class Handled:
    """What one input did: an outcome for metrics and logs, and details safe to log (ids, counts)."""

    outcome: str
    detail: dict[str, str] = field(default_factory=dict)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Subject:
    """What a due message is about, as it is now."""

    email: str | None
    at: datetime | None  # when the subject happened (order placed, checkout started)
    situation: Situation
    order: Order | None = None
    checkout: CheckoutState | None = None


class MarketingService:
    def __init__(
        self,
        store: MarketingStore,
        schedules: Schedules,
        orders: OrderReader,
        profiles: ProfileStore,
        keys: CustomerKeys,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        senders: Callable[[MarketingConfig], Sequence[MessageSender]],
        tracker: Callable[[MarketingConfig], ActivityTracker | None],
        unsubscribe: Callable[[MarketingConfig], tuple[str, str]],
        renderer: Renderer | None = None,
        clock: Callable[[], datetime] = _utcnow,
        registry: ContactRegistry | None = None,
        lineage: LineageRecorder | None = None,
    ) -> None:
        """`config` returns the configuration; `senders` and `tracker` build the channels of its
        marketing section (lazily: their credentials are read then); `unsubscribe` gives the link's
        page and signing secret; `registry` keeps the Klaviyo and Mailchimp contacts created, so an
        erasure deletes them."""
        self._contacts = ContactErasure(registry, self._deleters, MARKETING_SYSTEMS) if registry else None
        self._store = store
        self._schedules = schedules
        self._orders = orders
        self._profiles = profiles
        self._keys = keys
        self._publisher = publisher
        self._config = config
        self._senders = senders
        self._tracker = tracker
        self._unsubscribe = unsubscribe
        self._renderer = renderer or Renderer()
        self._clock = clock
        self._lineage = lineage or LineageRecorder(None)

    # ================================================================== events
    def handle(self, event: HubEvent) -> Handled:
        if isinstance(event, CustomerErased):
            return self._customer_erased(event)  # whatever the configuration says now, schedules kept must go
        marketing = self._config().marketing
        if marketing is None:
            return Handled("marketing_off")
        if isinstance(event, OrderPlaced):
            return self._placed(event, marketing)
        if isinstance(event, OrderStatusChanged):
            return self._status(event, marketing)
        if isinstance(event, CheckoutStarted):
            return self._checkout(event, marketing)
        if isinstance(event, StockShortage):
            return self._shortage(event, marketing)
        if isinstance(event, StockLevelChanged):
            return self._level(event, marketing)
        return Handled("ignored")

    def _placed(self, event: OrderPlaced, marketing: MarketingConfig) -> Handled:
        """The order counted for co-purchases (for guests and erased customers too: what is bought
        together says nothing about who bought it), the customer's newest order moved, a win-back
        planned from it, and the checkouts it converts. What the decision needs is read in one
        request (MarketingStore.look), what it decides written in one (record_placement), on
        condition nothing it read moved meanwhile; when something did, it reads and decides again."""
        data = event.data
        placed_at = _aware(event.occurred_at)
        titles = {line.sku: line.title for line in data.lines if line.title}
        pairs = co_purchase_pairs(ln.sku for ln in data.lines)
        email = normalise_email(data.customer_email)
        if email is None:
            counted = self._store.count_order(data.order_id, pairs, titles)
            detail = {"order_id": data.order_id, "co_purchases": "counted" if counted else "seen"}
            return Handled("placed_without_customer", detail)
        customer = self._keys.key(email)
        wanted = for_order_placed(marketing.rules, data.order_id, event.channel, placed_at, customer, None)
        for _attempt in range(_MAX_ATTEMPTS):
            look = self._store.look(customer, [due.message_key for due in wanted.schedule], data.order_id)
            count = not look.counted and bool(pairs or titles)
            detail = {"order_id": data.order_id, "co_purchases": "counted" if count else "seen"}
            erased = _covered(look.erased_before, placed_at)
            last = look.last_order
            newest = not erased and (last is None or (last.placed_at, last.order_id) <= (placed_at, data.order_id))
            plan = Plan()
            if newest:
                previous = last.order_id if last is not None and last.order_id != data.order_id else None
                plan = for_order_placed(marketing.rules, data.order_id, event.channel, placed_at, customer, previous)
            due_now = self._due(plan.schedule, look.sent)
            moved = newest and last != LastOrder(data.order_id, placed_at)
            try:
                self._store.record_placement(
                    data.order_id,
                    pairs,
                    titles,
                    count=count,
                    customer=customer,
                    seen=last,
                    newest=LastOrder(data.order_id, placed_at) if moved else None,
                    schedules=[(due.schedule_name, at) for due, at in due_now],
                )
            except MarketingConflictError:
                continue
            if erased:
                return Handled("erased_customer", detail)
            break
        else:
            raise MarketingConflictError(f"{data.order_id}: kept changing over {_MAX_ATTEMPTS} attempts")
        for due, at in due_now:
            self._schedules.create(due, at)  # remembered above, so an erasure always finds it
        self._cancel(plan.cancel, customer)
        converted = [data.checkout_id] if data.checkout_id else []
        converted += [cid for cid, started in self._store.open_checkouts(customer) if started <= placed_at]
        for checkout_id in dict.fromkeys(converted):
            self._store.convert_checkout(checkout_id, data.order_id, customer)
            self._cancel([_abandoned_name(checkout_id)], customer)
        detail["checkouts_converted"] = str(len(set(converted)))
        self._track(
            marketing,
            "Placed Order",
            email,
            # Several deliveries of one order are placements (the first records it): tracked once.
            once=f"activity:placed_order:{data.order_id}",
            unique_id=data.order_id,
            at=placed_at,
            properties={
                "OrderId": data.order_id,
                "OrderNumber": data.order_number,
                "Channel": event.channel,
                "Items": [{"SKU": ln.sku, "ProductName": ln.title, "Quantity": ln.quantity} for ln in data.lines],
                "ItemNames": [ln.title or ln.sku for ln in data.lines],
            },
            value=(data.total, data.currency),
        )
        return Handled("placed", detail)

    def _status(self, event: OrderStatusChanged, marketing: MarketingConfig) -> Handled:
        data = event.data
        if data.status not in _STATUSES:
            return Handled("ignored")
        at = _aware(event.occurred_at)
        customer = None
        sent: frozenset[str] | None = None
        if data.status in ("paid", "delivered"):
            order = self._orders.get_order(data.order_id)
            email = normalise_email(order.customer_email) if order else None
            if email is None:
                return Handled("no_customer", {"order_id": data.order_id})
            customer = self._keys.key(email)
        plan = for_status(marketing.rules, data.order_id, event.channel, data.status, at, customer)
        if customer is not None:
            # The erasure mark and the markers of the messages it would schedule, in one read.
            look = self._store.look(customer, [due.message_key for due in plan.schedule])
            if _covered(look.erased_before, at):
                return Handled("erased_customer", {"order_id": data.order_id})
            sent = look.sent
        self._apply(plan, customer, sent)
        return Handled(f"order_{data.status}", {"order_id": data.order_id, "scheduled": str(len(plan.schedule))})

    def _checkout(self, event: CheckoutStarted, marketing: MarketingConfig) -> Handled:
        data = event.data
        at = _aware(event.occurred_at)
        email = normalise_email(data.customer_email)
        customer = self._keys.key(email) if email else None
        detail = {"checkout_id": data.checkout_id}
        if data.completed:
            self._store.convert_checkout(data.checkout_id, "completed", customer)
            self._cancel([_abandoned_name(data.checkout_id)], customer)
            return Handled("checkout_completed", detail)
        if customer and self._erased_before(customer, at):
            return Handled("erased_customer", detail)
        state = self._store.save_checkout(
            CheckoutState(
                checkout_id=data.checkout_id,
                channel=event.channel,
                started_at=at,
                email=email,
                customer=customer,
                recovery_url=data.recovery_url,
                currency=data.currency,
                total=data.total,
                lines=tuple((ln.sku, ln.title, ln.quantity) for ln in data.lines),
            ),
            at,
        )
        if state.converted_by:
            return Handled("checkout_converted", detail)
        if customer is None:
            return Handled("checkout_without_email", detail)
        last = self._store.last_order(customer)
        if last is not None and last.placed_at >= state.started_at:
            # The order came first (events arrive in any order): the same email ordered since it began.
            self._store.convert_checkout(data.checkout_id, last.order_id, customer)
            return Handled("checkout_converted", detail)
        due = for_checkout(marketing.rules, data.checkout_id, event.channel, state.started_at, customer)
        if due is not None:
            self._apply(Plan((due,)), customer)
        self._track(
            marketing,
            "Started Checkout",
            email or "",
            unique_id=data.checkout_id,
            at=state.started_at,
            properties={
                "CheckoutId": data.checkout_id,
                "Channel": event.channel,
                "CheckoutURL": data.recovery_url,
                "Items": [{"SKU": ln.sku, "ProductName": ln.title, "Quantity": ln.quantity} for ln in data.lines],
                "ItemNames": [ln.title or ln.sku for ln in data.lines],
            },
            value=(data.total, data.currency) if data.total is not None and data.currency else None,
        )
        return Handled("checkout_scheduled" if due else "checkout_kept", detail)

    def _shortage(self, event: StockShortage, marketing: MarketingConfig) -> Handled:
        if not marketing.rules.active("back_in_stock"):
            return Handled("rule_off")
        for sku in sorted(event.data.shortages):
            self._store.add_waiter(Waiter(sku, event.data.order_id, event.channel))
        return Handled("waiting", {"order_id": event.data.order_id, "skus": str(len(event.data.shortages))})

    def _level(self, event: StockLevelChanged, marketing: MarketingConfig) -> Handled:
        data = event.data
        if not marketing.rules.active("back_in_stock"):
            return Handled("rule_off")
        in_stock = (data.total_available if data.total_available is not None else data.available) > 0
        reserved = event.provider.topic == RESERVED_TOPIC  # a fall, whatever `previous` says (or omits)
        if reserved or not (data.available > (data.previous or 0) and in_stock):
            return Handled("ignored")
        outcomes: dict[str, int] = {}
        for waiter in self._store.waiters(data.sku):
            due = for_shortage(waiter.order_id, waiter.channel, data.sku, self._clock(), waiter.customer)
            handled = self.fire(due)
            self._store.remove_waiter(data.sku, waiter.order_id)
            outcomes[handled.outcome] = outcomes.get(handled.outcome, 0) + 1
        return Handled("restocked", {"sku": data.sku, **{k: str(v) for k, v in sorted(outcomes.items())}})

    def _erased_before(self, customer: str, at: datetime | None) -> bool:
        """Whether what happened at `at` is covered by an erasure of the customer (refused, as crm_upsert does)."""
        return _covered(self._keys.erased_before(customer), at)

    def _customer_erased(self, event: CustomerErased) -> Handled:
        key = event.data.erasure_key
        names = {name for order_id in event.data.order_ids for name in order_schedule_names(order_id)}
        if key:
            names |= set(self._store.customer_schedules(key))
        deleted = sum(1 for name in sorted(names) if self._schedules.delete(name))
        items = self._store.forget_customer(key) if key else 0
        detail = {"schedules_deleted": str(deleted), "items_removed": str(items)}
        if self._contacts is not None:
            # Last: a vendor that fails retries only this step (the steps above find nothing left).
            counts = self._contacts.erase(event)
            detail |= {f"contacts_{outcome}": str(n) for outcome, n in counts.items()}
        return Handled("customer_erased", detail)

    def _deleters(self) -> dict[str, ContactDeleter]:
        marketing = self._config().marketing
        if marketing is None:
            return {}
        found: dict[str, ContactDeleter] = {}
        for channel in [*self._senders(marketing), self._tracker(marketing)]:
            if isinstance(channel, ContactDeleter) and channel.system in MARKETING_SYSTEMS:
                found[channel.system] = channel
        return found

    def _record_contact(
        self, customer: str, channel: MessageSender | ActivityTracker, contact_id: str | None, email: str
    ) -> None:
        """Keep the contact a channel created for the customer, so an erasure can delete it.

        A channel whose answer names no id (Klaviyo's events API) is asked for it once, while the
        customer has no contact recorded there."""
        system = getattr(channel, "system", None)
        if self._contacts is None or system not in MARKETING_SYSTEMS:
            return
        if not isinstance(contact_id, str) and hasattr(channel, "profile_id"):
            if self._contacts.known(customer, system):
                return
            contact_id = channel.profile_id(email)
        if isinstance(contact_id, str):
            self._contacts.record(customer, system, contact_id)

    # ================================================================== scheduling
    def _apply(self, plan: Plan, customer: str | None, sent: frozenset[str] | None = None) -> None:
        """Schedule and cancel what `plan` says; `sent`: the plan's messages known to have gone out
        (read with the erasure mark), else each message's marker is read before it is scheduled."""
        for due in plan.schedule:
            self._schedule(due, sent)
        self._cancel(plan.cancel, customer)

    def _due(self, dues: Sequence[Due], sent: frozenset[str]) -> list[tuple[Due, datetime]]:
        """The messages to schedule and when: not a replay of old events (stale), not gone out yet."""
        now = self._clock()
        return [
            (due, max(due.due_at, now + _MIN_LEAD))
            for due in dues
            if now - due.due_at <= STALE_AFTER and due.message_key not in sent
        ]

    def _schedule(self, due: Due, sent: frozenset[str] | None = None) -> None:
        if sent is None:
            sent = frozenset({due.message_key}) if self._store.message_sent(due.message_key) else frozenset()
        for ready, at in self._due([due], sent):
            if ready.customer:
                # Remembered first, so an erasure always finds the schedule (a stale entry is harmless).
                self._store.remember_schedule(ready.customer, ready.schedule_name, at)
            self._schedules.create(ready, at)

    def _cancel(self, names: Sequence[str], customer: str | None) -> None:
        for name in names:
            self._schedules.delete(name)
            if customer:
                self._store.forget_schedule(customer, name)

    # ================================================================== sending
    def fire_scheduled(self, due: Due) -> Handled:
        """A schedule fired (and is gone): send its message if it still applies."""
        if due.customer:
            self._store.forget_schedule(due.customer, due.schedule_name)
        return self.fire(due)

    def fire(self, due: Due) -> Handled:
        detail = {"trigger": due.trigger.value, "subject": due.subject_id, "basis": due.basis}
        marketing = self._config().marketing
        if marketing is None:
            return Handled("marketing_off", detail)
        if not marketing.rules.active(due.trigger.value):
            return Handled("rule_off", detail)
        now = self._clock()
        if now - due.due_at > STALE_AFTER:
            return Handled("stale", detail)
        subject = self._subject(due)
        if subject.email is None:
            return Handled("no_recipient", detail)
        reason = skip_reason(due, subject.situation)
        if reason:
            return Handled(reason, detail)
        customer = self._keys.key(subject.email)
        if self._erased_before(customer, subject.at):
            return Handled("erased_customer", detail)
        if self._store.opted_out(customer):
            return Handled("unsubscribed", detail)
        profile = self._profiles.get(subject.email)
        if profile is None or not profile.may_email:
            return Handled("no_consent", detail)
        return self._send(due, marketing, subject, customer, profile, detail)

    def _subject(self, due: Due) -> _Subject:
        if due.subject_kind == "checkout":
            state = self._store.checkout(due.subject_id)
            if state is None or state.customer is None:
                return _Subject(None, None, Situation())
            last = self._store.last_order(state.customer)
            situation = Situation(
                checkout_converted=state.converted_by is not None,
                ordered_since=last is not None and last.placed_at >= state.started_at,
            )
            return _Subject(state.email, state.started_at, situation, checkout=state)
        order = self._orders.get_order(due.subject_id)
        if order is None:
            return _Subject(None, None, Situation())
        email = normalise_email(order.customer_email)
        newer = False
        if due.trigger is Trigger.WIN_BACK and email:
            last = self._store.last_order(self._keys.key(email))
            newer = last is not None and last.order_id != order.order_id
        delivered = order.status is OrderStatus.DELIVERED or any(f.status == "delivered" for f in order.fulfilments)
        situation = Situation(order_status=order.status.value, delivered=delivered, newer_order=newer)
        return _Subject(email, order.placed_at, situation, order=order)

    def _send(
        self,
        due: Due,
        marketing: MarketingConfig,
        subject: _Subject,
        customer: str,
        profile: CustomerProfile,
        detail: dict[str, str],
    ) -> Handled:
        key = due.message_key
        now = self._clock()
        claim = self._store.claim(key, customer, now, LEASE_SECONDS)
        if claim.status == "busy":
            raise MessageBusyError(f"{due.trigger.value} for {due.subject_id} is being sent by another attempt")
        if claim.status == "capped":
            return Handled("capped", detail)
        if claim.status == "sent":
            if not claim.published:
                self._publish(due, customer, claim.channels_done, claim.sent_at or now)
                self._store.mark_published(key)
            return Handled("duplicate", detail)
        if not claim.admitted:
            cap = marketing.frequency_cap
            if not self._store.admit(customer, key, now, cap.max_messages, cap.per_days):
                self._store.finish(key, "capped", now, _record(due, customer, "capped", now))
                return Handled("capped", detail)
            self._store.mark_admitted(key)
        message = self._message(due, marketing, subject, customer, profile)
        senders = list(self._senders(marketing))
        # An order's messages are part of its lineage (a checkout's are not: it is no order yet).
        order_id = subject.order.order_id if subject.order is not None else None
        calls: list[LineageEntry] = []
        for sender in senders:
            if sender.channel in claim.channels_done:
                continue
            try:
                contact_id = sender.send(message)
                self._record_contact(customer, sender, contact_id, message.email)
            except Exception as exc:
                self._store.release(key)  # the retry resumes here; what was sent stays sent
                if order_id:
                    why = f"{due.trigger.value}: retried later: {failure_detail(exc)}"
                    calls.append(
                        self._lineage.call_entry(
                            order_id, Call.EMAIL, CallResult.FAILED, system=sender.channel, detail=why
                        )
                    )
                    self._lineage.record(calls)
                raise
            self._store.channel_done(key, sender.channel)
            if order_id:
                calls.append(
                    self._lineage.call_entry(
                        order_id, Call.EMAIL, CallResult.OK, system=sender.channel, detail=f"{due.trigger.value} sent"
                    )
                )
        self._lineage.record(calls)
        channels = frozenset(claim.channels_done | {s.channel for s in senders})
        self._store.finish(key, "sent", now, _record(due, customer, "sent", now, channels))
        self._publish(due, customer, channels, now)
        self._store.mark_published(key)
        return Handled("sent", {**detail, "channels": ",".join(sorted(channels))})

    def _publish(self, due: Due, customer: str, channels: frozenset[str], sent_at: datetime) -> None:
        """MarketingMessageSent names the customer by the erasure key, as reporting keys its facts."""
        if not customer or not channels:
            return
        self._publisher.publish(
            [
                hub_event(
                    MarketingMessageSent,
                    key=("marketing-message", due.message_key, channel),
                    channel=due.channel,
                    occurred_at=sent_at,
                    topic=f"marketing/{due.trigger.value}",
                    data=MarketingMessageData(
                        customer=customer, channel=channel, trigger=due.trigger.value, sent_at=sent_at
                    ),
                )
                for channel in sorted(channels)
            ]
        )

    # ================================================================== personalisation
    def _message(
        self, due: Due, marketing: MarketingConfig, subject: _Subject, customer: str, profile: CustomerProfile
    ) -> OutboundMessage:
        known_titles = {p.sku: p.title for p in profile.products if p.title}
        items = self._items(due, subject, profile, known_titles)
        bought = list(dict.fromkeys([*(i["sku"] for i in items), *(p.sku for p in _recent(profile))]))
        suggestions: list[dict[str, str]] = []
        if marketing.suggestions:
            counts = self._store.bought_with(bought[:_SUGGESTION_SOURCES])
            picked = suggest([*bought, *(p.sku for p in profile.products)], counts, marketing.suggestions)
            titles = self._store.titles(picked) if picked else {}
            suggestions = [{"sku": sku, "title": titles.get(sku) or sku} for sku in picked]
        missing = [i["sku"] for i in items if i["title"] == i["sku"]]
        if missing:
            titles = self._store.titles(missing)
            items = [{**i, "title": titles.get(i["sku"]) or i["title"]} for i in items]
        checkout = subject.checkout
        total = None
        if checkout is not None and checkout.total is not None and checkout.currency:
            total = f"{format_minor(checkout.total, checkout.currency)} {checkout.currency}"
        unsubscribe = None
        content = None
        context: dict[str, Any] = {
            "trigger": due.trigger.value,
            "shop_name": marketing.shop_name,
            "shop_url": marketing.shop_url,
            "review_url": marketing.review_url or marketing.shop_url or "",
            "first_name": profile.first_name,
            "items": items,
            "suggestions": suggestions,
            "recovery_url": checkout.recovery_url if checkout else None,
            "total": total,
        }
        if "ses" in marketing.channels:
            page, secret = self._unsubscribe(marketing)
            unsubscribe = unsubscribe_link(page, customer, secret)
            content = self._renderer.render(due.trigger.value, {**context, "unsubscribe_url": unsubscribe})
        properties = {
            "trigger": due.trigger.value,
            "subject_id": due.subject_id,
            "first_name": profile.first_name,
            "items": items,
            "suggestions": suggestions,
            "recovery_url": context["recovery_url"],
            "review_url": context["review_url"] or None,
            "total": total,
        }
        return OutboundMessage(
            message_key=due.message_key,
            trigger=due.trigger.value,
            email=profile.email,
            first_name=profile.first_name,
            last_name=profile.last_name,
            content=content,
            unsubscribe_url=unsubscribe,
            properties=properties,
            time=self._clock(),
        )

    def _items(
        self, due: Due, subject: _Subject, profile: CustomerProfile, titles: Mapping[str, str | None]
    ) -> list[dict[str, Any]]:
        if due.trigger is Trigger.BACK_IN_STOCK and due.sku:
            return [{"sku": due.sku, "title": titles.get(due.sku) or due.sku, "quantity": 1}]
        if subject.checkout is not None:
            return [
                {"sku": sku, "title": title or titles.get(sku) or sku, "quantity": qty}
                for sku, title, qty in subject.checkout.lines[:_ITEMS_SHOWN]
            ]
        if due.trigger is Trigger.WIN_BACK:
            return [{"sku": p.sku, "title": p.title or p.sku, "quantity": 1} for p in _recent(profile)[:_ITEMS_SHOWN]]
        order = subject.order
        lines = order.lines if order else ()
        return [
            {"sku": line.sku, "title": titles.get(line.sku) or line.sku, "quantity": line.quantity}
            for line in lines[:_ITEMS_SHOWN]
        ]

    # ================================================================== activity (Klaviyo)
    def _track(
        self,
        marketing: MarketingConfig,
        metric: str,
        email: str,
        *,
        unique_id: str,
        at: datetime,
        properties: Mapping[str, Any],
        value: tuple[int, str] | None,
        once: str | None = None,
    ) -> None:
        """Forward activity to Klaviyo, for a customer who consented and never unsubscribed.

        With `once`, a marker claimed before and finished after the call (as messages are) makes
        it go out once, however many events report the same activity."""
        if "klaviyo" not in marketing.channels or not email:
            return
        customer = self._keys.key(email)
        if self._store.opted_out(customer):
            return
        profile = self._profiles.get(email)
        if profile is None or not profile.may_email:
            return
        tracker = self._tracker(marketing)
        if tracker is None:
            return
        amount = Decimal(format_minor(value[0], value[1])) if value else None
        clean = {k: v for k, v in properties.items() if v is not None}
        if once is None:
            contact_id = tracker.track(metric, email, unique_id, at, clean, amount, value[1] if value else None)
            self._record_contact(customer, tracker, contact_id, email)
            return
        now = self._clock()
        if self._store.claim(once, customer, now, LEASE_SECONDS).status != "claimed":
            return  # tracked before, or being tracked by another attempt
        try:
            contact_id = tracker.track(metric, email, unique_id, at, clean, amount, value[1] if value else None)
            self._record_contact(customer, tracker, contact_id, email)
        except Exception:
            self._store.release(once)  # the retry tracks it
            raise
        self._store.finish(once, "sent", now)


def _covered(erased_before: datetime | None, at: datetime | None) -> bool:
    """Whether what happened at `at` falls under an erasure mark (None: the customer was never erased)."""
    return erased_before is not None and (at is None or _aware(at) <= erased_before)


def _record(
    due: Due, customer: str, outcome: Literal["sent", "capped"], at: datetime, channels: frozenset[str] = frozenset()
) -> SentMessage:
    """The message as its customer's history keeps it (no email: the key, the trigger, the subject)."""
    return SentMessage(
        customer=customer,
        message_key=due.message_key,
        trigger=due.trigger.value,
        subject_kind=due.subject_kind,
        subject_id=due.subject_id,
        basis=due.basis,
        channel=due.channel,
        outcome=outcome,
        at=at,
        channels=tuple(sorted(channels)),
        sku=due.sku,
    )


def _abandoned_name(checkout_id: str) -> str:
    return Due(Trigger.ABANDONED_CHECKOUT, "checkout", checkout_id, "started", "", datetime.min).schedule_name


def _recent(profile: CustomerProfile) -> list[ProductBought]:
    return sorted(profile.products, key=lambda p: (p.last_bought_at, p.sku), reverse=True)
