"""Typed environment settings, read when first used (never at import) and cached."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from hub.errors import SettingsError

__all__ = ["MarketingSettings", "Settings", "marketing_settings", "settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    table: str
    idempotency_table: str
    event_bus: str
    stage: str
    payload_bucket: str | None = None
    data_key_id: str | None = None  # the KMS key that wraps data keys (hub.shredding)


@dataclass(frozen=True, slots=True)
class MarketingSettings:
    """marketing_triggers' own environment."""

    schedule_group: str  # the EventBridge Scheduler group marketing's schedules live in
    queue_arn: str  # where a schedule delivers its message (the marketing queue)
    scheduler_role_arn: str  # the role Scheduler assumes to send to the queue
    schedule_dlq_arn: str  # where Scheduler puts a message it could not deliver (the marketing DLQ)
    unsubscribe_url: str | None  # the hub's GET /unsubscribe (configuration may name another page)


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(f"environment variable {name} is not set (template.yaml sets it in AWS)")
    return value


@cache
def settings() -> Settings:
    return Settings(
        table=_required("HUB_TABLE"),
        idempotency_table=_required("HUB_IDEMPOTENCY_TABLE"),
        event_bus=_required("HUB_EVENT_BUS"),
        stage=os.environ.get("HUB_STAGE", "dev"),
        payload_bucket=os.environ.get("HUB_PAYLOAD_BUCKET") or None,
        data_key_id=os.environ.get("HUB_DATA_KEY_ID") or None,
    )


@cache
def marketing_settings() -> MarketingSettings:
    return MarketingSettings(
        schedule_group=_required("HUB_MARKETING_SCHEDULE_GROUP"),
        queue_arn=_required("HUB_MARKETING_QUEUE_ARN"),
        scheduler_role_arn=_required("HUB_MARKETING_SCHEDULER_ROLE_ARN"),
        schedule_dlq_arn=_required("HUB_MARKETING_SCHEDULE_DLQ_ARN"),
        unsubscribe_url=os.environ.get("HUB_UNSUBSCRIBE_URL") or None,
    )
