"""In-memory fakes of marketing's ports, with the guarantees of the DynamoDB, Scheduler and channel
adapters (conditional claims, once-per-order co-purchases, a versioned frequency window), and
builders of the events and profiles marketing reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from hub.config import parse_config
from hub.domain.customers import ConsentStatement, CustomerProfile, ProductBought, erasure_key, normalise_email
from hub.domain.marketing import CheckoutState, Claim, LastOrder, Look, OutboundMessage, SentMessage, Waiter
from hub.domain.marketing_rules import Due, admit
from hub.domain.orders import Fulfilment, Order, OrderLine, OrderStatus
from hub.errors import MarketingConflictError
from hub.events import (
    CheckoutData,
    CheckoutStarted,
    CustomerErased,
    CustomerErasedData,
    LineItem,
    OrderData,
    OrderPlaced,
    OrderStatusChanged,
    ProviderRef,
    StatusChangeData,
    StockLevelChanged,
    StockLevelData,
    StockShortage,
    StockShortageData,
    event_id_for,
)
from hub.money import Money

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
SALT = "test-salt"

MARKETING_YAML = """
locations: [{id: wh-east, country: US}]
marketing:
  channels: [ses]
  sender: "Ada Goods <news@ada.example>"
  shop_name: Ada Goods
  shop_url: https://ada.example
  rules:
    post_purchase: {days_after_delivery: 7, days_after_payment_when_no_delivery: 14}
    abandoned_checkout: {hours: 4}
    review_request: {days_after_delivery: 10}
    win_back: {days_without_order: 90}
    back_in_stock: {}
  frequency_cap: {max_messages: 3, per_days: 7}
"""


def config(text: str = MARKETING_YAML, **marketing: Any):  # type: ignore[no-untyped-def]
    """The configuration, with marketing keys replaced."""
    parsed = parse_config(text)
    if not marketing:
        return parsed
    return parsed.model_copy(update={"marketing": parsed.marketing.model_copy(update=marketing)})


# ------------------------------------------------------------------------------------------ store
class FakeMarketingStore:
    def __init__(self) -> None:
        self.last: dict[str, LastOrder] = {}
        self.optouts: dict[str, datetime] = {}
        self.scheduled: dict[str, dict[str, datetime]] = {}
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.customer_checkouts: dict[str, dict[str, datetime]] = {}
        self.counted: set[str] = set()
        self.pairs: dict[str, dict[str, int]] = {}
        self.sku_titles: dict[str, str] = {}
        self.waiting: dict[str, dict[str, Waiter]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.caps: dict[str, tuple[dict[str, int], int]] = {}
        self.history: dict[str, list[SentMessage]] = {}  # customer -> what finish recorded, in order
        # The erasure marks a look reads (share FakeKeys.marks, as both read one table).
        self.erasures: dict[str, datetime] = {}
        self.looks = 0
        self.placements_recorded = 0
        # Simulates another writer moving what a placement read, just before its write, n times.
        self.before_record: list[Any] = []

    # one read, one write
    def look(self, customer: str, message_keys: Sequence[str], order_id: str | None = None) -> Look:
        self.looks += 1
        return Look(
            erased_before=self.erasures.get(customer),
            sent=frozenset(k for k in message_keys if self.messages.get(k, {}).get("state") in ("sent", "capped")),
            last_order=self.last.get(customer) if order_id is not None else None,
            counted=order_id is not None and order_id in self.counted,
        )

    def record_placement(
        self,
        order_id: str,
        pairs: Sequence[tuple[str, str]],
        titles: Mapping[str, str],
        *,
        count: bool,
        customer: str | None = None,
        seen: LastOrder | None = None,
        newest: LastOrder | None = None,
        schedules: Sequence[tuple[str, datetime]] = (),
    ) -> None:
        if self.before_record:
            self.before_record.pop(0)()
        if (count and (pairs or titles) and order_id in self.counted) or (
            newest is not None and customer and self.last.get(customer) != seen
        ):
            raise MarketingConflictError(order_id)
        self.placements_recorded += 1
        if count:
            self.count_order(order_id, pairs, titles)
        if newest is not None and customer:
            self.last[customer] = newest
        for name, at in schedules:
            if customer:
                self.remember_schedule(customer, name, at)

    # customers
    def note_order(self, customer: str, order_id: str, placed_at: datetime) -> tuple[bool, str | None]:
        old = self.last.get(customer)
        if old is not None and (old.placed_at, old.order_id) > (placed_at, order_id):
            return False, None
        self.last[customer] = LastOrder(order_id, placed_at)
        return True, old.order_id if old and old.order_id != order_id else None

    def last_order(self, customer: str) -> LastOrder | None:
        return self.last.get(customer)

    def opted_out(self, customer: str) -> bool:
        return customer in self.optouts

    def opt_out(self, customer: str, at: datetime) -> None:
        self.optouts.setdefault(customer, at)

    def remember_schedule(self, customer: str, name: str, due_at: datetime) -> None:
        self.scheduled.setdefault(customer, {})[name] = due_at

    def forget_schedule(self, customer: str, name: str) -> None:
        self.scheduled.get(customer, {}).pop(name, None)

    def customer_schedules(self, customer: str) -> list[str]:
        return sorted(self.scheduled.get(customer, {}))

    def forget_customer(self, customer: str) -> int:
        schedules = self.scheduled.pop(customer, {})
        checkouts = self.customer_checkouts.pop(customer, {})
        for checkout_id in checkouts:
            self.checkouts.pop(checkout_id, None)
        last = 1 if self.last.pop(customer, None) else 0
        cap = 1 if self.caps.pop(customer, None) else 0
        sent = len(self.history.pop(customer, []))
        return len(schedules) + 2 * len(checkouts) + last + cap + sent

    # checkouts
    def save_checkout(self, state: CheckoutState, at: datetime) -> CheckoutState:
        item = self.checkouts.setdefault(state.checkout_id, {})
        if item.get("updated_at") is None or item["updated_at"] <= at:
            item.update(
                {k: v for k, v in dataclasses.asdict(state).items() if k not in ("converted_by", "started_at")},
                updated_at=at,
            )
            item.setdefault("started_at", at)
        elif item["started_at"] > at:
            item["started_at"] = at
        stored = self.checkout(state.checkout_id)
        assert stored is not None
        if stored.customer:
            self.customer_checkouts.setdefault(stored.customer, {})[stored.checkout_id] = stored.started_at
        return stored

    def checkout(self, checkout_id: str) -> CheckoutState | None:
        item = self.checkouts.get(checkout_id)
        if not item or "started_at" not in item:
            return None
        fields = {f.name for f in dataclasses.fields(CheckoutState)}
        return CheckoutState(**{k: v for k, v in item.items() if k in fields})

    def convert_checkout(self, checkout_id: str, by: str, customer: str | None = None) -> None:
        self.checkouts.setdefault(checkout_id, {}).setdefault("converted_by", by)
        if customer:
            self.customer_checkouts.get(customer, {}).pop(checkout_id, None)

    def open_checkouts(self, customer: str) -> list[tuple[str, datetime]]:
        return sorted(self.customer_checkouts.get(customer, {}).items())

    # co-purchases
    def count_order(self, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str]) -> bool:
        if not pairs and not titles:
            return False
        if order_id in self.counted:
            return False
        self.counted.add(order_id)
        for a, b in pairs:
            self.pairs.setdefault(a, {})[b] = self.pairs.get(a, {}).get(b, 0) + 1
        self.sku_titles.update(titles)
        return True

    def bought_with(self, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        return {sku: dict(self.pairs.get(sku, {})) for sku in skus}

    def titles(self, skus: Sequence[str]) -> dict[str, str]:
        return {sku: self.sku_titles[sku] for sku in skus if sku in self.sku_titles}

    # back in stock
    def add_waiter(self, waiter: Waiter) -> None:
        self.waiting.setdefault(waiter.sku, {})[waiter.order_id] = waiter

    def waiters(self, sku: str) -> list[Waiter]:
        return list(self.waiting.get(sku, {}).values())

    def remove_waiter(self, sku: str, order_id: str) -> None:
        self.waiting.get(sku, {}).pop(order_id, None)

    # once-only
    def message_sent(self, message_key: str) -> bool:
        return self.messages.get(message_key, {}).get("state") in ("sent", "capped")

    def claim(self, message_key: str, customer: str, now: datetime, lease_seconds: int) -> Claim:
        item = self.messages.get(message_key)
        if item is None or (item["state"] == "sending" and item["lease_until"] < now.timestamp()):
            item = item or {"channels_done": set(), "admitted": False, "published": False}
            item.update(state="sending", lease_until=now.timestamp() + lease_seconds, customer=customer)
            self.messages[message_key] = item
            return Claim("claimed", frozenset(item["channels_done"]), admitted=item["admitted"])
        if item["state"] == "sent":
            return Claim("sent", frozenset(item["channels_done"]), published=item["published"], sent_at=item["sent_at"])
        return Claim("capped") if item["state"] == "capped" else Claim("busy")

    def admit(self, customer: str, message_key: str, now: datetime, max_messages: int, per_days: int) -> bool:
        sent, version = self.caps.get(customer, ({}, 0))
        allowed, kept = admit(sent, message_key, int(now.timestamp()), max_messages, per_days)
        if allowed:
            self.caps[customer] = (kept, version + 1)
        return allowed

    def mark_admitted(self, message_key: str) -> None:
        self.messages[message_key]["admitted"] = True

    def channel_done(self, message_key: str, channel: str) -> None:
        self.messages[message_key]["channels_done"].add(channel)

    def release(self, message_key: str) -> None:
        if self.messages[message_key]["state"] == "sending":
            self.messages[message_key]["lease_until"] = 0

    def finish(
        self, message_key: str, status: Literal["sent", "capped"], at: datetime, record: SentMessage | None = None
    ) -> None:
        self.messages[message_key].update(state=status, sent_at=at)
        if record is not None:  # one write with the marker, as the DynamoDB store's transaction
            self.history.setdefault(record.customer, []).append(record)

    def sent_messages(self, customer: str, limit: int) -> list[SentMessage]:
        newest = sorted(self.history.get(customer, []), key=lambda m: (m.at, m.message_key), reverse=True)
        return newest[:limit]

    def mark_published(self, message_key: str) -> None:
        self.messages[message_key]["published"] = True


class FakeSchedules:
    def __init__(self) -> None:
        self.schedules: dict[str, tuple[Due, datetime]] = {}
        self.created: list[str] = []
        self.deleted: list[str] = []

    def create(self, due: Due, at: datetime) -> bool:
        if due.schedule_name in self.schedules:
            return False
        self.schedules[due.schedule_name] = (due, at)
        self.created.append(due.schedule_name)
        return True

    def delete(self, name: str) -> bool:
        self.deleted.append(name)
        return self.schedules.pop(name, None) is not None

    def by_trigger(self, trigger: str) -> list[tuple[Due, datetime]]:
        return [entry for entry in self.schedules.values() if entry[0].trigger.value == trigger]

    def due(self) -> list[Due]:
        """Every schedule fires (and, ActionAfterCompletion DELETE, is gone)."""
        fired = [due for due, _at in sorted(self.schedules.values(), key=lambda entry: entry[1])]
        self.schedules.clear()
        return fired


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def get_order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def add(
        self,
        order_id: str,
        email: str | None,
        status: str = "paid",
        lines: Sequence[tuple[str, int]] = (("MUG", 1),),
        placed_at: datetime = T0,
        delivered: bool = False,
    ) -> Order:
        order = Order(
            order_id=order_id,
            channel=order_id.split(":")[0],
            status=OrderStatus(status),
            total=Money(1800, "USD"),
            lines=tuple(OrderLine(sku, qty, 900) for sku, qty in lines),
            customer_email=email,
            placed_at=placed_at,
            fulfilments=[Fulfilment("f1", "wh-east", (), status="delivered")] if delivered else [],
        )
        self.orders[order_id] = order
        return order


class FakeProfiles:
    def __init__(self) -> None:
        self.profiles: dict[str, CustomerProfile] = {}

    def get(self, email: str) -> CustomerProfile | None:
        return self.profiles.get(normalise_email(email) or "")

    def add(
        self,
        email: str,
        consent: bool | None = True,
        first_name: str | None = "Ada",
        products: Sequence[tuple[str, str]] = (),
    ) -> CustomerProfile:
        normalised = normalise_email(email)
        assert normalised
        profile = CustomerProfile(
            email=normalised,
            erasure_key=erasure_key(normalised, SALT),
            first_name=first_name,
            last_name="Lovelace",
            phone=None,
            channels=("shopify",),
            platform_customer_ids={},
            order_ids=(),
            order_count=len(products),
            cancelled_order_count=0,
            first_order=None,
            last_order=None,
            total_spent={},
            average_order_value={},
            refund_count=0,
            refunded={},
            products=tuple(ProductBought(sku, title, 1, 1, T0) for sku, title in products),
            email_marketing=ConsentStatement(consent, T0 if consent is not None else None, "shopify"),
            sms_marketing=ConsentStatement(),
            tags=(),
            updated_at=T0,
        )
        self.profiles[normalised] = profile
        return profile


class FakeKeys:
    def __init__(self) -> None:
        self.marks: dict[str, datetime] = {}

    def key(self, email: str) -> str:
        return erasure_key(email, SALT)

    def erased_before(self, customer: str) -> datetime | None:
        return self.marks.get(customer)


class RecordingSender:
    def __init__(self, channel: str = "email") -> None:
        self.channel = channel
        self.sent: list[OutboundMessage] = []
        self.fail_next = 0

    def send(self, message: OutboundMessage) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError(f"{self.channel} is down")
        self.sent.append(message)


class FakeTracker:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def track(
        self,
        metric: str,
        email: str,
        unique_id: str,
        time: datetime,
        properties: Mapping[str, Any],
        value: Decimal | None = None,
        currency: str | None = None,
    ) -> None:
        self.events.append(
            {"metric": metric, "email": email, "unique_id": unique_id, "properties": dict(properties), "value": value}
        )


# ------------------------------------------------------------------------------------------ events
def _provider(topic: str, *ids: str) -> dict[str, Any]:
    return {"event_id": event_id_for("shopify", topic, *ids), "provider": ProviderRef(topic=topic)}


def order_placed(
    order_id: str = "shopify:1001",
    email: str | None = "ada@example.com",
    lines: Sequence[tuple[str, str | None]] = (("MUG", "Enamel Mug"), ("TEE", "Organic Tee")),
    at: datetime = T0,
    checkout_id: str | None = None,
) -> OrderPlaced:
    return OrderPlaced(
        source="shopify",
        channel="shopify",
        occurred_at=at,
        **_provider("orders/create", order_id),
        data=OrderData(
            order_id=order_id,
            platform_order_id=order_id.split(":")[-1],
            currency="USD",
            total=5600,
            paid=True,
            customer_email=email,
            lines=[LineItem(sku=sku, quantity=1, unit_price=1800, title=title) for sku, title in lines],
            checkout_id=checkout_id,
        ),
    )


def status_changed(order_id: str = "shopify:1001", status: str = "paid", at: datetime = T0) -> OrderStatusChanged:
    cause = event_id_for("shopify", "cause", order_id, status, at.isoformat())
    return OrderStatusChanged(
        event_id=event_id_for("hub", order_id, "status", cause),
        source="hub",
        channel="shopify",
        occurred_at=at,
        provider=ProviderRef(topic="order/status", event_id=cause),
        data=StatusChangeData(order_id=order_id, previous=None, status=status, reserved=True, cause_event_id=cause),
    )


def checkout_started(
    checkout_id: str = "shopify:tok1",
    email: str | None = "ada@example.com",
    at: datetime = T0,
    completed: bool = False,
    lines: Sequence[tuple[str, str]] = (("TEE", "Organic Tee"),),
) -> CheckoutStarted:
    return CheckoutStarted(
        source="shopify",
        channel="shopify",
        occurred_at=at,
        **_provider("checkouts/update", checkout_id, at.isoformat(), str(completed)),
        data=CheckoutData(
            checkout_id=checkout_id,
            customer_email=email,
            currency="USD",
            total=3800,
            lines=[LineItem(sku=sku, quantity=1, unit_price=3800, title=title) for sku, title in lines],
            recovery_url=f"https://ada.example/checkouts/{checkout_id}/recover",
            completed=completed,
            updated_at=at,
        ),
    )


def shortage(order_id: str = "shopify:1001", skus: Mapping[str, int] | None = None) -> StockShortage:
    return StockShortage(
        event_id=event_id_for("hub", order_id, "shortage"),
        source="hub",
        channel="shopify",
        occurred_at=T0,
        provider=ProviderRef(topic="stock/shortage"),
        data=StockShortageData(order_id=order_id, shortages=dict(skus or {"MUG": 1})),
    )


def level_changed(sku: str = "MUG", available: int = 5, previous: int | None = 0) -> StockLevelChanged:
    return StockLevelChanged(
        event_id=event_id_for("hub", sku, "level", str(available), str(previous)),
        source="hub",
        channel="admin",
        occurred_at=T0 + timedelta(days=3),
        provider=ProviderRef(topic="stock/level"),
        data=StockLevelData(
            sku=sku,
            location="wh-east",
            available=available,
            previous=previous,
            origin="admin",
            total_available=available,
        ),
    )


def customer_erased(email: str | None = "ada@example.com", order_ids: Sequence[str] = ()) -> CustomerErased:
    key = erasure_key(email, SALT) if email else None
    return CustomerErased(
        event_id=event_id_for("hub", "customer-erased", key or "", *order_ids),
        source="hub",
        channel="shopify",
        occurred_at=T0 + timedelta(days=1),
        provider=ProviderRef(topic="privacy/erased"),
        data=CustomerErasedData(
            erasure_key=key,
            scope="customer",
            erased_before=T0 + timedelta(days=1),
            profile_erased=True,
            order_ids=list(order_ids),
        ),
    )
