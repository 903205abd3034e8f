"""Functional tests: each handler called with events from events/, moto behind the adapters.

The tables, queues, bus and rules are created from template.yaml, as the local stack does.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from commerce_hub.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
REGION = "us-east-1"
CONFIG_PARAMETER = "/commerce-hub/test/config"


@dataclass
class Aws:
    secrets_arn: str
    resources: dict[str, str]  # logical id -> physical id
    bus_name: str

    def queue_url(self, logical_id: str) -> str:
        return self.resources[logical_id]

    def drain(self, logical_id: str) -> list[dict[str, Any]]:
        """Every message now on the queue, deleted as it is read."""
        sqs = boto3.client("sqs")
        bodies = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url(logical_id), MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return bodies
            for message in got:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url(logical_id), ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    from aws_lambda_powertools.utilities import parameters
    from hub import config, settings
    from hub.shredding import use_data_keys

    parameters.clear_caches()
    settings.settings.cache_clear()
    use_data_keys(None)  # a new sandbox: its data key store is built from this test's environment
    monkeypatch.setattr(config, "_cached", None)
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="commerce-hub/test", SecretString=json.dumps(local_secrets({}, local_signing_keys(ROOT)))
        )["ARN"]
        boto3.client("ssm").put_parameter(
            Name=CONFIG_PARAMETER, Type="String", Value=(ROOT / "config" / "local.yaml").read_text()
        )
        values = {"Stage": "dev", "SecretsArn": arn, "ConfigParameterName": CONFIG_PARAMETER}
        body, _warnings = load_template(ROOT, values, region=REGION).emulator_template()
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName="hub",
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        )
        resources = {
            r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
            for r in cloudformation.describe_stack_resources(StackName="hub")["StackResources"]
        }
        bus = next(b["Name"] for b in boto3.client("events").list_event_buses()["EventBuses"] if b["Name"] != "default")
        for name, value in {
            "HUB_TABLE": resources["HubTable"],
            "HUB_IDEMPOTENCY_TABLE": resources["IdempotencyTable"],
            "HUB_EVENT_BUS": bus,
            "HUB_PAYLOAD_BUCKET": resources["PayloadBucket"],
            "HUB_SECRETS_ARN": arn,
            "HUB_CONFIG_PARAMETER": CONFIG_PARAMETER,
            "HUB_STAGE": "dev",
            # As the template sets it: personal fields travel sealed in every functional test too.
            "HUB_DATA_KEY_ID": resources["DataKey"],
        }.items():
            monkeypatch.setenv(name, value)
        yield Aws(arn, resources, bus)
    use_data_keys(None)


class BusTap:
    """A catch-all rule on the hub bus with a queue behind it: what was published, in order."""

    def __init__(self, aws: Aws) -> None:
        sqs, events = boto3.client("sqs"), boto3.client("events")
        self._url = sqs.create_queue(QueueName=f"tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="test-tap",
            EventBusName=aws.bus_name,
            EventPattern=json.dumps({"source": [{"prefix": "commerce-hub."}]}),
        )
        events.put_targets(Rule="test-tap", EventBusName=aws.bus_name, Targets=[{"Id": "tap", "Arn": arn}])

    def events(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        seen = []
        while True:
            got = sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return seen
            for message in got:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def bus_tap(aws: Aws) -> BusTap:
    return BusTap(aws)


@pytest.fixture
def load_function() -> Callable[[str], ModuleType]:
    """Import functions/<name>/app.py afresh, as a new Lambda sandbox would."""

    def load(name: str) -> ModuleType:
        path = ROOT / "functions" / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"fn_{name}_{uuid.uuid4().hex[:8]}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while being defined
        spec.loader.exec_module(module)
        return module

    return load


class FakeContext:
    function_name = "commerce-hub-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:commerce-hub-test"
    memory_limit_in_mb = 512
    aws_request_id = "11111111-2222-3333-4444-555555555555"
    log_group_name = "/aws/lambda/commerce-hub-test"
    log_stream_name = "2026/11/27/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())
