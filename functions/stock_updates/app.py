"""stock_updates: the stock ledger's consumer, one SQS record at a time (hub.consumers.stock_updates)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import SqsConsumer
from hub.consumers.stock_updates import StockUpdates
from hub.observability import logger, metrics

sandbox = Sandbox()
stock_updates = StockUpdates(sandbox)
consumer = SqsConsumer(
    stock_updates.handle,
    payloads=lambda: sandbox.payloads,
    keys=stock_updates.keys,
    before_batch=stock_updates.start,
    before_record=stock_updates.in_time,
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
