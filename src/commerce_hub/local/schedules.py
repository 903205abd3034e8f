"""Schedules: EventBridge schedule rules and EventBridge Scheduler schedules, fired on time.

The emulator creates neither kind (nor would it fire them), so the runner reads each
AWS::Events::Rule with a ScheduleExpression and each AWS::Scheduler::Schedule from the translated
template and invokes the target function itself, with the event EventBridge sends (or the target's
Input when the template sets one).

Expressions follow AWS: rate(1 minute | N minutes | hour(s) | day(s)), the six-field
cron(minutes hours day-of-month month day-of-week year) with *, ?, numbers, names, ranges, lists
and steps, and at(yyyy-mm-ddThh:mm:ss) for one-time schedules. L, W and # are valid in AWS but not
supported here; they fail loudly instead of firing at the wrong time. A failed scheduled invocation
is reported on the console and not retried (AWS would retry an asynchronous invocation twice).
"""

from __future__ import annotations

import calendar
import heapq
import json
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .console import Console
from .errors import LocalStackError
from .intrinsics import Resolver
from .template import SamTemplate

__all__ = [
    "At",
    "Cron",
    "Rate",
    "ScheduleError",
    "ScheduleSpec",
    "Scheduler",
    "next_fire",
    "parse_expression",
    "scheduled_event",
    "schedules_of",
]


class ScheduleError(LocalStackError):
    """A schedule expression that is invalid, or valid in AWS but not supported locally."""


# ------------------------------------------------------------------ expressions
@dataclass(frozen=True)
class Rate:
    period: timedelta


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: '?'
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday, as in AWS; None: '?'
    years: frozenset[int]


@dataclass(frozen=True)
class At:
    when: datetime  # naive, in the schedule's time zone


_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    # name, low, high, names
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {k.upper(): v for k, v in _MONTHS.items()}),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)


def parse_expression(text: str) -> Rate | Cron | At:
    """Parse an AWS schedule expression; ScheduleError says what is wrong or unsupported."""
    expression = text.strip()
    if expression.startswith("rate("):
        return _parse_rate(expression)
    if expression.startswith("cron(") and expression.endswith(")"):
        return _parse_cron(expression)
    if expression.startswith("at(") and expression.endswith(")"):
        try:
            return At(datetime.strptime(expression[3:-1].strip(), "%Y-%m-%dT%H:%M:%S"))
        except ValueError as exc:
            raise ScheduleError(f"{text}: at() needs yyyy-mm-ddThh:mm:ss") from exc
    raise ScheduleError(f"{text!r} is not a rate(), cron() or at() expression")


def _parse_rate(text: str) -> Rate:
    match = _RATE.match(text)
    if not match:
        raise ScheduleError(f"{text}: expected rate(N minute|minutes|hour|hours|day|days)")
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in _UNITS:
        raise ScheduleError(f"{text}: the unit must be minute(s), hour(s) or day(s)")
    if value < 1:
        raise ScheduleError(f"{text}: the value must be a positive whole number")
    # AWS rejects "rate(1 minutes)" and "rate(5 minute)"; so does the local stack.
    if (value == 1) != (unit == singular):
        raise ScheduleError(f"{text}: use '{singular}' with 1 and '{singular}s' with more than 1")
    return Rate(timedelta(seconds=value * _UNITS[singular]))


def _parse_cron(text: str) -> Cron:
    fields = text[5:-1].split()
    if len(fields) != 6:
        raise ScheduleError(f"{text}: AWS cron has six fields: minutes hours day-of-month month day-of-week year")
    values: list[frozenset[int] | None] = []
    for raw, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        values.append(_parse_field(text, raw, name, low, high, names))
    minutes, hours, dom, months, dow, years = values
    if (dom is None) == (dow is None):
        raise ScheduleError(f"{text}: exactly one of day-of-month and day-of-week must be '?'")
    assert minutes is not None and hours is not None and months is not None and years is not None
    return Cron(minutes, hours, dom, months, dow, years)


def _parse_field(text: str, raw: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    if raw == "?":
        if name not in ("day-of-month", "day-of-week"):
            raise ScheduleError(f"{text}: '?' is only allowed in day-of-month and day-of-week")
        return None
    allowed: set[int] = set()
    for part in raw.split(","):
        allowed.update(_parse_part(text, part, name, low, high, names))
    return frozenset(allowed)


def _parse_part(text: str, part: str, name: str, low: int, high: int, names: dict[str, int]) -> range:
    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            if re.search(r"[LW#]", token):
                raise ScheduleError(f"{text}: '{token}' in {name} (L, W or #) is not supported by the local stack")
            raise ScheduleError(f"{text}: '{token}' is not a valid {name}")
        value = int(token)
        if not low <= value <= high:
            raise ScheduleError(f"{text}: {name} {value} is outside {low}-{high}")
        return value

    base, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) < 1:
            raise ScheduleError(f"{text}: '/{step_text}' in {name} needs a positive step")
        step = int(step_text)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, last = base.split("-", 1)
        start, end = number(first), number(last)
        if start > end:
            raise ScheduleError(f"{text}: the range {base} in {name} runs backwards")
    else:
        start = number(base)
        end = high if step_text else start
    return range(start, end + 1, step)


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 0 in Python, 2 in AWS


def next_fire(expression: Rate | Cron | At, after: datetime, timezone: str = "UTC") -> datetime | None:
    """The first time strictly after `after` (aware) the expression fires, in UTC; None if never."""
    zone = _zone(timezone)
    if isinstance(expression, Rate):
        return (after + expression.period).astimezone(UTC)
    if isinstance(expression, At):
        when = expression.when.replace(tzinfo=zone)
        return when.astimezone(UTC) if when > after else None
    local = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = local.date()
    while day.year <= 2199:
        if day.year not in expression.years or day.month not in expression.months:
            # Jump to the first day of the next month.
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            continue
        day_ok = (
            day.day in expression.days_of_month
            if expression.days_of_month is not None
            else _aws_weekday(day) in (expression.days_of_week or ())
        )
        if day_ok:
            for hour in sorted(expression.hours):
                for minute in sorted(expression.minutes):
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if candidate >= local:
                        return candidate.astimezone(UTC)
        day += timedelta(days=1)
    return None


def _zone(name: str) -> Any:
    if name in ("UTC", "", None):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r}") from exc


# ------------------------------------------------------------------ template
@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule of the template, resolved."""

    logical_id: str
    name: str
    arn: str
    kind: str  # "rule" or "scheduler"
    expression_text: str
    expression: Rate | Cron | At
    timezone: str
    function: str  # logical id of the target function
    input: Any = None  # the target's Input (parsed JSON), if set
    enabled: bool = True


def _target_input(raw: Any, where: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise ScheduleError(f"{where}: the target's Input must be JSON") from exc


def schedules_of(template: SamTemplate, resolver: Resolver) -> tuple[list[ScheduleSpec], list[str]]:
    """Every schedule that targets a function, and warnings for targets not served locally."""
    specs, warnings = [], []
    for logical_id, resource in template.schedule_rules().items():
        properties = resolver.resolve(resource.get("Properties", {}))
        raw_properties = resource.get("Properties", {})
        for target, raw_target in zip(properties.get("Targets", []), raw_properties.get("Targets", []), strict=False):
            function = template.function_of(raw_target.get("Arn"))
            if function is None:
                warnings.append(f"{logical_id}: target {target.get('Id')} is not a function; not fired locally")
                continue
            expression_text = properties["ScheduleExpression"]
            specs.append(
                ScheduleSpec(
                    logical_id=logical_id,
                    name=str(resolver.ref(logical_id)),
                    arn=resolver.resolve_string({"Fn::GetAtt": [logical_id, "Arn"]}, f"{logical_id} Arn"),
                    kind="rule",
                    expression_text=expression_text,
                    expression=_parse_for(logical_id, expression_text),
                    timezone="UTC",
                    function=function,
                    input=_target_input(target.get("Input"), logical_id),
                    enabled=properties.get("State", "ENABLED") == "ENABLED",
                )
            )
    for logical_id, resource in template.of_type("AWS::Scheduler::Schedule").items():
        properties = resolver.resolve(resource.get("Properties", {}))
        raw_target = resource.get("Properties", {}).get("Target", {})
        function = template.function_of(raw_target.get("Arn"))
        if function is None:
            warnings.append(f"{logical_id}: the schedule's target is not a function; not fired locally")
            continue
        expression_text = properties["ScheduleExpression"]
        specs.append(
            ScheduleSpec(
                logical_id=logical_id,
                name=str(resolver.ref(logical_id)),
                arn=resolver.resolve_string({"Fn::GetAtt": [logical_id, "Arn"]}, f"{logical_id} Arn"),
                kind="scheduler",
                expression_text=expression_text,
                expression=_parse_for(logical_id, expression_text),
                timezone=properties.get("ScheduleExpressionTimezone", "UTC"),
                function=function,
                input=_target_input(properties.get("Target", {}).get("Input"), logical_id),
                enabled=properties.get("State", "ENABLED") == "ENABLED",
            )
        )
    return specs, warnings


def _parse_for(logical_id: str, text: str) -> Rate | Cron | At:
    try:
        return parse_expression(text)
    except ScheduleError as exc:
        raise ScheduleError(f"{logical_id}: {exc}") from exc


def scheduled_event(spec: ScheduleSpec, when: datetime, *, account_id: str, region: str) -> Any:
    """What EventBridge delivers to the target: the target's Input if set, else a Scheduled Event."""
    if spec.input is not None:
        return spec.input
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events" if spec.kind == "rule" else "aws.scheduler",
        "account": account_id,
        "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [spec.arn],
        "detail": {},
    }


# ------------------------------------------------------------------ running
class Scheduler:
    """Fires every enabled schedule on time, each firing on its own thread."""

    def __init__(
        self,
        schedules: list[ScheduleSpec],
        fire: Callable[[ScheduleSpec, datetime], None],
        console: Console,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.schedules = schedules
        self._fire = fire
        self.console = console
        self._clock = clock or (lambda: datetime.now(UTC))
        self._next: dict[str, datetime | None] = {}
        self._wake = threading.Condition()
        self._stopping = False
        self._executor = ThreadPoolExecutor(max(1, min(4, len(schedules))), thread_name_prefix="schedule")
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        now = self._clock()
        for spec in self.schedules:
            if not spec.enabled:
                continue
            when = next_fire(spec.expression, now, spec.timezone)
            self._next[spec.logical_id] = when
            if when is None:
                self.console.warning(f"schedule {spec.logical_id} ({spec.expression_text}) will not fire again")
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def status(self) -> list[dict[str, Any]]:
        result = []
        for spec in self.schedules:
            when = self._next.get(spec.logical_id)
            result.append(
                {
                    "name": spec.logical_id,
                    "expression": spec.expression_text,
                    "function": spec.function,
                    "enabled": spec.enabled,
                    "next": when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None,
                }
            )
        return result

    def _run(self) -> None:
        by_id = {spec.logical_id: spec for spec in self.schedules}
        while True:
            with self._wake:
                if self._stopping:
                    return
                pending = [(when, lid) for lid, when in self._next.items() if when is not None]
                heapq.heapify(pending)
                now = self._clock()
                if not pending or pending[0][0] > now:
                    delay = (pending[0][0] - now).total_seconds() if pending else 60.0
                    self._wake.wait(timeout=min(max(delay, 0.01), 60.0))
                    continue
                when, logical_id = pending[0]
                spec = by_id[logical_id]
                # From now, not from the due time: after a laptop sleeps, missed firings are not replayed.
                self._next[logical_id] = next_fire(spec.expression, max(when, now), spec.timezone)
            try:
                self._executor.submit(self._fire, spec, when)
            except RuntimeError:
                return  # shutting down
