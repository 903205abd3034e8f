"""order_routing's use cases: route paid orders, book labels, write shipments back, track deliveries.

Every change to an order goes through `OrderUpdater.apply` (once per event, on the order's
version). The events that drive it:

    OrderStatusChanged, just recorded   apply the storefront shipments kept for it (below), then the
                                        units its snapshot says the storefront shipped, first
    OrderStatusChanged paid + reserved  route the order (fulfilling), then book a label for each
                                        fulfilment when a carrier is configured (shipped)
    OrderFulfilled (a storefront)       the storefront shipped it itself: shipped, nothing written back;
                                        kept while the order is not recorded, and applied when it is,
                                        before the hub routes it (so it is never labelled twice);
                                        an order whose snapshot names storefront fulfilments is not
                                        routed until their OrderFulfilled events are applied (the
                                        record is retried: they were published with the snapshot)
    FulfilmentShipped                   write the fulfilment, with tracking, back to the storefront
    ShipmentTracked (a carrier)         delivered, once every fulfilment is delivered

Outbound calls come before the change that records them, and each is safe to repeat, so a failure
anywhere fails the SQS record and its retry finishes the work without doing any of it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.config import CarrierConfig, HubConfig
from hub.domain.fulfilment import (
    Decision,
    Shipment,
    mark_written_back,
    route,
    ship,
    storefront_shipped,
    track,
)
from hub.domain.lineage import Call, CallResult, DecisionResult
from hub.domain.orders import Fulfilment, Order, OrderStatus
from hub.domain.stock import order_locations
from hub.errors import ShipError
from hub.events import (
    FulfilmentLine,
    FulfilmentPlan,
    FulfilmentShipped,
    FulfilmentShippedData,
    FulfilmentWrittenBack,
    FulfilmentWrittenBackData,
    HubEvent,
    OrderFulfilled,
    OrderFulfilledData,
    OrderRouted,
    OrderRoutedData,
    OrderStatusChanged,
    ShipmentLine,
    ShipmentTracked,
    hub_event,
    parse_event,
)
from hub.observability import logger
from hub.ports import CarrierPort, EventPublisher, Ledger, ShipmentStore, StorefrontWriter
from hub.services.lineage import LineageRecorder, failure_detail
from hub.services.orders import Change, OrderUpdater, Outcome

__all__ = [
    "FulfilmentService",
]


@dataclass(frozen=True)
class _Clients:
    carrier: Callable[[CarrierConfig], CarrierPort]
    storefronts: Callable[[HubConfig], StorefrontWriter]
    shipment_request: Callable[[Order, Fulfilment, CarrierConfig], object | None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _lines(fulfilment: Fulfilment) -> list[FulfilmentLine]:
    return [FulfilmentLine(sku=ln.sku, quantity=ln.quantity) for ln in fulfilment.lines]


def _change(decision: Decision, emits: list[HubEvent] | None = None) -> Change:
    return Change(
        decision.summary,
        applied=decision.applied,
        consume=list(decision.consume),
        emits=list(emits or []) if decision.applied else [],
    )


class FulfilmentService:
    def __init__(
        self,
        ledger: Ledger,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        shipments: ShipmentStore,
        carrier: Callable[[CarrierConfig], CarrierPort],
        storefronts: Callable[[HubConfig], StorefrontWriter],
        shipment_request: Callable[[Order, Fulfilment, CarrierConfig], object | None],
        clock: Callable[[], datetime] = _utcnow,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._ledger = ledger
        self._lineage = lineage or LineageRecorder(None)
        self._orders = OrderUpdater(ledger, publisher, clock, self._lineage)
        self._config = config
        self._shipments = shipments
        self._clients = _Clients(carrier, storefronts, shipment_request)
        self._clock = clock

    # ------------------------------------------------------------------ dispatch
    def handle(self, event: HubEvent) -> str:
        if isinstance(event, OrderStatusChanged):
            done: list[str] = []
            read: Order | None = None  # the order as read here, while nothing here changed it
            if event.data.previous is None:
                kept = self.apply_kept(event.data.order_id)
                if kept:
                    done.append(f"{kept} kept shipments applied")
                # Kept shipments just changed the order: then each step reads it again.
                read = None if kept else self._ledger.get_order(event.data.order_id)
                if self.apply_stated(event.data.order_id, read):
                    done.append("the storefront's stated shipment applied")
                    read = None
            if event.data.status == OrderStatus.PAID.value and event.data.reserved:
                done.append(self.route(event, read))
            return ", ".join(done) or "ignored"
        if isinstance(event, OrderFulfilled):
            return self.storefront_shipped(event)
        if isinstance(event, FulfilmentShipped):
            return self.write_back(event)
        if isinstance(event, ShipmentTracked):
            return self.tracked(event)
        return "ignored"

    # ------------------------------------------------------------------ routing and labels
    def route(self, event: OrderStatusChanged, read: Order | None = None) -> str:
        """Choose where the order ships from; `read` is the order if the caller just read it."""
        order_id = event.data.order_id

        def decide(order: Order) -> Change:
            preference = order_locations(self._config().location_refs(), order.shipping_country)
            decision = route(order, preference)
            routed = hub_event(
                OrderRouted,
                key=(order_id, "routed", event.event_id),
                channel=order.channel,
                occurred_at=event.occurred_at,
                topic="order/routed",
                cause=event.event_id,
                data=OrderRoutedData(
                    order_id=order_id,
                    fulfilments=[
                        FulfilmentPlan(fulfilment_id=f.fulfilment_id, location=f.location, lines=_lines(f))
                        for f in decision.routed
                    ],
                    split=len(decision.routed) > 1,
                ),
            )
            return _change(decision, [routed] if decision.routed else [])

        outcome, _ = self._orders.apply(order_id, event, decide, read)
        if outcome is Outcome.NO_ORDER:
            # The status change is published after the order is stored, so this is a lagging read.
            raise LookupError(f"{order_id} is not recorded yet")
        booked = self.book_labels(order_id)
        return f"{outcome.value}, {booked} labels bought" if booked else outcome.value

    def book_labels(self, order_id: str) -> int:
        """Buy a label for every fulfilment still waiting for one; each then counts as shipped."""
        carrier_config = self._config().carrier
        if carrier_config.provider == "none":
            return 0
        order = self._ledger.get_order(order_id)
        if order is None or order.status is not OrderStatus.FULFILLING:
            return 0
        bought = 0
        for fulfilment in order.fulfilments:
            if fulfilment.status != "pending":
                continue
            request = self._clients.shipment_request(order, fulfilment, carrier_config)
            if request is None:
                logger.warning(
                    "fulfilment waits for a label: no shipping address or ship-from address",
                    extra={"fulfilment_id": fulfilment.fulfilment_id},
                )
                continue
            carrier = self._clients.carrier(carrier_config)
            try:
                shipment_id = self._shipments.booking(fulfilment.fulfilment_id)
                if shipment_id is None:
                    created = carrier.create_shipment(request)
                    shipment_id = self._shipments.record_booking(
                        fulfilment.fulfilment_id, order_id, carrier.name, created
                    )
                label = carrier.buy(shipment_id, request, rebook=self._rebooking(fulfilment.fulfilment_id, shipment_id))
            except Exception as exc:
                self._lineage.call(
                    [order_id],
                    Call.LABEL,
                    CallResult.FAILED,
                    system=carrier.name,
                    detail=f"{fulfilment.fulfilment_id}: retried later: {failure_detail(exc)}",
                )
                raise
            self._lineage.call(
                [order_id],
                Call.LABEL,
                CallResult.OK,
                system=carrier.name,
                ref=label.tracking_number,
                detail=f"{fulfilment.fulfilment_id}: label bought ({' '.join(filter(None, (label.carrier, label.service)))})",
            )
            self._shipments.index_tracking(label.tracking_number, order_id, fulfilment.fulfilment_id)
            shipment = Shipment(
                origin="carrier",
                carrier=label.carrier,
                service=label.service,
                tracking_number=label.tracking_number,
                tracking_url=label.tracking_url,
                label_url=label.label_url,
                external_id=label.shipment_id,
            )
            if self._ship(order, fulfilment, shipment) is Outcome.APPLIED:
                bought += 1
        return bought

    def _rebooking(self, fulfilment_id: str, shipment_id: str) -> Callable[[str], str]:
        """Keep a re-rated shipment as the booking before anything is bought on it, so a retry after a
        purchase that timed out looks for that purchase on the shipment it was made on."""
        kept = [shipment_id]

        def rebook(new_shipment_id: str) -> str:
            kept[0] = self._shipments.rebook(fulfilment_id, kept[0], new_shipment_id)
            return kept[0]

        return rebook

    def _ship(self, order: Order, fulfilment: Fulfilment, shipment: Shipment) -> Outcome:
        now = self._clock()
        shipped = hub_event(
            FulfilmentShipped,
            key=(order.order_id, fulfilment.fulfilment_id, "shipped"),
            channel=order.channel,
            occurred_at=now,
            topic="fulfilment/shipped",
            cause=shipment.external_id,
            data=FulfilmentShippedData(
                order_id=order.order_id,
                fulfilment_id=fulfilment.fulfilment_id,
                location=fulfilment.location,
                origin=shipment.origin,
                carrier=shipment.carrier,
                service=shipment.service,
                tracking_number=shipment.tracking_number,
                tracking_url=shipment.tracking_url,
                label_url=shipment.label_url,
                lines=_lines(fulfilment),
            ),
        )

        def decide(current: Order) -> Change:
            return _change(ship(current, fulfilment.fulfilment_id, shipment, now), [shipped])

        outcome, _ = self._orders.apply(order.order_id, shipped, decide)
        return outcome

    def ship_manually(
        self,
        order_id: str,
        *,
        tracking_number: str,
        carrier: str,
        tracking_url: str | None = None,
        fulfilment_id: str | None = None,
    ) -> Order:
        """A tracking number given by a person (admin API, `commerce-hub ship`): the fulfilment is shipped."""
        order = self._ledger.get_order(order_id)
        if order is None:
            raise ShipError(f"no order '{order_id}'; order ids look like shopify:5849162203412", 404)
        if fulfilment_id:
            fulfilment = next((f for f in order.fulfilments if f.fulfilment_id == fulfilment_id), None)
            if fulfilment is None:
                known = ", ".join(f.fulfilment_id for f in order.fulfilments) or "none"
                raise ShipError(f"{order_id} has no fulfilment '{fulfilment_id}'; its fulfilments: {known}", 404)
        else:
            waiting = [f for f in order.fulfilments if f.status in ("pending", "label_purchased")]
            if not waiting:
                if any(f.tracking_number == tracking_number for f in order.fulfilments):
                    return order  # the same shipment again: nothing to do
                why = "it has not been routed yet" if not order.fulfilments else "every fulfilment has shipped"
                raise ShipError(f"{order_id} has no fulfilment waiting for a label: {why} (status {order.status})")
            if len(waiting) > 1:
                listed = ", ".join(f"{f.fulfilment_id} ({f.location})" for f in waiting)
                raise ShipError(f"{order_id} ships from several locations; name one fulfilment: {listed}", 400)
            fulfilment = waiting[0]
        if fulfilment.status in ("shipped", "delivered"):
            if fulfilment.tracking_number == tracking_number:
                return order
            raise ShipError(f"{fulfilment.fulfilment_id} already shipped with tracking {fulfilment.tracking_number}")
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            raise ShipError(f"{order_id} is {order.status}; it is not shipped")
        self._shipments.index_tracking(tracking_number, order_id, fulfilment.fulfilment_id)
        shipment = Shipment(origin="admin", carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url)
        self._ship(order, fulfilment, shipment)
        return self._ledger.get_order(order_id) or order

    # ------------------------------------------------------------------ the storefront shipped it
    def storefront_shipped(self, event: OrderFulfilled) -> str:
        data = event.data
        shipment = Shipment(
            origin=event.channel,
            carrier=data.carrier,
            tracking_number=data.tracking_number,
            tracking_url=data.tracking_url,
            external_id=data.fulfilment_id,
        )
        lines = [(line.sku, line.quantity) for line in data.lines]
        shipped_now: list[Fulfilment] = []

        def decide(order: Order) -> Change:
            decision = storefront_shipped(order, shipment, lines, event.occurred_at)
            shipped_now[:] = decision.shipped
            emits: list[HubEvent] = [
                hub_event(
                    FulfilmentShipped,
                    key=(order.order_id, f.fulfilment_id, "shipped"),
                    channel=order.channel,
                    occurred_at=event.occurred_at,
                    topic="fulfilment/shipped",
                    cause=event.event_id,
                    data=FulfilmentShippedData(
                        order_id=order.order_id,
                        fulfilment_id=f.fulfilment_id,
                        location=f.location,
                        origin=event.channel,
                        carrier=f.carrier,
                        tracking_number=f.tracking_number,
                        tracking_url=f.tracking_url,
                        lines=_lines(f),
                    ),
                )
                for f in decision.shipped
            ]
            return _change(decision, emits)

        outcome, _ = self._orders.apply(data.order_id, event, decide)
        if outcome is Outcome.NO_ORDER:
            # Kept first, looked up again after: the order's recording applies it if it lands in between.
            self._ledger.put_pending(data.order_id, event.event_id, event.model_dump_json())
            outcome, _ = self._orders.apply(data.order_id, event, decide)
            if outcome is Outcome.NO_ORDER:
                why = "kept until the order is recorded"
                self._lineage.decision(data.order_id, event, DecisionResult.WAITING, why)
                return why
        for f in shipped_now:
            if f.tracking_number and outcome is Outcome.APPLIED:
                self._shipments.index_tracking(f.tracking_number, data.order_id, f.fulfilment_id)
        return outcome.value

    def apply_kept(self, order_id: str) -> int:
        """The order was just recorded: apply the storefront shipments that arrived before it, in
        the order they happened. Returns how many applied now."""
        kept = [e for e in map(parse_event, self._ledger.pending_for(order_id)) if isinstance(e, OrderFulfilled)]
        applied = 0
        for event in sorted(kept, key=lambda e: (e.occurred_at, e.event_id)):
            if self.storefront_shipped(event) == Outcome.APPLIED.value:
                applied += 1
        return applied

    def apply_stated(self, order_id: str, read: Order | None = None) -> bool:
        """The order was just recorded from a snapshot saying the storefront shipped some of it, with
        no OrderFulfilled of its own to report it (WooCommerce completed, BigCommerce shipped, Adobe
        Commerce qty_shipped): record those units as shipped by the storefront, before routing, so
        the hub never labels them. Its id is derived from the order, so a redelivery applies it once.
        `read` is the order if the caller just read it."""
        order = read if read is not None else self._ledger.get_order(order_id)
        if order is None or not order.storefront_shipped:
            return False
        stated = hub_event(
            OrderFulfilled,
            key=(order_id, "storefront_shipped", "stated"),
            channel=order.channel,
            occurred_at=order.as_of or order.placed_at or self._clock(),
            topic=order.recorded_from or "order/recorded",
            data=OrderFulfilledData(
                order_id=order_id,
                lines=[ShipmentLine(sku=sku, quantity=qty) for sku, qty in order.storefront_shipped.items() if qty > 0],
            ),
        )
        return self.storefront_shipped(stated) == Outcome.APPLIED.value

    # ------------------------------------------------------------------ write-back
    def write_back(self, event: FulfilmentShipped) -> str:
        data = event.data
        order = self._ledger.get_order(data.order_id)
        if order is None:
            raise LookupError(f"{data.order_id} is not recorded")
        fulfilment = next((f for f in order.fulfilments if f.fulfilment_id == data.fulfilment_id), None)
        if fulfilment is None or fulfilment.written_back or fulfilment.status not in ("shipped", "delivered"):
            return "nothing to write back"
        try:
            result = self._clients.storefronts(self._config()).write(order, fulfilment)
        except Exception as exc:
            detail = f"{data.fulfilment_id}: retried later: {failure_detail(exc)}"
            self._lineage.call([data.order_id], Call.WRITE_BACK, CallResult.FAILED, system=order.channel, detail=detail)
            raise
        cause = hub_event(
            FulfilmentWrittenBack,
            key=(data.order_id, data.fulfilment_id, "written_back"),
            channel=order.channel,
            occurred_at=self._clock(),
            topic="fulfilment/written_back",
            cause=event.event_id,
            data=FulfilmentWrittenBackData(
                order_id=data.order_id,
                fulfilment_id=data.fulfilment_id,
                channel=order.channel,
                platform=result.platform,
                reference=result.reference,
                skipped=result.skipped,
            ),
        )
        if not result.known:
            what = f"not written back to {order.channel}: {result.skipped}"
        elif result.skipped:
            what = f"already on {order.channel} ({result.skipped})"
        else:
            what = f"written back to {order.channel} ({result.reference or 'done'})"

        done = CallResult.FAILED if not result.known else CallResult.SKIPPED if result.skipped else CallResult.OK
        self._lineage.call(
            [data.order_id],
            Call.WRITE_BACK,
            done,
            system=order.channel,
            ref=result.reference,
            detail=f"{data.fulfilment_id} {what}",
        )

        def decide(current: Order) -> Change:
            if not result.known:
                return Change(f"{data.fulfilment_id} {what}", applied=False)
            return _change(mark_written_back(current, data.fulfilment_id, what), [cause])

        outcome, _ = self._orders.apply(data.order_id, cause, decide)
        return outcome.value

    # ------------------------------------------------------------------ carrier tracking
    def tracked(self, event: ShipmentTracked) -> str:
        data = event.data
        found = self._shipments.find_tracking(data.tracking_number)
        if found is None:
            logger.info("tracking update for a shipment the hub did not book", extra={"carrier": data.carrier})
            return "unknown shipment"
        order_id, fulfilment_id = found

        def decide(order: Order) -> Change:
            return _change(track(order, fulfilment_id, data.status, event.occurred_at))

        outcome, _ = self._orders.apply(order_id, event, decide)
        return outcome.value
