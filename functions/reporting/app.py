"""reporting: the daily report's counters, metrics, and purchases and refunds forwarded to GA4 and Meta;
one SQS record at a time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.claimcheck import resolve
from hub.domain.reporting import ORDERS, REFUNDS, REVENUE
from hub.money import format_minor
from hub.observability import MetricUnit, logger, metrics
from hub.ports import PayloadStore
from hub.services.reporting import ReportChange, ReportingService

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@dataclass(frozen=True)
class _Root:
    reporting: ReportingService
    payloads: PayloadStore


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.analytics import analytics_sinks
    from hub.adapters.customers import DynamoCustomerStore
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.report_store import DynamoReportStore
    from hub.adapters.s3 import S3PayloadStore
    from hub.config import AnalyticsConfig, load_config
    from hub.secrets import SecretsProvider
    from hub.services.analytics import AnalyticsForwarder
    from hub.services.lineage import LineageRecorder
    from hub.settings import settings

    env = settings()
    dynamodb = boto3.client("dynamodb")
    store = DynamoReportStore(dynamodb, env.table)
    secrets = SecretsProvider()
    # Customers are keyed with the erasure key's salt, so reports and marketing share one pseudonym.
    keys = DynamoCustomerStore(dynamodb, env.table, lambda: secrets.get("CUSTOMER_KEY_SALT"))
    built: list[tuple[AnalyticsConfig, list]] = []

    def configured_sinks() -> list:
        # Rebuilt only when the analytics section changes (the document is re-read every few minutes).
        analytics = load_config().analytics
        if not built or built[0][0] != analytics:
            built[:] = [(analytics, analytics_sinks(analytics, secrets))]
        return built[0][1]

    return _Root(
        ReportingService(
            store,
            load_config,
            AnalyticsForwarder(store, configured_sinks, LineageRecorder(DynamoLineageLog(dynamodb, env.table))),
            salt=keys.salt,
        ),
        S3PayloadStore(lambda: boto3.client("s3"), env.payload_bucket or ""),
    )


def _publish(change: ReportChange) -> None:
    """Orders, revenue and refunds move exactly as the report does (a cancellation moves them back)."""
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
            with single_metric(
                name=name.capitalize(),
                unit=MetricUnit.NoUnit,
                value=value,
                default_dimensions=metrics.default_dimensions,
            ) as metric:
                metric.add_dimension(name="currency", value=currency)
    for destination in change.forwarded:
        metrics.add_metric(name=f"Forwarded{destination.capitalize()}", unit=MetricUnit.Count, value=1)


def record_handler(record: HubSqsRecord) -> None:
    root = _root()
    event = resolve(record.body.detail, root.payloads)
    logger.append_keys(event_id=event.event_id, event_type=event.type)
    change = root.reporting.handle(event)
    _publish(change)
    logger.info("report %s", change.outcome, extra={"forwarded": change.forwarded})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    result = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    failures = len(result.get("batchItemFailures", []))
    if failures:
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failures)
    return result
