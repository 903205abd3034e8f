"""resource_fetch with moto: a BigCommerce delivery whose order could not be read at intake is read
later and its OrderPlaced published with the id intake would have given it; a read that keeps failing
comes back with a growing delay and ends in the dead-letter queue, never dropped."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from commerce_hub.local.sqs import sqs_event
from tests.bigcommerce_api import FakeBigCommerce
from tests.functional.test_storefront_intake import call, fresh, install_fake_bigcommerce, reading_fake_bigcommerce

REGION = "us-east-1"


@pytest.fixture
def bigcommerce(aws) -> FakeBigCommerce:
    return install_fake_bigcommerce(aws)


@pytest.fixture
def intake(aws, bigcommerce, load_function, monkeypatch):
    return reading_fake_bigcommerce(load_function("webhook_intake"), bigcommerce, monkeypatch)


@pytest.fixture
def fetcher(aws, bigcommerce, load_function, monkeypatch):
    monkeypatch.setenv("HUB_RESOURCE_FETCH_QUEUE_URL", aws.queue_url("ResourceFetchQueue"))
    return reading_fake_bigcommerce(load_function("resource_fetch"), bigcommerce, monkeypatch)


def queue_arn(aws, logical_id: str) -> str:
    url = aws.queue_url(logical_id)
    return boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(aws, logical_id: str = "ResourceFetchQueue") -> list[dict]:
    return (
        boto3.client("sqs")
        .receive_message(
            QueueUrl=aws.queue_url(logical_id), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        .get("Messages", [])
    )


def as_lambda_event(aws, messages: list[dict]) -> dict:
    return sqs_event(messages, queue_arn=queue_arn(aws, "ResourceFetchQueue"), region=REGION)


def failed_ids(fetcher, aws, messages: list[dict], context) -> set[str]:
    """The messages Lambda would retry: reported failures, or all when every record failed
    (Powertools then raises, and Lambda retries the batch)."""
    try:
        result = fetcher.lambda_handler(as_lambda_event(aws, messages), context)
    except BatchProcessingError:
        return {m["MessageId"] for m in messages}
    return {item["itemIdentifier"] for item in result["batchItemFailures"]}


def show_again(aws, message: dict) -> None:
    """What the backoff delay would do, later: the message is visible again."""
    boto3.client("sqs").change_message_visibility(
        QueueUrl=aws.queue_url("ResourceFetchQueue"), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )


@pytest.fixture
def fetch_requested(aws, bus_tap, bigcommerce, intake, context):
    """A BigCommerce order delivery that intake accepted while the API was down."""
    bigcommerce.fail_next = 99
    status, body = call(intake, context, fresh("bigcommerce_store_order_created"))
    assert (status, body["status"]) == (200, "accepted")
    (requested,) = bus_tap.events()
    assert requested["detail-type"] == "ResourceFetchRequested"
    bigcommerce.fail_next = 0
    return requested


def test_the_later_fetch_publishes_the_order_once_with_intakes_id(
    aws,
    bus_tap,
    bigcommerce,
    fetcher,
    fetch_requested,
    context,
):
    messages = receive(aws)
    assert len(messages) == 1
    assert fetcher.lambda_handler(as_lambda_event(aws, messages), context) == {"batchItemFailures": []}

    (placed,) = bus_tap.events()
    assert placed["detail-type"] == "OrderPlaced"
    assert placed["detail"]["event_id"] == fetch_requested["detail"]["data"]["canonical_event_id"]
    assert placed["detail"]["provider"] == fetch_requested["detail"]["provider"]
    assert placed["detail"]["occurred_at"] == fetch_requested["detail"]["occurred_at"]
    assert placed["detail"]["data"]["order_id"] == "bigcommerce:3108"
    assert placed["detail"]["data"]["total"] == 10160
    (stocked,) = aws.drain("StockQueue")
    assert stocked["detail"]["event_id"] == placed["detail"]["event_id"]

    # The same record again (SQS delivers at least once) publishes nothing more.
    assert fetcher.lambda_handler(as_lambda_event(aws, messages), context) == {"batchItemFailures": []}
    assert bus_tap.events() == []


def test_the_id_is_the_one_a_successful_intake_fetch_gives(aws, bus_tap, intake, fetcher, fetch_requested, context):
    fetcher.lambda_handler(as_lambda_event(aws, receive(aws)), context)
    (later,) = bus_tap.events()
    # Another subscription's delivery of the same event (same hash), fetched at intake this time.
    delivery = intake.sandbox.sources["bigcommerce"].parse(
        _request(fresh("bigcommerce_store_order_created")), _config()
    )
    assert [e.event_id for e in delivery.events] == [later["detail"]["event_id"]]


def _request(ev: dict):
    from hub.ports import WebhookRequest

    return WebhookRequest(ev["headers"], ev["body"].encode())


def _config():
    from hub.config import parse_config

    from tests.functional.conftest import ROOT

    return parse_config((ROOT / "config" / "local.yaml").read_text())


def test_a_failing_fetch_fails_the_record_and_comes_back_later(
    aws,
    bus_tap,
    bigcommerce,
    fetcher,
    fetch_requested,
    context,
):
    bigcommerce.fail_next = 1
    (message,) = receive(aws)
    assert failed_ids(fetcher, aws, [message], context) == {message["MessageId"]}
    assert bus_tap.events() == []
    # Backed off: not visible again at once.
    assert receive(aws) == []

    show_again(aws, message)
    (retry,) = receive(aws)
    assert retry["Attributes"]["ApproximateReceiveCount"] == "2"
    assert fetcher.lambda_handler(as_lambda_event(aws, [retry]), context) == {"batchItemFailures": []}
    assert [e["detail-type"] for e in bus_tap.events()] == ["OrderPlaced"]


def test_a_fetch_that_never_succeeds_ends_in_the_dead_letter_queue(
    aws,
    bus_tap,
    bigcommerce,
    fetcher,
    fetch_requested,
    context,
):
    bigcommerce.fail_next = 10_000
    receives = 0
    while messages := receive(aws):
        receives += 1
        assert failed_ids(fetcher, aws, messages, context) == {messages[0]["MessageId"]}
        show_again(aws, messages[0])
        assert receives <= 20, "the redrive policy never moved the message"
    assert receives == 10  # maxReceiveCount in template.yaml
    (dead,) = receive(aws, "ResourceFetchDeadLetterQueue")
    assert json.loads(dead["Body"])["detail"]["event_id"] == fetch_requested["detail"]["event_id"]
    assert bus_tap.events() == []


def test_the_backoff_grows_and_is_capped():
    from hub.adapters.backoff import SqsBackoff

    backoff = SqsBackoff(client=None, queue_url="unused")
    assert [backoff.delay_for(n) for n in (1, 2, 3, 4, 5, 6, 7, 10, 99)] == [30, 60, 120, 240, 480, 900, 900, 900, 900]
