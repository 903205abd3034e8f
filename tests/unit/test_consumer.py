"""The SQS consumer every queue-fed function uses (hub.consumer): claim checks, outcomes, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import OrderPlaced, StockLevelChanged
from hub.observability import metrics

from tests.customer_fakes import FakePayloads
from tests.fakes import FakeFailureLog

ROOT = Path(__file__).resolve().parents[2]
# events/crm_upsert_order_placed.json: an SQS record of the hub's OrderPlaced for shopify:820982911946154508.
SAMPLE = json.loads((ROOT / "events" / "crm_upsert_order_placed.json").read_text())["Records"][0]


def record(message_id: str, body: str | None = None) -> dict:
    return dict(SAMPLE, messageId=message_id, body=body or SAMPLE["body"])


def counted() -> dict[str, float]:
    return {name: sum(entry["Value"]) for name, entry in metrics.metric_set.items()}


@pytest.fixture(autouse=True)
def _no_metrics_left() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_the_metric_name_is_the_area_then_the_outcome_in_camel_case():
    assert metric_name("Payment", "already_paid") == "PaymentAlreadyPaid"
    assert metric_name("ResourceFetch", "published") == "ResourceFetchPublished"
    assert metric_name("StockPush", "up_to_date") == "StockPushUpToDate"
    assert metric_name("Routing", "OrderPaid") == "RoutingOrderPaid"  # an event type stays as it is


def test_each_record_is_handled_its_outcome_counted_and_the_batch_reports_no_failure():
    seen = []

    def handle(event, _record):
        seen.append(event)
        return Outcome(metric_name("Customer", "recorded"), "customer event recorded")

    consumer = SqsConsumer(handle, payloads=FakePayloads, failures=FakeFailureLog)
    assert consumer({"Records": [record("m1"), record("m2")]}, None) == {"batchItemFailures": []}
    assert [type(e) for e in seen] == [OrderPlaced, OrderPlaced]
    assert seen[0].data.order_id == "shopify:820982911946154508"
    assert counted() == {"CustomerRecorded": 2}


def test_a_failing_record_fails_alone_is_recorded_and_counted_as_records_failed():
    log = FakeFailureLog()

    def handle(_event, sqs_record):
        if sqs_record.messageId == "bad":
            raise RuntimeError("the CRM answered 500")
        return Outcome("Handled", "handled")

    consumer = SqsConsumer(handle, payloads=FakePayloads, failures=lambda: log)
    response = consumer({"Records": [record("good"), record("bad")]}, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert [f.message_id for f in log.failures] == ["bad"]
    assert counted() == {"Handled": 1, "RecordsFailed": 1}


def test_an_event_the_function_does_not_handle_is_skipped_uncounted():
    def handle(_event, _record):
        raise AssertionError("an OrderPlaced reached a StockLevelChanged handler")

    consumer = SqsConsumer(handle, payloads=FakePayloads, accepts=(StockLevelChanged,), failures=FakeFailureLog)
    assert consumer({"Records": [record("m1")]}, None) == {"batchItemFailures": []}
    assert counted() == {}


def test_a_claim_checked_event_is_resolved_from_the_payload_store_before_it_is_handled():
    body = json.loads(SAMPLE["body"])
    detail = body["detail"]
    payloads = FakePayloads()
    payloads.put("events/evt.json", json.dumps(detail).encode())
    envelope = {k: v for k, v in detail.items() if k != "data"}
    body["detail"] = dict(envelope, claim_check={"bucket": "payload-bucket", "key": "events/evt.json", "bytes": 1})
    seen = []
    consumer = SqsConsumer(
        lambda event, _record: seen.append(event), payloads=lambda: payloads, failures=FakeFailureLog
    )
    assert consumer({"Records": [record("m1", json.dumps(body))]}, None) == {"batchItemFailures": []}
    [event] = seen
    assert isinstance(event, OrderPlaced) and event.data.order_id == "shopify:820982911946154508"


def test_the_batchs_own_work_can_fail_a_record_after_the_records_ran():
    consumer: SqsConsumer

    def after(results):
        [(status, result, _raw), _second] = results
        assert status == "success"
        consumer.fail(result, RuntimeError("the CRM push failed"))

    consumer = SqsConsumer(
        lambda _event, sqs_record: Outcome(None, "touched", result=sqs_record),
        payloads=FakePayloads,
        after_batch=after,
        failures=FakeFailureLog,
    )
    response = consumer({"Records": [record("first"), record("second")]}, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "first"}]}
    assert counted() == {"RecordsFailed": 1}
