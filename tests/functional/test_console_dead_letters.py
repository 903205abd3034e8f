"""The console's dead-letters pages on moto: each queue with its count and first failure, a queue's
messages with their order and why they failed, and the redrive button, which does what
`commerce-hub dlq redrive` does (the same hub.services.deadletters).

The dead letter is events/crm_upsert_order_placed.json (the hub's OrderPlaced for
shopify:820982911946154508) with a customer's email where its total belongs, dead-lettered by
crm_upsert as in tests/functional/test_dead_letters.py.
"""

from __future__ import annotations

import re

import boto3
import pytest

from tests.functional import test_console
from tests.functional.conftest import TEMPLATE_RESOURCES
from tests.functional.test_console import http, set_cookies, sign_in
from tests.functional.test_dead_letters import EMAIL, ORDER_ID, broken_body, deliver_until_dead

console = pytest.fixture(test_console.console.__wrapped__)


@pytest.fixture
def queues(aws, monkeypatch):
    """HUB_DEAD_LETTER_QUEUES as template.yaml sets it for the console: the logical ids it names."""
    text = TEMPLATE_RESOURCES["ConsoleFunction"]["Properties"]["Environment"]["Variables"]["HUB_DEAD_LETTER_QUEUES"]
    logical_ids = re.findall(r"(\w+)=\$\{\1\}", text["Fn::Sub"])
    assert "CrmDeadLetterQueue" in logical_ids and "ScheduleDeadLetterQueue" in logical_ids
    monkeypatch.setenv("HUB_DEAD_LETTER_QUEUES", ",".join(f"{q}={aws.queue_url(q)}" for q in logical_ids))
    # As on the local stack: moto has no SQS move tasks, so a queue is redriven message by message.
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    return logical_ids


def _csrf(page):
    return re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)


def _row(body, attribute, value):
    found = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', body, re.S)
    assert found, f"no row {attribute}={value}"
    return re.sub(r"\s+", " ", found.group(1))


def test_a_dead_letter_is_listed_shown_with_its_reason_and_redriven(aws, queues, console, load_function, context):
    crm = load_function("crm_upsert")
    message_id = deliver_until_dead(aws, "CrmQueue", lambda ev: crm.lambda_handler(ev, context), broken_body())
    cookies = set_cookies(sign_in(console, context))

    listed = console.lambda_handler(http("GET", "/console/dead-letters", cookies=cookies), context)
    assert listed["statusCode"] == 200
    row = _row(listed["body"], "data-queue", "crm")
    assert '<td class="num messages">1</td>' in row
    assert "ValidationError: " in row and ">Redrive</button>" in row
    assert '<td class="num messages">0</td>' in _row(listed["body"], "data-queue", "stock")
    assert "no source queue" in _row(listed["body"], "data-queue", "schedules")
    assert "1 message waits" in listed["body"]

    shown = console.lambda_handler(http("GET", "/console/dead-letters/crm", cookies=cookies), context)
    assert shown["statusCode"] == 200
    row = _row(shown["body"], "data-message-id", message_id)
    assert f'href="/console/orders/{ORDER_ID.replace(":", "%3A")}">{ORDER_ID}</a>' in row
    assert "OrderPlaced" in row and '<td class="num">5</td>' in row
    assert "body.detail.OrderPlaced.data.total" in row
    assert EMAIL not in shown["body"]  # reasons name fields, never values

    # A redrive is a form POST with the session's CSRF token, like every change.
    refused = console.lambda_handler(
        http("POST", "/console/dead-letters/crm/redrive", form={}, cookies=cookies), context
    )
    assert refused["statusCode"] == 403
    assert (
        console.lambda_handler(http("GET", "/console/dead-letters/crm/redrive", cookies=cookies), context)["statusCode"]
        == 405
    )
    done = console.lambda_handler(
        http("POST", "/console/dead-letters/crm/redrive", form={"csrf": _csrf(shown)}, cookies=cookies), context
    )
    assert done["statusCode"] == 303
    assert done["headers"]["Location"] == "/console/dead-letters?redriven=crm&moved=1"
    [back] = boto3.client("sqs").receive_message(QueueUrl=aws.queue_url("CrmQueue"))["Messages"]
    assert back["MessageId"] != "" and back["Body"] == broken_body()

    after = console.lambda_handler(
        http("GET", "/console/dead-letters", query={"redriven": "crm", "moved": "1"}, cookies=cookies), context
    )
    assert "Moved 1 message of crm back" in after["body"]
    assert '<td class="num messages">0</td>' in _row(after["body"], "data-queue", "crm")


def test_an_unknown_queue_is_a_404_naming_the_queues_there_are(aws, queues, console, context):
    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/dead-letters/nope", cookies=cookies), context)
    assert page["statusCode"] == 404
    assert "no dead-letter queue &#39;nope&#39;" in page["body"] and "crm, marketing" in page["body"]
    # The schedules' dead-letter queue has no source queue to send its messages back to.
    shown = console.lambda_handler(http("GET", "/console/dead-letters/schedules", cookies=cookies), context)
    refused = console.lambda_handler(
        http("POST", "/console/dead-letters/schedules/redrive", form={"csrf": _csrf(shown)}, cookies=cookies), context
    )
    assert refused["statusCode"] == 404 and "no source queue" in refused["body"]
