"""Creating the stack in the emulator, and naming what was created.

Order matters and mirrors a deployment: the secrets and the configuration parameter exist before the
stack (the template receives the secrets' name prefix and the parameter's name as parameters), then
CloudFormation in the emulator creates the tables, queues, bus, archive, rules and log groups.
The emulator's CloudFormation skips EventBridge Scheduler schedule groups, so they are created
through the Scheduler API (`create_schedule_groups`); and the marketing sender is verified in the
emulator's SES (`verify_sender`), as a merchant verifies it in SES before deploying.

`StackResources` answers Ref and Fn::GetAtt for every logical id of the translated template: from
the emulator's physical ids where it created the resource, else computed the way CloudFormation
names things (functions, layers, the HTTP API, schedules), so intrinsics resolve everywhere.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import yaml

from .errors import LocalStackError
from .intrinsics import Resolver, UnresolvableError

__all__ = [
    "CONFIG_PARAMETER",
    "LOCAL_API_ID",
    "STACK_NAME",
    "StackResources",
    "create_schedule_groups",
    "create_stack",
    "put_config_parameter",
    "put_secrets",
    "read_config",
    "verify_sender",
]

STACK_NAME = "commerce-hub-local"
LOCAL_API_ID = "localapi00"  # the HTTP API's id locally (API Gateway ids are 10 characters)
CONFIG_PARAMETER = "/commerce-hub/local/config"
DEFAULT_CONFIG = "config/local.yaml"
_STACK_SECONDS = 60
_SSM_STANDARD_LIMIT = 4096

# The property that names a resource, where CloudFormation lets the template choose the name.
_NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
}


def read_config(root: Path, environ: Mapping[str, str], layer_folders: list[Path]) -> tuple[Path, str]:
    """The configuration file at $HUB_CONFIG (default config/local.yaml), validated by hub.config."""
    path = Path(environ.get("HUB_CONFIG") or DEFAULT_CONFIG).expanduser()
    if not path.is_absolute():
        path = root / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalStackError(f"cannot read the configuration file {path} ({exc.strerror}); set HUB_CONFIG") from exc
    validate_config(text, path, layer_folders)
    return path, text


def _config_module(layer_folders: list[Path]) -> Any | None:
    try:
        return importlib.import_module("hub.config")
    except ModuleNotFoundError as exc:
        if exc.name not in ("hub", "hub.config"):
            raise
    # Not installed in this interpreter: load it from the shared layer, as the functions will.
    for folder in layer_folders:
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    try:
        return importlib.import_module("hub.config")
    except ModuleNotFoundError as exc:
        if exc.name not in ("hub", "hub.config"):
            raise
        return None


def validate_config(text: str, path: Path, layer_folders: list[Path]) -> None:
    """Raise LocalStackError with hub.config's own message when the document is not valid."""
    module = _config_module(layer_folders)
    if module is None:
        print(f"warning: hub.config not found, so {path} was not validated", file=sys.stderr)
        return
    try:
        module.parse_config(text)
    except module.ConfigError as exc:
        raise LocalStackError(f"{path}: {exc}") from exc


def put_secrets(secretsmanager: Any, prefix: str, document: Mapping[str, str]) -> dict[str, str]:
    """Create (or update) one JSON secret per concern, `<prefix>/<concern>`, from one document.

    Each secret receives its concern's keys (hub.secrets.SECRET_KEYS); every concern's secret is
    created, empty if the document has none of its keys, so every function finds its secrets.
    Returns concern -> ARN.
    """
    from hub.secrets import split_document

    arns: dict[str, str] = {}
    for concern, values in split_document(document).items():
        name, text = f"{prefix}/{concern}", json.dumps(values)
        try:
            arns[concern] = secretsmanager.create_secret(Name=name, SecretString=text)["ARN"]
        except secretsmanager.exceptions.ResourceExistsException:
            arns[concern] = secretsmanager.put_secret_value(SecretId=name, SecretString=text)["ARN"]
    return arns


def put_console_secret(secretsmanager: Any, prefix: str, token: str) -> str:
    """The console's secret, `<prefix>/console` {"CONSOLE_TOKEN": token}: in AWS the stack generates
    it (template.yaml ConsoleTokenSecret); locally the console's token is the API token. Returns its ARN."""
    name, text = f"{prefix}/console", json.dumps({"CONSOLE_TOKEN": token})
    try:
        return str(secretsmanager.create_secret(Name=name, SecretString=text)["ARN"])
    except secretsmanager.exceptions.ResourceExistsException:
        return str(secretsmanager.put_secret_value(SecretId=name, SecretString=text)["ARN"])


def put_config_parameter(ssm: Any, name: str, text: str) -> None:
    # Above 4 KB a String parameter needs the Advanced tier, in AWS as here.
    tier = "Advanced" if len(text.encode()) > _SSM_STANDARD_LIMIT else "Standard"
    ssm.put_parameter(Name=name, Value=text, Type="String", Overwrite=True, Tier=tier)


def create_schedule_groups(scheduler: Any, names: list[str]) -> None:
    """Create each EventBridge Scheduler group of the template (one that exists is kept)."""
    existing = {group["Name"] for group in scheduler.list_schedule_groups().get("ScheduleGroups", [])}
    for name in names:
        if name not in existing:
            scheduler.create_schedule_group(Name=name)


def marketing_sender(config_text: str) -> str | None:
    """The address `marketing.sender` names in the configuration ('Shop <news@shop.example>' -> the address)."""
    document = yaml.safe_load(config_text) or {}
    marketing = document.get("marketing") if isinstance(document, dict) else None
    sender = marketing.get("sender") if isinstance(marketing, dict) else None
    address = parseaddr(sender)[1] if isinstance(sender, str) else ""
    return address or None


def verify_sender(ses: Any, config_text: str) -> str | None:
    """Verify the configuration's marketing sender in the emulator's SES; returns the address, if any."""
    address = marketing_sender(config_text)
    if address:
        ses.verify_email_identity(EmailAddress=address)
    return address


def create_stack(
    cloudformation: Any, name: str, template: Mapping[str, Any], parameters: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Create the stack and wait for CREATE_COMPLETE; returns its resources by logical id."""
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    deadline = time.monotonic() + _STACK_SECONDS
    while True:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            reasons = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
                for e in cloudformation.describe_stack_events(StackName=name)["StackEvents"]
                if e.get("ResourceStatusReason")
            ]
            raise LocalStackError(f"the local stack ended {status}: " + "; ".join(reasons[:5]))
        time.sleep(0.1)
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    return {r["LogicalResourceId"]: r for r in resources}


@dataclass
class StackResources:
    """Ref and Fn::GetAtt for every resource of the translated template (see module docstring)."""

    resources: Mapping[str, Mapping[str, Any]]
    physical_ids: Mapping[str, str]
    queue_url: Callable[[str], str]
    api_endpoint: str
    region: str
    account_id: str
    stack_name: str = STACK_NAME
    resolver: Resolver | None = None

    def __post_init__(self) -> None:
        self._refs: dict[str, Any] = {}
        self._resolving: set[str] = set()

    # ---------------------------------------------------------------- helpers
    def _resource(self, logical_id: str) -> Mapping[str, Any]:
        if logical_id not in self.resources:
            raise UnresolvableError(f"{logical_id!r} is not a parameter or resource of the template")
        return self.resources[logical_id]

    def _property(self, logical_id: str, name: str) -> Any:
        assert self.resolver is not None, "StackResources.resolver must be set before use"
        value = self._resource(logical_id).get("Properties", {}).get(name)
        return None if value is None else self.resolver.resolve(value)

    def _generated_name(self, logical_id: str, limit: int = 64) -> str:
        # CloudFormation appends a random suffix; locally a stable name reads better.
        return f"{self.stack_name}-{logical_id}"[:limit]

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    # ------------------------------------------------------------------- Ref
    def ref(self, logical_id: str) -> Any:
        if logical_id not in self._refs:
            if logical_id in self._resolving:
                raise UnresolvableError(f"{logical_id} refers to itself")
            self._resolving.add(logical_id)
            try:
                self._refs[logical_id] = self._compute_ref(logical_id)
            finally:
                self._resolving.discard(logical_id)
        return self._refs[logical_id]

    def _compute_ref(self, logical_id: str) -> Any:
        kind = str(self._resource(logical_id).get("Type"))
        if kind == "AWS::SQS::Queue":
            return self.queue_url(self._queue_name(logical_id))
        if kind == "AWS::ApiGatewayV2::Api":
            return LOCAL_API_ID
        # moto reports no physical id for a bus or an archive; their Ref is the name they were given.
        physical = self.physical_ids.get(logical_id)
        if physical and kind not in ("AWS::Events::EventBus", "AWS::Events::Archive"):
            return physical
        name_property = _NAME_PROPERTIES.get(kind)
        name = self._property(logical_id, name_property) if name_property else None
        if kind == "AWS::Lambda::LayerVersion":
            return self._arn("lambda", f"layer:{name or self._generated_name(logical_id)}:1")
        return name or self._generated_name(logical_id)

    def _queue_name(self, logical_id: str) -> str:
        physical = self.physical_ids.get(logical_id)
        if physical:
            return physical.rstrip("/").rsplit("/", 1)[-1]
        return self._property(logical_id, "QueueName") or self._generated_name(logical_id, 80)

    # ---------------------------------------------------------------- GetAtt
    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self._resource(logical_id).get("Type")
        value = self._attribute(logical_id, kind, attribute)
        if value is None:
            raise UnresolvableError(f"Fn::GetAtt {logical_id}.{attribute} ({kind}) is not known locally")
        return value

    def _attribute(self, logical_id: str, kind: Any, attribute: str) -> Any:
        if kind == "AWS::SQS::Queue":
            name = self._queue_name(logical_id)
            return {
                "Arn": self._arn("sqs", name),
                "QueueName": name,
                "QueueUrl": self.queue_url(name),
            }.get(attribute)
        ref = self.ref(logical_id)
        if kind == "AWS::DynamoDB::Table":
            return {"Arn": self._arn("dynamodb", f"table/{ref}")}.get(attribute)
        if kind == "AWS::Events::EventBus":
            return {"Arn": self._arn("events", f"event-bus/{ref}"), "Name": ref}.get(attribute)
        if kind == "AWS::Events::Archive":
            return {"Arn": self._arn("events", f"archive/{ref}"), "ArchiveName": ref}.get(attribute)
        if kind == "AWS::Events::Rule":
            bus = self._property(logical_id, "EventBusName")
            rule = ref.split("|")[-1]
            path = f"rule/{bus}/{rule}" if bus and bus != "default" else f"rule/{rule}"
            return {"Arn": self._arn("events", path)}.get(attribute)
        if kind == "AWS::Logs::LogGroup":
            return {"Arn": self._arn("logs", f"log-group:{ref}:*")}.get(attribute)
        if kind == "AWS::Lambda::Function":
            return {"Arn": self._arn("lambda", f"function:{ref}")}.get(attribute)
        if kind == "AWS::IAM::Role":
            return {"Arn": f"arn:aws:iam::{self.account_id}:role/{ref}", "RoleId": ref}.get(attribute)
        if kind == "AWS::Scheduler::Schedule":
            group = self._property(logical_id, "GroupName") or "default"
            return {"Arn": self._arn("scheduler", f"schedule/{group}/{ref}")}.get(attribute)
        if kind == "AWS::Scheduler::ScheduleGroup":
            return {"Arn": self._arn("scheduler", f"schedule-group/{ref}")}.get(attribute)
        if kind == "AWS::ApiGatewayV2::Api":
            return {"ApiEndpoint": self.api_endpoint, "ApiId": ref}.get(attribute)
        if kind == "AWS::Lambda::LayerVersion":
            return {"LayerVersionArn": ref}.get(attribute)
        return None
