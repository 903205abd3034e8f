"""marketing_triggers: hub events schedule, cancel or send marketing messages; schedules that come
due send them. One SQS record at a time: a hub event from the bus, or a message a schedule delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bus import HubBatchProcessor, HubBusEvent
from hub.claimcheck import resolve
from hub.domain.marketing_rules import Due, Trigger
from hub.observability import MetricUnit, logger, metrics
from hub.ports import PayloadStore
from hub.services.marketing import MarketingService
from pydantic import BaseModel, ConfigDict, Json


class DueMessage(BaseModel):
    """What a marketing schedule sends to the queue (hub.marketing.rules.Due.to_payload)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    trigger: Trigger
    subject_kind: Literal["order", "checkout"]
    subject_id: str
    basis: str
    channel: str
    due_at: datetime
    customer: str | None = None
    sku: str | None = None


class DueBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    marketing_due: DueMessage

    def due(self) -> Due:
        return Due(**self.marketing_due.model_dump())


class MarketingRecord(SqsRecordModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    body: Json[HubBusEvent | DueBody]  # type: ignore[assignment]


processor = HubBatchProcessor(event_type=EventType.SQS, model=MarketingRecord)


@dataclass(frozen=True)
class _Root:
    marketing: MarketingService
    payloads: PayloadStore


@cache
def _root() -> _Root:
    """Composition root: clients are built on first use, once per sandbox."""
    import boto3
    from hub.adapters.contacts import DynamoContactRegistry
    from hub.adapters.customers import DynamoCustomerStore
    from hub.adapters.dynamodb import DynamoLedger
    from hub.adapters.eventbridge import bus_publisher
    from hub.adapters.lineage import DynamoLineageLog
    from hub.adapters.marketing_channels import MarketingChannels
    from hub.adapters.marketing_store import DynamoMarketingStore, SaltedCustomerKeys
    from hub.adapters.s3 import S3PayloadStore
    from hub.adapters.scheduler import SchedulerSchedules
    from hub.config import load_config
    from hub.secrets import SecretsProvider
    from hub.services.lineage import LineageRecorder
    from hub.settings import marketing_settings, settings

    env, own = settings(), marketing_settings()
    dynamodb = boto3.client("dynamodb")
    secrets = SecretsProvider()
    customers = DynamoCustomerStore(dynamodb, env.table, lambda: secrets.get("CUSTOMER_KEY_SALT"))
    channels = MarketingChannels(secrets, lambda: boto3.client("sesv2"), default_unsubscribe_url=own.unsubscribe_url)
    marketing = MarketingService(
        store=DynamoMarketingStore(dynamodb, env.table),
        schedules=SchedulerSchedules(
            boto3.client("scheduler"),
            own.schedule_group,
            own.queue_arn,
            own.scheduler_role_arn,
            dead_letter_arn=own.schedule_dlq_arn,
        ),
        orders=DynamoLedger(dynamodb, env.table),
        profiles=customers,
        keys=SaltedCustomerKeys(customers),
        publisher=bus_publisher(env),
        config=load_config,
        senders=channels.senders,
        tracker=channels.tracker,
        unsubscribe=channels.unsubscribe,
        registry=DynamoContactRegistry(dynamodb, env.table),
        lineage=LineageRecorder(DynamoLineageLog(dynamodb, env.table)),
    )
    return _Root(marketing, S3PayloadStore(lambda: boto3.client("s3"), env.payload_bucket or ""))


def record_handler(record: MarketingRecord) -> None:
    root = _root()
    body = record.body
    if isinstance(body, DueBody):
        due = body.due()
        logger.append_keys(trigger=due.trigger.value, subject=due.subject_id)
        handled = root.marketing.fire_scheduled(due)
    else:
        event = resolve(body.detail, root.payloads)
        logger.append_keys(event_id=event.event_id, event_type=event.type)
        handled = root.marketing.handle(event)
    metrics.add_metric(name=f"Marketing{handled.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("marketing %s", handled.outcome, extra=handled.detail)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
