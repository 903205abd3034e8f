"""marketing_triggers' environment (set by template.yaml), read when first used and cached."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from hub.errors import SettingsError

__all__ = ["MarketingSettings", "marketing_settings"]


@dataclass(frozen=True, slots=True)
class MarketingSettings:
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
def marketing_settings() -> MarketingSettings:
    return MarketingSettings(
        schedule_group=_required("HUB_MARKETING_SCHEDULE_GROUP"),
        queue_arn=_required("HUB_MARKETING_QUEUE_ARN"),
        scheduler_role_arn=_required("HUB_MARKETING_SCHEDULER_ROLE_ARN"),
        schedule_dlq_arn=_required("HUB_MARKETING_SCHEDULE_DLQ_ARN"),
        unsubscribe_url=os.environ.get("HUB_UNSUBSCRIBE_URL") or None,
    )
