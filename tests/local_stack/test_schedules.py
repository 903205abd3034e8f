"""Schedule expressions parse as AWS parses them, and fire when AWS would fire them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from commerce_hub.local.schedules import (
    At,
    Cron,
    Rate,
    ScheduleError,
    next_fire,
    parse_expression,
    scheduled_event,
    schedules_of,
)
from commerce_hub.local.template import SamTemplate

from .conftest import make_resolver

T0 = datetime(2026, 3, 4, 10, 17, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_rates(text: str, period: timedelta) -> None:
    expression = parse_expression(text)
    assert expression == Rate(period)
    assert next_fire(expression, T0) == T0 + period


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", T0, datetime(2026, 3, 4, 12, 0, tzinfo=UTC)),
        ("cron(0 9 * * ? *)", T0, datetime(2026, 3, 5, 9, 0, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", T0, datetime(2026, 3, 4, 10, 30, tzinfo=UTC)),
        ("cron(*/20 * * * ? *)", T0, datetime(2026, 3, 4, 10, 20, tzinfo=UTC)),
        ("cron(5,10,40 10 * * ? *)", T0, datetime(2026, 3, 4, 10, 40, tzinfo=UTC)),
        ("cron(0 8 ? * MON-FRI *)", T0, datetime(2026, 3, 5, 8, 0, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", T0, datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),  # 1 is Sunday in AWS
        ("cron(0 8 ? * SAT,SUN *)", T0, datetime(2026, 3, 7, 8, 0, tzinfo=UTC)),
        ("cron(30 2 1 * ? *)", T0, datetime(2026, 4, 1, 2, 30, tzinfo=UTC)),
        ("cron(0 0 29 FEB ? *)", T0, datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
        ("cron(0 0 1 JAN ? 2027-2030)", T0, datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
        ("cron(0 0 1 1 ? 2020)", T0, None),
        ("cron(17 10 * * ? *)", T0, datetime(2026, 3, 5, 10, 17, tzinfo=UTC)),  # strictly after
        ("cron(0-5/2 11 * * ? *)", T0, datetime(2026, 3, 4, 11, 0, tzinfo=UTC)),
    ],
)
def test_cron_next_fire(text: str, after: datetime, expected: datetime | None) -> None:
    assert isinstance(parse_expression(text), Cron)
    assert next_fire(parse_expression(text), after) == expected


def test_cron_in_a_time_zone() -> None:
    # 03:00 in Paris is 02:00 UTC in winter.
    assert next_fire(parse_expression("cron(0 3 * * ? *)"), T0, "Europe/Paris") == datetime(
        2026, 3, 5, 2, 0, tzinfo=UTC
    )


def test_at_fires_once() -> None:
    expression = parse_expression("at(2026-03-04T11:00:00)")
    assert expression == At(datetime(2026, 3, 4, 11, 0))
    assert next_fire(expression, T0) == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert next_fire(expression, datetime(2026, 3, 4, 11, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate(5 minute)", "use 'minute' with 1 and 'minutes' with more than 1"),
        ("rate(1 minutes)", "use 'minute' with 1"),
        ("rate(0 minutes)", "positive"),
        ("rate(2 weeks)", "minute"),
        ("cron(0 12 * * *)", "six fields"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 L * ? *)", "not supported by the local stack"),
        ("cron(0 12 15W * ? *)", "not supported by the local stack"),
        ("cron(0 12 ? * 6#3 *)", "not supported by the local stack"),
        ("cron(60 12 * * ? *)", "outside 0-59"),
        ("cron(0 12 * 13 ? *)", "outside 1-12"),
        ("cron(0 5-2 * * ? *)", "runs backwards"),
        ("cron(0 ? * * ? *)", "only allowed in day-of-month and day-of-week"),
        ("at(tomorrow)", "yyyy-mm-ddThh:mm:ss"),
        ("every 5 minutes", "not a rate(), cron() or at() expression"),
    ],
)
def test_invalid_or_unsupported_expressions_fail_clearly(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_expression(text)


def test_the_template_schedule_fires_an_eventbridge_scheduled_event(template: SamTemplate) -> None:
    specs, warnings = schedules_of(template, make_resolver(template))
    assert warnings == []
    (spec,) = [s for s in specs if s.function == "QueueHealthFunction"]
    assert spec.kind == "rule" and spec.enabled
    assert spec.expression == Rate(timedelta(minutes=1))
    event = scheduled_event(spec, T0, account_id="123456789012", region="us-east-1")
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-03-04T10:17:30Z"
    assert event["resources"] == [spec.arn]
    assert spec.arn.startswith("arn:aws:events:us-east-1:123456789012:rule/")
    assert event["detail"] == {}
    EventBridgeModel.model_validate(event)


def test_a_target_input_replaces_the_event(template: SamTemplate) -> None:
    specs, _ = schedules_of(template, make_resolver(template))
    spec = specs[0]
    with_input = type(spec)(**{**spec.__dict__, "input": {"report": "daily"}})
    assert scheduled_event(with_input, T0, account_id="1", region="us-east-1") == {"report": "daily"}
