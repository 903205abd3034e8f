"""catalog_sync's records: one ProductUpdated each (hub.services.catalog).

A push that still fails after the outbound client's retries fails its record (what went through is
counted first): SQS retries it and, after the queue's maxReceiveCount, moves it to the DLQ. A drift
check that finds the hub's own push to that channel in flight fails its record too, so it is judged
once the push is recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.errors import SyncFailedError
from hub.events import ProductUpdated
from hub.observability import logger

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox
    from hub.services.catalog import CatalogResult

__all__ = ["CatalogSyncConsumer"]


class CatalogSyncConsumer:
    """The consumer (`consumer`) and what it does with a record (`handle`)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.consumer = SqsConsumer(
            self.handle,
            payloads=lambda: sandbox.payloads,
            accepts=(ProductUpdated,),
            keys=lambda event: {"channel": event.channel, "platform_product_id": event.data.platform_product_id},
        )

    def handle(self, event: ProductUpdated, _record: object) -> list[Outcome]:
        try:
            return _outcomes(self._sandbox.catalog_sync.handle(event))
        except SyncFailedError as failed:
            self.consumer.report(_outcomes(failed.results))
            logger.exception("a product push failed; the record will be retried")
            raise


def _outcomes(results: list[CatalogResult]) -> list[Outcome]:
    # Channel, product key and why: no credentials, no personal data.
    return [
        Outcome(
            metric_name("Catalog", r.outcome),
            f"catalog {r.outcome}",
            {"channel": r.channel, "product_key": r.product_key, "reason": r.reason},
        )
        for r in results
    ]
