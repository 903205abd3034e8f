"""Marketing's delayed messages (and social posts held back by quiet hours) as EventBridge Scheduler one-time schedules (`hub.ports.Schedules`).

Each is `at(...)` in UTC in the marketing schedule group, deletes itself after it fires
(ActionAfterCompletion DELETE), and sends its Due, as JSON, to the marketing queue through the role
Scheduler assumes. The name is the message's own (`Due.schedule_name`), so creating it twice is a
ConflictException, taken as "already there".

Scheduler retries a failed delivery for up to a day (RetryPolicy) and then, without a dead-letter
queue, drops the message. Every schedule therefore names one (`DeadLetterConfig`, the marketing DLQ,
which the execution role may send to): the message lands there with Scheduler's error attributes,
raises the DLQ's alarm, and a redrive delivers it to the marketing queue as the schedule would have.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.domain.marketing_rules import Due
from hub.domain.social import SocialDue
from hub.errors import ScheduleError

__all__ = ["SchedulerSchedules"]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class SchedulerSchedules:
    def __init__(self, client: Any, group: str, target_arn: str, role_arn: str, *, dead_letter_arn: str) -> None:
        self._client = client
        self._group = group
        self._target = target_arn
        self._role = role_arn
        self._dead_letter = dead_letter_arn

    def create(self, due: Due, at: datetime) -> bool:
        return self._create(due.schedule_name, f"marketing {due.trigger.value} ({due.basis})", due.to_payload(), at)

    def create_social(self, due: SocialDue, at: datetime) -> bool:
        """A social post held back by quiet hours (hub.ports.SocialSchedules): the same group, queue and DLQ."""
        return self._create(due.schedule_name, f"social {due.trigger.value} after quiet hours", due.to_payload(), at)

    def _create(self, name: str, description: str, payload: dict[str, Any], at: datetime) -> bool:
        when = at.astimezone(UTC).replace(microsecond=0)
        try:
            self._client.create_schedule(
                Name=name,
                GroupName=self._group,
                Description=description,
                ScheduleExpression=f"at({when:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
                Target={
                    "Arn": self._target,
                    "RoleArn": self._role,
                    "Input": json.dumps(payload, sort_keys=True),
                    # Scheduler retries a failed send to the queue for up to a day.
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                    # ... and then hands it to the dead-letter queue instead of dropping it.
                    "DeadLetterConfig": {"Arn": self._dead_letter},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConflictException":
                return False
            raise ScheduleError(f"could not create schedule {name}: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise ScheduleError(f"could not create schedule {name}: {exc}") from exc
        return True

    def delete(self, name: str) -> bool:
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise ScheduleError(f"could not delete schedule {name}: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise ScheduleError(f"could not delete schedule {name}: {exc}") from exc
        return True
