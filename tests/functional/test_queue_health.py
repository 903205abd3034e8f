"""queue_health with moto: the depth of each queue from a scheduled event."""

from __future__ import annotations

import boto3

from tests.functional.conftest import event


def test_depths_are_read_for_every_configured_queue(aws, load_function, context, monkeypatch):
    stock_url = aws.queue_url("StockQueue")
    dlq_url = aws.queue_url("StockDeadLetterQueue")
    monkeypatch.setenv("HUB_QUEUE_URLS", f"stock={stock_url},stock-dlq={dlq_url}")
    boto3.client("sqs").send_message(QueueUrl=dlq_url, MessageBody="{}")
    result = load_function("queue_health").lambda_handler(event("queue_health_scheduled.json"), context)
    assert result == {"queues": {"stock": 0, "stock-dlq": 1}}
