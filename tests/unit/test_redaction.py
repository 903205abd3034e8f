"""Exceptions become log text without the input that made them fail (hub.redaction), through the
Logger's formatter and the batch processor's failure traces."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hub.bus import HubBatchProcessor, HubSqsRecord
from hub.errors import RedactedError
from hub.observability import RedactingFormatter
from hub.redaction import describe, field_problems, format_exception, redacted
from pydantic import BaseModel, ValidationError

from tests.fakes import FakeFailureLog

ROOT = Path(__file__).resolve().parents[2]
EMAIL, PHONE, STREET = "jane.roe.7731@example.com", "+1-415-555-0134", "417 Montgomery Street"
PERSONAL = (EMAIL, PHONE, STREET)


class Contact(BaseModel):
    email: int  # wrong on purpose: any value given fails, and pydantic would print it
    phone: list[int]
    address: dict[str, int]


def invalid_contact() -> ValidationError:
    try:
        Contact.model_validate({"email": EMAIL, "phone": [PHONE], "address": {"street": STREET}})
    except ValidationError as exc:
        return exc
    raise AssertionError("the contact validated")


def assert_clean(text: str) -> None:
    for value in PERSONAL:
        assert value not in text


def test_pydantic_itself_prints_the_input_which_is_why_this_exists():
    assert EMAIL in str(invalid_contact())


def test_a_validation_error_is_described_by_its_fields_and_problems_only():
    text = describe(invalid_contact())
    assert_clean(text)
    assert text.startswith("3 validation error(s) for Contact: 'email': Input should be a valid integer")
    assert "'phone.0'" in text and "'address.street'" in text
    assert (
        field_problems(invalid_contact())[0]
        == "'email': Input should be a valid integer, unable to parse string as an integer"
    )


def test_a_discriminated_union_tag_is_not_named_as_a_field():
    class Tagged(BaseModel):
        kind: str

    try:
        Tagged.model_validate({})
    except ValidationError as exc:
        assert field_problems(exc, skip_tag="kind") == ["'': Field required"]
        assert field_problems(exc) == ["'kind': Field required"]


def test_a_chain_through_a_validation_error_is_redacted_and_keeps_its_frames():
    class RecordError(Exception):
        pass

    try:
        try:
            raise invalid_contact()
        except ValidationError as exc:
            raise RecordError("event evt_1 failed") from exc
    except RecordError as exc:
        chained = exc
    # The standard traceback would print the email twice (the error and its cause).
    safe = redacted(chained)
    assert isinstance(safe, RedactedError) and safe.original == "RecordError"
    assert str(safe).startswith("RecordError: event evt_1 failed <- ValidationError: 3 validation error(s)")
    assert safe.__cause__ is None and safe.__context__ is None and safe.__traceback__ is chained.__traceback__
    import traceback

    assert_clean("".join(traceback.format_exception(safe)))
    text = format_exception(chained)
    assert_clean(text)
    assert "The above exception was the direct cause" in text and "test_redaction.py" in text


def test_an_exception_without_input_values_is_left_as_it_is():
    error = ValueError("order shopify:1 kept changing")
    assert redacted(error) is error
    assert describe(error) == "order shopify:1 kept changing"


def test_the_logger_formatter_redacts_logged_exceptions_text_type_value_and_stack():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log = logging.getLogger("test_redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise invalid_contact()
        except ValidationError:
            log.exception("record failed")
    finally:
        log.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert_clean(stream.getvalue())
    assert line["exception_name"] == "RedactedError"
    assert "'email': Input should be a valid integer" in line["exception"]
    assert line["stack_trace"]["frames"], "the frames are kept"


def sqs_event(*bodies: str) -> dict:
    """Records shaped as events/crm_upsert_order_placed.json (an SQS record of an EventBridge event)."""
    template = json.loads((ROOT / "events" / "crm_upsert_order_placed.json").read_text())["Records"][0]
    return {"Records": [dict(template, messageId=f"m{n}", body=body) for n, body in enumerate(bodies)]}


def broken_body() -> str:
    """The sample event with its email where a number belongs: it fails validation carrying the email."""
    template = json.loads((ROOT / "events" / "crm_upsert_order_placed.json").read_text())["Records"][0]
    body = json.loads(template["body"])
    body["detail"]["data"]["total"] = EMAIL
    body["detail"]["data"]["customer_phone"] = PHONE
    return json.dumps(body)


def test_a_batch_that_fails_whole_raises_an_error_without_the_records_input():
    # The failure log in memory: the default one writes to DynamoDB, which a unit test must not reach.
    processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord, failures=FakeFailureLog)

    def handler(record):
        raise AssertionError("the broken records never reach the handler")

    with (
        pytest.raises(BatchProcessingError) as failed,
        processor(sqs_event(broken_body(), broken_body())["Records"], handler),
    ):
        processor.process()
    # What Lambda logs and returns as the invocation's error: every record's traceback.
    text = str(failed.value)
    assert "All records failed processing" in text and text.count("RedactedError") == 2
    assert_clean(text)


def test_a_record_whose_handler_fails_on_a_validation_error_is_reported_without_its_input():
    processor = HubBatchProcessor(event_type=EventType.SQS, model=HubSqsRecord, failures=FakeFailureLog)
    good = json.loads((ROOT / "events" / "crm_upsert_order_placed.json").read_text())["Records"][0]["body"]

    def handler(record: HubSqsRecord):
        if record.messageId == "m1":
            Contact.model_validate({"email": EMAIL, "phone": [PHONE], "address": {"street": STREET}})
        return "ok"

    with processor(sqs_event(good, good)["Records"], handler):
        results = processor.process()
    assert processor.response() == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [status for status, *_ in results] == ["success", "fail"]
    assert_clean(results[1][1])
    [(_kind, exc, _tb)] = processor.exceptions
    assert isinstance(exc, RedactedError)
    assert_clean(str(exc))
