"""Stock use cases: record a placed order with its reservations; set a location's level (a count
correction, or a level a storefront reported); learn platform ids; announce low stock once per crossing.

Every change this service makes to a location's available units publishes StockLevelChanged with the
location's new level, the SKU's total, the row's version and the channel the change came from
(`origin`), which channel_sync pushes to every other channel and the low-stock check reads.
See docs/stock.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hub.config import HubConfig
from hub.domain.lineage import DecisionResult
from hub.domain.orders import (
    HoldReason,
    Order,
    OrderLine,
    OrderStatus,
    PaymentRecord,
    StorefrontFulfilment,
    TimelineEntry,
    shipping_address,
)
from hub.domain.platforms import COUNTS_OWN_ORDERS, PUSH_PLATFORMS
from hub.domain.stock import (
    Crossing,
    Placement,
    StockLevel,
    home_shard,
    low_stock_crossing,
    order_locations,
    plan_placement,
    rebalance_moves,
    taken_from,
)
from hub.domain.sync import PlatformIds
from hub.errors import (
    InsufficientStockError,
    OrderExistsError,
    StaleLevelError,
    StockConflictError,
    UnknownLocationError,
)
from hub.events import (
    RESERVED_TOPIC,
    HubEvent,
    LowStock,
    LowStockData,
    OrderPlaced,
    ProductUpdated,
    ShipmentLine,
    StockLevelChanged,
    StockLevelData,
    StockLevelReported,
    StockShortage,
    StockShortageData,
    hub_event,
)
from hub.money import Money
from hub.ports import Catalog, EventPublisher, StockLedger, SyncLog
from hub.services.lineage import LineageRecorder
from hub.services.orders import Change, OrderUpdater, Outcome, status_changed
from hub.services.retry import DEFAULT_BUDGET_SECONDS, Patience

__all__ = ["Applied", "LevelOutcome", "LevelResult", "PlacementResult", "StockService"]


class Applied(StrEnum):
    APPLIED = "applied"  # this placement recorded the order
    DUPLICATE = "duplicate"  # this very placement was seen before
    NOT_APPLIED = "not_applied"  # the order was already recorded from another of its deliveries


@dataclass(frozen=True)
class PlacementResult:
    outcome: Applied
    order: Order


class LevelOutcome(StrEnum):
    APPLIED = "applied"  # the location's available units are the reported ones now
    UNCHANGED = "unchanged"  # newer than what the location held, and the same units
    STALE = "stale"  # older than the level the location holds: recorded and skipped
    UNMAPPED_ITEM = "unmapped_item"  # no SKU is known for the platform's item
    UNMAPPED_LOCATION = "unmapped_location"  # the platform location maps to no hub location


@dataclass(frozen=True)
class LevelResult:
    outcome: LevelOutcome
    sku: str | None = None
    location: str | None = None


def _units(lines: Iterable[ShipmentLine]) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in lines:
        if line.sku:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _available(levels: Mapping[str, Mapping[str, StockLevel]], sku: str, location: str) -> int | None:
    level = levels.get(sku, {}).get(location)
    return level.available if level is not None else None


class StockService:
    def __init__(
        self,
        ledger: StockLedger,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        clock: Callable[[], datetime] = _utcnow,
        catalog: Catalog | None = None,
        sync_log: SyncLog | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._lineage = lineage or LineageRecorder(None)
        self._monotonic = monotonic
        self._sleep = sleep
        self._ledger = ledger
        self._publisher = publisher
        self._config = config
        self._clock = clock
        self._catalog = catalog
        self._sync_log = sync_log

    def _counts_own_orders(self, event: OrderPlaced) -> bool:
        channel = self._config().channel_settings(event.channel, event.source)
        when = COUNTS_OWN_ORDERS.get(channel.platform if channel else event.source)
        return when == "placed" or (when == "paid" and event.data.paid)

    def place_order(self, event: OrderPlaced, *, deadline: float | None = None) -> PlacementResult:
        """Record the order from the first placement that arrives, in the state it states.

        Every storefront delivery that carries the whole order is a placement, so the first one to
        arrive (an `orders/paid` before `orders/create`) records it: cancelled (holding nothing),
        paid or pending payment (reserved). A placement for an order already recorded changes
        nothing and goes on its timeline as not applied. Existence is checked before stock is read,
        so a redundant placement costs one read.

        Concurrent orders for the same SKUs make a reservation fail its condition (or DynamoDB cancel
        the transaction for a conflicting one): the levels are read again and the order re-planned,
        after a jittered wait, until `deadline` (time.monotonic(); the handler passes the Lambda's
        remaining time). Only then does StockConflictError fail the record.
        """
        data = event.data
        stored = self._ledger.get_order(data.order_id)
        if stored is not None:
            return self._already_recorded(stored, event)
        lines = tuple(
            OrderLine(line.sku, line.quantity, line.unit_price, line.platform_line_id, stocked=line.stocked)
            for line in data.lines
        )
        # Lines that hold no stock (digital, gift cards) are recorded on the order and never reserved.
        stocked = [ln for ln in lines if ln.stocked]
        units = sum(ln.quantity for ln in lines)
        stated = "cancelled" if data.cancelled else "paid" if data.paid else "not paid"
        entry = TimelineEntry(
            event_id=event.event_id,
            type=event.type,
            occurred_at=event.occurred_at,
            applied_at=self._clock(),
            summary=f"placed on {event.channel} ({units} units; {event.provider.topic}: {stated})",
        )
        preference = order_locations(self._config().location_refs(), data.shipping_country)
        started = self._monotonic()
        patience = Patience(
            deadline if deadline is not None else started + DEFAULT_BUDGET_SECONDS, self._monotonic, self._sleep
        )
        attempts = 0
        levels: dict[str, dict[str, StockLevel]] = {}
        for attempts in patience.attempts():  # noqa: B007 (reported below)
            order = self._new_order(event, lines)
            if order.status is OrderStatus.CANCELLED:
                placement = Placement([], {})  # cancelled before the hub saw it: nothing to hold
            else:
                levels = self._ledger.stock_levels(ln.sku for ln in stocked)
                try:
                    placement = plan_placement(
                        stocked,
                        levels,
                        preference,
                        channel=event.channel,
                        placed_at=event.occurred_at,
                        counts_own_orders=self._counts_own_orders(event),
                        key=data.order_id,
                    )
                except InsufficientStockError as short:
                    # An order is reserved whole or not at all; it waits on hold, holding nothing.
                    placement = Placement([], {})
                    order.status = OrderStatus.ON_HOLD
                    order.hold_reason = HoldReason.INSUFFICIENT_STOCK
                    order.shortages = short.shortages
            plan = placement.reservations
            order.reservations = tuple(plan)
            try:
                if placement.draws:  # a hot SKU's shards (docs/stock.md#hot-skus-sharded-stock)
                    self._ledger.place_order(order, plan, entry, placement.counted, placement.draws)
                else:
                    self._ledger.place_order(order, plan, entry, placement.counted)
            except OrderExistsError:
                # Another placement recorded it between the read and the write.
                return self._already_recorded(self._ledger.get_order(data.order_id) or order, event)
            except StockConflictError:
                continue
            self._publish_follow_ons(order, event, levels, placement)
            if placement.draws:
                self._rebalance_after(data.order_id, levels, placement)
            return PlacementResult(Applied.APPLIED, order)
        raise StockConflictError(
            f"{data.order_id}: stock kept changing over {attempts + 1} attempts in {self._monotonic() - started:.1f} s"
        )

    @staticmethod
    def _new_order(event: OrderPlaced, lines: tuple[OrderLine, ...]) -> Order:
        data = event.data
        status = (
            OrderStatus.CANCELLED if data.cancelled else OrderStatus.PAID if data.paid else OrderStatus.PENDING_PAYMENT
        )
        storefront_paid = data.paid and not data.cancelled
        return Order(
            order_id=data.order_id,
            channel=event.channel,
            status=status,
            total=Money(data.total, data.currency),
            lines=lines,
            customer_email=data.customer_email,
            shipping_country=data.shipping_country,
            shipping_address=shipping_address(data.shipping_address),
            placed_at=event.occurred_at,
            payments=[
                # The storefront placed it paid: an assertion of full payment (see hub.domain.payments).
                PaymentRecord(
                    "payment",
                    "placed-paid",
                    event.channel,
                    data.total,
                    data.currency,
                    "succeeded",
                    data.updated_at or event.occurred_at,
                    event.event_id,
                    storefront=True,
                )
            ]
            if storefront_paid
            else [],
            as_of=data.updated_at or event.occurred_at,
            recorded_from=event.provider.topic,
            storefront_fulfilments=tuple(
                StorefrontFulfilment(ref.fulfilment_id, ref.event_id) for ref in data.storefront_fulfilments
            ),
            storefront_shipped=_units(data.storefront_shipped),
        )

    def _already_recorded(self, stored: Order, event: OrderPlaced) -> PlacementResult:
        if stored.applied(event.event_id):
            if self._recorded_by(stored, event.event_id):
                # A redelivery of the placement that recorded it: publish again what the first
                # delivery should have (a failed publish is retried here).
                self._publish_follow_ons(stored, event)
            first = next(e for e in stored.timeline if e.event_id == event.event_id)
            why = f"already applied at {first.applied_at.isoformat()}: changed nothing"
            self._lineage.decision(stored.order_id, event, DecisionResult.DUPLICATE, why)
            return PlacementResult(Applied.DUPLICATE, stored)
        when = stored.as_of.isoformat() if stored.as_of else "an earlier delivery"
        summary = (
            f"placed on {event.channel} ({event.provider.topic}): not applied, "
            f"the order was already recorded from {stored.recorded_from or 'OrderPlaced'} of {when}"
        )
        outcome, order = OrderUpdater(self._ledger, self._publisher, self._clock, self._lineage).apply(
            stored.order_id, event, lambda _order: Change(summary, applied=False)
        )
        if outcome is Outcome.DUPLICATE:
            return PlacementResult(Applied.DUPLICATE, order or stored)
        return PlacementResult(Applied.NOT_APPLIED, order or stored)

    @staticmethod
    def _recorded_by(order: Order, event_id: str) -> bool:
        entry = next((e for e in order.timeline if e.event_id == event_id), None)
        return entry is not None and entry.applied

    def _rebalance_after(self, key: str, read: Mapping[str, Mapping[str, StockLevel]], placement: Placement) -> None:
        """After a placement at a sharded location that fell over from its home shard (it was short),
        or that saw released units on the location's row, even the shards out (rebalance_moves),
        from the levels the placement read less what it took: no read of its own. A move that meets
        a reservation is skipped by the ledger; the next placement that falls over tries again."""
        after = taken_from(read, placement)
        for (sku, location), draws in placement.draws.items():
            level = after.get(sku, {}).get(location)
            if level is None or not level.shards:
                continue
            fell_over = len(draws) > 1 or draws[0].shard != home_shard(key, len(level.shards))
            if not (fell_over or level.spare > 0):
                continue
            moves = rebalance_moves(level.shards, level.spare)
            if moves:
                self._ledger.move_stock(sku, location, moves)

    def _publish_follow_ons(
        self,
        order: Order,
        cause: OrderPlaced,
        read: Mapping[str, Mapping[str, StockLevel]] | None = None,
        placement: Placement | None = None,
    ) -> None:
        # The order is recorded: payments waiting for it apply, and a paid, reserved order is routed.
        follow: list[HubEvent] = [status_changed(order, None, cause)]
        if order.hold_reason is HoldReason.INSUFFICIENT_STOCK and order.shortages:
            follow.extend(
                [
                    hub_event(
                        StockShortage,
                        key=(order.order_id, "StockShortage"),
                        channel=order.channel,
                        occurred_at=cause.occurred_at,
                        topic="stock/shortage",
                        cause=cause.event_id,
                        data=StockShortageData(order_id=order.order_id, shortages=order.shortages),
                    )
                ]
            )
        follow.extend(self._reserved(order, cause, read or {}, placement))
        self._publisher.publish(follow)

    def _reserved(
        self,
        order: Order,
        cause: OrderPlaced,
        read: Mapping[str, Mapping[str, StockLevel]],
        placement: Placement | None,
    ) -> list[StockLevelChanged]:
        """The levels an order's reservations changed. When this placement wrote them, they are the
        levels it read less what it took (taken_from): its transaction held every reservation on its
        condition, so nothing else is needed to know them, and reading them again would cost a read
        per SKU (every shard of a hot one). Another change landing in between publishes its own
        StockLevelChanged; channel_sync and the low-stock check read the ledger again, so the event
        is a faithful trigger either way (as hub.services.stock_events' are). A redelivery of the
        placement that recorded the order read nothing: it reads the levels as they are now."""
        touched = list(dict.fromkeys((r.sku, r.location) for r in order.reservations))
        after = taken_from(read, placement) if placement is not None else {}
        levels = {sku: dict(after[sku]) for sku, _ in touched if sku in after}
        unread = [sku for sku, _ in touched if sku not in levels]
        if unread:
            levels.update(self._ledger.stock_levels(unread))
        return [
            self._changed(
                (order.order_id, "reserved", sku, location),
                levels.get(sku, {}),
                sku,
                location,
                origin=order.channel,
                at=cause.occurred_at,
                topic=RESERVED_TOPIC,
                cause=cause.event_id,
                previous=_available(read, sku, location) if sku in after else None,
                order_id=order.order_id,
            )
            for sku, location in touched
        ]

    @staticmethod
    def _changed(
        key: tuple[str, ...],
        levels: Mapping[str, StockLevel],
        sku: str,
        location: str,
        *,
        origin: str,
        at: datetime,
        topic: str,
        cause: str | None = None,
        previous: int | None = None,
        order_id: str | None = None,
    ) -> StockLevelChanged:
        level = levels.get(location)
        return hub_event(
            StockLevelChanged,
            key=key,
            channel=origin,
            occurred_at=at,
            topic=topic,
            cause=cause,
            data=StockLevelData(
                sku=sku,
                location=location,
                available=level.available if level else 0,
                previous=previous,
                origin=origin,
                total_available=sum(lvl.available for lvl in levels.values()),
                version=level.version if level else None,
                order_id=order_id,
            ),
        )

    def _shards(self, sku: str) -> dict[str, int]:
        """The shard count to set a SKU's level with, only when it is sharded (the default path
        passes nothing, so ledgers that know no shards keep working)."""
        count = self._config().stock.shards_for(sku)
        return {"shards": count} if count > 1 else {}

    def rebalance(self, sku: str) -> int:
        """Even out a hot SKU's shards now, from a fresh read: released units on a location's row go to
        its emptiest shards, and a shard drawn below half its share is topped up from the fullest.
        Placements do this themselves after falling over (_rebalance_after); this is for an operator
        or a script after a sale. Each move is one small transaction; one that meets a reservation
        is skipped. Nothing for a SKU that is not sharded. Returns the units moved."""
        if self._config().stock.shards_for(sku) <= 1:
            return 0
        moved = 0
        for location, level in sorted(self._ledger.levels_for(sku).items()):
            moves = rebalance_moves(level.shards, level.spare) if level.shards else []
            if moves:
                moved += self._ledger.move_stock(sku, location, moves)
        return moved

    def set_level(self, sku: str, location: str, available: int, origin: str) -> int | None:
        """A count correction: `available` becomes the sellable units at `location`."""
        if location not in self._config().location_ids():
            known = ", ".join(self._config().location_ids())
            raise UnknownLocationError(f"unknown location '{location}'; configured locations: {known}")
        if available < 0:
            raise ValueError("available must be zero or more")
        now = self._clock()
        # A correction made now is the newest value there is: it is never refused as stale.
        written = self._ledger.set_level(
            sku, location, available, by=origin, at=now, newer_only=False, **self._shards(sku)
        )
        previous = written.previous.available if written.previous else None
        self._publisher.publish(
            [
                self._changed(
                    (sku, location, origin, now.isoformat()),
                    self._ledger.levels_for(sku),
                    sku,
                    location,
                    origin=origin,
                    at=now,
                    topic="inventory/set",
                    previous=previous,
                )
            ]
        )
        return previous

    # ------------------------------------------------------------------------------ storefront levels
    def apply_report(self, event: StockLevelReported) -> LevelResult:
        """A storefront's (or point of sale's) level: its sellable count at one of its locations.

        It becomes the `available` units of the hub location the channel's location maps to;
        `reserved` (the hub's open orders) is kept as it is, since the storefront's count already
        excludes its own open orders. A level older than the one the location holds is refused.
        """
        config = self._config()
        report = event.data
        channel = config.channel_settings(event.channel, event.source)
        if channel is None:
            return LevelResult(LevelOutcome.UNMAPPED_LOCATION)
        platform_location = report.platform_location_id
        location = channel.hub_location(platform_location, config.location_ids())
        if location is None:
            return LevelResult(LevelOutcome.UNMAPPED_LOCATION)
        ids = PlatformIds(report.platform_item_id, report.platform_product_id, report.platform_variation_id)
        sku = report.sku or self._sku_for(event.channel, channel.sku_for_item, ids)
        if sku is None:
            return LevelResult(LevelOutcome.UNMAPPED_ITEM, location=location)
        at = report.updated_at or event.occurred_at
        if self._catalog is not None:
            if report.sku and ids and sku not in channel.sku_map:
                self._catalog.learn(event.channel, sku, ids, at)
            if channel.platform == "shopify" and platform_location and platform_location not in channel.locations:
                # The channel's default hub location: remember where it is on Shopify, to push there.
                self._catalog.learn_location(event.channel, location, platform_location)
        try:
            written = self._ledger.set_level(
                sku, location, report.available, by=event.channel, at=at, newer_only=True, **self._shards(sku)
            )
        except StaleLevelError:
            return LevelResult(LevelOutcome.STALE, sku, location)
        if self._sync_log is not None and channel.platform in PUSH_PLATFORMS:
            self._sync_log.note_known(event.channel, sku, location, report.available)
        before = written.previous
        changed = before is None or before.available != report.available
        # A redelivery of this very report (its publish may have failed): announce it again.
        again = before is not None and before.set_by == event.channel and before.set_at == at
        if changed or again:
            self._publisher.publish(
                [
                    self._changed(
                        ("level", event.event_id, sku, location),
                        self._ledger.levels_for(sku),
                        sku,
                        location,
                        origin=event.channel,
                        at=at,
                        topic="inventory/reported",
                        cause=event.event_id,
                        previous=before.available if before else None,
                    )
                ]
            )
        return LevelResult(LevelOutcome.APPLIED if changed else LevelOutcome.UNCHANGED, sku, location)

    def _sku_for(self, channel: str, configured: Callable[[str], str | None], ids: PlatformIds) -> str | None:
        key = ids.key()
        if key is None:
            return None
        return configured(key) or (self._catalog.sku_for(channel, key) if self._catalog else None)

    def learn_catalog(self, event: ProductUpdated) -> int:
        """Remember the platform ids of a product's items (for levels that name only ids, and pushes)."""
        if self._catalog is None or event.source == "hub":
            return 0  # a product the hub itself set (catalog master `hub`) has no platform ids
        channel = self._config().channel_settings(event.channel, event.source)
        configured = channel.sku_map if channel else {}
        at = event.data.updated_at or event.occurred_at
        learned = 0
        for item in event.data.items:
            if item.sku in configured:
                continue  # the configuration says, and takes precedence
            ids = PlatformIds(item.platform_item_id, event.data.platform_product_id, item.platform_variation_id)
            self._catalog.learn(event.channel, item.sku, ids, at)
            learned += 1
        return learned

    # ------------------------------------------------------------------------------ low stock
    def check_low_stock(self, sku: str) -> Crossing:
        """Announce LowStock once when the SKU's total available falls to the threshold or below;
        not again until it has been above the threshold. The crossing is kept in the ledger under a
        condition, so concurrent checks announce it once, and a failed announcement is made again."""
        threshold = self._config().low_stock_threshold
        levels, state = self._ledger.levels_and_low_stock(sku)
        if not levels:
            return Crossing.NONE
        total = sum(level.available for level in levels.values())
        crossing = low_stock_crossing(total, threshold, was_low=state.low)
        if crossing is Crossing.LEFT:
            self._ledger.leave_low_stock(sku)
            return crossing
        if crossing is Crossing.ENTERED:
            number = state.crossings + 1
            if not self._ledger.enter_low_stock(sku, number):
                return Crossing.NONE  # another check recorded this crossing and announces it
        elif state.low and not state.announced:
            number = state.crossings  # recorded, but its announcement did not make it to the bus
        else:
            return Crossing.NONE
        self._publisher.publish(
            [
                hub_event(
                    LowStock,
                    key=(sku, "LowStock", str(number)),
                    channel="hub",
                    occurred_at=self._clock(),
                    topic="inventory/low",
                    data=LowStockData(
                        sku=sku,
                        available=total,
                        threshold=threshold,
                        locations={loc: level.available for loc, level in sorted(levels.items())},
                    ),
                )
            ]
        )
        self._ledger.low_stock_announced(sku, number)
        return Crossing.ENTERED
