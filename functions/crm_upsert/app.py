"""crm_upsert: customer profiles from order, payment, refund and customer events; the CRM push;
privacy requests. One SQS record at a time, then one CRM push for the customers the batch touched."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.claimcheck import resolve
from hub.observability import MetricUnit, logger, metrics
from hub.ports import PayloadStore
from hub.services.crm import CrmSync
from hub.services.customers import CustomerService

processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord)


@dataclass(frozen=True)
class _Root:
    customers: CustomerService
    crm: CrmSync
    payloads: PayloadStore


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.contacts import DynamoContactRegistry
    from hub.adapters.crm import crm_client
    from hub.adapters.customers import DynamoCustomerStore
    from hub.adapters.eventbridge import bus_publisher
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.order_privacy import DynamoOrderPrivacy
    from hub.adapters.s3 import S3PayloadStore
    from hub.config import load_config
    from hub.secrets import SecretsProvider
    from hub.services.lineage import LineageRecorder
    from hub.settings import settings
    from hub.shredding import data_keys

    env = settings()
    dynamodb = boto3.client("dynamodb")
    secrets = SecretsProvider()
    store = DynamoCustomerStore(dynamodb, env.table, lambda: secrets.get("CUSTOMER_KEY_SALT"))
    payloads = S3PayloadStore(lambda: boto3.client("s3"), env.payload_bucket or "")
    crm = CrmSync(
        store,
        lambda config: crm_client(config, secrets),
        load_config,
        registry=DynamoContactRegistry(dynamodb, env.table),
        lineage=LineageRecorder(DynamoLineageLog(dynamodb, env.table)),
    )
    customers = CustomerService(
        store,
        DynamoOrderPrivacy(dynamodb, env.table),
        bus_publisher(env),
        load_config,
        exports=payloads if env.payload_bucket else None,
        contacts=crm.erase,
        data_keys=data_keys(),
    )
    return _Root(customers, crm, payloads)


def record_handler(record: HubSqsRecord) -> tuple[HubSqsRecord, frozenset[str], str | None]:
    root = _root()
    event = resolve(record.body.detail, root.payloads)
    logger.append_keys(event_id=event.event_id, event_type=event.type)
    handled = root.customers.handle(event)
    metrics.add_metric(name=f"Customer{handled.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("customer event %s", handled.outcome, extra=handled.detail)
    return record, handled.emails, handled.order_id


def push(results: list[tuple]) -> None:
    """Push the customers the batch's records touched; a customer whose push failed fails its records."""
    touched = [result for status, result, _raw in results if status == "success"]
    orders: dict[str, set[str]] = {}
    for _record, emails, order_id in touched:
        for email in emails:
            orders.setdefault(email, set()).update([order_id] if order_id else [])
    failures = _root().crm.push(list(orders), orders=orders)
    if not failures:
        return
    metrics.add_metric(name="CrmPushFailed", unit=MetricUnit.Count, value=len(failures))
    for record, emails, _order_id in touched:
        error = next((failures[e] for e in sorted(emails) if e in failures), None)
        if error is not None:
            processor.failure_handler(record=record, exception=(type(error), error, error.__traceback__))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    with processor(records=event["Records"], handler=record_handler, lambda_context=context):
        push(processor.process())
    return processor.response()
