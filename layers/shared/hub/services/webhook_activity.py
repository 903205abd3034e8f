"""Webhook deliveries by source and outcome: intake counts each one, the console reads the last day.

Intake calls `record` once per delivery it answers (accepted, duplicate, ignored, refused with the
reason it answered, failed); the webhooks page and GET /webhooks/activity call `last_day`. Recording
never fails a delivery: a write that fails is logged and counted as a metric, and the answer stands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

from hub.domain.webhook_activity import (
    UNKNOWN_SOURCE,
    DeliveryCount,
    Outcome,
    Refusal,
    SourceActivity,
    fold,
    hour_of,
    reason_text,
    window,
)
from hub.observability import MetricUnit, logger, metrics
from hub.ports import WebhookActivityLog

__all__ = ["WebhookActivity"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebhookActivity:
    """`sources` names the sources the hub accepts (each gets a row, with zeros if nothing came)."""

    def __init__(
        self, log: WebhookActivityLog, sources: Callable[[], Iterable[str]], clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._log = log
        self._sources = sources
        self._clock = clock

    def record(self, source: str, outcome: Outcome, *, status: int | None = None, reason: str | None = None) -> None:
        """Count one delivery; a refusal keeps its status and reason (one line, capped). Never raises."""
        at = self._clock()
        refusal = Refusal(at, status or 0, reason_text(reason or "")) if outcome == "refused" else None
        try:
            self._log.count(source, hour_of(at), outcome, refusal)
        except Exception as exc:
            metrics.add_metric(name="WebhookActivityNotRecorded", unit=MetricUnit.Count, value=1)
            logger.warning("webhook activity not recorded", extra={"outcome": outcome, "error": type(exc).__name__})

    def delivery_count(self, source: str, outcome: Literal["accepted", "duplicate"], ref: str) -> DeliveryCount:
        """A published delivery's count, to be written with its lineage (hub.services.lineage)."""
        return DeliveryCount(source, outcome, self._clock(), ref)

    def last_day(self) -> list[SourceActivity]:
        """Every accepted source in name order (zeros where nothing came), then the unknown-source
        bucket when something was sent to a name the hub does not accept."""
        hours = window(self._clock())
        rows = [fold(name, self._log.hours(name, hours[0]), hours) for name in sorted(self._sources())]
        unknown = fold(UNKNOWN_SOURCE, self._log.hours(UNKNOWN_SOURCE, hours[0]), hours)
        return [*rows, unknown] if unknown.total else rows
