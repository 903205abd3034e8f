"""Dead letters on moto: every consumer records why a record failed, and `commerce-hub dlq` lists,
shows and redrives the stack's dead-letter queues, joining each message to its recorded failure.

The failing record is events/crm_upsert_order_placed.json (the hub's OrderPlaced for
shopify:820982911946154508, as EventBridge delivers it through SQS) with a customer's email where
its total belongs: a record that is not a valid hub event, which fails the same way in every
consumer and must be reported by its fields, never its values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hub.services.deadletters import DeadLetters

from commerce_hub.dlq import dead_letters
from commerce_hub.local.sqs import sqs_record
from commerce_hub.target import Target

from .conftest import EVENTS, REGION, Aws

EMAIL = "jane.secret@example.com"
ORDER_ID = "shopify:820982911946154508"
CONSUMERS = {
    "stock_updates": "StockQueue",
    "channel_sync": "ChannelSyncQueue",
    "payment_confirmation": "PaymentsQueue",
    "order_routing": "RoutingQueue",
    "resource_fetch": "ResourceFetchQueue",
    "crm_upsert": "CrmQueue",
    "reporting": "ReportingQueue",
    "marketing_triggers": "MarketingQueue",
}


def broken_body() -> str:
    body = json.loads(json.loads((EVENTS / "crm_upsert_order_placed.json").read_text())["Records"][0]["body"])
    body["detail"]["data"]["total"] = EMAIL
    return json.dumps(body)


def queue_arn(url: str) -> str:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def deliver_until_dead(aws: Aws, queue: str, handler: Callable[[dict], object], body: str) -> str:
    """Send `body` to the queue and hand each receive to `handler` until SQS dead-letters it, as
    Lambda's poller would (a failed record comes back at once here). Returns the message id."""
    sqs = boto3.client("sqs")
    url = aws.queue_url(queue)
    arn = queue_arn(url)
    message_id = sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
    while True:
        got = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"]).get("Messages", [])
        if not got:
            return message_id  # the receive that found it over maxReceiveCount moved it to the DLQ
        with pytest.raises(BatchProcessingError):  # the batch's only record failed
            handler({"Records": [sqs_record(got[0], queue_arn=arn, region=REGION)]})


def failure_item(aws: Aws, message_id: str) -> dict:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"FAILURE#{message_id}"}, "sk": {"S": "FAILURE"}}
    )
    return item.get("Item", {})


@pytest.fixture
def letters() -> Callable[[], DeadLetters]:
    """The dead-letter tools on the test's moto stack (named `hub` by the aws fixture)."""
    return lambda: dead_letters(Target("hub", True, boto3.session.Session()))


@pytest.mark.parametrize("function", sorted(CONSUMERS))
def test_every_consumer_records_why_a_record_failed(aws, load_function, context, monkeypatch, function):
    monkeypatch.setenv("HUB_RESOURCE_FETCH_QUEUE_URL", aws.queue_url("ResourceFetchQueue"))  # as the template sets
    module: ModuleType = load_function(function)
    url = aws.queue_url(CONSUMERS[function])
    arn = queue_arn(url)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=broken_body())
    for _attempt in range(2):
        [message] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"])["Messages"]
        with pytest.raises(BatchProcessingError):
            module.lambda_handler({"Records": [sqs_record(message, queue_arn=arn, region=REGION)]}, context)

    item = failure_item(aws, message["MessageId"])
    assert item["queue"]["S"] == aws.queue_url(CONSUMERS[function]).rsplit("/", 1)[-1]
    assert item["attempts"]["N"] == "2" and item["receive_count"]["N"] == "2"
    assert item["order_id"]["S"] == ORDER_ID and item["event_type"]["S"] == "OrderPlaced"
    assert (
        item["first_error"]["S"] == "ValidationError" and "detail.OrderPlaced.data.total'" in item["first_reason"]["S"]
    )
    assert EMAIL not in json.dumps(item)
    assert int(item["expires_at"]["N"]) > 0


def test_list_show_and_redrive_a_dead_letter_with_its_reason(aws, load_function, context, letters):
    crm = load_function("crm_upsert")
    message_id = deliver_until_dead(aws, "CrmQueue", lambda event: crm.lambda_handler(event, context), broken_body())

    summaries = {s.queue.short: s for s in letters().summaries()}
    assert set(summaries) == {
        "stock",
        "channel-sync",
        "catalog-sync",
        "resource-fetch",
        "payments",
        "routing",
        "crm",
        "reporting",
        "marketing",
        "schedules",  # what the scheduled functions' rules could not deliver; no source queue
    }
    assert summaries["schedules"].queue.sources == ()
    assert summaries["crm"].messages == 1 and summaries["stock"].messages == 0
    assert summaries["crm"].sample_reason.startswith("ValidationError: ")
    assert summaries["crm"].oldest_sent_at is not None
    assert [u.rsplit("/", 1)[-1] for u in summaries["crm"].queue.sources] == ["commerce-hub-crm-dev"]

    tools = letters()
    [letter] = tools.show(tools.find("crm"))
    assert letter.message_id == message_id and letter.order_id == ORDER_ID and letter.event_type == "OrderPlaced"
    assert letter.failure is not None and letter.failure.attempts == 5
    assert "'body.detail.OrderPlaced.data.total'" in letter.failure.first_reason
    assert EMAIL not in json.dumps(letter.as_dict())
    # Showing did not consume it: it is still there, visible.
    assert [m.message_id for m in tools.show(tools.find("commerce-hub-crm-dlq-dev"))] == [message_id]

    result = tools.redrive(tools.find("crm"))
    assert result.moved == [message_id] and result.task_handle is None
    [back] = boto3.client("sqs").receive_message(QueueUrl=aws.queue_url("CrmQueue"))["Messages"]
    assert back["Body"] == broken_body()
    assert letters().summary(letters().find("crm")).messages == 0


def test_redrive_one_message_leaves_the_others(aws, letters):
    sqs = boto3.client("sqs")
    dlq = aws.queue_url("StockDeadLetterQueue")
    ids = [sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}))["MessageId"] for n in range(3)]
    tools = letters()

    result = tools.redrive(tools.find("stock"), ids[1])

    assert result.moved == [ids[1]] and result.missing is None
    assert sorted(m.message_id for m in tools.show(tools.find("stock"))) == sorted([ids[0], ids[2]])
    [back] = sqs.receive_message(QueueUrl=aws.queue_url("StockQueue"))["Messages"]
    assert back["Body"] == json.dumps({"n": 1})
    assert tools.redrive(tools.find("stock"), "no-such-message").missing == "no-such-message"
    assert len(tools.show(tools.find("stock"))) == 2  # the search made nothing disappear
