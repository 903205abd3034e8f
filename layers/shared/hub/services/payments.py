"""payment_confirmation's use case: every money fact, from a gateway or a storefront, onto its order.

A gateway payment names its order the way the storefront's payment plugin set it (Stripe
`metadata.order_id`, PayPal `custom_id` or `invoice_id`, Square `reference_id`). A payment, or a
storefront's own statement (paid, updated, cancelled, refunded), whose order is not recorded yet is
kept and applied the moment the order is recorded: it is written first and the order looked up
after, so whichever comes second applies it. Kept events apply in the order they happened; a
storefront statement older than the state the order holds changes nothing and is on the timeline
as not applied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from hub.config import HubConfig
from hub.domain.lineage import DecisionResult
from hub.domain.orders import Order, OrderLine, PaymentRecord
from hub.domain.payments import (
    Decision,
    apply_cancellation,
    apply_dispute,
    apply_payment,
    apply_payment_failure,
    apply_refund,
    order_id_for,
)
from hub.errors import UnmatchedPaymentError
from hub.events import (
    DisputeData,
    HubEvent,
    OrderCancelled,
    OrderPaid,
    OrderStatusChanged,
    OrderUpdated,
    PaymentData,
    PaymentDisputed,
    PaymentFailed,
    PaymentRefundData,
    PaymentRefunded,
    PaymentSucceeded,
    RefundIssued,
    parse_event,
)
from hub.ports import EventPublisher, Ledger
from hub.services.lineage import LineageRecorder
from hub.services.orders import Change, OrderUpdater, Outcome

__all__ = ["PaymentService", "order_id_of"]

GatewayEvent = PaymentSucceeded | PaymentFailed | PaymentRefunded | PaymentDisputed
StorefrontEvent = OrderPaid | OrderUpdated | OrderCancelled | RefundIssued


def order_id_of(event: HubEvent, config: HubConfig) -> str | None:
    """The order an event concerns, as payment_confirmation applies it: the order's own events name
    it (`data.order_id`); a gateway's payment, refund or dispute by its reference (order_id_for)."""
    data = getattr(event, "data", None)
    order_id = getattr(data, "order_id", None)
    if isinstance(order_id, str) and order_id:
        return order_id
    if isinstance(data, PaymentData | PaymentRefundData | DisputeData):
        ref = data.reference
        return order_id_for(event.channel, ref.order_id, ref.invoice_id, config.invoice_prefix(data.gateway))
    return None


def _change(decision: Decision) -> Change:
    return Change(decision.summary, applied=decision.applied, release=decision.restock)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PaymentService:
    def __init__(
        self,
        ledger: Ledger,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        clock: Callable[[], datetime] = _utcnow,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._ledger = ledger
        self._lineage = lineage or LineageRecorder(None)
        self._orders = OrderUpdater(ledger, publisher, clock, self._lineage)
        self._config = config

    def handle(self, event: HubEvent) -> Outcome:
        if isinstance(event, GatewayEvent):
            return self._gateway(event)
        if isinstance(event, StorefrontEvent):
            return self._apply_or_keep(event.data.order_id, event, self._storefront_decision(event))
        if isinstance(event, OrderStatusChanged) and event.data.previous is None:
            return self._apply_pending(event.data.order_id)
        return Outcome.APPLIED

    def _apply_or_keep(self, order_id: str, event: HubEvent, decide: Callable[[Order], Change]) -> Outcome:
        outcome = self._orders.apply(order_id, event, decide)[0]
        if outcome is Outcome.NO_ORDER:
            # Kept first, looked up again after: the order's recording applies it if it lands in between.
            self._ledger.put_pending(order_id, event.event_id, event.model_dump_json())
            outcome = self._orders.apply(order_id, event, decide)[0]
            if outcome is Outcome.NO_ORDER:
                self._lineage.decision(order_id, event, DecisionResult.WAITING, "kept until the order is recorded")
        return outcome

    # ------------------------------------------------------------------ storefront facts
    def _storefront_decision(self, event: StorefrontEvent) -> Callable[[Order], Change]:
        if isinstance(event, OrderPaid):
            paid = event.data
            record = PaymentRecord(
                "payment", paid.payment_reference or "storefront", event.channel, paid.amount, paid.currency,
                "succeeded", event.occurred_at, event.event_id, storefront=True,
            )  # fmt: skip
            return lambda order: _change(apply_payment(order, record))
        if isinstance(event, OrderUpdated):
            return self._storefront_update(event)
        if isinstance(event, OrderCancelled):
            reason = event.data.reason

            def cancel(order: Order) -> Change:
                older = _older_than_held(order, event.occurred_at, "cancellation")
                return older or _change(apply_cancellation(order, reason))

            return cancel
        return self._storefront_refund(event)

    @staticmethod
    def _storefront_update(event: OrderUpdated) -> Callable[[Order], Change]:
        data = event.data

        def decide(order: Order) -> Change:
            stated = data.updated_at or event.occurred_at
            older = _older_than_held(order, stated, "update")
            if older:
                return older
            order.as_of = max(_aware(order.as_of), _aware(stated)) if order.as_of else stated
            if data.cancelled:
                return _change(apply_cancellation(order, data.platform_status))
            if data.paid:
                record = PaymentRecord(
                    "payment", "storefront", event.channel, data.total or order.total.minor,
                    data.currency or order.currency, "succeeded", event.occurred_at, event.event_id, storefront=True,
                )  # fmt: skip
                return _change(apply_payment(order, record))
            return Change(f"the storefront reports it {data.platform_status or 'updated'}", applied=False)

        return decide

    @staticmethod
    def _storefront_refund(event: RefundIssued) -> Callable[[Order], Change]:
        data = event.data

        def decide(order: Order) -> Change:
            record = PaymentRecord(
                "refund", data.refund_id, event.channel, data.amount, data.currency or order.currency,
                "completed", event.occurred_at, event.event_id, storefront=True,
            )  # fmt: skip
            change = _change(apply_refund(order, record))
            if not change.release:
                # A partial refund puts back only the lines the storefront restocked, if not shipped.
                shipped = any(f.status in ("shipped", "delivered") for f in order.fulfilments)
                if not shipped:
                    change.release = [OrderLine(ln.sku, ln.quantity, 0) for ln in data.lines if ln.sku and ln.restock]
            return change

        return decide

    # ------------------------------------------------------------------ gateway facts
    def _gateway(self, event: GatewayEvent) -> Outcome:
        data = event.data
        ref = data.reference
        order_id = order_id_for(
            event.channel, ref.order_id, ref.invoice_id, self._config().invoice_prefix(data.gateway)
        )
        if order_id is None:
            raise UnmatchedPaymentError(
                f"{data.gateway} {event.type} names no order (no order id, custom_id, invoice_id or reference_id)"
            )
        return self._apply_or_keep(order_id, event, self._gateway_decision(event))

    @staticmethod
    def _gateway_decision(event: GatewayEvent) -> Callable[[Order], Change]:
        if isinstance(event, PaymentSucceeded):
            paid = event.data
            record = PaymentRecord("payment", paid.payment_id, paid.gateway, paid.amount, paid.currency, "succeeded",
                                   event.occurred_at, event.event_id)  # fmt: skip
            return lambda order: _change(apply_payment(order, record))
        if isinstance(event, PaymentFailed):
            failed = event.data
            record = PaymentRecord("failure", failed.payment_id, failed.gateway, failed.amount, failed.currency,
                                   "failed", event.occurred_at, event.event_id)  # fmt: skip
            return lambda order: _change(apply_payment_failure(order, record))
        if isinstance(event, PaymentRefunded):
            refund = event.data
            completed = (refund.status or "completed").lower() in ("completed", "succeeded")
            status = "completed" if completed else refund.status
            record = PaymentRecord("refund", refund.refund_id, refund.gateway, refund.amount, refund.currency,
                                   status or "pending", event.occurred_at, event.event_id)  # fmt: skip
            return lambda order: _change(apply_refund(order, record))
        dispute = event.data
        record = PaymentRecord("dispute", dispute.dispute_id, dispute.gateway, dispute.amount or 0,
                               dispute.currency or "", dispute.status, event.occurred_at, event.event_id)  # fmt: skip
        return lambda order: _change(apply_dispute(order, record))

    def _apply_pending(self, order_id: str) -> Outcome:
        """The order is recorded: what was kept for it applies, in the order it happened."""
        kept = [parse_event(raw) for raw in self._ledger.pending_for(order_id)]
        for pending in sorted(kept, key=lambda e: (e.occurred_at, e.event_id)):
            if isinstance(pending, GatewayEvent):
                self._orders.apply(order_id, pending, self._gateway_decision(pending))
            elif isinstance(pending, StorefrontEvent):
                self._orders.apply(order_id, pending, self._storefront_decision(pending))
        return Outcome.APPLIED


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _older_than_held(order: Order, stated: datetime, what: str) -> Change | None:
    """A storefront statement older than the state the order holds: recorded, not applied."""
    if order.as_of is None or _aware(stated) >= _aware(order.as_of):
        return None
    return Change(
        f"the storefront's {what} of {stated.isoformat()} is older than the state the order holds "
        f"(from {order.recorded_from or 'the storefront'} of {order.as_of.isoformat()}): not applied",
        applied=False,
    )
