"""reconciler: on a schedule, lists what changed at each storefront and gateway through its API and
publishes, through intake's publish-once log, what the webhooks did not deliver.

Scheduled every minute; each reconciler runs when its `reconcile.every_minutes` has passed. The run,
its `force`/`only` event and its metrics are in hub.consumers.reconciler.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumers import reconciler
from hub.observability import logger

sandbox = Sandbox()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return reconciler.run(sandbox, event, context)
