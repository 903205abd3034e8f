"""`commerce-hub replay` on moto: the archive of the template's bus, replayed into the bus, reaches
the consumers again and changes nothing they had applied.

The event is events/stock_updates_order_placed.json (the hub's OrderPlaced for
shopify:820982911946154508 as the bus delivers it), published on the bus as intake would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.events.models import Replay

from commerce_hub.local import moto_patches
from commerce_hub.local.sqs import sqs_event
from commerce_hub.replay import ReplayError, replay
from commerce_hub.target import Target

from .conftest import REGION, event
from .test_stock_updates import set_level


@pytest.fixture
def replays_honour_their_window() -> Iterator[None]:
    """The local stack's patch of moto's replay (window and rules), in this process for the test."""
    original = Replay.replay_events
    Replay.replay_events = moto_patches._replay_window  # type: ignore[method-assign]
    try:
        yield
    finally:
        Replay.replay_events = original  # type: ignore[method-assign]


def publish(aws, when: datetime) -> None:
    body = json.loads(event("stock_updates_order_placed.json")["Records"][0]["body"])
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": aws.bus_name,
                "Source": body["source"],
                "DetailType": body["detail-type"],
                "Detail": json.dumps(body["detail"]),
                "Time": when,
            }
        ]
    )


def deliver(aws, function, context) -> list[str]:
    """Hand every message on the stock queue to stock_updates, as the poller would; their types."""
    sqs = boto3.client("sqs")
    url = aws.queue_url("StockQueue")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    handled: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        assert function.lambda_handler(sqs_event(messages, queue_arn=arn, region=REGION), context) == {
            "batchItemFailures": []
        }
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        handled.extend(json.loads(m["Body"])["detail-type"] for m in messages)
    return sorted(handled)


def table(aws) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_a_replayed_window_reaches_the_consumers_and_changes_nothing_applied(
    aws, load_function, context, replays_honour_their_window
):
    stock, admin = load_function("stock_updates"), load_function("admin_api")
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-west", 10)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 4)
    now = datetime.now(UTC)
    publish(aws, now - timedelta(minutes=5))
    deliver(aws, stock, context)  # the order, and the level changes the stock updates announced
    applied = table(aws)
    assert any(i["pk"]["S"] == "ORDER#shopify:820982911946154508" and i["sk"]["S"] == "ORDER" for i in applied)

    target = Target("hub", True, boto3.session.Session())
    result = replay(target, now - timedelta(minutes=10), now + timedelta(minutes=1), detail_type="OrderPlaced")

    assert result.state == "COMPLETED"
    assert [arn.rsplit("/", 1)[-1] for arn in result.rules] == sorted(
        arn.rsplit("/", 1)[-1] for arn in result.rules
    ) and any(arn.endswith("/commerce-hub-stock-dev") for arn in result.rules)
    assert result.end <= datetime.now(UTC)  # a window reaching into the future ends now
    # The archived OrderPlaced came back to stock_updates, with the level changes of the window (the
    # stock rule routes both: a replay by type is a replay to the rules that route it).
    again = deliver(aws, stock, context)
    assert again.count("OrderPlaced") == 1 and set(again) <= {"OrderPlaced", "StockLevelChanged"}
    # and changed nothing: no second reservation, no new timeline entry. What the order's lineage
    # gains is the record that the replayed event was a duplicate that changed nothing.
    after = table(aws)
    added = [i for i in after if i not in applied]
    assert [i for i in after if not i["pk"]["S"].startswith("LINEAGE#")] == [
        i for i in applied if not i["pk"]["S"].startswith("LINEAGE#")
    ]
    assert added and all(
        i["pk"]["S"] == "LINEAGE#shopify:820982911946154508"
        and (i["step"]["S"], i["result"]["S"], i["event_type"]["S"]) == ("decision", "duplicate", "OrderPlaced")
        for i in added
    )

    # A window before the event replays nothing.
    replay(target, now - timedelta(hours=2), now - timedelta(hours=1))
    assert deliver(aws, stock, context) == []


def test_a_type_no_rule_routes_is_refused(aws):
    with pytest.raises(ReplayError, match=r"no rule on .* routes NoSuchType"):
        replay(Target("hub", True, boto3.session.Session()), datetime(2026, 1, 1, tzinfo=UTC),
               datetime(2026, 1, 2, tzinfo=UTC), detail_type="NoSuchType")  # fmt: skip
