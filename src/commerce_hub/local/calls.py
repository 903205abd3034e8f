"""Every AWS request the emulator serves, counted by caller, service and action.

`CallCounter` wraps the emulator's WSGI application. For each request it records:

- the caller: the `app/<id>` botocore puts in the User-Agent (`AWS_SDK_UA_APP_ID`, or
  `Config(user_agent_appid=...)`). Each function worker sets it to the function's logical id; the
  runner's own clients use "event-source-mapping" (the SQS pollers standing in for Lambda's event
  source mappings) and "scheduler" (the runner that fires one-time schedules). A request without
  one is counted under `UNATTRIBUTED`.
- the service: the SigV4 credential scope of the Authorization header (`.../dynamodb/aws4_request`),
  which names the service as IAM does;
- the action: from `X-Amz-Target` (JSON protocols), the `Action` form field (query protocol), or
  for REST services the botocore operation whose method and URI template match the request.

`sqs:ReceiveMessage` is counted as `sqs:ReceiveMessage` only when it returned messages; an empty
poll is `sqs:ReceiveMessage(empty)`. A poller long-polls whether or not there is work, so empty
polls measure the clock, not the orders. How many messages each receive returned, and how many
entries each DeleteMessageBatch and ChangeMessageVisibilityBatch named, is counted too ("messages"):
how messages fall into batches depends on timing, the number of messages does not.

For DynamoDB it also records the capacity each request consumed, in read and write units, computed
as on-demand DynamoDB bills them:

- item size: attribute names plus values (numbers about one byte per two digits plus one, lists and
  maps three bytes plus one per element), as DynamoDB documents it;
- writes: per item, ceil(size / 1 KB), the larger of the item before and after the write (a delete:
  before; a write that is refused by its condition: the item as it stands), at least one unit;
- reads: GetItem and BatchGetItem per item ceil(size / 4 KB), at least one unit even when the item
  does not exist; Query and Scan ceil(sum of the items' sizes / 4 KB), at least one unit;
  eventually consistent reads cost half;
- transactions: every item of TransactWriteItems (ConditionCheck included) and TransactGetItems
  costs double.

What is approximated: the sizes are read from the emulator's own items just before and after the
request (DynamoDB requests are served one at a time, see emulator_server, so nothing interleaves);
a Query or Scan counts the items it returned, not the items a FilterExpression dropped (DynamoDB
bills those too); a refused or cancelled write is charged as if it had been evaluated on every item
it names. Every hub table is on-demand, so units are what is billed; nothing here models
provisioned capacity or adaptive bursts.

`GET /_hub/calls` answers the counts as JSON; `POST /_hub/calls/reset` sets them back to zero.
Neither is an AWS route, so they never collide with moto's.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "CALLS_PATH",
    "EMPTY_RECEIVE",
    "EVENT_SOURCE_MAPPING",
    "RESET_PATH",
    "SCHEDULER",
    "UNATTRIBUTED",
    "CallCounter",
    "Capacity",
    "ItemSizes",
    "attribute_value_size",
    "item_size",
]

CALLS_PATH = "/_hub/calls"
RESET_PATH = "/_hub/calls/reset"
UNATTRIBUTED = "unattributed"
# The runner's own callers: the SQS pollers standing in for Lambda's event source mappings, and the
# runner of EventBridge Scheduler's one-time schedules.
EVENT_SOURCE_MAPPING = "event-source-mapping"
SCHEDULER = "scheduler"
EMPTY_RECEIVE = "ReceiveMessage(empty)"

_APP_ID = re.compile(r"(?:^|\s)app/(\S+)")
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
# X-Amz-Target prefixes whose service the credential scope could not name (unsigned requests).
_TARGET_SERVICES = {
    "DynamoDB": "dynamodb",
    "AmazonSQS": "sqs",
    "AWSEvents": "events",
    "TrentService": "kms",
    "secretsmanager": "secretsmanager",
    "AmazonSSM": "ssm",
    "Logs": "logs",
}
# botocore service models to search for a REST request, by the signing name of its credential scope.
_REST_MODELS = {"ses": ("sesv2", "ses"), "execute-api": ()}

_WRITE_UNIT = 1024
_READ_UNIT = 4096


# ---------------------------------------------------------------------------------------- item size
def _number_size(text: str) -> int:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return len(text)
    digits = number.as_tuple().digits
    significant = "".join(str(d) for d in digits).strip("0") or "0"
    return (len(significant) + 1) // 2 + 1


def attribute_value_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value in its wire form ({"S": "..."}, ...)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(base64.b64decode(raw)) if isinstance(raw, str) else len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in raw)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in raw)
    if kind == "BS":
        return sum(len(base64.b64decode(v)) if isinstance(v, str) else len(v) for v in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """An item's size in bytes as DynamoDB counts it (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in item.items())


def _write_units(*sizes: int) -> int:
    return max(1, math.ceil(max(sizes, default=0) / _WRITE_UNIT))


def _read_units(size: int) -> int:
    return max(1, math.ceil(size / _READ_UNIT))


# ------------------------------------------------------------------------------ the emulator's items
class ItemSizes:
    """Reads the size of a stored item and the key of an item from moto's DynamoDB backend."""

    def __init__(self, region: str) -> None:
        self.region = region

    def _table(self, name: str) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
        try:
            return backend.get_table(name)
        except Exception:  # an unknown table: the request fails in moto, and costs nothing
            return None

    def key_of(self, table_name: str, item: Mapping[str, Any]) -> dict[str, Any]:
        table = self._table(table_name)
        if table is None:
            return {}
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {name: item[name] for name in names if name in item}

    def size(self, table_name: str, key: Mapping[str, Any]) -> int:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._table(table_name)
        if table is None or table.hash_key_attr not in key:
            return 0
        range_key = key.get(table.range_key_attr) if table.range_key_attr else None
        try:
            stored = table.get_item(DynamoType(key[table.hash_key_attr]), DynamoType(range_key) if range_key else None)
        except Exception:
            return 0
        return item_size(stored.to_json()["Attributes"]) if stored is not None else 0


# ------------------------------------------------------------------------------- DynamoDB capacity
@dataclass
class Capacity:
    read: float = 0.0
    write: float = 0.0


def _writes(action: str, body: Mapping[str, Any], items: ItemSizes) -> list[tuple[str, dict[str, Any], int, bool]]:
    """(table, key, size of the item the request brings, transactional) for every item a request writes."""
    if action in ("PutItem", "UpdateItem", "DeleteItem"):
        table = body.get("TableName", "")
        if action == "PutItem":
            item = body.get("Item") or {}
            return [(table, items.key_of(table, item), item_size(item), False)]
        return [(table, dict(body.get("Key") or {}), 0, False)]
    if action == "BatchWriteItem":
        found = []
        for table, requests in (body.get("RequestItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"].get("Item") or {}
                    found.append((table, items.key_of(table, item), item_size(item), False))
                elif "DeleteRequest" in request:
                    found.append((table, dict(request["DeleteRequest"].get("Key") or {}), 0, False))
        return found
    if action == "TransactWriteItems":
        found = []
        for entry in body.get("TransactItems") or []:
            ((kind, operation),) = entry.items()
            table = operation.get("TableName", "")
            if kind == "Put":
                item = operation.get("Item") or {}
                found.append((table, items.key_of(table, item), item_size(item), True))
            else:
                found.append((table, dict(operation.get("Key") or {}), 0, True))
        return found
    return []


_EQUALS = re.compile(r"(#?[A-Za-z0-9_.]+)\s*=\s*(:[A-Za-z0-9_]+)")


def _partition(body: Mapping[str, Any]) -> dict[str, Any]:
    """The `name = :value` equalities of a query's key condition (its partition key among them)."""
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    found = {}
    for name, value in _EQUALS.findall(body.get("KeyConditionExpression") or ""):
        if value in values:
            found[names.get(name, name)] = values[value]
    return found


def _reads(action: str, body: Mapping[str, Any], answer: Mapping[str, Any], items: ItemSizes) -> float:
    """Read units a request consumed, from what it asked and what it answered."""

    def factor(consistent: Any) -> float:
        return 1.0 if consistent else 0.5

    if action == "GetItem":
        table = body.get("TableName", "")
        return _read_units(items.size(table, body.get("Key") or {})) * factor(body.get("ConsistentRead"))
    if action == "BatchGetItem":
        units = 0.0
        for table, request in (body.get("RequestItems") or {}).items():
            for key in request.get("Keys") or []:
                units += _read_units(items.size(table, key)) * factor(request.get("ConsistentRead"))
        return units
    if action == "TransactGetItems":
        units = 0.0
        for entry in body.get("TransactItems") or []:
            get = entry.get("Get") or {}
            units += 2 * _read_units(items.size(get.get("TableName", ""), get.get("Key") or {}))
        return units
    if action in ("Query", "Scan"):
        table = body.get("TableName", "")
        partition = _partition(body) if action == "Query" else {}
        total = 0
        for returned in answer.get("Items") or []:
            # A projection returns part of an item; DynamoDB bills the whole item it read.
            stored = (
                items.size(table, items.key_of(table, {**partition, **returned})) if not body.get("IndexName") else 0
            )
            total += stored or item_size(returned)
        return _read_units(total) * factor(body.get("ConsistentRead"))
    return 0.0


# ------------------------------------------------------------------------------- service and action
@dataclass(frozen=True)
class _RestOperation:
    name: str
    method: str
    pattern: re.Pattern[str]
    query_keys: frozenset[str]
    literal: int


_REST_CACHE: dict[str, list[_RestOperation]] = {}
_REST_LOCK = threading.Lock()


def _rest_operations(service: str) -> list[_RestOperation]:
    with _REST_LOCK:
        if service in _REST_CACHE:
            return _REST_CACHE[service]
        operations: list[_RestOperation] = []
        import botocore.session
        from botocore.exceptions import DataNotFoundError

        loader = botocore.session.get_session().get_component("data_loader")
        for model_name in _REST_MODELS.get(service, (service,)):
            try:
                model = loader.load_service_model(model_name, "service-2")
            except DataNotFoundError:  # a signing name that is not a botocore service name
                continue
            for name, operation in model.get("operations", {}).items():
                http = operation.get("http", {})
                uri = http.get("requestUri", "/")
                path, _, query = uri.partition("?")
                regex = ""
                for piece in re.split(r"(\{[^}]+\})", path):
                    if piece.startswith("{"):
                        regex += ".+" if piece.endswith("+}") else "[^/]+"
                    else:
                        regex += re.escape(piece)
                keys = frozenset(part.split("=")[0] for part in query.split("&") if part)
                literal = len(re.sub(r"\{[^}]+\}", "", path))
                operations.append(
                    _RestOperation(name, http.get("method", "GET"), re.compile(f"^{regex}/?$"), keys, literal)
                )
        # The most specific template first: literal query keys, then literal path characters.
        operations.sort(key=lambda o: (len(o.query_keys), o.literal), reverse=True)
        _REST_CACHE[service] = operations
        return operations


def _rest_action(service: str, method: str, path: str, query: str) -> str:
    present = set(parse_qs(query, keep_blank_values=True))
    for operation in _rest_operations(service):
        if operation.method == method and operation.query_keys <= present and operation.pattern.match(path):
            return operation.name
    return f"{method} {path}"


@dataclass
class _Request:
    caller: str
    service: str
    action: str
    body: bytes


def _describe(environ: dict[str, Any]) -> _Request:
    user_agent = environ.get("HTTP_USER_AGENT", "")
    match = _APP_ID.search(user_agent)
    caller = match.group(1) if match else UNATTRIBUTED
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _SCOPE.search(
        "Credential=" + (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0]
    )
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    service = scope.group(2) if scope else _TARGET_SERVICES.get(target.split("_")[0].split(".")[0], "unknown")
    body = b""
    content_type = environ.get("CONTENT_TYPE", "")
    wanted = target.startswith(("DynamoDB", "AmazonSQS")) or content_type.startswith(
        "application/x-www-form-urlencoded"
    )
    if wanted:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
    if target:
        action = target.rsplit(".", 1)[-1]
    elif content_type.startswith("application/x-www-form-urlencoded"):
        action = (parse_qs(body.decode("utf-8", "replace")).get("Action") or ["unknown"])[0]
    else:
        action = _rest_action(
            service,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
        )
    return _Request(caller, service, action, body)


# ------------------------------------------------------------------------------------------- SQS
def _received(answer: bytes) -> int:
    """How many messages a ReceiveMessage answer holds (JSON protocol, or the older XML one)."""
    if answer.lstrip().startswith(b"{"):
        try:
            return len(json.loads(answer).get("Messages") or [])
        except ValueError:
            return 0
    return answer.count(b"<Message>")


def _entries(asked: bytes) -> int:
    """How many entries a batch request names (JSON protocol, or the query protocol's form fields)."""
    try:
        return len(json.loads(asked).get("Entries") or [])
    except ValueError:
        fields = parse_qs(asked.decode("utf-8", "replace"))
        return len([name for name in fields if name.endswith(".Id")])


# ------------------------------------------------------------------------------------- the counter
@dataclass
class _Counts:
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    units: dict[str, Capacity] = field(default_factory=dict)
    messages: dict[str, dict[str, int]] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)


class CallCounter:
    """WSGI middleware counting the AWS requests it passes to `app` (see the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._clock = clock
        self._lock = threading.Lock()
        self._counts = _Counts()

    # ---------------------------------------------------------------- reading
    def snapshot(self) -> dict[str, Any]:
        """{"calls": {caller: {"service:Action": n}}, "dynamodb_units": {caller: {read, write}},
        "idle_seconds": {caller: seconds since its last request that was not an empty poll}}."""
        with self._lock:
            now = self._clock()
            return {
                "calls": {
                    caller: dict(sorted(actions.items())) for caller, actions in sorted(self._counts.calls.items())
                },
                "dynamodb_units": {
                    caller: {"read": c.read, "write": c.write} for caller, c in sorted(self._counts.units.items())
                },
                "messages": {
                    caller: dict(sorted(actions.items())) for caller, actions in sorted(self._counts.messages.items())
                },
                "idle_seconds": {caller: round(now - t, 3) for caller, t in sorted(self._counts.last.items())},
            }

    def reset(self) -> None:
        with self._lock:
            self._counts = _Counts()

    # ---------------------------------------------------------------- recording
    def _record(self, request: _Request, action: str, capacity: Capacity | None, messages: int | None = None) -> None:
        with self._lock:
            actions = self._counts.calls.setdefault(request.caller, {})
            name = f"{request.service}:{action}"
            actions[name] = actions.get(name, 0) + 1
            if messages:
                moved = self._counts.messages.setdefault(request.caller, {})
                moved[name] = moved.get(name, 0) + messages
            if action != EMPTY_RECEIVE:
                self._counts.last[request.caller] = self._clock()
            if capacity is not None:
                total = self._counts.units.setdefault(request.caller, Capacity())
                total.read += capacity.read
                total.write += capacity.write

    # ---------------------------------------------------------------- WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in (CALLS_PATH, RESET_PATH):
            return self._serve(path, environ, start_response)
        request = _describe(environ)
        if request.service == "dynamodb":
            return self._dynamodb(request, environ, start_response)
        if request.service == "sqs" and request.action == "ReceiveMessage":
            body = list(self._app(environ, start_response))
            received = _received(b"".join(body))
            self._record(request, "ReceiveMessage" if received else EMPTY_RECEIVE, None, received)
            return body
        if request.service == "sqs" and request.action in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
            self._record(request, request.action, None, _entries(request.body))
            return self._app(environ, start_response)
        self._record(request, request.action, None)
        return self._app(environ, start_response)

    def _dynamodb(
        self, request: _Request, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            asked = json.loads(request.body or b"{}")
        except ValueError:
            asked = {}
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        items = ItemSizes(scope.group(1) if scope else "us-east-1")
        writes = _writes(request.action, asked, items)
        before = [items.size(table, key) for table, key, _, _ in writes]
        body = list(self._app(environ, start_response))
        capacity = Capacity()
        for (table, key, brought, transactional), old in zip(writes, before, strict=True):
            after = items.size(table, key)
            capacity.write += (2 if transactional else 1) * _write_units(old, after, brought)
        try:
            answer = json.loads(b"".join(body) or b"{}")
        except ValueError:
            answer = {}
        capacity.read = _reads(request.action, asked, answer if isinstance(answer, dict) else {}, items)
        self._record(request, request.action, capacity)
        return body

    def _serve(self, path: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if path == RESET_PATH and method == "POST":
            self.reset()
            document: dict[str, Any] = {"reset": True}
        elif path == CALLS_PATH and method == "GET":
            document = self.snapshot()
        else:
            start_response("405 Method Not Allowed", [("Content-Type", "application/json")])
            return [b'{"error": "GET /_hub/calls reads the counts; POST /_hub/calls/reset sets them to zero"}']
        payload = json.dumps(document).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]
