"""channel_sync: every change to a location's available units, pushed to the other channels that sell it
(one StockLevelChanged per SQS record; hub.consumers.channel_sync)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumers.channel_sync import ChannelSync
from hub.observability import logger, metrics

sandbox = Sandbox()
consumer = ChannelSync(sandbox).consumer


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
