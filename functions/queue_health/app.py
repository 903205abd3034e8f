"""queue_health: on a schedule, publishes how deep each consumer and dead-letter queue is.

One metric, `QueueDepth`, with the queue's short name (`stock`, `stock-dlq`, ...) as the `queue`
dimension, so one dashboard search shows every queue, and `queue=dlq` only the dead-letter ones.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.observability import MetricUnit, logger, metrics

sandbox = Sandbox()


def _queues() -> dict[str, str]:
    """HUB_QUEUE_URLS is "name=url,name=url" (set by template.yaml)."""
    pairs = (item.split("=", 1) for item in os.environ.get("HUB_QUEUE_URLS", "").split(",") if "=" in item)
    return {name.strip(): url.strip() for name, url in pairs}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    depths: dict[str, int] = {}
    for name, url in _queues().items():
        attrs = sandbox.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depth = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        depths[name] = depth
        with single_metric(
            name="QueueDepth", unit=MetricUnit.Count, value=depth, default_dimensions=metrics.default_dimensions
        ) as metric:
            metric.add_dimension(name="queue", value=name)
        if name.endswith("dlq") and depth:
            logger.warning("dead-letter queue holds messages", extra={"queue": name, "messages": depth})
    return {"queues": depths}
