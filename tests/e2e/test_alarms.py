"""The alarms' inputs through the local stack: what the 401 alarm counts, and the rule targets' dead letters.

A stack of this module's own, whose console writes everything (verbose, EMF metric documents
included) to a buffer. The stack ignores CloudWatch alarms and SNS (AWS evaluates them, not the
emulator); what it must get right is what they watch: intake's metric on a wrong signature, and
rules whose targets carry their DeadLetterConfig and RetryPolicy into the emulator.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pytest
from samtranslator.yaml_helper import yaml_parse

from commerce_hub.local import LocalStack
from commerce_hub.local.console import Console
from tests.e2e.test_storefront_intake import post, woo_order
from tests.e2e.waiting import wait_for

from .conftest import ROOT, _environment

pytestmark = pytest.mark.e2e

TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())


@pytest.fixture(scope="module")
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def alarm_stack(output) -> Iterator[LocalStack]:
    console = Console(verbose=True, stream=output)
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(), verbose=True, console=console) as running:
        yield running


@pytest.fixture
def http(alarm_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=alarm_stack.url, timeout=30) as client:
        yield client


def _metric_documents(text: str, name: str) -> list[dict]:
    """The EMF documents a function printed (prefixed `[function] `) that carry metric `name`."""
    found = []
    for line in text.splitlines():
        start = line.find('{"_aws"')
        if start < 0:
            continue
        document = json.loads(line[start:])
        if any(m["Name"] == name for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]):
            found.append(document)
    return found


def test_a_delivery_signed_with_the_wrong_secret_is_counted_where_the_401_alarm_looks(alarm_stack, http, output):
    """The WooCommerce order.created sample (events/payloads, after WooCommerce's REST API docs),
    signed with a secret the store has but the hub does not: the mis-configuration the alarm is for."""
    response = post(
        http,
        alarm_stack,
        "woocommerce",
        woo_order(7270, "ALARM-SKU"),
        topic="order.created",
        secrets={"WOOCOMMERCE_WEBHOOK_SECRET": "the store's secret, not the hub's"},
    )
    assert response.status_code == 401, response.text
    alarm = TEMPLATE["Resources"]["IntakeUnauthorizedAlarm"]["Properties"]
    (document,) = wait_for(
        lambda: _metric_documents(output.getvalue(), alarm["MetricName"]), seconds=30, what="the 401 metric"
    )
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == alarm["Namespace"]
    for dimension in alarm["Dimensions"]:
        assert [dimension["Name"]] in directive["Dimensions"] and document[dimension["Name"]] == dimension["Value"]
    value = document[alarm["MetricName"]]
    assert (sum(value) if isinstance(value, list) else value) == 1


def test_a_good_delivery_is_not_counted_by_the_401_alarm(alarm_stack, http, output):
    before = len(_metric_documents(output.getvalue(), "WebhookUnauthorized"))
    response = post(http, alarm_stack, "woocommerce", woo_order(7271, "ALARM-SKU"), topic="order.created")
    assert response.status_code == 200, response.text
    wait_for(lambda: _metric_documents(output.getvalue(), "WebhookAccepted"), seconds=30, what="the accepted metric")
    assert len(_metric_documents(output.getvalue(), "WebhookUnauthorized")) == before


def test_every_queue_rule_in_the_emulator_dead_letters_to_its_queues_dlq_with_a_retry_policy(alarm_stack):
    events, sqs = alarm_stack.client("events"), alarm_stack.client("sqs")
    bus = next(b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default")
    rules = [r for r in events.list_rules(EventBusName=bus)["Rules"] if r["Name"].startswith("commerce-hub-")]
    assert len(rules) >= 8, [r["Name"] for r in rules]
    for rule in rules:
        (target,) = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        queue_url = sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[-1])["QueueUrl"]
        redrive = json.loads(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"][
                "RedrivePolicy"
            ]
        )
        assert target["DeadLetterConfig"]["Arn"] == redrive["deadLetterTargetArn"], rule["Name"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}, rule["Name"]
