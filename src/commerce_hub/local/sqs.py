"""SQS event source mappings: a poller per AWS::Lambda::EventSourceMapping of the template.

Each poller long-polls its queue in the emulator, hands the function a Lambda SQS event built from
the received messages, and settles the batch as Lambda's SQS poller does: successes are deleted,
failures become visible again (after HUB_LOCAL_RETRY_DELAY seconds instead of the queue's
visibility timeout, so local retries are quick). With ReportBatchItemFailures only the reported
items fail; an error or a timeout fails the whole batch. The queue's own RedrivePolicy, enforced by
the emulator, moves a message to its dead-letter queue after maxReceiveCount receives.

A batch gathers as Lambda's does with MaximumBatchingWindowInSeconds: once a receive brings a first
message, the poller waits out the window, unless that receive already filled the batch, then takes
what came meanwhile, up to BatchSize (several receives for a BatchSize above 10). Lambda would also
invoke as soon as the batch fills during the window; here a batch that fills during the window
still waits for its end. Without a window a batch is whatever one receive returns.
HUB_LOCAL_BATCHING_WINDOW caps every window (the end-to-end tests set it low, as they set the retry
delay, so chains of consumers do not wait a second at each step). Concurrency is the
function's pool size, where Lambda would scale out; FIFO ordering across concurrent batches is
therefore only kept with one worker.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from .console import Console
from .functions import FunctionPool, Invocation
from .intrinsics import Resolver, references
from .template import SamTemplate

__all__ = ["EventSource", "Poller", "event_sources", "failed_message_ids", "sqs_event", "sqs_record"]

_RECEIVE_MAX = 10
_WAIT_SECONDS = 1  # short long-polls, so stopping is quick
_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@dataclass(frozen=True)
class EventSource:
    """One SQS event source mapping, resolved."""

    logical_id: str
    function: str  # logical id
    queue_arn: str
    queue_url: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]

    def window_at_most(self, seconds: float | None) -> EventSource:
        """This mapping with its batching window cut to `seconds` (None: as the template says)."""
        if seconds is None or self.batching_window <= seconds:
            return self
        return replace(self, batching_window=seconds)


def event_sources(template: SamTemplate, resolver: Resolver) -> tuple[list[EventSource], list[str]]:
    """SQS event source mappings of the template, and warnings for the ones not served locally."""
    sources, warnings = [], []
    queues = template.of_type("AWS::SQS::Queue")
    for logical_id, resource in template.of_type("AWS::Lambda::EventSourceMapping").items():
        properties = resource.get("Properties", {})
        function = template.function_of(properties.get("FunctionName"))
        queue_ids = [q for q in queues if q in references(properties.get("EventSourceArn"))]
        if function is None or not queue_ids:
            warnings.append(f"{logical_id}: only SQS event sources on the template's own queues run locally")
            continue
        queue_id = queue_ids[0]
        sources.append(
            EventSource(
                logical_id=logical_id,
                function=function,
                queue_arn=resolver.resolve_string({"Fn::GetAtt": [queue_id, "Arn"]}, f"{logical_id} queue"),
                queue_url=resolver.resolve_string({"Ref": queue_id}, f"{logical_id} queue"),
                batch_size=int(resolver.resolve(properties.get("BatchSize", 10))),
                report_batch_item_failures="ReportBatchItemFailures"
                in (resolver.resolve(properties.get("FunctionResponseTypes")) or []),
                enabled=str(resolver.resolve(properties.get("Enabled", True))).lower() != "false",
                batching_window=float(resolver.resolve(properties.get("MaximumBatchingWindowInSeconds", 0))),
            )
        )
    return sources, warnings


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # Lambda's form: camelCase keys, binary values base64-encoded, list fields always present.
    def b64(raw: Any) -> str:
        return base64.b64encode(raw if isinstance(raw, bytes) else str(raw).encode()).decode()

    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": b64(value["BinaryValue"]) if "BinaryValue" in value else None,
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a message as boto3's receive_message returns it."""
    received = message.get("Attributes", {})
    attributes = {name: str(received[name]) for name in _SYSTEM_ATTRIBUTES if name in received}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]}


def failed_message_ids(invocation: Invocation, message_ids: list[str], report_item_failures: bool) -> set[str]:
    """Which messages of a batch failed, by Lambda's rules for the function's response."""
    if not invocation.ok:
        return set(message_ids)
    if not report_item_failures:
        return set()
    result = invocation.result
    if result is None or result == {}:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        # An empty, null or unknown identifier makes Lambda treat the whole batch as failed.
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


class Poller:
    """Keeps one queue drained into one function; up to `concurrency` batches in flight at once."""

    def __init__(
        self,
        source: EventSource,
        pool: FunctionPool,
        sqs: Any,
        console: Console,
        *,
        region: str,
        retry_delay: int = 1,
        concurrency: int = 1,
        on_batch: Callable[[EventSource, Invocation, int, int], None] | None = None,
    ) -> None:
        self.source = source
        self.pool = pool
        self.sqs = sqs
        self.console = console
        self.region = region
        self.retry_delay = max(0, retry_delay)
        self.concurrency = max(1, concurrency)
        self.on_batch = on_batch
        self.running = threading.Event()  # set once the first receive returned
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"batch-{source.queue_name}")
        self._thread = threading.Thread(target=self._run, name=f"poll-{source.queue_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Stop receiving; batches in flight finish (or fail when their worker is stopped)."""
        self._stop.set()

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout=_WAIT_SECONDS + 5)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        self.request_stop()
        self.join()

    def status(self) -> dict[str, Any]:
        return {
            "queue": self.source.queue_name,
            "function": self.pool.spec.name,
            "batch_size": self.source.batch_size,
            "running": self.running.is_set() and self._thread.is_alive(),
        }

    def _receive(self, wait: int) -> list[dict[str, Any]]:
        wanted = self.source.batch_size
        messages = self._take(wanted, wait)
        filled = len(messages) == min(wanted, _RECEIVE_MAX)  # the receive brought all it asked for
        if messages and len(messages) < wanted and self.source.batching_window > 0:
            # The batching window: what arrives while it runs joins the batch (a stop cuts it short).
            self._stop.wait(self.source.batching_window)
            filled = True
        # Then receive at once while receives come back full, as Lambda's poller does for large batches.
        while len(messages) < wanted and filled:
            asked = min(wanted - len(messages), _RECEIVE_MAX)
            try:
                more = self._take(asked, 0)
            except Exception as exc:
                # The messages in hand are in flight already: they go to the function now, or they
                # would wait out the queue's visibility timeout unseen.
                self.console.warning(f"receiving more from {self.source.queue_name} failed: {exc}")
                break
            messages.extend(more)
            filled = len(more) == asked
        return messages

    def _take(self, wanted: int, wait: int) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=min(wanted, _RECEIVE_MAX),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue  # every worker is busy with a batch of ours
            try:
                messages = self._receive(0 if first else _WAIT_SECONDS)
            except Exception as exc:
                self._slots.release()
                if self._stop.is_set():
                    return
                self.console.warning(f"receiving from {self.source.queue_name} failed: {exc}")
                self._stop.wait(1)
                continue
            if first:
                first = False
                self.running.set()
            if not messages:
                self._slots.release()
                continue
            try:
                self._executor.submit(self._process, messages)
            except RuntimeError:  # the executor is shutting down
                self._slots.release()
                return

    def _process(self, messages: list[dict[str, Any]]) -> None:
        try:
            event = sqs_event(messages, queue_arn=self.source.queue_arn, region=self.region)
            invocation = self.pool.invoke(event)
            ids = [m["MessageId"] for m in messages]
            failed = failed_message_ids(invocation, ids, self.source.report_batch_item_failures)
            self._settle(messages, failed)
            if self.on_batch and not self._stop.is_set():
                self.on_batch(self.source, invocation, len(messages), len(failed))
        except Exception as exc:
            if not self._stop.is_set():
                self.console.warning(f"settling a batch of {self.source.queue_name} failed: {exc}")
                self._release(messages)
        finally:
            self._slots.release()

    def _release(self, messages: list[dict[str, Any]]) -> None:
        """Best effort after a failure of the runner itself: the batch is visible again soon, as a
        failed batch would be, instead of after the queue's whole visibility timeout."""
        try:
            self._settle(messages, {m["MessageId"] for m in messages})
        except Exception as exc:
            self.console.warning(f"releasing a batch of {self.source.queue_name} failed: {exc}")

    def _settle(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        for chunk in _chunks(done):
            answer = self.sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            self._report_refused("deleting", chunk, answer)
        for chunk in _chunks(retry):
            answer = self.sqs.change_message_visibility_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.retry_delay}
                    for i, m in enumerate(chunk)
                ],
            )
            self._report_refused("releasing", chunk, answer)

    def _report_refused(self, doing: str, chunk: list[dict[str, Any]], answer: Mapping[str, Any]) -> None:
        # A batch call answers 200 even when entries fail (a receipt handle gone stale, say): say which.
        for entry in answer.get("Failed") or []:
            message = chunk[int(entry["Id"])]["MessageId"]
            self.console.warning(
                f"{doing} message {message} of {self.source.queue_name} was refused: "
                f"{entry.get('Code')} {entry.get('Message', '')}".rstrip()
            )


def _chunks(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [messages[i : i + _RECEIVE_MAX] for i in range(0, len(messages), _RECEIVE_MAX)]
