"""reporting: the daily report's counters, metrics, and purchases and refunds forwarded to GA4 and Meta;
one SQS record at a time."""

from __future__ import annotations

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.domain.reporting import ORDERS, REFUNDS, REVENUE
from hub.events import HubEvent
from hub.money import format_minor
from hub.observability import MetricUnit, logger, metrics

sandbox = Sandbox()


def handle(event: HubEvent, _record: object) -> Outcome:
    change = sandbox.reporting.handle(event)
    # Orders, revenue and refunds move exactly as the report does (a cancellation moves them back).
    orders = sum(counters.get(ORDERS, 0) for counters in change.delta.values())
    if orders:
        metrics.add_metric(name="Orders", unit=MetricUnit.Count, value=orders)
    for name in (REVENUE, REFUNDS):
        per_currency: dict[str, int] = {}
        for (_day, _channel, currency), counters in change.delta.items():
            if currency and counters.get(name):
                per_currency[currency] = per_currency.get(currency, 0) + counters[name]
        for currency, minor in per_currency.items():
            value = float(format_minor(minor, currency))
            dimensions = metrics.default_dimensions
            with single_metric(name.capitalize(), MetricUnit.NoUnit, value, default_dimensions=dimensions) as metric:
                metric.add_dimension(name="currency", value=currency)
    for destination in change.forwarded:
        metrics.add_metric(name=metric_name("Forwarded", destination), unit=MetricUnit.Count, value=1)
    return Outcome(None, f"report {change.outcome}", {"forwarded": change.forwarded})


consumer = SqsConsumer(handle, payloads=lambda: sandbox.payloads)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
