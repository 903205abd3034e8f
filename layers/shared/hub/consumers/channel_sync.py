"""channel_sync's records: one StockLevelChanged each, pushed to the other channels that sell the SKU,
and kept in the SKU's change history (hub.services.stock_history).

A push that still fails after the outbound client's retries fails its record (the pushes that went
through are counted first): SQS retries it and, after the queue's maxReceiveCount, moves it to the DLQ.
The batch's changes, pushed or not, are recorded after its records in one write; when that write
fails, every record of the batch fails with it, and its retry pushes nothing twice (the pushes'
claims) and records the change again under the same key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.errors import HubError, SyncFailedError
from hub.events import StockLevelChanged
from hub.observability import logger

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox
    from hub.services.channel_sync import PushResult


class ChannelSync:
    """The consumer (`consumer`) and what it does with a record (`handle`)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._changes: list[tuple[object, StockLevelChanged]] = []
        self._failed: set[int] = set()  # records failed already (their push): not failed twice
        self.consumer = SqsConsumer(
            self.handle,
            payloads=lambda: sandbox.payloads,
            accepts=(StockLevelChanged,),
            keys=lambda event: {"sku": event.data.sku, "location": event.data.location},
            before_batch=self.start,
            after_batch=self.record_history,
        )

    def start(self, _event: dict, _context: object) -> None:
        self._changes, self._failed = [], set()

    def record_history(self, _results: list[tuple]) -> None:
        """The batch's changes in one write (BatchWriteItem takes 25; a batch holds at most 10)."""
        changes, self._changes = self._changes, []
        if not changes:
            return
        try:
            self._sandbox.stock_history.record(event for _record, event in changes)
        except HubError as exc:
            logger.exception("the batch's stock changes could not be recorded; its records will be retried")
            for record, _event in changes:
                if id(record) not in self._failed:
                    self.consumer.fail(record, exc)
            return
        logger.info("stock changes recorded", extra={"changes": len(changes)})

    def handle(self, event: StockLevelChanged, record: object) -> list[Outcome]:
        self._changes.append((record, event))
        try:
            return _pushes(self._sandbox.channel_sync.sync(event))
        except SyncFailedError as failed:
            self._failed.add(id(record))
            self.consumer.report(_pushes(failed.results))
            logger.exception("a stock push failed; the record will be retried")
            raise
        except Exception:
            self._failed.add(id(record))
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
