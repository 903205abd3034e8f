"""Failure reasons, kept per SQS message by the batch processor (hub.failures, hub.bus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.failures import MAX_REASON, failure_of, queue_name

from tests.fakes import FakeFailureLog

ROOT = Path(__file__).resolve().parents[2]
# events/crm_upsert_order_placed.json: an SQS record of the hub's OrderPlaced for shopify:820982911946154508.
SAMPLE = json.loads((ROOT / "events" / "crm_upsert_order_placed.json").read_text())["Records"][0]
EMAIL = "jane.secret@example.com"


def record(message_id: str, body: str | None = None, receives: int = 1) -> dict:
    attributes = dict(SAMPLE["attributes"], ApproximateReceiveCount=str(receives))
    return dict(SAMPLE, messageId=message_id, body=body or SAMPLE["body"], attributes=attributes)


class CrmRefusedError(Exception):
    pass


def run(records: list[dict], handler, failures) -> list[str]:
    """The message ids the batch reports failed (Powertools raises when every record failed)."""
    processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord, failures=failures)
    try:
        with processor(records, handler):
            processor.process()
    except BatchProcessingError:
        return [r["messageId"] for r in records]
    return [item["itemIdentifier"] for item in processor.response()["batchItemFailures"]]


def refuse(record: HubSqsRecord) -> None:
    raise CrmRefusedError("refused")


def accept(record: HubSqsRecord) -> None:
    return None


def test_a_failing_record_is_recorded_with_its_queue_order_event_and_reason():
    log = FakeFailureLog()

    def handler(record: HubSqsRecord) -> None:
        if record.messageId == "m2":
            raise CrmRefusedError("HubSpot answered 400 (VALIDATION_ERROR, request id r-1)")

    assert run([record("m1"), record("m2", receives=3)], handler, lambda: log) == ["m2"]
    [failure] = log.failures
    assert failure.message_id == "m2"
    assert failure.queue == "commerce-hub-crm-dev"
    assert failure.order_id == "shopify:820982911946154508"
    assert failure.event_type == "OrderPlaced"
    assert failure.event_id == "evt_9dcd9123deeaa3057f7397119ec1f685"
    assert failure.error == "CrmRefusedError"
    assert failure.reason == "HubSpot answered 400 (VALIDATION_ERROR, request id r-1)"
    assert failure.receive_count == 3


def test_a_record_that_is_not_a_hub_event_is_recorded_by_its_fields_never_its_values():
    body = json.loads(SAMPLE["body"])
    body["detail"]["data"]["total"] = EMAIL  # a personal value where an amount belongs
    log = FakeFailureLog()

    assert run([record("bad", json.dumps(body)), record("good")], accept, lambda: log) == ["bad"]
    [failure] = log.failures
    assert failure.error == "ValidationError"
    assert "total" in failure.reason and EMAIL not in failure.reason
    assert failure.reason.startswith("3 validation error(s) for HubSqsRecord: 'body.detail.OrderPlaced.data.total'")
    # Read from the raw body, since the record never became a model.
    assert failure.order_id == "shopify:820982911946154508"


def test_recording_that_fails_never_changes_the_outcome():
    class BrokenLog:
        def record(self, failure) -> None:
            raise RuntimeError("table unavailable")

    def handler(record: HubSqsRecord) -> None:
        if record.messageId == "m2":
            raise CrmRefusedError("refused")

    assert run([record("m1"), record("m2")], handler, BrokenLog) == ["m2"]


def test_the_log_is_built_on_the_first_failure_only():
    built: list[FakeFailureLog] = []

    def factory() -> FakeFailureLog:
        built.append(FakeFailureLog())
        return built[-1]

    assert run([record("m1")], accept, factory) == []
    assert built == []
    assert run([record("m1"), record("m2")], refuse, factory) == ["m1", "m2"]
    assert len(built) == 1 and [f.message_id for f in built[0].failures] == ["m1", "m2"]


def test_a_long_reason_is_cut_and_a_marketing_due_names_its_order():
    due = {"marketing_due": {"trigger": "post_purchase", "subject_kind": "order", "subject_id": "woocommerce:727"}}
    failure = failure_of(record("m", json.dumps(due)), CrmRefusedError("x" * 2000))
    assert failure is not None
    assert len(failure.reason) == MAX_REASON and failure.reason.endswith("…")
    assert failure.order_id == "woocommerce:727" and failure.event_id is None


@pytest.mark.parametrize(
    ("arn", "name"),
    [("arn:aws:sqs:us-east-1:123456789012:commerce-hub-crm-dev", "commerce-hub-crm-dev"), (None, "")],
)
def test_queue_name_is_the_end_of_the_arn(arn, name):
    assert queue_name(arn) == name
