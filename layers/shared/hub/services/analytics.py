"""Purchases and refunds forwarded to GA4 (Measurement Protocol) and Meta (Conversions API), once each.

Each destination keeps a sent marker per order: `purchase` once sent, and for refunds the total
refunded so far, so a refund reported by both the storefront and the gateway, or redelivered, is
forwarded once, and a later partial refund forwards only what it adds. The marker is written
after the call succeeds; a call that fails raises, which fails the SQS record (retried, then
dead-lettered). The vendors' own deduplication (Meta's event_id, GA4's transaction_id) covers
the moment between a successful call and its marker.

GA4 counts a `refund` event without `items` as a full refund of the transaction, so a refund that
does not give back the whole order at once carries the refunded items (the storefront's refund
lines). A partial refund whose lines are not known yet (the gateway reported it first) is not sent
to GA4 and leaves no marker (`NotYet`), so the storefront's report of the same refund, which names
the lines, forwards it.

The request bodies, and what personal data they carry (normalised and hashed, never logged), are
built by the sinks in `hub.adapters.analytics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from hub.domain.analytics import NotYet, Purchase, RefundMade
from hub.domain.lineage import Call, CallResult, LineageEntry
from hub.domain.reporting import OrderFacts, refunded_total
from hub.ports import AnalyticsSink, SentMarkers
from hub.services.lineage import LineageRecorder, failure_detail

__all__ = [
    "AnalyticsForwarder",
]


class AnalyticsForwarder:
    def __init__(
        self,
        markers: SentMarkers,
        sinks: Callable[[], Sequence[AnalyticsSink]],
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._markers = markers
        self._sinks = sinks
        self._lineage = lineage or LineageRecorder(None)

    def purchase(self, purchase: Purchase) -> list[str]:
        """Forward to every destination that has not had it yet; the destinations it was sent to."""
        sent = []
        with self._calls(purchase.order_id, "purchase") as done:
            for sink in self._sinks():
                if self._markers.sent(sink.name, purchase.order_id, "purchase") is not None:
                    continue
                done.sink = sink.name
                skipped = sink.purchase(purchase)
                self._markers.mark_sent(
                    sink.name, purchase.order_id, "purchase", previous=None, total=purchase.total, note=skipped
                )
                done.finished(sink.name, skipped)
                if skipped is None:
                    sent.append(sink.name)
        return sent

    @contextmanager
    def _calls(self, order_id: str, what: str) -> Iterator[_Calls]:
        """The order's lineage of one forwarding: each destination sent or skipped, and the one whose
        call failed (the record is retried), in one write."""
        calls = _Calls(self._lineage, order_id, what)
        try:
            yield calls
        except Exception as exc:
            if calls.sink:
                calls.failed(exc)
            self._lineage.record(calls.entries)
            raise
        self._lineage.record(calls.entries)

    def refunds(self, facts: OrderFacts, currency: str, refund: RefundMade) -> list[str]:
        """Forward what the order's refunds add to what each destination was told so far."""
        order_currency = facts.placement.currency if facts.placement else currency
        if currency != order_currency:
            return []
        target = refunded_total(facts, currency)
        sent = []
        with self._calls(facts.order_id, "refund") as done:
            for sink in self._sinks():
                marker = self._markers.sent(sink.name, facts.order_id, "refund")
                told = marker.total if marker else 0
                if target <= told:
                    continue
                whole = facts.placement is not None and told == 0 and target >= facts.placement.total
                made = replace(
                    refund, currency=currency, amount=target - told, total_refunded=target, whole_order=whole
                )
                done.sink = sink.name
                skipped = sink.refund(made)
                if isinstance(skipped, NotYet):
                    done.sink = None
                    continue
                self._markers.mark_sent(
                    sink.name, facts.order_id, "refund", previous=marker, total=target, note=skipped
                )
                done.finished(sink.name, skipped)
                if skipped is None:
                    sent.append(sink.name)
        return sent


class _Calls:
    """What one forwarding did at each destination, as lineage entries."""

    def __init__(self, lineage: LineageRecorder, order_id: str, what: str) -> None:
        self._lineage = lineage
        self._order_id = order_id
        self._what = what
        self.sink: str | None = None  # the destination being called
        self.entries: list[LineageEntry] = []

    def finished(self, sink: str, skipped: str | None) -> None:
        result = CallResult.OK if skipped is None else CallResult.SKIPPED
        detail = f"{self._what} sent" if skipped is None else f"{self._what} not sent: {skipped}"
        self.entries.append(
            self._lineage.call_entry(self._order_id, Call.ANALYTICS, result, system=sink, detail=detail)
        )
        self.sink = None

    def failed(self, exc: BaseException) -> None:
        detail = f"{self._what}: retried later: {failure_detail(exc)}"
        self.entries.append(
            self._lineage.call_entry(self._order_id, Call.ANALYTICS, CallResult.FAILED, system=self.sink, detail=detail)
        )
