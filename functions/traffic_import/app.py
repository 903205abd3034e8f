"""traffic_import: on a schedule, reads each storefront's sessions and users per day (and per
source/medium) from the GA4 Data API into the daily report's traffic items; the report divides the
orders by them (session conversion). Does nothing when `analytics.traffic` is not configured.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.observability import logger

sandbox = Sandbox()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return sandbox.traffic_import.run()
