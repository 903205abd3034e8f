"""Recording and reading each order's lineage (hub.domain.lineage).

Recording is an observation, never part of the work it observes: a lineage write that fails is
logged and counted (`LineageNotRecorded`) and the delivery, decision or call goes on as if it had
been written, so lineage can never turn an accepted webhook into a 503 or a stored change into a
retry. Each recording is one write (one BatchWriteItem), whatever the number of orders it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from hub.config import HubConfig
from hub.domain.lineage import (
    Call,
    CallResult,
    DecisionResult,
    DeliveryResult,
    LineageEntry,
    Step,
    decision_from_timeline,
    in_time_order,
)
from hub.domain.payments import order_id_for
from hub.domain.webhook_activity import DeliveryCount
from hub.events import DisputeData, HubEvent, PaymentData, PaymentRefundData
from hub.observability import MetricUnit, logger, metrics
from hub.ports import Ledger, LineageLog

__all__ = ["VIA_RECONCILER", "VIA_WEBHOOK", "LineageReader", "LineageRecorder", "failure_detail", "orders_named"]

# The ways an event reaches intake; the reconciler publishes through the same path.
VIA_WEBHOOK = "webhook"
VIA_RECONCILER = "reconciler"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def orders_named(events: Iterable[HubEvent], config: HubConfig) -> dict[str, list[HubEvent]]:
    """order id -> the events that concern it, in the order given.

    Order events name their order; a gateway's payment points at one through its reference,
    resolved as payment_confirmation resolves it (an unmatched payment names none).
    """
    named: dict[str, list[HubEvent]] = {}
    for event in events:
        data = getattr(event, "data", None)
        order_id = getattr(data, "order_id", None)
        if not isinstance(order_id, str) and isinstance(data, PaymentData | PaymentRefundData | DisputeData):
            ref = data.reference
            order_id = order_id_for(event.channel, ref.order_id, ref.invoice_id, config.invoice_prefix(data.gateway))
        if isinstance(order_id, str) and order_id:
            named.setdefault(order_id, []).append(event)
    return named


class LineageRecorder:
    """What services call where a result is known. Without a log (tests, the admin API) it records
    nothing."""

    def __init__(self, log: LineageLog | None, clock: Callable[[], datetime] = _utcnow) -> None:
        self._log = log
        self._clock = clock

    def _write(self, entries: Sequence[LineageEntry], counts: Sequence[DeliveryCount] = ()) -> None:
        if self._log is None or not entries:
            return
        try:
            self._log.append(entries, counts)
        except Exception as exc:
            metrics.add_metric(name="LineageNotRecorded", unit=MetricUnit.Count, value=len(entries))
            if counts:
                metrics.add_metric(name="WebhookActivityNotRecorded", unit=MetricUnit.Count, value=len(counts))
            logger.warning(
                "lineage not recorded",
                extra={"order_ids": sorted({e.order_id for e in entries}), "error": type(exc).__name__},
            )

    def delivery(
        self,
        events: Sequence[HubEvent],
        config: HubConfig,
        *,
        source: str,
        delivery_id: str,
        accepted: bool,
        via: str = VIA_WEBHOOK,
        at: datetime | None = None,
        count: DeliveryCount | None = None,
    ) -> bool:
        """A delivery (or a reconciler's find) of `events`: one entry per order they name, at the
        time it was received (`at`; now when not given), so it sorts before what it caused.

        `count`, the delivery's count for the webhooks page, is written in the same request when
        there is one to write; True when it was taken (written, or lost with the lineage and said
        so), False when no order was named and the caller must count the delivery itself."""
        if self._log is None:
            return False
        at = at or self._clock()
        result = DeliveryResult.ACCEPTED if accepted else DeliveryResult.DUPLICATE
        entries = [
            LineageEntry(
                order_id=order_id,
                at=at,
                step=Step.DELIVERY,
                result=result,
                source=source,
                via=via,
                ref=delivery_id,
                event_ids=tuple(e.event_id for e in named),
                detail=", ".join(dict.fromkeys(e.type for e in named)),
            )
            for order_id, named in orders_named(events, config).items()
        ]
        if not entries:
            return False
        self._write(entries, (count,) if count is not None else ())
        return True

    def decision(self, order_id: str, event: HubEvent, result: DecisionResult, why: str) -> None:
        """A decision the order's timeline does not hold: a redelivery that changed nothing, or an
        event kept until its order is recorded."""
        self._write(
            [
                LineageEntry(
                    order_id=order_id,
                    at=self._clock(),
                    step=Step.DECISION,
                    result=result,
                    source=event.source,
                    event_ids=(event.event_id,),
                    event_type=event.type,
                    detail=why,
                )
            ]
        )

    def call(
        self,
        order_ids: Iterable[str],
        call: Call,
        result: CallResult,
        *,
        system: str | None,
        detail: str = "",
        ref: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """An outbound call made for these orders, and how it went (`detail`: a status or an error's
        class and code, never a body)."""
        self.record(
            [
                self.call_entry(o, call, result, system=system, detail=detail, ref=ref, event_id=event_id)
                for o in dict.fromkeys(order_ids)
            ]
        )

    def call_entry(
        self,
        order_id: str,
        call: Call,
        result: CallResult,
        *,
        system: str | None,
        detail: str = "",
        ref: str | None = None,
        event_id: str | None = None,
    ) -> LineageEntry:
        """One call's entry, for a service that records the outcomes of several calls in one write."""
        return LineageEntry(
            order_id=order_id,
            at=self._clock(),
            step=Step.CALL,
            result=result,
            source=system,
            ref=ref,
            event_ids=(event_id,) if event_id else (),
            call=call,
            detail=detail,
        )

    def record(self, entries: Sequence[LineageEntry]) -> None:
        """Keep entries made with `call_entry` (one write)."""
        self._write(entries)


class LineageReader:
    """GET /orders/{id}/lineage: the recorded entries with the order's timeline, in time order."""

    def __init__(self, ledger: Ledger, log: LineageLog) -> None:
        self._ledger = ledger
        self._log = log

    def lineage(self, order_id: str) -> list[LineageEntry] | None:
        """The order's lineage; None when the hub knows nothing of the order (no order is recorded
        and nothing ever named it). An order never recorded, but delivered, has a lineage: that is
        where to see why."""
        recorded = self._log.entries(order_id)
        order = self._ledger.get_order(order_id)
        if order is None and not recorded:
            return None
        decisions = [decision_from_timeline(order_id, e) for e in order.timeline] if order else []
        return in_time_order([*recorded, *decisions])


def failure_detail(exc: BaseException) -> str:
    """What a failed call says, safe to keep: the error's class and, when it has them, the status
    and the vendor's code (the adapters' errors carry no body)."""
    parts = [type(exc).__name__]
    for name in ("status_code", "status", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, (int, str)) and value != "":
            parts.append(f"{name} {value}")
    return ", ".join(parts)
