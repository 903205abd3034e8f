"""The daily report on the hub's single table: facts, day counters and sent markers.

Keys:
- the facts of an order, checkout or customer: `REPORT#<kind>#<id>` / `FACTS` (`facts` and
  `contribution` as JSON, compressed when large; `version`); a customer's id is its key (a hash),
  never an email;
- one day's counters for one channel and currency: `REPORT#DAY#<YYYY-MM-DD>` / `<channel>#<currency>`
  (`-` for the counters without money), one number attribute per counter; the per-SKU counters
  live beside it in `<channel>#<currency>#SKU#<nn>`, one of 16 items chosen by a digest of the SKU,
  so no day item grows with the shop's catalogue and one order's SKUs spread over a few items;
- what was forwarded to an analytics destination: `REPORT#SENT#<order id>` / `<destination>#<what>`.

An order's facts and its customer's are read in one BatchGetItem and saved together: one
transaction with both puts, each conditional on its version, and the day items' updates for the sum
of their changes (both touch the same day item, which one transaction may name only once). When
that does not fit in one transaction, each is saved alone, as below.

Saving facts is one transaction when it fits: the facts put, conditional on the version read, and an
atomic ADD to each day item the change moves. A condition that fails writes nothing. A change too
large for one transaction (100 items) or one expression (4 KB; an item gets at most 50 counters per
update) stores the facts with the counter updates it owes (`owed`, compressed) in one conditional
put, then applies them in chunks: each chunk is one transaction with the counter updates and an
update of the facts item conditional on its version and on the count of chunks done, which it moves
on, so each chunk is added once whoever applies it. Whoever reads facts that still owe chunks
finishes them first (a redelivery after a crash does), so a newer version is never written over
counters not yet added.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import Binary
from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import REPORT
from hub.adapters.table import Table, cancellation_reasons, cancelled, failed_condition, key, typed
from hub.domain.analytics import SentMarker
from hub.domain.reporting import (
    SKU_REVENUE,
    SKU_UNITS,
    BucketRow,
    Contribution,
    Facts,
    FactsWrite,
    StoredFacts,
    facts_from_json,
)
from hub.errors import ReportConflictError, StoreError

__all__ = ["DynamoReportStore"]

_CHUNK = 90  # counter updates per transaction, beside the facts item
_TRANSACTION_ITEMS = 100
_MAX_COUNTERS = 50  # counters per update expression: about 650 characters of DynamoDB's 4 KB
_SKU_SHARDS = 16
_COMPRESS_ABOVE = 16 * 1024  # JSON longer than this is stored zlib-compressed, as a binary attribute
_METADATA = {"pk", "sk", "day", "channel", "currency", "updated_at"}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _contribution_json(contribution: Contribution) -> str:
    rows = [
        [day, channel, currency, dict(sorted(counters.items()))]
        for (day, channel, currency), counters in contribution.items()
    ]
    return json.dumps(sorted(rows, key=lambda r: (r[0], r[1], r[2] or "")), separators=(",", ":"))


def _contribution_from(text: str) -> Contribution:
    return {(day, channel, currency): dict(counters) for day, channel, currency, counters in json.loads(text)}


def _packed(text: str) -> str | bytes:
    return zlib.compress(text.encode(), 9) if len(text) > _COMPRESS_ABOVE else text


def _unpacked(value: Any) -> str:
    if isinstance(value, Binary):
        return zlib.decompress(value.value).decode()
    if isinstance(value, bytes | bytearray):
        return zlib.decompress(bytes(value)).decode()
    return str(value)


def _counter_key(channel: str, currency: str | None, name: str) -> str:
    """The sort key of the day item that holds counter `name` (per-SKU counters in their shard)."""
    base = f"{channel}#{currency or '-'}"
    for prefix in (SKU_UNITS, SKU_REVENUE):
        if name.startswith(prefix):
            digest = hashlib.sha256(name[len(prefix) :].encode()).digest()
            return f"{base}#SKU#{int.from_bytes(digest[:4], 'big') % _SKU_SHARDS:02d}"
    return base


# One update of one day item: (day, channel, currency, sort key, counters).
_Write = tuple[str, str, str | None, str, dict[str, int]]


def _writes(delta: Contribution) -> list[_Write]:
    """The counter updates that add `delta`, at most _MAX_COUNTERS counters each, in a fixed order."""
    per_item: dict[tuple[str, str, str | None, str], dict[str, int]] = {}
    for (day, channel, currency), counters in delta.items():
        for name, value in counters.items():
            per_item.setdefault((day, channel, currency, _counter_key(channel, currency, name)), {})[name] = value
    rounds: list[list[_Write]] = []
    for (day, channel, currency, sk), counters in sorted(per_item.items(), key=lambda i: (i[0][0], i[0][3])):
        names = sorted(counters)
        for n, start in enumerate(range(0, len(names), _MAX_COUNTERS)):
            if n == len(rounds):
                rounds.append([])
            rounds[n].append(
                (day, channel, currency, sk, {m: counters[m] for m in names[start : start + _MAX_COUNTERS]})
            )
    # Round by round (the first update of every item, then the second, ...), so that a transaction
    # holds as many distinct items as it can.
    return [write for writes in rounds for write in writes]


def _chunks(writes: list[_Write]) -> list[list[_Write]]:
    """Transactions of at most _CHUNK updates, never two of one item in the same transaction."""
    chunks: list[list[_Write]] = []
    current: list[_Write] = []
    keys: set[tuple[str, str]] = set()
    for write in writes:
        key = (write[0], write[3])
        if len(current) >= _CHUNK or key in keys:
            chunks.append(current)
            current, keys = [], set()
        current.append(write)
        keys.add(key)
    if current:
        chunks.append(current)
    return chunks


def _owed_from(item: dict[str, Any]) -> list[list[_Write]]:
    chunks = json.loads(_unpacked(item["owed"]))
    return [[(d, ch, cur, sk, dict(counters)) for d, ch, cur, sk, counters in chunk] for chunk in chunks]


def _sum(deltas: Sequence[Contribution]) -> Contribution:
    total: Contribution = {}
    for delta in deltas:
        for bucket, counters in delta.items():
            row = total.setdefault(bucket, {})
            for name, value in counters.items():
                row[name] = row.get(name, 0) + value
    return {bucket: {n: v for n, v in row.items() if v} for bucket, row in total.items() if any(row.values())}


class DynamoReportStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._items = Table(client, table_name)

    # ------------------------------------------------------------------ facts
    def _facts_key(self, kind: str, key: str) -> dict[str, Any]:
        return typed({"pk": REPORT(kind, key), "sk": "FACTS"})

    def _read(self, kind: str, key: str) -> dict[str, Any] | None:
        return self._items.get(REPORT(kind, key), "FACTS", what=f"read the {kind} facts")

    def load(self, kind: str, key: str) -> StoredFacts | None:
        item = self._read(kind, key)
        return self._stored(kind, key, item) if item is not None else None

    def load_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredFacts]:
        wanted = list(dict.fromkeys(keys))
        if len(wanted) == 1:
            found = self.load(*wanted[0])
            return {wanted[0]: found} if found is not None else {}
        items = self._read_many(wanted)
        return {
            (kind, key): self._stored(kind, key, items[(kind, key)]) for kind, key in wanted if (kind, key) in items
        }

    def _read_many(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The facts items of `wanted` (at most 100), read consistently in one BatchGetItem (keys
        left unprocessed asked again)."""
        found = self._items.batch_get(
            [(REPORT(kind, key), "FACTS") for kind, key in wanted], what="read the report facts"
        )
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for (pk, _sk), item in found.items():
            kind, key = pk.removeprefix(REPORT).split("#", 1)
            items[(kind, key)] = item
        return items

    def _stored(self, kind: str, key: str, item: dict[str, Any]) -> StoredFacts:
        if "owed" in item:
            # A change whose counters are not all added yet: finish it before anyone builds on it.
            self._finish(kind, key, int(item["version"]), _owed_from(item), int(item.get("owed_done", 0)))
        return StoredFacts(
            facts_from_json(json.loads(_unpacked(item["facts"]))),
            _contribution_from(_unpacked(item["contribution"])),
            int(item["version"]),
        )

    def _put(
        self, facts: Facts, contribution: Contribution, expected_version: int | None, owed: list[list[_Write]]
    ) -> dict[str, Any]:
        """The conditional put of new facts (with the counter chunks they still owe, if any)."""
        item: dict[str, Any] = {
            "pk": REPORT(facts.kind, facts.key),
            "sk": "FACTS",
            "kind": facts.kind,
            "facts": _packed(json.dumps(facts.to_json(), separators=(",", ":"))),
            "contribution": _packed(_contribution_json(contribution)),
            "version": (expected_version or 0) + 1,
            "updated_at": _now(),
        }
        if owed:
            item["owed"] = zlib.compress(json.dumps(owed, separators=(",", ":")).encode(), 9)
            item["owed_done"] = 0
        put: dict[str, Any] = {"TableName": self._table, "Item": typed(item)}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = typed({":expected": expected_version})
        return put

    def save_all(self, writes: Sequence[FactsWrite]) -> None:
        chunks = _chunks(_writes(_sum([w.delta for w in writes])))
        if len(writes) == 1 or len(chunks) > 1 or len(writes) + sum(len(c) for c in chunks) > _TRANSACTION_ITEMS:
            for write in writes:
                self.save(write.facts, write.contribution, write.expected_version, write.delta)
            return
        puts = [{"Put": self._put(w.facts, w.contribution, w.expected_version, [])} for w in writes]
        updates = [{"Update": self._counter_update(write)} for chunk in chunks for write in chunk]
        reasons = self._items.transact([*puts, *updates], what="save the report facts")
        if reasons is None:
            return
        if not reasons or "ConditionalCheckFailed" in reasons[: len(puts)]:
            raise ReportConflictError("the facts changed meanwhile")
        raise StoreError(f"could not save the report facts: {', '.join(reasons)}")

    def save(self, facts: Facts, contribution: Contribution, expected_version: int | None, delta: Contribution) -> None:
        version = (expected_version or 0) + 1
        chunks = _chunks(_writes(delta))
        put = self._put(facts, contribution, expected_version, chunks if len(chunks) > 1 else [])
        try:
            if len(chunks) != 1:
                self._client.put_item(**put)
            else:
                updates = [{"Update": self._counter_update(write)} for write in chunks[0]]
                self._client.transact_write_items(TransactItems=[{"Put": put}, *updates])
        except ClientError as exc:
            if failed_condition(exc):
                raise ReportConflictError(f"{facts.kind} changed meanwhile") from exc
            if cancelled(exc):
                reasons = cancellation_reasons(exc)
                if not reasons or reasons[0] == "ConditionalCheckFailed":
                    raise ReportConflictError(f"{facts.kind} changed meanwhile") from exc
                raise StoreError(f"could not save the {facts.kind} facts: {', '.join(reasons)}") from exc
            raise StoreError(f"could not save the {facts.kind} facts: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not save the {facts.kind} facts: {exc}") from exc
        if len(chunks) > 1:
            self._finish(facts.kind, facts.key, version, chunks, 0)

    def _finish(self, kind: str, key: str, version: int, chunks: list[list[_Write]], done: int) -> None:
        """Add the owed chunks from `done` on, each once: its transaction moves `owed_done` on, on
        condition it still counts `done` at this version; a failed condition means another writer
        added that chunk, so read how far it got and go on from there."""
        while done < len(chunks):
            last = done + 1 == len(chunks)
            progress = {
                "TableName": self._table,
                "Key": self._facts_key(kind, key),
                "UpdateExpression": "REMOVE owed, owed_done" if last else "SET owed_done = :next",
                "ConditionExpression": "version = :version AND owed_done = :done",
                "ExpressionAttributeValues": typed(
                    {":version": version, ":done": done, **({} if last else {":next": done + 1})}
                ),
            }
            updates = [{"Update": self._counter_update(write)} for write in chunks[done]]
            try:
                self._client.transact_write_items(TransactItems=[{"Update": progress}, *updates])
            except ClientError as exc:
                reasons = cancellation_reasons(exc)
                if not (cancelled(exc) and reasons and reasons[0] == "ConditionalCheckFailed"):
                    raise StoreError(f"could not add the {kind} counters: {exc}") from exc
                item = self._read(kind, key)
                if item is None or int(item["version"]) != version or "owed" not in item:
                    return  # finished by another writer (a newer version is only written after that)
                done = int(item.get("owed_done", 0))
                continue
            except BotoCoreError as exc:
                raise StoreError(f"could not add the {kind} counters: {exc}") from exc
            done += 1

    def _counter_update(self, write: _Write) -> dict[str, Any]:
        day, channel, currency, sk, counters = write
        names = {"#day": "day", "#channel": "channel", "#at": "updated_at"}
        values: dict[str, Any] = {":day": day, ":channel": channel, ":at": _now()}
        sets = ["#day = :day", "#channel = :channel", "#at = :at"]
        if currency:
            names["#currency"] = "currency"
            values[":currency"] = currency
            sets.append("#currency = :currency")
        adds = []
        for index, (name, value) in enumerate(sorted(counters.items())):
            names[f"#n{index}"] = name
            values[f":v{index}"] = value
            adds.append(f"#n{index} :v{index}")
        return {
            "TableName": self._table,
            "Key": key(REPORT("DAY", day), sk),
            "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": typed(values),
        }

    # ------------------------------------------------------------------ the report
    def day(self, day: str) -> list[BucketRow]:
        items = self._items.query(REPORT("DAY", day), what=f"read the report of {day}")
        return [
            BucketRow(
                str(item["channel"]),
                str(item["currency"]) if item.get("currency") else None,
                {k: int(v) for k, v in item.items() if k not in _METADATA},
            )
            for item in items
        ]

    def days(self, days: Sequence[str]) -> dict[str, list[BucketRow]]:
        """One Query per day. Each day's counters are their own partition (`REPORT#DAY#<date>`,
        which spreads a busy day's writes), so no single request reads a range; an index over days
        would cost a write on every counter update of the order path, for a read a person makes now
        and then (docs/console.md, "Reports"): a week is 7 Queries, the longest range 92."""
        return {day: rows for day in days if (rows := self.day(day))}

    # ------------------------------------------------------------------ sent markers
    def sent(self, destination: str, order_id: str, what: str) -> SentMarker | None:
        item = self._items.get(
            REPORT("SENT", order_id), f"{destination}#{what}", what=f"read what was sent to {destination}"
        )
        return SentMarker(int(item["total"]), item.get("note")) if item else None

    def mark_sent(
        self, destination: str, order_id: str, what: str, *, previous: SentMarker | None, total: int, note: str | None
    ) -> bool:
        item = {"pk": REPORT("SENT", order_id), "sk": f"{destination}#{what}", "total": total, "updated_at": _now()}
        if note:
            item["note"] = note
        recording = f"record what was sent to {destination}"
        if previous is None:
            return self._items.put(item, what=recording, condition="attribute_not_exists(pk)")
        return self._items.put(
            item,
            what=recording,
            condition="#total = :previous",
            values={":previous": previous.total},
            names={"#total": "total"},
        )
