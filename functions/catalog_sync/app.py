"""catalog_sync: a master channel's product changes pushed to the other channels, and other channels'
changes judged as echo or drift (one ProductUpdated per SQS record; hub.consumers.catalog_sync)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumers.catalog_sync import CatalogSyncConsumer
from hub.observability import logger, metrics

sandbox = Sandbox()
consumer = CatalogSyncConsumer(sandbox).consumer


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
