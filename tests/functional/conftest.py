"""Functional tests: each handler called with events from events/, moto behind the adapters.

The tables, queues, bus and rules are created from template.yaml, as the local stack does.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from hub.secrets import SECRET_KEYS, environment_variable
from moto import mock_aws
from samtranslator.yaml_helper import yaml_parse

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.provision import put_secrets
from commerce_hub.local.secrets import local_secrets
from commerce_hub.local.template import load_template
from tests.aws_calls import AwsCall, CallRecorder, Policies, load_recorded, save_recorded

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
REGION = "us-east-1"
CONFIG_PARAMETER = "/commerce-hub/test/config"
SECRETS_PREFIX = "commerce-hub/test"
STACK_PARAMETERS = {"Stage": "dev", "SecretsPrefix": SECRETS_PREFIX, "ConfigParameterName": CONFIG_PARAMETER}
RECORD = os.environ.get("HUB_RECORD_AWS_CALLS") == "1"
TEMPLATE_RESOURCES = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]


@dataclass
class Aws:
    secrets: dict[str, str]  # every key, as one document
    resources: dict[str, str]  # logical id -> physical id
    bus_name: str

    def put_secrets(self, document: dict[str, str]) -> None:
        """Replace the hub's secrets (one per concern, as in AWS) with `document`."""
        from aws_lambda_powertools.utilities import parameters

        self.secrets = dict(document)
        put_secrets(boto3.client("secretsmanager"), SECRETS_PREFIX, self.secrets)
        parameters.clear_caches()

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


@pytest.fixture(scope="session")
def call_recorder() -> Iterator[CallRecorder]:
    """Every AWS call the functions make during the functional tests (see tests/aws_calls.py)."""
    patch = pytest.MonkeyPatch()
    recorder = CallRecorder()
    recorder.install(patch.setattr)
    yield recorder
    patch.undo()
    if RECORD:
        # Merged with what is there, so recording one file adds to the rest; to drop calls no test
        # makes any more, delete aws_calls.json and record the whole of tests/functional.
        save_recorded([*load_recorded(), *recorder.calls])


@pytest.fixture(scope="session", autouse=True)
def _one_rsa_key_for_symmetric_kms_keys() -> Iterator[None]:
    """moto generates a 2,048-bit RSA key pair for every KMS key it creates, symmetric ones included,
    where it never uses it (only asymmetric keys sign, verify or give a public key); each of the
    template's symmetric keys cost every functional test an RSA key generation. They share one here;
    asymmetric keys still get their own."""
    from moto.kms import models

    original = models.generate_private_key
    shared: list[Any] = []

    def generate_private_key(key_spec: str) -> Any:
        if key_spec != "SYMMETRIC_DEFAULT":
            return original(key_spec)
        if not shared:
            shared.append(original(key_spec))
        return shared[0]

    patch = pytest.MonkeyPatch()
    patch.setattr(models, "generate_private_key", generate_private_key)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def policies() -> Policies:
    return Policies(TEMPLATE_RESOURCES)


@functools.cache
def _known_calls() -> frozenset[tuple[str, str, str, str]]:
    return frozenset(load_recorded())


def check_calls(calls: list[AwsCall], policies: Policies) -> None:
    """Fail when a function made a call template.yaml does not grant, or one aws_calls.json lacks."""
    refused = policies.refused(calls)
    assert not refused, "template.yaml does not grant:\n" + "\n".join(refused)
    if not RECORD:
        missing = sorted(set().union(*(c.recorded() for c in calls)) - _known_calls())
        assert not missing, (
            f"calls missing from tests/functional/aws_calls.json: {missing}; "
            "run HUB_RECORD_AWS_CALLS=1 pytest tests/functional to record them"
        )


@functools.cache
def _emulator_template() -> str:
    """What moto's CloudFormation creates from template.yaml, translated once per session: the SAM
    transform costs as much as creating the stack, and every test's stack is built from the same text."""
    body, _warnings = load_template(ROOT, STACK_PARAMETERS, region=REGION).emulator_template()
    return json.dumps(body)


@contextlib.contextmanager
def hub_stack(monkeypatch: pytest.MonkeyPatch, call_recorder: CallRecorder, policies: Policies) -> Iterator[Aws]:
    """The hub's resources on moto, created from template.yaml, with the functions' environment set;
    on leaving, every AWS call made meanwhile is checked against the template's policies."""
    from aws_lambda_powertools.utilities import parameters
    from hub import settings
    from hub.config import forget_config
    from hub.shredding import use_data_keys

    parameters.clear_caches()
    settings.settings.cache_clear()
    use_data_keys(None)  # a new sandbox: its data key store is built from this test's environment
    forget_config()
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    with mock_aws():
        document = local_secrets({}, local_signing_keys(ROOT))
        put_secrets(boto3.client("secretsmanager"), SECRETS_PREFIX, document)
        boto3.client("ssm").put_parameter(
            Name=CONFIG_PARAMETER, Type="String", Value=(ROOT / "config" / "local.yaml").read_text()
        )
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName="hub",
            TemplateBody=_emulator_template(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in STACK_PARAMETERS.items()],
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
            "HUB_CONFIG_PARAMETER": CONFIG_PARAMETER,
            "HUB_STAGE": "dev",
            # Every function runs in this one process, so each may name every secret here; what a
            # function may really read is its template policy, which check_calls holds it to.
            **{environment_variable(concern): f"{SECRETS_PREFIX}/{concern}" for concern in SECRET_KEYS},
            # As the template sets it: personal fields travel sealed in every functional test too.
            "HUB_DATA_KEY_ID": resources["DataKey"],
        }.items():
            monkeypatch.setenv(name, value)
        naming = call_recorder.naming
        for logical, resource in TEMPLATE_RESOURCES.items():
            naming.add(resource["Type"], resources.get(logical, ""), logical)
        naming.add("AWS::Events::EventBus", bus, "HubBus")
        naming.add_environment_refs(TEMPLATE_RESOURCES)
        naming.secrets_prefix, naming.config_parameter = SECRETS_PREFIX, CONFIG_PARAMETER
        call_recorder.start_window()
        yield Aws(document, resources, bus)
        check_calls(sorted(call_recorder.window, key=AwsCall.describe), policies)
    use_data_keys(None)
    forget_config()  # the next test reads its own document, not this stack's


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, call_recorder: CallRecorder, policies: Policies) -> Iterator[Aws]:
    """A stack of the test's own."""
    with hub_stack(monkeypatch, call_recorder, policies) as stack:
        yield stack


@pytest.fixture(scope="module")
def module_aws(call_recorder: CallRecorder, policies: Policies) -> Iterator[Aws]:
    """One stack for a whole module, for modules whose tests each send their own deliveries and read
    nothing another test left (creating a stack costs more than most such tests)."""
    with pytest.MonkeyPatch.context() as monkeypatch, hub_stack(monkeypatch, call_recorder, policies) as stack:
        yield stack


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


@pytest.fixture(scope="session")
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
        # A consumer's whole timeout (60 s in template.yaml): every record's time budget comes from
        # this (hub.budget), so a smaller number would make slow moto calls refuse outbound calls.
        return 60_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())
