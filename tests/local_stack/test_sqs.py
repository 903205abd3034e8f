"""Lambda SQS events built from received messages, and batch settlement by Lambda's rules."""

from __future__ import annotations

import base64

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from commerce_hub.local.console import Console
from commerce_hub.local.functions import Invocation
from commerce_hub.local.sqs import EventSource, Poller, event_sources, failed_message_ids, sqs_event
from commerce_hub.local.template import SamTemplate

from .conftest import make_resolver

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:commerce-hub-stock-dev"

# A message exactly as boto3's receive_message returns it from moto (AttributeNames All).
MESSAGE = {
    "MessageId": "7e1c0b9a-2f59-4c4b-9f2e-0c6a1b2d3e4f",
    "ReceiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
    "MD5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
    "Body": '{"detail-type": "OrderPlaced"}',
    "Attributes": {
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "SentTimestamp": "1700000000000",
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": "1700000000100",
    },
}


def test_a_plain_record_passes_powertools_sqs_model() -> None:
    event = sqs_event([MESSAGE], queue_arn=QUEUE_ARN, region="us-east-1")
    parsed = SqsModel.model_validate(event)
    record = parsed.Records[0]
    assert record.messageId == MESSAGE["MessageId"]
    assert record.receiptHandle == MESSAGE["ReceiptHandle"]
    assert record.body == MESSAGE["Body"]
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == QUEUE_ARN
    assert record.awsRegion == "us-east-1"
    assert record.attributes.ApproximateReceiveCount == "1"
    raw = event["Records"][0]
    assert raw["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in raw


def test_fifo_attributes_and_message_attributes_take_lambdas_form() -> None:
    message = {
        **MESSAGE,
        "MD5OfMessageAttributes": "b25f48e8b8a2c3f1e4f0bb00484c6859",
        "Attributes": {
            **MESSAGE["Attributes"],
            "MessageGroupId": "orders",
            "MessageDeduplicationId": "dedupe-1",
            "SequenceNumber": "18849496460467696128",
        },
        "MessageAttributes": {
            "source": {"StringValue": "shopify", "DataType": "String"},
            "attempt": {"StringValue": "2", "DataType": "Number"},
            "blob": {"BinaryValue": b"\x00\xff", "DataType": "Binary"},
        },
    }
    event = sqs_event([message], queue_arn=QUEUE_ARN + ".fifo", region="us-east-1")
    record = event["Records"][0]
    assert record["attributes"]["MessageGroupId"] == "orders"
    assert record["attributes"]["SequenceNumber"] == "18849496460467696128"
    assert record["md5OfMessageAttributes"] == message["MD5OfMessageAttributes"]
    assert record["messageAttributes"]["source"] == {
        "stringValue": "shopify",
        "binaryValue": None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == base64.b64encode(b"\x00\xff").decode()
    parsed = SqsModel.model_validate(event).Records[0]
    assert parsed.attributes.MessageGroupId == "orders"
    assert parsed.messageAttributes["attempt"].dataType == "Number"


IDS = ["a", "b", "c"]


def ok(result: object) -> Invocation:
    return Invocation("req", "ok", result=result)


@pytest.mark.parametrize(
    ("invocation", "report", "failed"),
    [
        (ok({"batchItemFailures": []}), True, set()),
        (ok(None), True, set()),
        (ok({}), True, set()),
        (ok({"batchItemFailures": [{"itemIdentifier": "b"}]}), True, {"b"}),
        (ok({"batchItemFailures": [{"itemIdentifier": "b"}]}), False, set()),  # not opted in: ignored
        (ok({"batchItemFailures": [{"itemIdentifier": ""}]}), True, set(IDS)),  # invalid: whole batch
        (ok({"batchItemFailures": [{"itemIdentifier": "zzz"}]}), True, set(IDS)),
        (ok({"batchItemFailures": "nope"}), True, set(IDS)),
        (Invocation("req", "error", error={"errorType": "KeyError"}), True, set(IDS)),
        (Invocation("req", "timeout"), True, set(IDS)),
        (Invocation("req", "error"), False, set(IDS)),
    ],
)
def test_which_messages_fail(invocation: Invocation, report: bool, failed: set[str]) -> None:
    assert failed_message_ids(invocation, IDS, report) == failed


def test_the_template_event_source_mapping_is_read(template: SamTemplate) -> None:
    sources, warnings = event_sources(template, make_resolver(template))
    assert warnings == []
    by_function = {s.function: s for s in sources}
    stock = by_function["StockUpdatesFunction"]
    assert stock.queue_name == "commerce-hub-stock-dev"
    assert stock.queue_url.endswith("/123456789012/commerce-hub-stock-dev")
    assert stock.batch_size == 10
    assert stock.report_batch_item_failures is True
    assert stock.batching_window == 0  # a reservation follows its order at once
    assert by_function["CrmUpsertFunction"].batching_window == 5


class _Queue:
    """SQS as the poller sees it: messages arrive over time; each receive is recorded."""

    def __init__(self) -> None:
        self.waiting: list[dict] = []
        self.sent = 0
        self.receives: list[tuple[int, int]] = []  # (MaxNumberOfMessages, WaitTimeSeconds)

    def arrive(self, n: int) -> None:
        self.waiting.extend({**MESSAGE, "MessageId": f"m{self.sent + i}"} for i in range(n))
        self.sent += n

    def receive_message(self, **asked) -> dict:  # type: ignore[no-untyped-def]
        self.receives.append((asked["MaxNumberOfMessages"], asked["WaitTimeSeconds"]))
        taken, self.waiting = self.waiting[: asked["MaxNumberOfMessages"]], self.waiting[asked["MaxNumberOfMessages"] :]
        return {"Messages": taken} if taken else {}


def _poller(queue: _Queue, batch_size: int, window: float) -> Poller:
    source = EventSource("Mapping", "Fn", QUEUE_ARN, "http://q", batch_size, True, batching_window=window)
    return Poller(source, pool=None, sqs=queue, console=Console(), region="us-east-1")  # type: ignore[arg-type]


def test_a_batching_window_gathers_what_arrives_while_it_runs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    queue = _Queue()
    queue.arrive(1)
    poller = _poller(queue, batch_size=10, window=1.0)
    waited = []

    def window_passes(seconds: float) -> bool:  # three more messages come during the window
        waited.append(seconds)
        queue.arrive(3)
        return False

    monkeypatch.setattr(poller._stop, "wait", window_passes)
    batch = poller._receive(1)
    assert [m["MessageId"] for m in batch] == ["m0", "m1", "m2", "m3"]
    assert waited == [1.0]
    assert queue.receives == [(10, 1), (9, 0)]  # the first message, then what came meanwhile


def test_without_a_window_or_with_a_full_batch_nothing_waits(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for window, arrived, batch_size in [(0.0, 1, 10), (1.0, 5, 5)]:
        queue = _Queue()
        queue.arrive(arrived)
        poller = _poller(queue, batch_size=batch_size, window=window)
        monkeypatch.setattr(poller._stop, "wait", lambda seconds: pytest.fail("waited"))
        assert len(poller._receive(1)) == arrived
        assert len(queue.receives) == 1


def test_a_large_batch_keeps_receiving_while_receives_come_back_full() -> None:
    queue = _Queue()
    queue.arrive(25)
    poller = _poller(queue, batch_size=100, window=0.0)
    assert len(poller._receive(1)) == 25
    assert queue.receives == [(10, 1), (10, 0), (10, 0)]  # the third brought 5 of 10: no fourth


class _Console(Console):
    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def test_a_failed_later_receive_keeps_the_messages_already_received(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    queue = _Queue()
    queue.arrive(2)
    poller = _poller(queue, batch_size=10, window=1.0)
    poller.console = console = _Console()
    taken = queue.receive_message

    def second_fails(**asked):  # type: ignore[no-untyped-def]
        if queue.receives:
            raise ConnectionError("connection reset")
        return taken(**asked)

    monkeypatch.setattr(queue, "receive_message", second_fails)
    monkeypatch.setattr(poller._stop, "wait", lambda seconds: False)
    # Both are in flight once received: they go to the function, not back to an unseen wait.
    assert [m["MessageId"] for m in poller._receive(1)] == ["m0", "m1"]
    assert console.warnings == [f"receiving more from {poller.source.queue_name} failed: connection reset"]


class _SettlingQueue:
    """Batch calls answering as SQS does: 200, with the entries it refused listed under Failed."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.calls: list[tuple[str, list[str]]] = []

    def _answer(self, name: str, entries: list[dict]) -> dict:
        self.calls.append((name, [e["ReceiptHandle"] for e in entries]))
        failed = [
            {"Id": e["Id"], "Code": "ReceiptHandleIsInvalid", "SenderFault": True, "Message": "stale"}
            for e in entries
            if e["ReceiptHandle"] in self.refuse
        ]
        return {
            "Successful": [{"Id": e["Id"]} for e in entries if e["ReceiptHandle"] not in self.refuse],
            "Failed": failed,
        }

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        return self._answer("delete", Entries)

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        return self._answer("release", Entries)


def _messages(n: int) -> list[dict]:
    return [{**MESSAGE, "MessageId": f"m{i}", "ReceiptHandle": f"r{i}"} for i in range(n)]


def test_refused_entries_of_a_settlement_are_reported_by_message() -> None:
    queue = _SettlingQueue(refuse={"r1", "r2"})
    source = EventSource("Mapping", "Fn", QUEUE_ARN, "http://q", 10, True)
    console = _Console()
    poller = Poller(source, pool=None, sqs=queue, console=console, region="us-east-1")  # type: ignore[arg-type]
    poller._settle(_messages(3), failed={"m2"})
    assert queue.calls == [("delete", ["r0", "r1"]), ("release", ["r2"])]
    assert console.warnings == [
        "deleting message m1 of commerce-hub-stock-dev was refused: ReceiptHandleIsInvalid stale",
        "releasing message m2 of commerce-hub-stock-dev was refused: ReceiptHandleIsInvalid stale",
    ]


def test_a_batch_whose_handling_breaks_in_the_runner_is_released_at_once() -> None:
    class _BrokenPool:
        def invoke(self, event: dict) -> Invocation:
            raise RuntimeError("worker pipe broke")

    queue = _SettlingQueue(refuse=set())
    source = EventSource("Mapping", "Fn", QUEUE_ARN, "http://q", 10, True)
    console = _Console()
    poller = Poller(source, pool=_BrokenPool(), sqs=queue, console=console, region="us-east-1")  # type: ignore[arg-type]
    poller._slots.acquire()  # as _run does before handing a batch over
    poller._process(_messages(2))
    # Visible again after the retry delay, as a failed batch is, not after the queue's visibility timeout.
    assert queue.calls == [("release", ["r0", "r1"])]
    assert console.warnings == ["settling a batch of commerce-hub-stock-dev failed: worker pipe broke"]


def test_a_window_cap_shortens_only_longer_windows() -> None:
    crm = EventSource("Crm", "Fn", QUEUE_ARN, "http://q", 100, True, batching_window=5.0)
    stock = EventSource("Stock", "Fn", QUEUE_ARN, "http://q", 10, True, batching_window=0.0)
    assert crm.window_at_most(None) is crm  # unset: the template's own
    assert crm.window_at_most(0.25).batching_window == 0.25
    assert crm.window_at_most(0.25).batch_size == 100  # nothing else changes
    assert stock.window_at_most(0.25) is stock
