"""The emulator's call counter: every AWS request by caller, service and action, and DynamoDB's units.

The counter runs in a real emulator child process (as in `commerce-hub local`), and boto3 clients
name themselves with `user_agent_appid`, as the function workers do through AWS_SDK_UA_APP_ID.
Expected units follow DynamoDB's documented sizing ("Item sizes and formats", "Read/write capacity
mode") worked by hand in each test.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from commerce_hub.local.calls import CallCounter, attribute_value_size, item_size
from commerce_hub.local.emulator import Emulator, aws_client

TABLE = "counted"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator(0)
    running.start()
    running.wait_ready()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def counts(emulator: Emulator) -> Iterator[Any]:
    def read() -> dict[str, Any]:
        return httpx.get(f"{emulator.endpoint}/_hub/calls").json()

    httpx.post(f"{emulator.endpoint}/_hub/calls/reset").raise_for_status()
    yield read


@pytest.fixture(scope="module")
def table(emulator: Emulator) -> str:
    aws_client("dynamodb", emulator.endpoint, "setup").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


def _key(pk: str, sk: str = "S") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# ------------------------------------------------------------------------------------------ sizes
def test_item_sizes_follow_dynamodbs_rules():
    # Strings: UTF-8 bytes; numbers: one byte per two significant digits, plus one.
    assert attribute_value_size({"S": "héllo"}) == 6
    assert attribute_value_size({"N": "12345"}) == 4
    assert attribute_value_size({"N": "1200.00"}) == 2
    assert attribute_value_size({"BOOL": True}) == attribute_value_size({"NULL": True}) == 1
    assert attribute_value_size({"B": "AAEC"}) == 3  # base64 of three bytes
    # Lists and maps: three bytes, plus one per element; a map's element also counts its name.
    assert attribute_value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert attribute_value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert attribute_value_size({"SS": ["a", "bc"]}) == 3
    assert item_size({"pk": {"S": "A"}, "n": {"N": "7"}}) == (2 + 1) + (1 + 2)
    assert item_size(None) == 0


# ------------------------------------------------------------------------------------ who and what
def _environ(headers: dict[str, str], path: str = "/", method: str = "POST", body: bytes = b"") -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def _auth(service: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/{service}/aws4_request, SignedHeaders=host"


def test_the_query_protocols_action_is_read_from_the_form_and_the_body_is_left_for_the_app():
    seen = []

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"<ok/>"]

    counter = CallCounter(app)
    body = b"Action=SendEmail&Version=2010-12-01"
    headers = {
        "Authorization": _auth("ses"),
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Boto3/1 app/MarketingTriggersFunction",
    }
    list(counter(_environ(headers, body=body), lambda *a: None))
    assert seen == [body]
    assert counter.snapshot()["calls"] == {"MarketingTriggersFunction": {"ses:SendEmail": 1}}


def test_a_request_without_an_app_id_is_unattributed_and_the_counts_path_is_not_an_aws_call():
    counter = CallCounter(lambda environ, start_response: [b"{}"])
    headers = {"Authorization": _auth("events"), "X-Amz-Target": "AWSEvents.PutEvents", "User-Agent": "Boto3/1"}
    list(counter(_environ(headers), lambda *a: None))
    answered = []
    list(
        counter(_environ({}, path="/_hub/calls/reset", method="POST"), lambda status, headers: answered.append(status))
    )
    list(counter(_environ({}, path="/_hub/calls", method="DELETE"), lambda status, headers: answered.append(status)))
    assert answered == ["200 OK", "405 Method Not Allowed"]
    assert counter.snapshot()["calls"] == {}


def test_calls_are_counted_by_caller_service_and_action(emulator, counts):
    events = aws_client("events", emulator.endpoint, "WebhookIntakeFunction")
    events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    aws_client("events", emulator.endpoint).list_rules()
    # A REST service: the operation is found from botocore's own model of its URIs.
    aws_client("scheduler", emulator.endpoint, "scheduler").list_schedules()
    calls = counts()["calls"]
    assert calls == {
        "WebhookIntakeFunction": {"events:PutEvents": 2},
        "unattributed": {"events:ListRules": 1},
        "scheduler": {"scheduler:ListSchedules": 1},
    }


def test_empty_receives_are_counted_apart_and_messages_are_counted_per_batch_entry(emulator, counts):
    sqs = aws_client("sqs", emulator.endpoint, "event-source-mapping")
    url = aws_client("sqs", emulator.endpoint, "setup").create_queue(QueueName="counted")["QueueUrl"]
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    for body in ("one", "two"):
        aws_client("sqs", emulator.endpoint, "setup").send_message(QueueUrl=url, MessageBody=body)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    )
    seen = counts()
    assert seen["calls"]["event-source-mapping"] == {
        "sqs:DeleteMessageBatch": 1,
        "sqs:ReceiveMessage": 1,
        "sqs:ReceiveMessage(empty)": 1,
    }
    assert seen["messages"]["event-source-mapping"] == {"sqs:DeleteMessageBatch": 2, "sqs:ReceiveMessage": 2}


# ------------------------------------------------------------------------------------ DynamoDB units
def test_writes_cost_the_larger_of_the_item_before_and_after_per_kilobyte(emulator, table, counts):
    db = aws_client("dynamodb", emulator.endpoint, "writer")
    # pk(2)+"A"(1) + sk(2)+"S"(1) + blob(4)+1500 = 1510 bytes: two write units.
    db.put_item(TableName=table, Item={**_key("A"), "blob": {"S": "x" * 1500}})
    # 3010 bytes after: three units.
    db.update_item(
        TableName=table,
        Key=_key("A"),
        UpdateExpression="SET #b = :b",
        ExpressionAttributeNames={"#b": "blob"},
        ExpressionAttributeValues={":b": {"S": "y" * 3000}},
    )
    # A delete costs the item it removes: three units.
    db.delete_item(TableName=table, Key=_key("A"))
    # A write refused by its condition still costs what it evaluated: one unit for a small item.
    db.put_item(TableName=table, Item=_key("B"))
    with pytest.raises(ClientError):
        db.put_item(TableName=table, Item=_key("B"), ConditionExpression="attribute_not_exists(pk)")
    seen = counts()
    assert seen["calls"]["writer"] == {"dynamodb:DeleteItem": 1, "dynamodb:PutItem": 3, "dynamodb:UpdateItem": 1}
    assert seen["dynamodb_units"]["writer"] == {"read": 0.0, "write": 2 + 3 + 3 + 1 + 1}


def test_transactions_cost_double_and_reads_cost_per_four_kilobytes(emulator, table, counts):
    db = aws_client("dynamodb", emulator.endpoint, "txn")
    db.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {**_key("T", "1"), "blob": {"S": "x" * 5000}}}},
            {"Put": {"TableName": table, "Item": _key("T", "2")}},
            {"ConditionCheck": {"TableName": table, "Key": _key("B"), "ConditionExpression": "attribute_exists(pk)"}},
        ]
    )
    db.get_item(TableName=table, Key=_key("T", "1"), ConsistentRead=True)  # 5010 bytes: two units
    db.get_item(TableName=table, Key=_key("T", "2"))  # eventually consistent: half a unit
    db.get_item(TableName=table, Key=_key("nothing"), ConsistentRead=True)  # nothing found: one unit
    # Both items of the partition in one query: 5010 + 6 bytes rounded up once, eventually consistent.
    db.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "T"}},
        ProjectionExpression="sk",
    )
    seen = counts()
    # 5010 bytes is five write units, the others one each; each doubled in a transaction.
    assert seen["dynamodb_units"]["txn"] == {"read": 2 + 0.5 + 1 + 1, "write": 2 * (5 + 1 + 1)}
    assert seen["calls"]["txn"] == {"dynamodb:GetItem": 3, "dynamodb:Query": 1, "dynamodb:TransactWriteItems": 1}
    assert set(seen["idle_seconds"]) == {"txn"}


def test_reset_sets_the_counts_back_to_zero(emulator, counts):
    aws_client("events", emulator.endpoint, "someone").list_rules()
    assert counts()["calls"] == {"someone": {"events:ListRules": 1}}
    httpx.post(f"{emulator.endpoint}/_hub/calls/reset").raise_for_status()
    assert counts() == {"calls": {}, "dynamodb_units": {}, "messages": {}, "idle_seconds": {}}
