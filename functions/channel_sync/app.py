"""channel_sync: every change to a location's available units, pushed to the other channels that sell it.

One StockLevelChanged per SQS record. A push that still fails after the outbound client's retries
fails its record: SQS retries it and, after the queue's maxReceiveCount, moves it to the DLQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.errors import SyncFailedError
from hub.events import StockLevelChanged
from hub.observability import logger, metrics

if TYPE_CHECKING:
    from hub.services.channel_sync import PushResult

sandbox = Sandbox()


def handle(event: StockLevelChanged, _record: object) -> list[Outcome]:
    try:
        return _pushes(sandbox.channel_sync.sync(event))
    except SyncFailedError as failed:
        consumer.report(_pushes(failed.results))
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


consumer = SqsConsumer(
    handle,
    payloads=lambda: sandbox.payloads,
    accepts=(StockLevelChanged,),
    keys=lambda event: {"sku": event.data.sku, "location": event.data.location},
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
