"""The local stack's moto patch: DynamoDB transactions undo by item, with moto's own semantics kept.

Each test runs the same transaction with and without the patch where it matters, so a difference in
behaviour (conditions, cancellation reasons, validation, what is rolled back) would show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.events.models import Replay

from commerce_hub.local import moto_patches

TABLE = "t"


@contextmanager
def _moto_as_it_was() -> Iterator[None]:
    """Whatever is patched inside is moto's own again afterwards, so a test can compare with moto."""
    import jsonpath_ng.ext
    from moto.core import responses
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.scheduler.models import EventBridgeSchedulerBackend
    from moto.sqs.models import Queue, SQSBackend

    make = UpdateExpressionParser.__dict__["make"]
    sqs = (Queue.delete_message, SQSBackend.receive_message)
    dispatch = (responses.method_names_from_class, DomainDispatcherApplication.get_backend_for_host)
    scheduler = {
        name: EventBridgeSchedulerBackend.__dict__[name]
        for name in ("create_schedule", "update_schedule", "delete_schedule", "delete_schedule_group")
    }
    original = (
        DynamoDBBackend.transact_write_items,
        Table.query,
        Replay.replay_events,
        Queue.__dict__["attributes"],
        jsonpath_ng.ext.parse,
        BaseJSONSerializer._serialize_type_structure,
    )
    try:
        yield
    finally:
        (
            DynamoDBBackend.transact_write_items,
            Table.query,
            Replay.replay_events,
            Queue.attributes,
            jsonpath_ng.ext.parse,
            BaseJSONSerializer._serialize_type_structure,
        ) = original  # type: ignore[method-assign]
        UpdateExpressionParser.make = make  # type: ignore[method-assign]
        responses.method_names_from_class, DomainDispatcherApplication.get_backend_for_host = dispatch  # type: ignore[method-assign]
        for name, method in scheduler.items():
            setattr(EventBridgeSchedulerBackend, name, method)
        Queue.delete_message, SQSBackend.receive_message = sqs  # type: ignore[method-assign]


def test_no_test_starts_patched() -> None:
    assert not moto_patches.installed()


@pytest.fixture
def patched() -> Iterator[None]:
    with _moto_as_it_was():
        moto_patches.install()
        yield


def _create_table(client) -> None:  # type: ignore[no-untyped-def]
    """The hub's table shape: string partition and sort keys, on demand."""
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def ddb(patched: None) -> Iterator[object]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(client)
        yield client


def _key(pk: str, sk: str = "S") -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _put(pk: str, n: int, sk: str = "S") -> dict:
    return {"Put": {"TableName": TABLE, "Item": {**_key(pk, sk), "n": {"N": str(n)}}}}


def _get(client, pk: str, sk: str = "S") -> dict | None:  # type: ignore[no-untyped-def]
    return client.get_item(TableName=TABLE, Key=_key(pk, sk)).get("Item")


def _decrement_if_enough(pk: str, by: int) -> dict:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": _key(pk),
            "UpdateExpression": "SET n = n - :by",
            "ConditionExpression": "n >= :by",
            "ExpressionAttributeValues": {":by": {"N": str(by)}},
        }
    }


def test_the_patch_is_installed_once_and_marks_itself(patched: None):
    assert moto_patches.installed()
    first = DynamoDBBackend.transact_write_items
    moto_patches.install()
    assert DynamoDBBackend.transact_write_items is first


def test_a_transaction_that_passes_applies_every_write(ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("a"), "n": {"N": "5"}})
    ddb.put_item(TableName=TABLE, Item={**_key("gone"), "n": {"N": "1"}})
    ddb.transact_write_items(
        TransactItems=[
            _decrement_if_enough("a", 2),
            _put("new", 7),
            {"Delete": {"TableName": TABLE, "Key": _key("gone")}},
        ]
    )
    assert _get(ddb, "a")["n"] == {"N": "3"}
    assert _get(ddb, "new")["n"] == {"N": "7"}
    assert _get(ddb, "gone") is None


def test_a_failed_condition_cancels_with_reasons_and_undoes_every_earlier_write(ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("a"), "n": {"N": "5"}})
    ddb.put_item(TableName=TABLE, Item={**_key("b"), "n": {"N": "1"}})
    ddb.put_item(TableName=TABLE, Item={**_key("gone"), "n": {"N": "9"}})
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(
            TransactItems=[
                _decrement_if_enough("a", 2),  # applied, then undone
                _put("new", 7),  # created, then removed
                {"Delete": {"TableName": TABLE, "Key": _key("gone")}},  # deleted, then restored
                _decrement_if_enough("b", 2),  # fails its condition
            ]
        )
    error = cancelled.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in error["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _get(ddb, "a")["n"] == {"N": "5"}
    assert _get(ddb, "new") is None
    assert _get(ddb, "gone")["n"] == {"N": "9"}
    assert _get(ddb, "b")["n"] == {"N": "1"}


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("a"), "n": {"N": "5"}})
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[_decrement_if_enough("a", 1), _put("x", 1), _put("a", 9)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert _get(ddb, "a")["n"] == {"N": "5"}
    assert _get(ddb, "x") is None


def test_a_cancelled_transaction_leaves_untouched_items_as_the_same_objects(ddb):
    """moto's own rollback replaces the table with a deep copy; the patch never copies a table, so
    items the transaction did not write are the very objects they were."""
    for i in range(50):
        ddb.put_item(TableName=TABLE, Item={**_key(f"k{i}"), "n": {"N": "1"}})
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    before = {pk: dict(part) for pk, part in table.items.items()}
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[_decrement_if_enough("k0", 1), _decrement_if_enough("k1", 5)])
    same_table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    assert same_table is table
    untouched = [pk for pk in before if pk.value not in ("k0", "k1")]
    assert all(same_table.items[pk][sk] is item for pk in untouched for sk, item in before[pk].items())
    assert _get(ddb, "k0")["n"] == {"N": "1"}


def test_without_the_patch_moto_copies_the_table(ddb):
    """The behaviour the patch removes, shown on moto itself (so the test above can fail)."""
    from moto.dynamodb.models import dynamodb_backends

    ddb.put_item(TableName=TABLE, Item={**_key("k0"), "n": {"N": "1"}})
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    patched_method = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = patched_method.__wrapped__  # type: ignore[attr-defined,method-assign]
    try:
        with pytest.raises(ClientError):
            ddb.transact_write_items(TransactItems=[_decrement_if_enough("k0", 5)])
    finally:
        DynamoDBBackend.transact_write_items = patched_method  # type: ignore[method-assign]
    assert dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE] is not table


# ------------------------------------------------------------------------------ queries by partition
def _queries(client) -> list[dict]:  # type: ignore[no-untyped-def]
    """Queries the hub makes (a partition, a prefix of its sort keys, newest first, pages)."""
    pages = []
    request = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": {":pk": {"S": "p1"}, ":p": {"S": "EVENT#"}},
        "Limit": 3,
    }
    while True:
        page = client.query(**request)
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    backwards = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        FilterExpression="n > :two",
        ExpressionAttributeValues={":pk": {"S": "p1"}, ":two": {"N": "2"}},
        ScanIndexForward=False,
    )
    missing = client.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "nobody"}}
    )
    return [*pages, backwards, missing]


def _seed(client) -> None:  # type: ignore[no-untyped-def]
    for pk in ("p0", "p1", "p2"):
        for n in range(8):
            client.put_item(TableName=TABLE, Item={**_key(pk, f"EVENT#{n:02d}"), "n": {"N": str(n)}})
        client.put_item(TableName=TABLE, Item={**_key(pk, "ORDER"), "n": {"N": "100"}})


def _strip(pages: list[dict]) -> list[dict]:
    return [{k: v for k, v in page.items() if k != "ResponseMetadata"} for page in pages]


def test_a_query_by_partition_answers_exactly_as_moto_does(ddb):
    _seed(ddb)
    patched_answers = _strip(_queries(ddb))
    patched_method = Table.query
    Table.query = patched_method.__wrapped__  # type: ignore[attr-defined,method-assign]
    try:
        moto_answers = _strip(_queries(ddb))
    finally:
        Table.query = patched_method  # type: ignore[method-assign]
    assert patched_answers == moto_answers
    assert [item["sk"]["S"] for page in patched_answers[:3] for item in page["Items"]] == [
        f"EVENT#{n:02d}" for n in range(8)
    ]
    assert [item["n"]["N"] for item in patched_answers[-2]["Items"]] == ["100", "7", "6", "5", "4", "3"]
    assert patched_answers[-1]["Items"] == []


def test_a_query_by_partition_reads_only_that_partition(ddb, monkeypatch):
    _seed(ddb)

    def whole_table(_table):  # type: ignore[no-untyped-def]
        pytest.fail("the whole table was read")

    monkeypatch.setattr(Table, "all_items", whole_table)
    page = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "p2"}})
    assert len(page["Items"]) == 9


# ------------------------------------------------------------------ EventBridge replays
def _replay_setup(rules: list[str]) -> tuple[object, object, dict[str, str], str, str]:
    """A bus with an archive, and one rule per name each sending its detail-type to its own queue."""
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    bus = events.create_event_bus(Name="hub")["EventBusArn"]
    queues = {}
    for name in rules:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName="hub", EventPattern=json.dumps({"detail-type": [name]}))
        events.put_targets(
            Rule=name,
            EventBusName="hub",
            Targets=[{"Id": "q", "Arn": arn, "InputTransformer": {"InputTemplate": "<aws.events.event.json>"}}],
        )
        queues[name] = url
    archive = events.create_archive(ArchiveName="hub", EventSourceArn=bus)["ArchiveArn"]
    return events, sqs, queues, bus, archive


def _drain(sqs: object, url: str) -> list[dict]:
    bodies = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):  # type: ignore[attr-defined]
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # type: ignore[attr-defined]
    return bodies


def _publish(events: object, detail_type: str, when: datetime, n: int) -> None:
    entry = {"Source": "commerce-hub.test", "DetailType": detail_type, "Detail": json.dumps({"n": n})}
    events.put_events(Entries=[{**entry, "EventBusName": "hub", "Time": when}])  # type: ignore[attr-defined]


def test_a_replay_sends_only_its_window_to_only_its_rules(patched: None) -> None:
    with mock_aws():
        events, sqs, queues, bus, archive = _replay_setup(["OrderPlaced", "OrderPaid"])
        now = datetime.now(UTC).replace(microsecond=0)
        _publish(events, "OrderPlaced", now - timedelta(hours=3), 1)  # before the window
        _publish(events, "OrderPlaced", now - timedelta(hours=1), 2)
        _publish(events, "OrderPaid", now - timedelta(minutes=50), 3)
        for url in queues.values():
            _drain(sqs, url)

        events.start_replay(
            ReplayName="r1",
            EventSourceArn=archive,
            EventStartTime=now - timedelta(hours=2),
            EventEndTime=now,
            Destination={"Arn": bus},
        )
        placed, paid = _drain(sqs, queues["OrderPlaced"]), _drain(sqs, queues["OrderPaid"])
        assert [e["detail"]["n"] for e in placed] == [2] and [e["detail"]["n"] for e in paid] == [3]
        assert placed[0]["replay-name"] == "r1" and placed[0]["account"]
        assert events.describe_replay(ReplayName="r1")["State"] == "COMPLETED"

        only_paid = events.describe_rule(Name="OrderPaid", EventBusName="hub")["Arn"]
        events.start_replay(
            ReplayName="r2",
            EventSourceArn=archive,
            EventStartTime=now - timedelta(hours=4),
            EventEndTime=now,
            Destination={"Arn": bus, "FilterArns": [only_paid]},
        )
        assert _drain(sqs, queues["OrderPlaced"]) == []
        assert [e["detail"]["n"] for e in _drain(sqs, queues["OrderPaid"])] == [3]
        # Replayed events are not archived again.
        assert events.describe_archive(ArchiveName="hub")["EventCount"] == 3


def test_install_marks_every_patch(patched: None) -> None:
    assert moto_patches.installed()


@pytest.fixture
def sqs_patched(patched: None) -> Iterator[None]:
    yield


def _queue_attributes_of(client, url: str) -> dict:  # type: ignore[no-untyped-def]
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _queues(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    dlq = client.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fifo = client.create_queue(
        QueueName="q.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )["QueueUrl"]
    plain = client.create_queue(QueueName="plain", Attributes={"DelaySeconds": "0"})["QueueUrl"]
    return {"fifo": fifo, "plain": plain}


def _queue_facts() -> dict:
    """Every attribute of two queues with messages in several states, and a content-deduplicated send."""
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        urls = _queues(client)
        for n in range(3):
            client.send_message(QueueUrl=urls["plain"], MessageBody=f"m{n}")
        client.send_message(QueueUrl=urls["plain"], MessageBody="later", DelaySeconds=600)
        client.receive_message(QueueUrl=urls["plain"], MaxNumberOfMessages=1, VisibilityTimeout=600)
        for _ in range(2):  # the same body twice: content-based deduplication keeps one
            client.send_message(QueueUrl=urls["fifo"], MessageBody="same", MessageGroupId="g")
        facts = {name: _queue_attributes_of(client, url) for name, url in urls.items()}
        for attrs in facts.values():  # times differ between runs, not between moto and the patch
            for name in ("CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"):
                attrs.pop(name, None)
        facts["some"] = client.get_queue_attributes(
            QueueUrl=urls["plain"], AttributeNames=["ApproximateNumberOfMessages", "DelaySeconds"]
        )["Attributes"]
        return facts


def test_queue_attributes_answer_exactly_as_moto_does() -> None:
    from moto.sqs.models import Queue

    assert type(Queue.__dict__["attributes"].fget(Queue("q", "us-east-1", "123456789012"))) is dict  # moto's own
    before = _queue_facts()
    with _moto_as_it_was():
        moto_patches.install()
        after = _queue_facts()
    assert after == before
    assert before["plain"]["ApproximateNumberOfMessages"] == "2"
    assert before["plain"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert before["plain"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert before["fifo"]["ApproximateNumberOfMessages"] == "1"
    assert "RedrivePolicy" in before["fifo"]


def test_a_send_or_a_receive_does_not_count_the_queue(sqs_patched: None, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Counting the messages is a pass over all of them; sending and receiving must not need it."""
    from moto.sqs.models import Queue

    counted: list[str] = []
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed",
    ):
        real = Queue.__dict__[name]
        monkeypatch.setattr(Queue, name, property(lambda q, _n=name, _r=real: counted.append(_n) or _r.fget(q)))
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        urls = _queues(client)
        for n in range(5):
            client.send_message(QueueUrl=urls["plain"], MessageBody=f"m{n}")
        client.send_message(QueueUrl=urls["fifo"], MessageBody="x", MessageGroupId="g")
        got = client.receive_message(QueueUrl=urls["plain"], MaxNumberOfMessages=5)["Messages"]
        assert len(got) == 5
        assert counted == []
        depth = client.get_queue_attributes(QueueUrl=urls["plain"], AttributeNames=["ApproximateNumberOfMessages"])
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
        assert set(counted) == {"approximate_number_of_messages"}  # moto reads it more than once


def test_an_input_path_is_parsed_once(sqs_patched: None, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A rule's target without an input transformer still goes through moto's template parser."""
    import jsonpath_ng.ext

    parsed = jsonpath_ng.ext.parse.cache_info()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        events = boto3.client("events", region_name="us-east-1")
        url = sqs.create_queue(QueueName="target")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        for n in range(20):
            events.put_events(Entries=[{"Source": "s", "DetailType": "D", "Detail": json.dumps({"n": n})}])
        bodies = [
            json.loads(m["Body"])["detail"]["n"]
            for _ in range(4)
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        ]
    assert sorted(bodies) == list(range(20))
    now = jsonpath_ng.ext.parse.cache_info()
    assert now.misses - parsed.misses <= 8  # the eight default paths, at most once each
    assert now.hits - parsed.hits >= 19 * 8


def _every_kind_of_value() -> dict:
    """What GetItem, Query, Scan, BatchGetItem, TransactGetItems and UpdateItem answer for an item
    holding every kind of attribute value, binary nested in maps and lists among them."""
    item = {
        **_key("p", "s"),
        "s": {"S": "text é"},
        "empty": {"S": ""},
        "n": {"N": "-12.50"},
        "b": {"B": b"\x00\xffpacked"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"\x01", b"\x02\x03"]},
        "null": {"NULL": True},
        "bool": {"BOOL": False},
        "m": {"M": {"inner": {"B": b"\x10"}, "deeper": {"M": {"l": {"L": [{"N": "1"}, {"B": b"\x20"}]}}}}},
        "l": {"L": [{"S": "x"}, {"M": {}}, {"L": []}, {"BOOL": True}]},
    }
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(client)
        client.put_item(TableName=TABLE, Item=item)
        answers = {
            "get": client.get_item(TableName=TABLE, Key=_key("p", "s"))["Item"],
            "query": client.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "p"}},
            )["Items"],
            "scan": client.scan(TableName=TABLE)["Items"],
            "batch": client.batch_get_item(RequestItems={TABLE: {"Keys": [_key("p", "s")]}})["Responses"],
            "transact": client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": _key("p", "s")}}])[
                "Responses"
            ],
            "update": client.update_item(
                TableName=TABLE,
                Key=_key("p", "s"),
                UpdateExpression="SET added = :b",
                ExpressionAttributeValues={":b": {"B": b"\x7f"}},
                ReturnValues="ALL_NEW",
            )["Attributes"],
        }
        return {"item": item, **answers}


def test_attribute_values_are_answered_exactly_as_moto_does() -> None:
    from moto.core.serialize import BaseJSONSerializer

    assert not getattr(BaseJSONSerializer._serialize_type_structure, "_commerce_hub_item_journal", False)
    before = _every_kind_of_value()
    with _moto_as_it_was():
        moto_patches.install()
        after = _every_kind_of_value()
    assert after == before
    item = before.pop("item")
    assert before["get"] == item  # and both equal what was written, binary included
    assert before["update"]["added"] == {"B": b"\x7f"}


_UPDATES = [
    ("SET n = n + :one, #s = :s", {":one": {"N": "1"}, ":s": {"S": "paid"}}),
    (
        "SET l = list_append(if_not_exists(l, :empty), :more) REMOVE gone",
        {":empty": {"L": []}, ":more": {"L": [{"N": "2"}]}},
    ),
    ("ADD tags :t, c :one", {":t": {"SS": ["x", "y"]}, ":one": {"N": "1"}}),
    ("DELETE tags :drop SET m.deep = :s", {":drop": {"SS": ["x"]}, ":s": {"S": "deep"}}),
]


def _updates_applied() -> dict:
    """Each update expression applied twice to one item, by UpdateItem and in a transaction, then
    a malformed one; what moto answers each time."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(client)
        client.put_item(TableName=TABLE, Item={**_key("p"), "n": {"N": "1"}, "gone": {"S": "x"}, "m": {"M": {}}})
        seen = []
        for expression, values in _UPDATES * 2:
            names = {"#s": "status"} if "#s" in expression else {}
            extra = {"ExpressionAttributeNames": names} if names else {}
            seen.append(
                client.update_item(
                    TableName=TABLE,
                    Key=_key("p"),
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    **extra,
                )["Attributes"]
            )
            if (expression, values) in _UPDATES[1:3]:  # the two that need no names nor nested paths
                update = {"TableName": TABLE, "Key": _key("q"), "UpdateExpression": expression}
                client.transact_write_items(TransactItems=[{"Update": {**update, "ExpressionAttributeValues": values}}])
            seen.append(client.get_item(TableName=TABLE, Key=_key("q")).get("Item"))
        errors = []
        for _ in range(2):
            with pytest.raises(ClientError) as refused:
                client.update_item(
                    TableName=TABLE,
                    Key=_key("p"),
                    UpdateExpression="SET = :x",
                    ExpressionAttributeValues={":x": {"N": "1"}},
                )
            errors.append(refused.value.response["Error"])
        return {"seen": seen, "errors": errors}


def test_update_expressions_are_applied_exactly_as_moto_does_and_parsed_once() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    before = _updates_applied()
    with _moto_as_it_was():
        moto_patches.install()
        after = _updates_applied()
        parses = UpdateExpressionParser.make.cache_info()
    assert after == before
    assert before["seen"][0]["n"] == {"N": "2"} and before["seen"][8]["n"] == {"N": "3"}
    assert before["seen"][-1]["tags"] == {"SS": ["x", "y"]}  # the transactions' item, after ADD twice
    assert before["errors"][0]["Code"] == "ValidationException"
    # Four good expressions and one malformed (an error is not cached: raised each time).
    assert parses.currsize == len(_UPDATES)
    assert parses.hits > parses.misses


_SIGNED = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


def _requests_as_sent() -> list[dict[str, str]]:
    """Headers and paths as botocore sends them to an endpoint URL, one per service the hub calls."""
    json_target = [
        ("dynamodb", "DynamoDB_20120810.GetItem"),
        ("sqs", "AmazonSQS.ReceiveMessage"),
        ("events", "AWSEvents.PutEvents"),
        ("kms", "TrentService.Decrypt"),
        ("secretsmanager", "secretsmanager.GetSecretValue"),
    ]
    requests = [
        {"PATH_INFO": "/", "HTTP_X_AMZ_TARGET": target, "HTTP_AUTHORIZATION": _SIGNED.format(service=service)}
        for service, target in json_target
    ]
    requests.append({"PATH_INFO": "/schedules/x", "HTTP_AUTHORIZATION": _SIGNED.format(service="scheduler")})
    requests.append({"PATH_INFO": "/moto-api/reset"})
    return [{"REQUEST_METHOD": "POST", "HTTP_HOST": "127.0.0.1:5000", **r} for r in requests]


def _backends_found() -> list[str]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    dispatcher = DomainDispatcherApplication(lambda service: service)  # the "app" is the service's name
    return [dispatcher.get_application(environ) for environ in _requests_as_sent() * 2]


def test_requests_reach_the_service_moto_finds_and_each_host_is_searched_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from moto import backends

    before = _backends_found()
    assert before[:7] == ["dynamodb", "sqs", "events", "kms", "secretsmanager", "scheduler", "moto_api"]
    searches = []
    listing = backends.list_of_moto_modules
    monkeypatch.setattr(backends, "list_of_moto_modules", lambda: searches.append(1) or listing())
    with _moto_as_it_was():
        moto_patches.install()
        after = _backends_found()
    assert after == before
    # The first pass over seven requests searched per host (every one shares the endpoint's host
    # and is told apart by its headers, which moto turns into one host name per service); the second
    # pass searched nothing.
    first_pass = len(searches)
    assert 0 < first_pass <= 7
    with _moto_as_it_was():
        moto_patches.install()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        dispatcher = DomainDispatcherApplication(lambda service: service)
        for environ in _requests_as_sent():
            dispatcher.get_application(environ)
        searched = len(searches)
        for environ in _requests_as_sent():
            dispatcher.get_application(environ)
        assert len(searches) == searched


def test_an_action_is_found_among_the_same_method_names_as_moto_lists() -> None:
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    mine = {cls: set(responses.method_names_from_class(cls)) for cls in (DynamoHandler, SQSResponse)}
    with _moto_as_it_was():
        moto_patches.install()
        patched = {cls: responses.method_names_from_class(cls) for cls in (DynamoHandler, SQSResponse)}
        assert responses.method_names_from_class(DynamoHandler) is patched[DynamoHandler]  # listed once
    assert {cls: set(names) for cls, names in patched.items()} == mine
    assert "transact_write_items" in patched[DynamoHandler] and "receive_message" in patched[SQSResponse]


def _unknown_action_answers() -> list[int]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    client = Client(DomainDispatcherApplication(create_backend_app))
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.NoSuchAction",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": _SIGNED.format(service="dynamodb"),
    }
    # The second answer comes from the lookups kept by the first.
    return [client.post("/", data=b"{}", headers=headers).status_code for _ in range(2)]


def test_an_unknown_action_is_still_refused_as_moto_refuses_it() -> None:
    before = _unknown_action_answers()
    with _moto_as_it_was():
        moto_patches.install()
        after = _unknown_action_answers()
    assert after == before == [404, 404]


def test_scheduler_notes_each_schedule_it_changes_and_a_deleted_group_starts_over(patched: None) -> None:
    from commerce_hub.local.schedule_journal import JOURNAL

    start = JOURNAL.since(None)["last"]
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name="us-east-1")
        scheduler.create_schedule_group(Name="marketing")
        shape = {
            "ScheduleExpression": "at(2030-01-01T00:00:00)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"},
        }
        scheduler.create_schedule(Name="a", GroupName="marketing", **shape)
        scheduler.create_schedule(Name="b", **shape)  # the default group
        with pytest.raises(ClientError):  # refused: the name is taken, nothing changed
            scheduler.create_schedule(Name="a", GroupName="marketing", **shape)
        scheduler.update_schedule(
            Name="a", GroupName="marketing", **{**shape, "ScheduleExpression": "at(2031-01-01T00:00:00)"}
        )
        scheduler.delete_schedule(Name="b")
        noted = JOURNAL.since(start)
        assert noted["complete"] and noted["last"] == start + 4
        assert [(c["group"], c["name"]) for c in noted["changes"]] == [
            ("marketing", "a"),
            ("default", "b"),
            ("marketing", "a"),
            ("default", "b"),
        ]
        scheduler.delete_schedule_group(Name="marketing")
        assert JOURNAL.since(start)["complete"] is False  # whoever read before must list again
        assert JOURNAL.since(start + 5) == {"last": start + 5, "complete": True, "changes": []}


def _two_deletes_at_once(monkeypatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Deletes one received message and, while moto is in the middle of that delete, another from a
    second thread; answers the queue's counts afterwards."""
    import threading

    from moto.sqs.models import Message

    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="q")["QueueUrl"]
        for body in ("a", "b", "c"):
            client.send_message(QueueUrl=url, MessageBody=body)
        first, second = client.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=300)["Messages"]
        other = threading.Thread(
            target=client.delete_message, kwargs={"QueueUrl": url, "ReceiptHandle": second["ReceiptHandle"]}
        )
        real = Message.had_receipt_handle
        calls: list[str] = []

        def deleting(self, receipt_handle: str) -> bool:  # type: ignore[no-untyped-def]
            # moto's delete asks each message twice: once to find it (the first call finds it),
            # then again while it copies the others into a new list. Partway through that copy the
            # second delete starts, and is given time to finish unless something holds it back.
            calls.append(receipt_handle)
            if len(calls) == 2:
                other.start()
                other.join(0.5)
            return real(self, receipt_handle)

        monkeypatch.setattr(Message, "had_receipt_handle", deleting)
        client.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        other.join(5)
        monkeypatch.setattr(Message, "had_receipt_handle", real)
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        return client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]


def test_without_the_patch_one_of_two_deletes_at_once_is_undone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # moto's own: the first delete's list, copied before the second delete, puts the second's
    # message back, in flight for its whole visibility timeout.
    counts = _two_deletes_at_once(monkeypatch)
    assert counts == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "1"}


def test_two_deletes_at_once_both_delete(patched: None, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    counts = _two_deletes_at_once(monkeypatch)
    assert counts == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_a_long_poll_holding_the_queue_still_lets_a_send_through(patched: None) -> None:
    import threading

    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="q")["QueueUrl"]
        got: list[dict] = []
        poll = threading.Thread(
            target=lambda: got.extend(client.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", []))
        )
        poll.start()
        threading.Event().wait(0.3)  # the poll is waiting, inside the queue's lock
        client.send_message(QueueUrl=url, MessageBody="hello")
        poll.join(10)
        assert [m["Body"] for m in got] == ["hello"]
