"""Schedules created at run time: EventBridge Scheduler one-time schedules, fired by the runner.

Functions create schedules through the Scheduler API (marketing's delayed messages, for one). The
emulator keeps them but never fires them, so a poller lists them every second and, once an at()
time has passed, delivers the target's Input to the target as Scheduler does (an SQS queue:
SendMessage, with SqsParameters.MessageGroupId for FIFO), then mirrors ActionAfterCompletion:
DELETE removes the schedule, NONE leaves it in place, completed, never fired again. Only at()
schedules with SQS targets are fired; any other is reported once and left alone. A delivery that
fails is tried again on the next round (Scheduler retries too) until the target's RetryPolicy is
spent (MaximumRetryAttempts, or MaximumEventAgeInSeconds since the due time; Scheduler's defaults
when unset); then, as Scheduler does, the Input goes to the target's DeadLetterConfig queue with
Scheduler's error attributes (ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS,
SCHEDULE_ARN, TARGET_ARN), or, with no dead-letter queue, is dropped and reported. Unlike Scheduler,
retries come once a round (a second), not with exponential backoff, so an attempts limit is reached
sooner here.

Listing every schedule each round would cost in proportion to every schedule kept (marketing keeps
two per order for days). Given `changes` (the emulator's schedule journal, see schedule_journal),
the poller lists them all at its first round only, or when the journal no longer holds what it
needs, and otherwise reads again just the schedules changed since its last round; what it knows of
the others (their due times, targets and versions) it keeps.

To make time pass in tests, `fire_due(now)` fires at once every schedule due at `now`
(LocalStack.fire_due_schedules, or `POST /_local/scheduler/fire-due?now=<ISO time>`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .console import Console
from .schedules import At, ScheduleError, parse_expression

__all__ = ["OneTimeSchedule", "SchedulePoller"]

_INTERVAL_SECONDS = 1.0
# Scheduler's RetryPolicy when a target sets none.
_DEFAULT_RETRY_ATTEMPTS = 185
_DEFAULT_EVENT_AGE_SECONDS = 86400


@dataclass(frozen=True)
class OneTimeSchedule:
    group: str
    name: str
    due: datetime  # aware, UTC
    target_arn: str
    input: str
    delete_after: bool
    message_group: str | None = None
    dead_letter_arn: str | None = None
    max_retries: int = _DEFAULT_RETRY_ATTEMPTS
    max_age: timedelta = timedelta(seconds=_DEFAULT_EVENT_AGE_SECONDS)
    account: str = ""
    region: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:scheduler:{self.region}:{self.account}:schedule/{self.group}/{self.name}"


def _due(expression_text: str, timezone: str | None) -> datetime | None:
    """The UTC time of an at() expression; None for rate() and cron() (not fired here)."""
    expression = parse_expression(expression_text)
    if not isinstance(expression, At):
        return None
    try:
        zone = UTC if timezone in (None, "", "UTC") else ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {timezone!r}") from exc
    return expression.when.replace(tzinfo=zone).astimezone(UTC)


class SchedulePoller:
    """Fires the emulator's due one-time schedules; `fire_due` does one round, the thread one a second."""

    def __init__(
        self,
        scheduler: Any,
        sqs: Any,
        console: Console,
        *,
        interval: float = _INTERVAL_SECONDS,
        clock: Callable[[], datetime] | None = None,
        changes: Callable[[int | None], Mapping[str, Any]] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.sqs = sqs
        self.console = console
        self.interval = interval
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # one round at a time: a schedule never fires twice
        self._changes = changes
        self._seen: int | None = None  # the journal's last change already read; None: list everything
        # Every schedule known, with its version (LastModificationDate) and what it is (None: not fired here).
        self._details: dict[tuple[str, str], tuple[Any, OneTimeSchedule | None]] = {}
        self._completed: set[tuple[str, str, Any]] = set()
        self._reported: set[tuple[str, str]] = set()
        self._queue_urls: dict[str, str] = {}
        self._failed: dict[tuple[str, str], int] = {}  # deliveries tried and failed, per schedule
        self.dead_lettered = 0
        self.fired = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="runtime-schedules", daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> dict[str, Any]:
        return {"running": self.running, "fired": self.fired}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.fire_due()
            except Exception as exc:
                if not self._stop.is_set():
                    self.console.warning(f"firing run-time schedules failed: {exc}")

    # ------------------------------------------------------------------ one round
    def fire_due(self, now: datetime | None = None) -> list[str]:
        """Fire every one-time schedule due at `now` (default: the clock); returns their names."""
        moment = (now or self._clock()).astimezone(UTC)
        fired = []
        with self._lock:
            for version, schedule in self._current():
                if schedule is None or schedule.due > moment:
                    continue
                completed = (schedule.group, schedule.name, version)
                if completed in self._completed:
                    continue
                delivered = True
                try:
                    self._send(schedule.target_arn, schedule.input, schedule.message_group)
                except Exception as exc:
                    if not self._failed_delivery(schedule, moment, exc):
                        continue
                    delivered = False  # dead-lettered or dropped: completed all the same
                self._failed.pop((schedule.group, schedule.name), None)
                if schedule.delete_after:
                    self._delete(schedule)
                else:
                    self._completed.add(completed)
                if delivered:
                    self.fired += 1
                    fired.append(schedule.name)
        return fired

    def _current(self) -> list[tuple[Any, OneTimeSchedule | None]]:
        """Every schedule there is now, with its version: from the journal's changes when it has
        them all, else by listing every schedule."""
        if self._changes is not None and self._seen is not None:
            journal = self._changes(self._seen)
            if journal.get("complete"):
                for change in journal["changes"]:
                    self._reread((change["group"], change["name"]))
                self._seen = int(journal["last"])
                return list(self._details.values())
        # The journal's position is taken before listing: a change made during the listing is read
        # again next round, never missed.
        seen = int(self._changes(None)["last"]) if self._changes is not None else None
        summaries = self._list()
        listed = {(summary.get("GroupName") or "default", summary["Name"]) for summary in summaries}
        current = [(summary.get("LastModificationDate"), self._schedule(summary)) for summary in summaries]
        for gone in set(self._details) - listed:
            del self._details[gone]
        self._seen = seen
        return current

    def _reread(self, key: tuple[str, str]) -> None:
        try:
            detail = self.scheduler.get_schedule(GroupName=key[0], Name=key[1])
        except self.scheduler.exceptions.ResourceNotFoundException:
            self._details.pop(key, None)  # deleted
            return
        self._details[key] = (detail.get("LastModificationDate"), self._one_time(key, detail))

    def _list(self) -> list[dict[str, Any]]:
        summaries, token = [], None
        while True:
            page = self.scheduler.list_schedules(State="ENABLED", **({"NextToken": token} if token else {}))
            summaries.extend(page.get("Schedules", []))
            token = page.get("NextToken")
            if not token:
                return summaries

    def _schedule(self, summary: dict[str, Any]) -> OneTimeSchedule | None:
        """The schedule's details, read once per version of it (LastModificationDate)."""
        key = (summary.get("GroupName") or "default", summary["Name"])
        version = summary.get("LastModificationDate")
        cached = self._details.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            detail = self.scheduler.get_schedule(GroupName=key[0], Name=key[1])
        except self.scheduler.exceptions.ResourceNotFoundException:
            return None  # deleted since it was listed (its owner cancelled it)
        schedule = self._one_time(key, detail)
        self._details[key] = (version, schedule)
        return schedule

    def _one_time(self, key: tuple[str, str], detail: dict[str, Any]) -> OneTimeSchedule | None:
        target = detail.get("Target") or {}
        arn = str(target.get("Arn", ""))
        try:
            due = _due(detail.get("ScheduleExpression", ""), detail.get("ScheduleExpressionTimezone"))
        except ScheduleError as exc:
            self._report(key, str(exc))
            return None
        if due is None:
            self._report(key, "only one-time at() schedules are fired for schedules created at run time")
            return None
        if not arn.startswith("arn:aws:sqs:"):
            self._report(key, f"its target {arn or '(none)'} is not an SQS queue; not fired locally")
            return None
        retry = target.get("RetryPolicy") or {}
        _, _, _service, region, account, _name = arn.split(":", 5)
        return OneTimeSchedule(
            group=key[0],
            name=key[1],
            due=due,
            target_arn=arn,
            input=str(target.get("Input") or ""),
            delete_after=detail.get("ActionAfterCompletion") == "DELETE",
            message_group=(target.get("SqsParameters") or {}).get("MessageGroupId"),
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn") or None,
            max_retries=int(retry.get("MaximumRetryAttempts", _DEFAULT_RETRY_ATTEMPTS)),
            max_age=timedelta(seconds=int(retry.get("MaximumEventAgeInSeconds", _DEFAULT_EVENT_AGE_SECONDS))),
            account=account,
            region=region,
        )

    def _report(self, key: tuple[str, str], why: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.console.warning(f"schedule {key[0]}/{key[1]}: {why}")

    def _failed_delivery(self, schedule: OneTimeSchedule, moment: datetime, exc: Exception) -> bool:
        """Count a failed delivery; True once the retry policy is spent and the message has left
        (dead-lettered, or dropped without a dead-letter queue), False while it is tried again."""
        key = (schedule.group, schedule.name)
        tries = self._failed.get(key, 0) + 1
        self._failed[key] = tries
        retries = tries - 1
        if retries >= schedule.max_retries:
            condition = "MaximumRetryAttemptsExhausted"
        elif moment - schedule.due >= schedule.max_age:
            condition = "MaximumEventAgeExhausted"
        else:
            self.console.warning(f"schedule {schedule.name}: delivering to its target failed: {exc}")
            return False
        if schedule.dead_letter_arn is None:
            self.console.warning(
                f"schedule {schedule.name}: delivery failed after {retries} retries ({exc}); "
                "dropped, as Scheduler drops it without a DeadLetterConfig"
            )
            return True
        attributes = {
            "ERROR_CODE": "SQSTargetDeliveryFailure",
            "ERROR_MESSAGE": str(exc)[:256] or type(exc).__name__,
            "EXHAUSTED_RETRY_CONDITION": condition,
            "RETRY_ATTEMPTS": str(retries),
            "SCHEDULE_ARN": schedule.arn,
            "TARGET_ARN": schedule.target_arn,
        }
        try:
            self._send(schedule.dead_letter_arn, schedule.input, None, attributes)
        except Exception as dlq_exc:
            self.console.warning(f"schedule {schedule.name}: its dead-letter queue refused it too: {dlq_exc}")
            return False
        self.dead_lettered += 1
        self.console.warning(
            f"schedule {schedule.name}: delivery failed after {retries} retries; sent to its dead-letter queue"
        )
        return True

    def _send(
        self, queue_arn: str, body: str, message_group: str | None, attributes: dict[str, str] | None = None
    ) -> None:
        _, _, _service, _region, account, name = queue_arn.split(":", 5)
        if name not in self._queue_urls:
            self._queue_urls[name] = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        extra: dict[str, Any] = {"MessageGroupId": message_group} if message_group else {}
        if attributes:
            extra["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        self.sqs.send_message(QueueUrl=self._queue_urls[name], MessageBody=body, **extra)

    def _delete(self, schedule: OneTimeSchedule) -> None:
        # Its owner may have deleted it meanwhile.
        with contextlib.suppress(self.scheduler.exceptions.ResourceNotFoundException):
            self.scheduler.delete_schedule(GroupName=schedule.group, Name=schedule.name)
        self._details.pop((schedule.group, schedule.name), None)
