"""channel_sync's records: one StockLevelChanged each, pushed to the other channels that sell the SKU.

A push that still fails after the outbound client's retries fails its record (the pushes that went
through are counted first): SQS retries it and, after the queue's maxReceiveCount, moves it to the DLQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.errors import SyncFailedError
from hub.events import StockLevelChanged
from hub.observability import logger

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox
    from hub.services.channel_sync import PushResult


class ChannelSync:
    """The consumer (`consumer`) and what it does with a record (`handle`)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.consumer = SqsConsumer(
            self.handle,
            payloads=lambda: sandbox.payloads,
            accepts=(StockLevelChanged,),
            keys=lambda event: {"sku": event.data.sku, "location": event.data.location},
        )

    def handle(self, event: StockLevelChanged, _record: object) -> list[Outcome]:
        try:
            return _pushes(self._sandbox.channel_sync.sync(event))
        except SyncFailedError as failed:
            self.consumer.report(_pushes(failed.results))
            logger.exception("a stock push failed; the record will be retried")
            raise


def _pushes(results: list[PushResult]) -> list[Outcome]:
    # Channel, quantity and why: no credentials, no personal data.
    return [
        Outcome(
            metric_name("StockPush", r.outcome),
            f"stock push {r.outcome}",
            {"channel": r.channel, "quantity": r.quantity, "reason": r.reason},
        )
        for r in results
    ]
