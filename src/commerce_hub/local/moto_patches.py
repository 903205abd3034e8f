"""Patches the local stack applies to moto: DynamoDB, so its cost follows the work, not the table;
EventBridge replays, so they replay what EventBridge would; request dispatch, so finding a request's
service and action costs a lookup; Scheduler, so its changes can be read without listing; SQS, so
a concurrent send or delete is never lost.

1. Transactions undo by item, not by table copy.

moto's `DynamoDBBackend.transact_write_items` keeps its rollback state by deep-copying every table a
transaction touches, once per transaction item, before it writes. With the hub's one table holding
every order, each transaction then costs time and memory in proportion to all the data ever written
(a transaction of 90 reservations copies the whole table 90 times), so the emulator slows down and
grows with the square of the orders.

This patch keeps moto's own transaction code (conditions, cancellation reasons, validation, the
order of operations) and changes only how it rolls back: while a transaction runs, tables are not
copied; instead each write (put, update, delete) first records the one item it is about to change
(a copy of that item, or "absent"), and when moto cancels the transaction those items are put back
in reverse order. Untouched items are never copied.

Proposed upstream (moto's dynamodb backend), as a comment here since its tracker is out of reach:
  "transact_write_items: replace the per-item `copy.deepcopy(self.tables[table_name])` rollback
  snapshot with a journal of the items the transaction writes (key -> previous item or absent),
  restored in reverse on cancellation. The snapshot makes every transaction O(table size) in time
  and memory, and is taken once per transaction item, not once per table."

2. A query of the table by partition key reads that partition only. moto's `Table.query` builds a
sorted list of every item in the table and filters it, for every query, so each query costs as much
as the whole table (and the hub queries an order's or a customer's partition for every event). The
patch hands moto's own query code the partition's items instead of the whole table's; key
conditions, filters, ordering, limits and pagination are still moto's. Index queries are unchanged.

Proposed upstream as well: "Table.query without an index: iterate `self.items[hash_key]` (the
partition) instead of `self.all_items()`, which sorts every item of the table on each query."

3. A replay sends the archive's events of its window to the rules it names. moto's
`Replay.replay_events` sends every event the archive ever kept, whatever `EventStartTime`,
`EventEndTime` and `Destination.FilterArns` say, so `commerce-hub replay` of an hour would replay
the whole history. The patch keeps the events whose time falls in [start, end) and, when
`FilterArns` is given, only those rules; replayed events carry `replay-name` (which keeps them out of
the archive) and a new id, as moto and EventBridge do.

Proposed upstream: "Replay.replay_events: filter `archive.events` on `event['time']` within
[EventStartTime, EventEndTime) and, when Destination.FilterArns is set, send only to those rules."

4. A queue's attributes are computed when read, one by one. moto's `Queue.attributes` builds every
attribute of the queue, the three message counts among them (each a pass over every message of the
queue, reading the clock once per message), and moto reads it on every `SendMessage` (for
`ContentBasedDeduplication`), on every message a `ReceiveMessage` returns (for
`MessageRetentionPeriod`) and on every event a rule sends to a queue. A queue with a backlog then
costs in proportion to its backlog for each message in or out, which slows the consumers and grows
the backlog further. The patch makes `attributes` a read-only mapping with the same keys whose values
are computed on access, so reading one attribute costs one attribute; `GetQueueAttributes` still
answers every attribute asked for, as moto computes it.

Proposed upstream: "Queue.attributes: return a lazy Mapping (keys as today, values on access), or
read `self.content_based_deduplication` / `self.message_retention_period` directly in send_message
and is_message_valid_based_on_retention_period, so a send or receive does not count the queue."

5. Input paths are parsed once. moto's `EventTemplateParser.parse` (run for every target of every
matched event, input transformer or not) calls `jsonpath_ng.ext.parse` for each of eight default
paths, and jsonpath_ng builds a new PLY parser on every call. The emulator process caches the parsed
expressions by their text (a parsed path is not changed by `find`), so each is parsed once.

Proposed upstream: "events.utils.EventTemplateParser.parse: cache parsed JSONPath expressions
(functools.lru_cache around jsonpath_ng.ext.parse); each PutEvents currently rebuilds the parser
per path per target."

6. DynamoDB attribute values are written to JSON directly. moto's response serializer walks every
attribute value of every item through the botocore shape `AttributeValue` (ten members, each looked
up under several aliases), which made serializing a response the largest single cost of the
emulator. An attribute value reaches the serializer already in DynamoDB's wire form (`{"S": ...}`,
`{"M": {...}}`, binary as raw bytes, see moto's `dynamo_to_dict`); the patch writes it as DynamoDB
does: binary (`B`, `BS`) base64-encoded, maps and lists recursively, the rest as they are. Every
other shape still goes through moto's serializer.

Proposed upstream: "JSON serializer: a fast path for dynamodb's AttributeValue (recursive, B/BS
base64), as the value is already in wire form after dynamo_to_dict."

7. An update expression is parsed once. moto tokenizes and parses a request's UpdateExpression
twice per UpdateItem (and again in every transaction's Update), and the hub sends the same few
expressions over and over. Parsed trees are cached by their text: moto only reads a parsed tree
(finding its placeholders) and deep-copies it before validating or changing anything, so a shared
tree is never changed. A malformed expression still raises moto's own error, every time.

Proposed upstream: "UpdateExpressionParser.make: cache by expression string (functools.lru_cache);
callers only read the tree, and UpdateExpressionValidator deep-copies it before normalising."

8. A request finds its service and its action by lookup, not by search. For every request, moto's
server (`DomainDispatcherApplication.get_backend_for_host`) lists moto's package directory on disk
and then tries the URL pattern of every service until one matches the request's host, under a lock
every request takes; then `BaseResponse.call_action` lists every function of the response class with
`inspect.getmembers` to see whether the action is one of them. Both answers depend only on the host
and on the class, so the patch keeps each answer: the first request from a host still searches as
moto does, later ones read what it found; the method names of a class are listed once. Measured
in-process on a GetItem, a SendMessage and a PutEvents, this took 0.4 to 0.6 ms off each request
(of about 1.0 to 1.3 ms).

Proposed upstream: "DomainDispatcherApplication.get_backend_for_host: memoise by host (the module
list and the URL patterns do not change while the server runs); BaseResponse.call_action: cache
method_names_from_class per class (a frozenset)."

9. Scheduler's changes are noted. moto's Scheduler backend writes the group and name of every
schedule it creates, updates or deletes to the emulator's schedule journal (see schedule_journal),
and a deleted group tells the journal to start over, so the runner can read what changed instead of
listing every schedule each second. Nothing moto answers changes. This is the local stack's own
need, not a proposal for moto.

10. A queue's messages change under the queue's lock. moto serves requests on many threads, and
its SQS `Queue.delete_message` rebuilds the queue's message list without the lock that
`add_message` takes: it copies every message but the deleted one into a new list, then puts that
list in place. When another delete runs whole while one is copying, the one copying puts back
the message the other deleted: that message stays in flight for its queue's whole visibility
timeout and is then delivered again (a test shows it). A message sent after the copy and before
the swap would be dropped outright. The local pollers delete from several batch threads at once;
a batch of five seen in flight for the channel-sync queue's whole 360 s, never deleted, with every
batch thread idle, is what the first does. The patch runs `delete_message`, and
`receive_message` (it marks messages and moves some to the dead-letter queue), under the queue's
own `_messages_lock`: a Condition over an RLock, so a long poll waiting inside still lets sends in.

Proposed upstream: "sqs Queue.delete_message: rebuild `self._messages` under `self._messages_lock`,
as add_message appends under it; SQSBackend.receive_message: hold the queue's lock while it marks
and moves messages. Without it a concurrent SendMessage can be lost and a concurrent
DeleteMessage undone."

The emulator serves DynamoDB requests one at a time (see emulator_server), so neither patch's
temporary state (a transaction's journal, a query's partition) can interleave with another request.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.events.models import Archive
    from moto.events.utils import EventMessageType

__all__ = ["install", "installed"]

_MARK = "_commerce_hub_item_journal"


def installed() -> bool:
    import jsonpath_ng.ext
    from moto.core import responses
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.events.models import Replay
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.scheduler.models import EventBridgeSchedulerBackend
    from moto.sqs.models import Queue, SQSBackend

    return bool(
        getattr(DynamoDBBackend.transact_write_items, _MARK, False)
        and getattr(Table.query, _MARK, False)
        and getattr(Replay.replay_events, _MARK, False)
        and getattr(Queue.__dict__["attributes"].fget, _MARK, False)
        and getattr(jsonpath_ng.ext.parse, _MARK, False)
        and getattr(BaseJSONSerializer._serialize_type_structure, _MARK, False)
        and getattr(UpdateExpressionParser.make, _MARK, False)
        and getattr(responses.method_names_from_class, _MARK, False)
        and getattr(DomainDispatcherApplication.get_backend_for_host, _MARK, False)
        and getattr(EventBridgeSchedulerBackend.create_schedule, _MARK, False)
        and getattr(Queue.delete_message, _MARK, False)
        and getattr(SQSBackend.receive_message, _MARK, False)
    )


def install() -> None:
    """Patch moto's DynamoDB, SQS, EventBridge and request dispatch in this process (idempotent)."""
    import jsonpath_ng.ext
    from moto.core import responses
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.events.models import Replay
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.scheduler.models import EventBridgeSchedulerBackend
    from moto.sqs.models import Queue, SQSBackend

    if not getattr(Queue.delete_message, _MARK, False):
        Queue.delete_message = _under_queue_lock(  # type: ignore[method-assign]  # moto's own, patched in place (10. above)
            Queue.delete_message, lambda queue, *_: queue
        )
    if not getattr(SQSBackend.receive_message, _MARK, False):
        SQSBackend.receive_message = _under_queue_lock(  # type: ignore[method-assign]  # moto's own, patched in place (10. above)
            SQSBackend.receive_message,
            lambda backend, *args, **kwargs: backend.get_queue(
                kwargs["queue_name"] if "queue_name" in kwargs else args[0]
            ),
        )
    if not getattr(EventBridgeSchedulerBackend.create_schedule, _MARK, False):
        _journal_schedule_changes(EventBridgeSchedulerBackend)
    if not getattr(responses.method_names_from_class, _MARK, False):
        responses.method_names_from_class = _method_names_once(  # type: ignore[assignment]  # a frozenset for moto's list: its one caller asks `in` (8. above)
            responses.method_names_from_class
        )
    if not getattr(DomainDispatcherApplication.get_backend_for_host, _MARK, False):
        DomainDispatcherApplication.get_backend_for_host = _backend_by_host(  # type: ignore[method-assign,assignment]  # moto's own, patched in place (8. above)
            DomainDispatcherApplication.get_backend_for_host
        )
    if not getattr(BaseJSONSerializer._serialize_type_structure, _MARK, False):
        BaseJSONSerializer._serialize_type_structure = _attribute_values_direct(  # type: ignore[method-assign]  # moto's own, patched in place (6. above)
            BaseJSONSerializer._serialize_type_structure
        )
    if not getattr(UpdateExpressionParser.make, _MARK, False):
        parse = functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make.__func__)
        setattr(parse, _MARK, True)
        UpdateExpressionParser.make = classmethod(parse)  # type: ignore[arg-type]  # lru_cache's wrapper hides the function's signature (7. above)
    if not getattr(Queue.__dict__["attributes"].fget, _MARK, False):
        Queue.attributes = property(_attributes_on_access)  # type: ignore[method-assign,assignment]  # moto's own, patched in place (4. above)
    if not getattr(jsonpath_ng.ext.parse, _MARK, False):
        cached = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
        setattr(cached, _MARK, True)
        jsonpath_ng.ext.parse = cached

    if not getattr(Replay.replay_events, _MARK, False):
        setattr(_replay_window, _MARK, True)
        Replay.replay_events = _replay_window  # type: ignore[method-assign]  # moto's own, patched in place (3. above)

    if not getattr(Table.query, _MARK, False):
        Table.query = _partition_query(Table.query)  # type: ignore[method-assign]  # moto's own, patched in place (2. above)
    if getattr(DynamoDBBackend.transact_write_items, _MARK, False):
        return
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        journal: list[tuple[str, dict[str, Any], Any]] = []
        with _tables_not_copied(), _journaling(self, journal):
            try:
                return original(self, transact_items)
            except BaseException:
                _undo(self, journal)
                raise

    setattr(transact_write_items, _MARK, True)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]  # moto's own, patched in place (1. above)


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    """moto's snapshot becomes the table itself: its rollback assignment is then a no-op."""
    from moto.dynamodb.models.table import Table

    had = "__deepcopy__" in Table.__dict__
    previous = Table.__dict__.get("__deepcopy__")
    # Table defines no __deepcopy__: one is added for the transaction, and removed after.
    Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]  # not declared by moto: added here
    try:
        yield
    finally:
        if had:
            Table.__deepcopy__ = previous  # type: ignore[attr-defined]  # not declared by moto: added here
        else:
            del Table.__deepcopy__  # type: ignore[attr-defined]  # not declared by moto: added here


@contextmanager
def _journaling(backend: Any, journal: list[tuple[str, dict[str, Any], Any]]) -> Iterator[None]:
    """Record, before each write the transaction makes, the item it is about to change."""

    def recording(write: Callable[..., Any], key_of: Callable[[Any, dict[str, Any]], dict[str, Any]]) -> Callable:
        def wrapper(table_name: str, first: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            table = backend.get_table(table_name)
            key = key_of(table, first)
            before = backend.get_item(table_name, key)
            journal.append((table_name, key, copy.deepcopy(before) if before is not None else None))
            return write(table_name, first, *args, **kwargs)

        return wrapper

    def key_of_item(table: Any, attrs: dict[str, Any]) -> dict[str, Any]:
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key

    def key_as_given(_table: Any, key: dict[str, Any]) -> dict[str, Any]:
        return key

    names = {"put_item": key_of_item, "update_item": key_as_given, "delete_item": key_as_given}
    for name, key_of in names.items():
        setattr(backend, name, recording(getattr(backend, name), key_of))
    try:
        yield
    finally:
        for name in names:
            delattr(backend, name)  # the class's own method again


def _undo(backend: Any, journal: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, before in reversed(journal):
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        if before is None:
            try:
                if range_key is not None:
                    table.items[hash_key].pop(range_key)
                else:
                    table.items.pop(hash_key)
            except KeyError:
                pass
        elif range_key is not None:
            table.items[hash_key][range_key] = before
        else:
            table.items[hash_key] = before


def _partition_query(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(table: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(table, *args, **kwargs).arguments
        hash_key = arguments.get("hash_key")
        if arguments.get("index_name") or hash_key is None or not table.range_key_attr:
            return original(table, *args, **kwargs)
        partition = table.items.get(hash_key)  # .get: the defaultdict gains no empty partition
        items = list(partition.values()) if partition else []
        table.all_items = lambda: items  # shadows the method for this query only
        try:
            return original(table, *args, **kwargs)
        finally:
            del table.all_items

    setattr(query, _MARK, True)
    return query


def _wire_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """One DynamoDB attribute value in its JSON wire form (see 6. above)."""
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "B":
            out[kind] = base64.b64encode(inner if isinstance(inner, bytes) else str(inner).encode()).decode()
        elif kind == "BS":
            out[kind] = [base64.b64encode(b if isinstance(b, bytes) else str(b).encode()).decode() for b in inner]
        elif kind == "M":
            out[kind] = {name: _wire_value(v) for name, v in inner.items()}
        elif kind == "L":
            out[kind] = [_wire_value(v) for v in inner]
        else:
            out[kind] = inner
    return out


def _attribute_values_direct(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and isinstance(value, dict):
            self._default_serialize(serialized, _wire_value(value), shape, key)
            return
        original(self, serialized, value, shape, key)

    setattr(serialize_structure, _MARK, True)
    return serialize_structure


class _QueueAttributes(Mapping[str, Any]):
    """moto's `Queue.attributes`, same keys and values, each value computed when it is read."""

    def __init__(self, queue: Any) -> None:
        from moto.core.utils import camelcase_to_underscores

        self._queue = queue
        self._attribute_of = camelcase_to_underscores
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self._names = list(dict.fromkeys(names))

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        # As moto: a base attribute of that name first, replaced when the queue has a policy.
        if name == "Policy" and self._queue.policy:
            return self._queue.policy
        if name == "RedrivePolicy" and self._queue.redrive_policy:
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, self._attribute_of(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _attributes_on_access(queue: Any) -> Mapping[str, Any]:
    return _QueueAttributes(queue)


setattr(_attributes_on_access, _MARK, True)


def _epoch(value: Any) -> float:
    """A time as moto holds it (epoch seconds as a number or text, or a datetime) in epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _journal_schedule_changes(backend: Any) -> None:
    """Each create, update and delete of a schedule is noted in the journal once moto has done it
    (a refused one, such as a name already taken, is not); a deleted group starts the journal over."""
    from .schedule_journal import JOURNAL

    def noting(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            asked = signature.bind(self, *args, **kwargs).arguments
            JOURNAL.record(asked.get("group_name") or "default", asked["name"])
            return result

        setattr(wrapper, _MARK, True)
        return wrapper

    original_delete_group = backend.delete_schedule_group

    @functools.wraps(original_delete_group)
    def delete_schedule_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_delete_group(self, *args, **kwargs)
        JOURNAL.forget_all()
        return result

    backend.delete_schedule_group = delete_schedule_group
    for name in ("create_schedule", "update_schedule", "delete_schedule"):
        setattr(backend, name, noting(getattr(backend, name)))


def _under_queue_lock(original: Callable[..., Any], queue_of: Callable[..., Any]) -> Callable[..., Any]:
    """`original`, run holding the lock of the queue it works on (see 10. above)."""

    @functools.wraps(original)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with queue_of(*args, **kwargs)._messages_lock:
            return original(*args, **kwargs)

    setattr(locked, _MARK, True)
    return locked


def _method_names_once(original: Callable[[object], list[str]]) -> Callable[[object], frozenset[str]]:
    """moto's `method_names_from_class`, listed once per class; its caller only asks `in`."""

    @functools.cache
    def method_names_from_class(clazz: object) -> frozenset[str]:
        return frozenset(original(clazz))

    setattr(method_names_from_class, _MARK, True)
    return method_names_from_class


def _backend_by_host(original: Callable[[Any, str | None], Any]) -> Callable[[Any, str | None], Any]:
    """moto's `get_backend_for_host`, searched once per host by each dispatcher. Its one caller,
    `get_application`, holds the dispatcher's lock, so two requests never search at once."""

    @functools.wraps(original)
    def get_backend_for_host(self: Any, host: str | None) -> Any:
        found: dict[str | None, Any] = self.__dict__.setdefault("_commerce_hub_backends", {})
        try:
            return found[host]
        except KeyError:
            found[host] = backend = original(self, host)
            return backend

    setattr(get_backend_for_host, _MARK, True)
    return get_backend_for_host


def _replay_window(self: Any, archive: Archive) -> None:
    """moto's Replay.replay_events, limited to the replay's window and rules (see 3. above)."""
    from moto.core.utils import unix_time
    from moto.events.models import ReplayState, events_backends

    start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
    only = set(self.destination.get("FilterArns") or ())
    backend = events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
    for event in list(archive.events):
        if not start <= _epoch(event.get("time", 0)) < end:
            continue
        for rule in list(bus.rules.values()):
            if only and rule.arn not in only:
                continue
            # As archived (moto's own choice, kept): the whole event, so `replay-name` reaches the target.
            replayed: EventMessageType = {**event, "id": str(uuid.uuid4()), "replay-name": self.name}
            rule.send_to_targets(replayed, transform_input=False)
    self.state = ReplayState.COMPLETED
    self.end_time = unix_time()
