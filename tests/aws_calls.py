"""Least privilege, checked from both ends: the AWS calls each function makes vs template.yaml.

While the functional tests run, `CallRecorder` sees every botocore call. A call made under
`functions/<name>/app.py` (found on the call stack) is recorded as an `AwsCall`: the function, the
IAM action, the resource in the template's own terms (a logical id, plus the object key, the
schedule or the secret's concern) and, for DynamoDB, the partition keys it touches.

`Policies` reads each function's `Statement`s from template.yaml and answers whether a call is
allowed: action, resource and the `dynamodb:LeadingKeys` condition, evaluated as IAM does
(`ForAllValues` holds for every key the request names). The functional tests fail any call the
template does not grant; `RECORDED` (tests/functional/aws_calls.json, regenerated with
HUB_RECORD_AWS_CALLS=1) lists what they saw, so tests/test_template.py can check the other
direction without moto: every grant is exercised by a test, or named in `NOT_RECORDED` with why.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from hub.adapters.keys import FIXED_KEYS

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "functional" / "aws_calls.json"
_FUNCTIONS = str(ROOT / "functions")

# API operation -> IAM action, where they differ.
_ACTIONS = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
}
# DynamoDB transactions are authorised per item, by the item's own action.
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}

_CACHED = (
    "read first by another function in the same test process: the configuration and secrets are cached "
    "per process (hub.config, Powertools parameters), so only the first reader's call is seen"
)
_CLAIM_PUT = "claim check: only an event over 250 KB is written to S3, and no functional test of it publishes one"
_CLAIM_GET = "claim check: only an event over 250 KB is read from S3, and no functional test of it receives one"
_LEDGER = (
    "hub.adapters.dynamodb: a large order's stale parts are deleted under a ConditionCheck on the order "
    "after a change (seen for payment_confirmation in test_large_orders_downstream)"
)
_POWERTOOLS = (
    "Powertools Idempotency reads a record it finds in progress, and deletes its record when the handler fails"
)

_SHARED_KEY_CACHE = (
    "opens data keys from the cache the sealing function filled: in the functional tests every function "
    "shares one process and one key cache (hub.shredding), so only the sealer's calls are seen; on AWS each "
    "function has its own sandbox and unwraps the key itself (tests/functional/test_data_keys.py covers the calls)"
)

_SHARDS = (
    "reads a hot SKU's stock shards (configuration stock.shards) with the levels; the functional tests "
    "of sharded stock go through admin_api and stock_updates (tests/functional/test_sharded_stock.py)"
)

# Granted but never called by the functional tests, each with the reason it is still needed: by
# action for every function, or by (function, action).
NOT_RECORDED: dict[str | tuple[str, str], str] = {
    # The event source mapping polls with the function's role; no code of the function calls these.
    "sqs:ReceiveMessage": "called by Lambda's event source mapping with the function's role",
    "sqs:DeleteMessage": "called by Lambda's event source mapping with the function's role",
    ("admin_api", "s3:PutObject"): _CLAIM_PUT,
    ("admin_api", "dynamodb:DeleteItem"): _LEDGER,
    ("admin_api", "dynamodb:ConditionCheckItem"): _LEDGER,
    ("channel_sync", "ssm:GetParameter"): _CACHED,
    ("crm_upsert", "s3:PutObject"): _CLAIM_PUT + " (its privacy exports under privacy/ are seen)",
    ("crm_upsert", "dynamodb:Scan"): "shop/redact finds a shop's items by scanning; covered by unit tests with fakes",
    ("marketing_triggers", "s3:PutObject"): _CLAIM_PUT,
    ("marketing_triggers", "secretsmanager:GetSecretValue"): "Klaviyo/Mailchimp keys: " + _CACHED,
    ("marketing_unsubscribe", "ssm:GetParameter"): _CACHED,
    ("marketing_unsubscribe", "secretsmanager:GetSecretValue"): _CACHED,
    ("order_routing", "s3:PutObject"): _CLAIM_PUT,
    ("order_routing", "s3:GetObject"): _CLAIM_GET,
    ("order_routing", "dynamodb:DeleteItem"): _LEDGER,
    ("order_routing", "dynamodb:ConditionCheckItem"): _LEDGER,
    ("order_routing", "ssm:GetParameter"): _CACHED,
    ("payment_confirmation", "s3:PutObject"): _CLAIM_PUT,
    ("payment_confirmation", "s3:GetObject"): _CLAIM_GET,
    ("payment_confirmation", "dynamodb:ConditionCheckItem"): _LEDGER,
    ("console", "s3:PutObject"): _CLAIM_PUT,
    ("console", "ssm:GetParameter"): _CACHED,
    ("console", "dynamodb:DeleteItem"): (
        "a correction of a SKU kept in fewer shards than before deletes the shards beyond the new count "
        "(hub.adapters.dynamodb, as for PUT /inventory: tests/functional/test_sharded_stock.py)"
    ),
    ("console", "sqs:StartMessageMoveTask"): (
        "in AWS a whole dead-letter queue is redriven by an SQS move task, which moto has not; the functional "
        "tests redrive as the local stack does, message by message (tests/unit/test_operator_commands.py covers the call)"
    ),
    ("console", "sqs:ReceiveMessage"): "the same peek on every dead-letter queue holding a message; the test fills one",
    (
        "console",
        "sqs:ChangeMessageVisibility",
    ): "the same release on every dead-letter queue peeked; the test fills one",
    ("console", "sqs:SendMessage"): "back to the source queue of the dead-letter queue redriven; the test redrives one",
    ("queue_health", "sqs:GetQueueAttributes"): "the same call on every queue of HUB_QUEUE_URLS; the test names four",
    ("resource_fetch", "s3:PutObject"): _CLAIM_PUT,
    ("resource_fetch", "dynamodb:GetItem"): _POWERTOOLS,
    ("resource_fetch", "dynamodb:DeleteItem"): _POWERTOOLS,
    ("resource_fetch", "ssm:GetParameter"): _CACHED,
    (
        "resource_fetch",
        "secretsmanager:GetSecretValue",
    ): "the tests hand resource_fetch a BigCommerce client of their own",
    ("stock_updates", "s3:PutObject"): _CLAIM_PUT,
    ("stock_updates", "dynamodb:DeleteItem"): _LEDGER,
    ("webhook_intake", "dynamodb:GetItem"): _POWERTOOLS,
    ("reconciler", "dynamodb:GetItem"): _POWERTOOLS + " (its reads of cursors and timelines are seen)",
    ("reconciler", "dynamodb:DeleteItem"): _POWERTOOLS,
    ("reconciler", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("reconciler", "s3:PutObject"): _CLAIM_PUT,
    ("webhook_intake", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("resource_fetch", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("crm_upsert", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("crm_upsert", "s3:DeleteObject"): (
        "an erasure deletes the customer's data-request exports only when there are some; the functional "
        "erasure finds none (tests/unit/test_privacy.py deletes them through a fake store)"
    ),
    ("marketing_triggers", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("marketing_triggers", "keys DEK#*"): _SHARED_KEY_CACHE,
    ("marketing_triggers", "keys PRIVACY#customer:*"): (
        "Klaviyo and Mailchimp contact ids are recorded when those channels answer with one; the functional "
        "marketing tests send by SES (tests/unit/test_contact_erasure.py covers the records)"
    ),
    ("payment_confirmation", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("payment_confirmation", "keys DEK#*"): _SHARED_KEY_CACHE,
    ("reporting", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("reporting", "keys DEK#*"): _SHARED_KEY_CACHE,
    ("stock_updates", "kms:Decrypt"): _SHARED_KEY_CACHE,
    ("stock_updates", "keys DEK#*"): _SHARED_KEY_CACHE,
    ("channel_sync", "dynamodb:BatchGetItem"): _SHARDS,
    ("catalog_sync", "s3:PutObject"): _CLAIM_PUT,
    ("catalog_sync", "s3:GetObject"): _CLAIM_GET,
    ("catalog_sync", "ssm:GetParameter"): _CACHED,
    ("catalog_sync", "dynamodb:DeleteItem"): (
        "a SKU a product no longer has leaves the SKU index in the product's transaction "
        "(hub.adapters.catalog_store); the functional tests' products keep their SKUs"
    ),
    ("payment_confirmation", "dynamodb:BatchGetItem"): _SHARDS,
}
# The poll also reads its queue's attributes (by action for the consumers only: queue_health calls it itself).
for _consumer in (
    "stock_updates",
    "channel_sync",
    "catalog_sync",
    "resource_fetch",
    "payment_confirmation",
    "order_routing",
    "crm_upsert",
    "reporting",
    "marketing_triggers",
):
    NOT_RECORDED[(_consumer, "sqs:GetQueueAttributes")] = (
        "called by Lambda's event source mapping with the function's role"
    )


@dataclass(frozen=True)
class AwsCall:
    function: str
    action: str
    resource: str
    leading_keys: tuple[str, ...] | None = None  # DynamoDB only: the partition keys the request names

    def describe(self) -> str:
        keys = f" with partition keys {list(self.leading_keys)}" if self.leading_keys is not None else ""
        return f"{self.function} calls {self.action} on {self.resource}{keys}"

    def recorded(self) -> set[Recorded]:
        """What aws_calls.json keeps: object keys and schedule names as `<first segment>/*`, and
        each partition key as its type (`ORDER#x` -> `ORDER#*`; the fixed `PRIVACY#salt` kept)."""
        resource = self.resource
        if "/" in resource and not resource.startswith("SecretsPrefix/") and "/index/" not in resource:
            head, _, rest = resource.partition("/")
            resource = f"{head}/{rest.split('/', 1)[0]}/*" if "/" in rest else f"{head}/*"
        keys = {_key_type(key) for key in self.leading_keys or ()} or {""}
        return {(self.function, self.action, resource, key) for key in keys}


# (function, action, resource, partition key type or "")
Recorded = tuple[str, str, str, str]


# Partitions recorded by their first two segments, since a grant names them so (the console may
# Query REPORT#DAY#* and nothing else under REPORT#).
_TWO_SEGMENT_KEYS = ("REPORT#DAY#",)


def _key_type(key: str) -> str:
    for known in _TWO_SEGMENT_KEYS:
        if key.startswith(known):
            return f"{known}*"
    prefix, sep, _rest = key.partition("#")
    return key if key in FIXED_KEYS or not sep else f"{prefix}#*"


def _scalar(value: Any) -> str | None:
    """A key attribute as the client sends it ({"S": "x"}) or as a plain string."""
    if isinstance(value, dict):
        value = value.get("S", value.get("N"))
    return None if value is None else str(value)


def _query_partition(params: Mapping[str, Any], any_attribute: bool = False) -> list[str]:
    expression = str(params.get("KeyConditionExpression", ""))
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for name, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", expression):
        if any_attribute or names.get(name, name) == "pk":
            found = _scalar(values.get(placeholder))
            return [found] if found is not None else []
    return []


# The service whose calls name a resource of each type (names repeat across types: table and bus).
_SERVICE_OF_TYPE = {
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::S3::Bucket": "s3",
    "AWS::Events::EventBus": "events",
    "AWS::SQS::Queue": "sqs",
    "AWS::IAM::Role": "iam",
    "AWS::Scheduler::ScheduleGroup": "scheduler",
    "AWS::KMS::Key": "kms",
}


@dataclass
class Naming:
    """Physical names of the functional tests' resources -> the template's logical ids."""

    logical: dict[tuple[str, str], str] = field(default_factory=dict)  # (service, physical name) -> logical id
    secrets_prefix: str = ""
    config_parameter: str = ""
    # Function environment variables that name a resource (HUB_MARKETING_SCHEDULE_GROUP: !Ref
    # MarketingScheduleGroup): a test may point them at names of its own.
    environment_refs: dict[str, str] = field(default_factory=dict)

    def add(self, resource_type: str, physical: str, logical_id: str) -> None:
        service = _SERVICE_OF_TYPE.get(resource_type)
        if service and physical:
            self.logical[(service, physical.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])] = logical_id

    def of(self, service: str, physical: str) -> str:
        name = physical.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if (service, name) in self.logical:
            return self.logical[(service, name)]
        for variable, logical_id in self.environment_refs.items():
            value = os.environ.get(variable, "")
            if value and value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] == name:
                return logical_id
        return f"unknown:{physical}"

    def add_environment_refs(self, resources: Mapping[str, Any]) -> None:
        for resource in resources.values():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            for variable, value in variables.items():
                if isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value):
                    target = value.get("Ref") or value["Fn::GetAtt"]
                    self.environment_refs[variable] = str(target[0] if isinstance(target, list) else target)

    def secret(self, secret_id: str) -> str:
        name = secret_id.split(":secret:", 1)[-1]
        if self.secrets_prefix and name.startswith(self.secrets_prefix + "/"):
            concern = name[len(self.secrets_prefix) + 1 :].split("-", 1)[0]
            # Secrets Manager ends every ARN with six random characters.
            return f"SecretsPrefix/{concern}-abcdef"
        return f"unknown:{secret_id}"


def calls_of(function: str, service: str, operation: str, params: Mapping[str, Any], naming: Naming) -> list[AwsCall]:
    """The IAM view of one API call: one AwsCall per action and resource it needs."""
    action = _ACTIONS.get((service, operation), f"{service}:{operation}")
    if service == "dynamodb":
        return list(_dynamodb_calls(function, operation, params, naming))
    if service == "s3":
        bucket = naming.of("s3", str(params.get("Bucket", "")))
        key = params.get("Key")
        return [AwsCall(function, action, f"{bucket}/{key}" if key is not None else bucket)]
    if service == "secretsmanager":
        return [AwsCall(function, action, naming.secret(str(params.get("SecretId", ""))))]
    if service == "ssm":
        name = str(params.get("Name", ""))
        return [
            AwsCall(function, action, "ConfigParameterName" if name == naming.config_parameter else f"unknown:{name}")
        ]
    if service == "events":
        buses = {str(entry.get("EventBusName", "default")) for entry in params.get("Entries", [])} or {"default"}
        return [AwsCall(function, action, naming.of("events", bus)) for bus in sorted(buses)]
    if service == "sqs":
        return [AwsCall(function, action, naming.of("sqs", str(params.get("QueueUrl", ""))))]
    if service == "scheduler":
        group = naming.of("scheduler", str(params.get("GroupName", "default")))
        found = [AwsCall(function, action, f"{group}/{params.get('Name', '')}")]
        if operation == "CreateSchedule":
            role = (params.get("Target") or {}).get("RoleArn", "")
            found.append(AwsCall(function, "iam:PassRole", naming.of("iam", str(role))))
        return found
    if service == "ses":
        return [AwsCall(function, action, "MarketingSenderIdentity")]
    if service == "kms":
        return [AwsCall(function, action, naming.of("kms", str(params.get("KeyId", ""))))]
    return [AwsCall(function, action, "*")]


def _dynamodb_calls(function: str, operation: str, params: Mapping[str, Any], naming: Naming) -> Iterator[AwsCall]:
    def call(action: str, table: str, keys: Iterable[str | None]) -> AwsCall:
        return AwsCall(
            function, f"dynamodb:{action}", naming.of("dynamodb", table), tuple(sorted({k for k in keys if k}))
        )

    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        yield call(operation, params["TableName"], [_scalar((params.get("Key") or {}).get("pk"))])
    elif operation == "PutItem":
        yield call(operation, params["TableName"], [_scalar((params.get("Item") or {}).get("pk"))])
    elif operation == "Query" and params.get("IndexName"):
        # A query of an index is granted on `<table ARN>/index/<name>`; its leading key is the
        # index's own partition key (the one equality of the key condition).
        table = naming.of("dynamodb", params["TableName"])
        yield AwsCall(
            function,
            "dynamodb:Query",
            f"{table}/index/{params['IndexName']}",
            tuple(sorted(_query_partition(params, any_attribute=True))),
        )
    elif operation == "Query":
        yield call(operation, params["TableName"], _query_partition(params))
    elif operation == "Scan":
        yield call(operation, params["TableName"], [])
    elif operation == "BatchGetItem":
        for table, request in (params.get("RequestItems") or {}).items():
            yield call(operation, table, [_scalar(k.get("pk")) for k in request.get("Keys", [])])
    elif operation == "BatchWriteItem":
        for table, requests in (params.get("RequestItems") or {}).items():
            keys = [
                _scalar(
                    ((r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key") or {}).get(
                        "pk"
                    )
                )
                for r in requests
            ]
            yield call(operation, table, keys)
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                action = "GetItem" if kind == "Get" else _TRANSACT[kind]
                key = (request.get("Item") or request.get("Key") or {}).get("pk")
                yield call(action, request["TableName"], [_scalar(key)])
    else:
        yield call(operation, str(params.get("TableName", "")), [])


class CallRecorder:
    """Wraps botocore's BaseClient._make_api_call; records the calls made by function code."""

    def __init__(self) -> None:
        self.calls: set[Recorded] = set()  # every call of the session, as aws_calls.json keeps it
        self.window: set[AwsCall] = set()  # the calls since the last `start_window`
        self.naming = Naming()

    def start_window(self) -> None:
        self.window = set()

    def install(self, patch: Callable[[Any, str, Any], None]) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
            function = _calling_function()
            if function is not None:
                service = client.meta.service_model.signing_name
                for call in calls_of(function, service, operation_name, api_params, recorder.naming):
                    recorder.window.add(call)
                    recorder.calls.update(call.recorded())
            return original(client, operation_name, api_params)

        patch(BaseClient, "_make_api_call", recording)


def _calling_function() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_FUNCTIONS):
            return Path(filename).relative_to(_FUNCTIONS).parts[0]
        frame = frame.f_back
    return None


# ------------------------------------------------------------------ the template's side
def function_folders(resources: Mapping[str, Any]) -> dict[str, str]:
    """Logical id of each function -> its folder name under functions/."""
    return {
        logical_id: Path(str(resource["Properties"]["CodeUri"])).name
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def _resource_pattern(expression: Any) -> str:
    """A policy Resource in the template's own terms: `!GetAtt HubTable.Arn` -> HubTable, and so on."""
    if isinstance(expression, str):
        return expression
    if isinstance(expression, dict) and "Fn::GetAtt" in expression:
        target = expression["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    if isinstance(expression, dict) and "Ref" in expression:
        return str(expression["Ref"])
    if isinstance(expression, dict) and "Fn::If" in expression:
        # As deployed with the condition true (a parameter set); the other branch must grant less.
        return _resource_pattern(expression["Fn::If"][1])
    if isinstance(expression, dict) and "Fn::Sub" in expression:
        text = expression["Fn::Sub"]
        text = text[0] if isinstance(text, list) else text
        tokens = [m for m in re.finditer(r"\$\{([^}]+)\}", text) if not m.group(1).startswith("AWS::")]
        if len(tokens) != 1:
            raise ValueError(f"cannot read the resource {text!r}: name exactly one template resource or parameter")
        token = tokens[0]
        return token.group(1).split(".")[0] + text[token.end() :]
    raise ValueError(f"cannot read the resource {expression!r}")


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    leading_keys: tuple[str, ...] | None  # patterns every partition key must match, if conditioned
    exact_keys: bool = False

    def allows(self, call: AwsCall) -> bool:
        if not any(fnmatchcase(call.action.lower(), a.lower()) for a in self.actions):
            return False
        if not any(fnmatchcase(call.resource, r) for r in self.resources):
            return False
        if self.leading_keys is None:
            return True
        # ForAllValues: holds when every key the request names matches (so also when it names none).
        keys = call.leading_keys or ()
        match = (lambda k, p: k == p) if self.exact_keys else fnmatchcase
        return all(any(match(key, pattern) for pattern in self.leading_keys) for key in keys)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants_of(function_resource: Mapping[str, Any]) -> list[Grant]:
    """Every Allow statement of a function's Policies; a SAM policy template is an error."""
    grants = []
    for policy in function_resource["Properties"].get("Policies", []):
        if not isinstance(policy, dict) or set(policy) != {"Statement"}:
            raise ValueError(f"only explicit Statements are allowed, not {policy!r}")
        for statement in policy["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            leading: tuple[str, ...] | None = None
            exact = False
            for operator, conditions in (statement.get("Condition") or {}).items():
                if "dynamodb:LeadingKeys" in conditions:
                    if operator not in ("ForAllValues:StringLike", "ForAllValues:StringEquals"):
                        raise ValueError(f"{statement.get('Sid')}: LeadingKeys needs ForAllValues, not {operator}")
                    leading = tuple(_as_list(conditions["dynamodb:LeadingKeys"]))
                    exact = operator.endswith("StringEquals")
            grants.append(
                Grant(
                    sid=str(statement.get("Sid", "")),
                    actions=tuple(_as_list(statement["Action"])),
                    resources=tuple(_resource_pattern(r) for r in _as_list(statement["Resource"])),
                    leading_keys=leading,
                    exact_keys=exact,
                )
            )
    return grants


class Policies:
    """The template's grants, by function folder name."""

    def __init__(self, resources: Mapping[str, Any]) -> None:
        self.by_function = {folder: grants_of(resources[lid]) for lid, folder in function_folders(resources).items()}

    def refused(self, calls: Iterable[AwsCall]) -> list[str]:
        """A description of each call no statement of its function allows."""
        refused = []
        for call in calls:
            grants = self.by_function.get(call.function)
            if grants is None or not any(grant.allows(call) for grant in grants):
                refused.append(call.describe())
        return sorted(set(refused))

    def unused(self, recorded: Iterable[Recorded], allowed: Mapping[Any, str]) -> list[str]:
        """Each grant no recorded call used and NOT_RECORDED does not explain: every action on every
        resource, and every partition key pattern of a LeadingKeys condition (by any of its actions)."""
        seen = list(recorded)
        unused = []
        for function, grants in sorted(self.by_function.items()):
            for grant in grants:
                for action in grant.actions:
                    if (function, action) in allowed or action in allowed:
                        continue
                    for resource in grant.resources:
                        hits = [
                            key
                            for f, a, r, key in seen
                            if f == function and fnmatchcase(a.lower(), action.lower()) and fnmatchcase(r, resource)
                        ]
                        if not hits:
                            unused.append(
                                f"{function} is granted {action} on {resource} ({grant.sid}) but no test uses it"
                            )
                for pattern in grant.leading_keys or ():
                    match = (lambda k, p: k == p) if grant.exact_keys else fnmatchcase
                    used = any(
                        f == function
                        and any(fnmatchcase(a.lower(), action.lower()) for action in grant.actions)
                        and any(fnmatchcase(r, resource) for resource in grant.resources)
                        and match(key, pattern)
                        for f, a, r, key in seen
                    )
                    if not used and (function, f"keys {pattern}") not in allowed:
                        unused.append(f"{function} is granted keys {pattern} ({grant.sid}) but no test uses them")
        return unused


def load_recorded() -> list[Recorded]:
    document = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    return [(function, *entry) for function, entries in document.items() for entry in entries]  # type: ignore[misc]


def save_recorded(calls: Iterable[Recorded]) -> None:
    document: dict[str, list[list[str]]] = {}
    for function, action, resource, key in sorted(set(calls)):
        document.setdefault(function, []).append([action, resource, key])
    RECORDED.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
