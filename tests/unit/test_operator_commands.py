"""The pieces of `commerce-hub dlq` and `commerce-hub replay` that need no AWS: times, rule
matching, short names, which stack a command talks to, and the AWS redrive by move task."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub.adapters.sqs_queues import SqsQueues
from hub.domain.deadletters import DeadLetterQueue, short_name
from hub.services.deadletters import DeadLetters

from commerce_hub.replay import ReplayError, _detail_types, _matches, parse_time
from commerce_hub.target import TargetError, add_target_arguments, target_from

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("2h", NOW - timedelta(hours=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1d", NOW - timedelta(days=1)),
        ("2026-12-05T10:00:00Z", datetime(2026, 12, 5, 10, tzinfo=UTC)),
        ("2026-12-05 10:00", datetime(2026, 12, 5, 10, tzinfo=UTC)),
        ("2026-12-05T11:00:00+01:00", datetime(2026, 12, 5, 10, tzinfo=UTC)),
        ("2026-12-05", datetime(2026, 12, 5, tzinfo=UTC)),
    ],
)
def test_times_are_iso_8601_in_utc_now_or_an_age(text, expected):
    assert parse_time(text, NOW) == expected


def test_a_time_that_is_none_of_those_is_refused_by_name():
    with pytest.raises(ReplayError, match="'yesterday' is not a time"):
        parse_time("yesterday", NOW)


# The routing rule of template.yaml (RoutingRule): detail-types in `$or` branches.
ROUTING = {
    "source": [{"prefix": "commerce-hub."}],
    "$or": [
        {"detail-type": ["OrderFulfilled", "FulfilmentShipped", "ShipmentTracked"]},
        {"detail-type": ["OrderStatusChanged"], "detail": {"data": {"status": ["paid"]}}},
    ],
}


@pytest.mark.parametrize(
    ("pattern", "detail_type", "routes"),
    [
        (ROUTING, "ShipmentTracked", True),
        (ROUTING, "OrderStatusChanged", True),
        (ROUTING, "OrderPlaced", False),
        ({"detail-type": ["OrderPlaced", "StockLevelReported"]}, "OrderPlaced", True),
        ({"detail-type": [{"prefix": "Order"}]}, "OrderPaid", True),
        ({"source": ["commerce-hub.shopify"]}, "Anything", True),  # no detail-type: every type
    ],
)
def test_a_rule_routes_a_type_when_any_branch_names_it(pattern, detail_type, routes):
    assert any(_matches(types, detail_type) for types in _detail_types(pattern)) is routes


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("commerce-hub-crm-dlq-dev", "crm"),
        ("commerce-hub-resource-fetch-dlq-prod", "resource-fetch"),
        ("commerce-hub-stock-dlq", "stock"),
        ("mini-work-dlq-dev", "mini-work"),
        ("orders", "orders"),
    ],
)
def test_short_names_drop_the_project_prefix_and_the_dlq_suffix(name, short):
    assert short_name(name) == short


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    return parser.parse_args(argv)


def test_by_default_the_local_stack_on_hub_aws_port(tmp_path: Path):
    target = target_from(parse(), root=tmp_path, environ={"HUB_AWS_PORT": "4999"})
    assert target.local and target.endpoint_url == "http://127.0.0.1:4999"
    assert target.stack_name == "commerce-hub-local"


def test_a_deployed_stack_takes_its_name_and_region_from_samconfig_when_not_given(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "commerce-hub-dev"\nregion = "eu-west-1"\n'
        '[prod.deploy.parameters]\nstack_name = "commerce-hub-prod"\nregion = "us-east-2"\n'
    )
    target = target_from(parse("--stack-name"), root=tmp_path, environ={})
    assert not target.local and target.endpoint_url is None
    assert (target.stack_name, target.session.region_name) == ("commerce-hub-dev", "eu-west-1")

    target = target_from(parse("--stack-name", "--config-env", "prod"), root=tmp_path, environ={})
    assert (target.stack_name, target.session.region_name) == ("commerce-hub-prod", "us-east-2")

    target = target_from(parse("--stack-name", "shop-hub", "--region", "ap-south-1"), root=tmp_path, environ={})
    assert (target.stack_name, target.session.region_name) == ("shop-hub", "ap-south-1")


def test_profile_or_region_without_a_stack_name_is_refused(tmp_path: Path):
    with pytest.raises(TargetError, match="pass --stack-name"):
        target_from(parse("--region", "eu-west-1"), root=tmp_path, environ={})


class MoveTaskSqs:
    """What SQS's StartMessageMoveTask is asked (a fake: moto has no move tasks)."""

    def __init__(self) -> None:
        self.tasks: list[dict] = []

    def start_message_move_task(self, **request) -> dict:
        self.tasks.append(request)
        return {"TaskHandle": "task-1"}


def test_in_aws_a_whole_queue_is_redriven_by_a_move_task_to_its_source():
    sqs = MoveTaskSqs()
    crm = DeadLetterQueue(
        short="crm",
        name="commerce-hub-crm-dlq-dev",
        url="https://sqs.us-east-1.amazonaws.com/123456789012/commerce-hub-crm-dlq-dev",
        arn="arn:aws:sqs:us-east-1:123456789012:commerce-hub-crm-dlq-dev",
        logical_id="CrmDeadLetterQueue",
        sources=("https://sqs.us-east-1.amazonaws.com/123456789012/commerce-hub-crm-dev",),
    )
    letters = DeadLetters(SqsQueues(sqs), failures=None, queues=[crm], move_tasks=True)  # type: ignore[arg-type]

    result = letters.redrive(letters.find("crm"))

    # No DestinationArn: SQS sends each message back to the queue it came from.
    assert sqs.tasks == [{"SourceArn": crm.arn}]
    assert result.task_handle == "task-1" and result.moved == []


def test_a_dead_letter_queue_without_a_source_cannot_be_redriven():
    orphan = DeadLetterQueue("rules", "commerce-hub-rules-dlq-dev", "u", "arn", "RulesDeadLetterQueue")
    letters = DeadLetters(SqsQueues(MoveTaskSqs()), failures=None, queues=[orphan], move_tasks=True)  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="no source queue"):
        letters.redrive(orphan)
    with pytest.raises(LookupError, match="the stack's are: rules"):
        letters.find("crm")
    assert json.dumps(letters.find("RulesDeadLetterQueue").short) == '"rules"'
