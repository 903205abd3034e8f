"""The ledger on one DynamoDB table: orders, their timelines, pending payments and stock.

Keys: an order is `ORDER#<id>` / `ORDER`; each timeline entry `ORDER#<id>` / `EVENT#<event id>`
(so applying one event twice is stopped by a condition); a payment waiting for its order
`ORDER#<id>` / `PENDING#<event id>`; a stock level `SKU#<sku>` / `LOC#<location>`; a SKU's
low-stock crossing `SKU#<sku>` / `LOW`. Every change to an order is conditional on the version it
was read at.

A stock level holds `available` and `reserved`, `version` (incremented by every change to the row,
whoever makes it), and `set_by` / `set_at`: who last set `available` as an absolute value (a
channel, or "admin") and the time of that value in microseconds since the epoch. A level older than
`set_at` is refused by a condition.

A hot SKU's location may be sharded (configuration `stock.shards`): its row then holds `shards` (N)
and the set time, and its units are spread over N shard rows `SKU#<sku>#SHARD#<nn>` / `LOC#<location>`,
each in its own partition, each with its own `available`, `reserved` and `version`. The location's
level is the sum of its row and its shards. Reservations draw from shards (each draw guarded by
`available >= units` on its shard); releases and shipments change the location's row (so its
`reserved` may go below zero while the shards hold the reserved units: only the sum means anything);
rebalancing moves units between two rows in one transaction. See docs/stock.md.

Multi-channel stock keeps, beside the ledger (hub.adapters.stock_tables): a SKU's learned platform
ids `CHANNEL#<channel>` / `SKU#<sku>`, the reverse `CHANNEL#<channel>` / `ITEM#<platform id>`, a
channel's default platform location `CHANNEL#<channel>` / `LOCATION#<location>`, and what was pushed
to a channel `SYNC#<channel>` / `SKU#<sku>#LOC#<location>`.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import ORDER, SKU
from hub.adapters.order_codec import order_from_items, order_items, part_keys, timeline_item
from hub.adapters.table import (
    Table,
    cancellation_reasons,
    cancelled,
    error_code,
    expires_at,
    from_micros,
    key,
    micros,
    plain,
    typed,
)
from hub.domain.orders import Order, Reservation, TimelineEntry
from hub.domain.stock import HEAD, Draw, LowStockState, Move, StockLevel, split_units
from hub.errors import (
    AlreadyAppliedError,
    HubError,
    OrderConflictError,
    OrderExistsError,
    PartsMissingError,
    StaleLevelError,
    StockConflictError,
    StoreError,
)
from hub.ports import LevelWritten

__all__ = ["CHUNK_SIZE", "DynamoLedger"]

PENDING_DAYS = 30
# DynamoDB takes at most 100 items in one transaction. Reservations and stock changes go in chunks
# of at most CHUNK_SIZE, leaving room for the plan check and the chunk's marker.
_TRANSACTION_ITEMS = 100
CHUNK_SIZE = 90
_CONFLICT_TRIES = 5
_FAILED = "ConditionalCheckFailed"
_CONFLICT = "TransactionConflict"
# The states of a placement in chunks.
_RESERVING, _COMPENSATING, _RELEASED, _PLACED = "reserving", "compensating", "released", "placed"
# A chunk's marker: its units are held, or were given back.
_RESERVED = "reserved"

Counted = Mapping[tuple[str, str], tuple[str, datetime]]
Draws = Mapping[tuple[str, str], Sequence[Draw]]
# Tries of a level set on a sharded location, which touches every shard and so meets reservations.
_SHARDED_SET_TRIES = 8


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _order_key(order_id: str) -> dict[str, Any]:
    return key(ORDER(order_id), "ORDER")


def _stock_key(sku: str, location: str) -> dict[str, Any]:
    return key(SKU(sku), f"LOC#{location}")


def _shard_key(sku: str, location: str, shard: int) -> dict[str, Any]:
    """A shard row of a sharded location (HEAD: the location's own row). Each shard is its own
    partition key, so DynamoDB can place them on different partitions (write sharding)."""
    if shard == HEAD:
        return _stock_key(sku, location)
    return key(SKU(sku, "SHARD", f"{shard:02d}"), f"LOC#{location}")


def _row_id(key: Mapping[str, Any]) -> tuple[str, str]:
    return key["pk"]["S"], key["sk"]["S"]


def _shard_count(item: Mapping[str, Any]) -> int:
    return int(item.get("shards") or 0)


def _placing_key(order_id: str) -> dict[str, Any]:
    return key(ORDER(order_id), "PLACING")


def _chunk_key(order_id: str, attempt: int, number: int) -> dict[str, Any]:
    return key(ORDER(order_id), f"PLACED#{attempt:03d}#{number:04d}")


def _plain_key(key: Mapping[str, Any]) -> dict[str, str]:
    return {name: value["S"] for name, value in key.items()}


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode())


def _unpack(value: Any) -> Any:
    return json.loads(zlib.decompress(value.value if hasattr(value, "value") else bytes(value)))


def _owed_item(order_id: str, event_id: str, stock: Sequence[tuple[str, str, int, int]]) -> dict[str, Any]:
    """The stock changes an order's stored change still owes, applied chunk by chunk (`done` counts them)."""
    return typed(
        {
            "pk": ORDER(order_id),
            "sk": f"OWED#{event_id}",
            "kind": "owed_stock",
            "changes": _pack([list(change) for change in stock]),
            "done": 0,
            "created_at": _now(),
        }
    )


@dataclass(frozen=True)
class _Plan:
    """One attempt at placing an order in chunks: its reservations, the reservations held without
    taking from `available` (see StockLedger.place_order), and the items that record the order."""

    attempt: int
    reservations: list[Reservation]
    counted: Counted
    records: list[dict[str, Any]]
    event_id: str
    draws: Draws = dataclasses.field(default_factory=dict)

    def chunks(self) -> list[list[Reservation]]:
        """Reservations in chunks of at most CHUNK_SIZE item updates (a sharded one may take several)."""
        chunks: list[list[Reservation]] = []
        size = 0
        for res in self.reservations:
            updates = len(self.draws.get((res.sku, res.location), ())) or 1
            if not chunks or size + updates > CHUNK_SIZE:
                chunks.append([])
                size = 0
            chunks[-1].append(res)
            size += updates
        return chunks

    def packed(self) -> bytes:
        return _pack(
            {
                "reservations": [[r.sku, r.location, r.quantity] for r in self.reservations],
                "counted": [[sku, loc, by, micros(at)] for (sku, loc), (by, at) in self.counted.items()],
                "records": self.records,
                "draws": [[sku, loc, [[d.shard, d.units] for d in draws]] for (sku, loc), draws in self.draws.items()],
            }
        )

    @classmethod
    def unpacked(cls, attempt: int, item: Mapping[str, Any]) -> _Plan:
        plan = _unpack(item["plan"])
        return cls(
            attempt,
            [Reservation(sku, loc, int(q)) for sku, loc, q in plan["reservations"]],
            {(sku, loc): (by, from_micros(at)) for sku, loc, by, at in plan["counted"]},  # packed from set times
            plan["records"],
            str(item.get("event_id", "")),
            {(sku, loc): tuple(Draw(int(s), int(u)) for s, u in draws) for sku, loc, draws in plan.get("draws", [])},
        )


_LOW = "LOW"
STOCK_INDEX = "stock-by-location"  # template.yaml: partition `location`, sort `sku`, keys only


def _time(value: Any) -> datetime | None:
    """A level's set time (microseconds), None when it was never set."""
    return from_micros(value) if value is not None else None


def _level(sku: str, item: Mapping[str, Any]) -> StockLevel:
    return StockLevel(
        sku,
        item["location"],
        int(item.get("available", 0)),
        int(item.get("reserved", 0)),
        int(item.get("version", 0)),
        item.get("set_by"),
        _time(item.get("set_at")),
    )


def _low_state(item: Mapping[str, Any] | None) -> LowStockState:
    if not item:
        return LowStockState()
    return LowStockState(bool(item.get("low")), int(item.get("crossings", 0)), bool(item.get("announced")))


class DynamoLedger:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._items = Table(client, table_name)

    def _query(self, pk: str, prefix: str = "") -> list[dict[str, Any]]:
        return self._items.query(pk, prefix, what=f"read {pk}")

    # ------------------------------------------------------------------ stock
    def levels_for(self, sku: str) -> dict[str, StockLevel]:
        return self._levels(sku, self._query(SKU(sku), "LOC#"))

    def levels_and_low_stock(self, sku: str) -> tuple[dict[str, StockLevel], LowStockState]:
        """The SKU's levels and its low-stock crossing in one Query: both live in the SKU's own
        partition (`LOC#<location>` and `LOW`), so the low-stock check reads them together."""
        items = self._query(SKU(sku))
        low = next((i for i in items if i["sk"] == "LOW"), None)
        return self._levels(sku, [i for i in items if i["sk"].startswith("LOC#")]), _low_state(low)

    def _levels(self, sku: str, items: list[dict[str, Any]]) -> dict[str, StockLevel]:
        sharded = [(i["location"], _shard_count(i)) for i in items if _shard_count(i) > 1]
        if not sharded:
            return {i["location"]: _level(sku, i) for i in items}
        shards = self._batch_get([_shard_key(sku, loc, n) for loc, count in sharded for n in range(count)])
        return {i["location"]: self._sharded_level(sku, i, shards) for i in items}

    @staticmethod
    def _sharded_level(
        sku: str, item: Mapping[str, Any], shards: Mapping[tuple[str, str], dict[str, Any]]
    ) -> StockLevel:
        """The location's level: its row plus its shards (a shard never written counts as empty)."""
        row = _level(sku, item)
        count = _shard_count(item)
        if count <= 1:
            return row
        parts = [shards.get(_row_id(_shard_key(sku, row.location, n)), {}) for n in range(count)]
        available = tuple(int(p.get("available", 0)) for p in parts)
        return dataclasses.replace(
            row,
            available=row.available + sum(available),
            reserved=row.reserved + sum(int(p.get("reserved", 0)) for p in parts),
            version=row.version + sum(int(p.get("version", 0)) for p in parts),
            shards=available,
        )

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Items by (pk, sk), read consistently, 100 keys a request, unprocessed keys asked again."""
        return self._items.batch_get([_row_id(k) for k in keys], what="read stock shards", tries=_CONFLICT_TRIES * 2)

    def stock_skus(self, locations: Sequence[str], after: str | None, limit: int) -> tuple[list[str], bool]:
        """hub.ports.StockIndex: the index `stock-by-location` (partition `location`, sort `sku`,
        keys only) holds every stock row and shard, as written; nothing is written for it."""
        found: set[str] = set()
        for location in locations:
            found |= self._skus_at(location, after, limit + 1)
        ordered = sorted(found)
        return ordered[:limit], len(ordered) > limit

    def _skus_at(self, location: str, after: str | None, wanted: int) -> set[str]:
        skus: set[str] = set()
        condition = "#loc = :loc" + (" AND sku > :after" if after else "")
        values: dict[str, Any] = {":loc": {"S": location}}
        if after:
            values[":after"] = {"S": after}
        start: dict[str, Any] | None = None
        while len(skus) < wanted:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": STOCK_INDEX,
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": {"#loc": "location"},
                "ExpressionAttributeValues": values,
                "Limit": 100,
            }
            if start:
                request["ExclusiveStartKey"] = start
            answer = self._client.query(**request)
            # A sharded location's shards carry its SKU too: one SKU, several index entries.
            skus.update(item["sku"]["S"] for item in answer.get("Items", []))
            start = answer.get("LastEvaluatedKey")
            if not start:
                break
        return set(sorted(skus)[:wanted])

    def stock_levels(self, skus: Iterable[str]) -> dict[str, dict[str, StockLevel]]:
        return {sku: self.levels_for(sku) for sku in dict.fromkeys(skus)}

    def set_available(self, sku: str, location: str, available: int) -> int | None:
        old = self._items.update(
            *_row_id(_stock_key(sku, location)),
            "SET available = :n, reserved = if_not_exists(reserved, :zero), "
            "sku = :sku, #loc = :loc, updated_at = :now ADD version :one",
            {":n": available, ":zero": 0, ":sku": sku, ":loc": location, ":now": _now(), ":one": 1},
            what=f"set stock for {sku} at {location}",
            names={"#loc": "location"},
            returns="UPDATED_OLD",
        )
        return int(old["available"]) if old and old.get("available") is not None else None

    def set_level(
        self,
        sku: str,
        location: str,
        available: int,
        *,
        by: str,
        at: datetime,
        newer_only: bool = True,
        shards: int = 1,
    ) -> LevelWritten:
        """Set the location's available units (see StockLedger.set_level). With `shards` > 1 they are
        spread over that many shard rows; a location sharded before and set with fewer shards (or
        none) is folded back in the same transaction."""
        if shards > 1:
            return self._set_sharded(sku, location, available, by=by, at=at, newer_only=newer_only, shards=shards)
        values = {
            ":n": available,
            ":zero": 0,
            ":sku": sku,
            ":loc": location,
            ":now": _now(),
            ":one": 1,
            ":by": by,
            ":at": micros(at),
        }
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_stock_key(sku, location),
                UpdateExpression=(
                    "SET available = :n, reserved = if_not_exists(reserved, :zero), sku = :sku, #loc = :loc, "
                    "set_by = :by, set_at = :at, updated_at = :now ADD version :one"
                ),
                # Never an older value over a newer one: the time of the value the location holds.
                # A location kept in shards is set by _set_sharded (its units are in the shards).
                ConditionExpression=(
                    "(attribute_not_exists(set_at) OR set_at <= :at) AND attribute_not_exists(shards)"
                    if newer_only
                    else "attribute_not_exists(shards)"
                ),
                ExpressionAttributeNames={"#loc": "location"},
                ExpressionAttributeValues=typed(values),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                # The row as it was (an emulator that does not return it: read it).
                held = exc.response.get("Item")
                row = plain(held) if held is not None else (self._get(_stock_key(sku, location)) or {})
                if _shard_count(row) > 1:
                    # Sharded before, not any more: fold the shards back into the row.
                    return self._set_sharded(sku, location, available, by=by, at=at, newer_only=newer_only, shards=1)
                raise StaleLevelError(f"{sku} at {location} holds a level newer than {at.isoformat()}") from exc
            raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
        old = plain(response.get("Attributes", {}))
        previous = _level(sku, old) if "available" in old else None
        return LevelWritten(previous, (previous.version if previous else 0) + 1)

    def _set_sharded(
        self, sku: str, location: str, available: int, *, by: str, at: datetime, newer_only: bool, shards: int
    ) -> LevelWritten:
        """One transaction: the row (set time, shard count) and every shard's share of `available`.

        Shards beyond the new count (fewer shards, or 1: not sharded any more) are deleted, their
        reserved units and versions added to the row, so the sums stay right. The transaction is
        conditional on the shard count read, so two changes of the count cannot interleave. The
        previous level is the one read just before (reservations may land in between: the set is
        absolute, as on an unsharded row)."""
        for attempt in range(_SHARDED_SET_TRIES):
            row = self._get(_stock_key(sku, location))
            old_count = _shard_count(row or {})
            old_shards = (
                self._batch_get([_shard_key(sku, location, n) for n in range(old_count)]) if old_count > 1 else {}
            )
            previous = self._sharded_level(sku, row, old_shards) if row and "available" in row else None
            if newer_only and previous is not None and previous.set_at is not None and previous.set_at > at:
                raise StaleLevelError(f"{sku} at {location} holds a level newer than {at.isoformat()}")
            keep = shards if shards > 1 else 0
            shares = split_units(available, keep) if keep else ()
            dropped = [
                old_shards.get(_row_id(_shard_key(sku, location, n)))
                for n in range(keep, old_count if old_count > 1 else 0)
            ]
            folded_reserved = sum(int(d.get("reserved", 0)) for d in dropped if d)
            folded_versions = sum(int(d.get("version", 0)) for d in dropped if d)
            now = _now()
            values: dict[str, Any] = {
                ":n": 0 if keep else available,
                ":zero": 0,
                ":folded": folded_reserved,
                ":sku": sku,
                ":loc": location,
                ":by": by,
                ":at": micros(at),
                ":now": now,
                ":bump": 1 + folded_versions,
            }
            condition = "attribute_not_exists(shards)" if old_count <= 1 else "shards = :old"
            if old_count > 1:
                values[":old"] = old_count
            if newer_only:
                condition = f"({condition}) AND (attribute_not_exists(set_at) OR set_at <= :at)"
            if keep:
                values[":count"] = keep
            head = {
                "Update": {
                    "TableName": self._table,
                    "Key": _stock_key(sku, location),
                    "UpdateExpression": (
                        "SET available = :n, reserved = if_not_exists(reserved, :zero) + :folded, sku = :sku, "
                        "#loc = :loc, set_by = :by, set_at = :at, updated_at = :now"
                        + (", shards = :count" if keep else "")
                        + " ADD version :bump"
                        + ("" if keep else " REMOVE shards")
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#loc": "location"},
                    "ExpressionAttributeValues": typed(values),
                }
            }
            items: list[dict[str, Any]] = [head]
            for n, share in enumerate(shares):
                items.append(
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _shard_key(sku, location, n),
                            "UpdateExpression": (
                                "SET available = :n, reserved = if_not_exists(reserved, :zero), sku = :sku, "
                                "#loc = :loc, shard_index = :shard, updated_at = :now ADD version :one"
                            ),
                            "ExpressionAttributeNames": {"#loc": "location"},
                            "ExpressionAttributeValues": typed(
                                {
                                    ":n": share,
                                    ":zero": 0,
                                    ":sku": sku,
                                    ":loc": location,
                                    ":shard": n,
                                    ":now": now,
                                    ":one": 1,
                                }
                            ),
                        }
                    }
                )
            for n, gone in zip(range(keep, max(old_count, 0)), dropped, strict=False):
                if gone is None:
                    continue
                items.append(
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _shard_key(sku, location, n),
                            # Its reserved units and version were folded into the row as read.
                            "ConditionExpression": "version = :v",
                            "ExpressionAttributeValues": typed({":v": int(gone.get("version", 0))}),
                        }
                    }
                )
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if not cancelled(exc):
                    raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
                # A reservation was in the way, the shard count changed, or a newer level arrived:
                # read again (the stale case is told apart by the read).
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
                continue
            except BotoCoreError as exc:
                raise StoreError(f"could not set stock for {sku} at {location}: {exc}") from exc
            return LevelWritten(previous, (previous.version if previous else 0) + 1 + len(shares))
        raise StoreError(f"could not set stock for {sku} at {location}: reservations kept conflicting")

    def move_stock(self, sku: str, location: str, moves: Sequence[Move]) -> int:
        """Rebalance a sharded location: each move is one transaction over two rows, taking units
        from one (on condition it has them) and adding them to the other (on condition it still
        exists: a shard dropped meanwhile is not recreated). A move that meets a reservation or a
        changed level is skipped: rebalancing is an optimisation, never needed for correctness.
        Returns the units moved."""
        moved = 0
        for move in moves:
            now = _now()
            items = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _shard_key(sku, location, move.source),
                        "UpdateExpression": "SET available = available - :u, updated_at = :now ADD version :one",
                        "ConditionExpression": "available >= :u",
                        "ExpressionAttributeValues": typed({":u": move.units, ":now": now, ":one": 1}),
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _shard_key(sku, location, move.target),
                        "UpdateExpression": "SET available = available + :u, updated_at = :now ADD version :one",
                        "ConditionExpression": "attribute_exists(available)",
                        "ExpressionAttributeValues": typed({":u": move.units, ":now": now, ":one": 1}),
                    }
                },
            ]
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if not cancelled(exc):
                    raise StoreError(f"could not rebalance {sku} at {location}: {exc}") from exc
                continue
            except BotoCoreError as exc:
                raise StoreError(f"could not rebalance {sku} at {location}: {exc}") from exc
            moved += move.units
        return moved

    # ------------------------------------------------------------------ low stock
    def low_stock(self, sku: str) -> LowStockState:
        return _low_state(self._items.get(SKU(sku), _LOW, what=f"read the low-stock state of {sku}"))

    def _low_update(self, sku: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        written = self._items.update(
            SKU(sku), _LOW, expression, values, what=f"record the low-stock state of {sku}", condition=condition
        )
        return written is not None

    def enter_low_stock(self, sku: str, crossing: int) -> bool:
        # Crossing n follows n - 1 only: two consumers seeing the same fall record it once.
        return self._low_update(
            sku,
            "SET low = :true, crossings = :n, announced = :false, updated_at = :now",
            "(attribute_not_exists(crossings) AND :n = :one) OR (low = :false AND crossings = :previous)",
            {":true": True, ":false": False, ":n": crossing, ":previous": crossing - 1, ":one": 1, ":now": _now()},
        )

    def low_stock_announced(self, sku: str, crossing: int) -> None:
        self._low_update(sku, "SET announced = :true", "crossings = :n", {":true": True, ":n": crossing})

    def leave_low_stock(self, sku: str) -> bool:
        return self._low_update(
            sku, "SET low = :false, updated_at = :now", "low = :true", {":true": True, ":false": False, ":now": _now()}
        )

    # ------------------------------------------------------------------ orders
    def _reserve_all(self, res: Reservation, counted: Counted, draws: Draws, now: str) -> list[dict[str, Any]]:
        """The updates holding one reservation's units: one per shard it draws from, else one."""
        drawn = draws.get((res.sku, res.location))
        if not drawn:
            return [self._reserve(res, counted, now)]
        return [
            self._reserve(
                Reservation(res.sku, res.location, d.units), {}, now, _shard_key(res.sku, res.location, d.shard)
            )
            for d in drawn
        ]

    def _unreserve_all(self, res: Reservation, counted: Counted, draws: Draws, now: str) -> list[dict[str, Any]]:
        """The updates giving back what _reserve_all took, each draw to the shard it came from."""
        drawn = draws.get((res.sku, res.location))
        if not drawn:
            return [self._unreserve(res, counted, now)]
        return [
            self._unreserve(
                Reservation(res.sku, res.location, d.units), {}, now, _shard_key(res.sku, res.location, d.shard)
            )
            for d in drawn
        ]

    def _reserve(
        self, res: Reservation, counted: Counted, now: str, key: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The update holding one reservation's units at its location (or the shard `key`)."""
        report = counted.get((res.sku, res.location))
        if report is not None:
            # The storefront's own report already left these units out of `available`: hold them
            # only, as long as that report is still the level the location holds.
            update = {
                "UpdateExpression": (
                    "SET reserved = if_not_exists(reserved, :zero) + :q, updated_at = :now ADD version :one"
                ),
                "ConditionExpression": "set_by = :by AND set_at = :at",
                "ExpressionAttributeValues": typed(
                    {":q": res.quantity, ":zero": 0, ":now": now, ":one": 1, ":by": report[0], ":at": micros(report[1])}
                ),
            }
        else:
            update = {
                "UpdateExpression": (
                    "SET available = available - :q, reserved = if_not_exists(reserved, :zero) + :q, "
                    "updated_at = :now ADD version :one"
                ),
                # The guard that makes overselling impossible, whatever runs concurrently.
                "ConditionExpression": "available >= :q",
                "ExpressionAttributeValues": typed({":q": res.quantity, ":zero": 0, ":now": now, ":one": 1}),
            }
        return {"Update": {"TableName": self._table, "Key": key or _stock_key(res.sku, res.location), **update}}

    def _unreserve(
        self, res: Reservation, counted: Counted, now: str, key: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The update giving one reservation's units back (what _reserve took, and nothing else)."""
        back = 0 if (res.sku, res.location) in counted else res.quantity
        return {
            "Update": {
                "TableName": self._table,
                "Key": key or _stock_key(res.sku, res.location),
                "UpdateExpression": (
                    "SET available = available + :back, reserved = reserved - :q, updated_at = :now ADD version :one"
                ),
                "ConditionExpression": "reserved >= :q",
                "ExpressionAttributeValues": typed({":q": res.quantity, ":back": back, ":now": now, ":one": 1}),
            }
        }

    def place_order(
        self,
        order: Order,
        reservations: Sequence[Reservation],
        entry: TimelineEntry,
        counted: Mapping[tuple[str, str], tuple[str, datetime]] | None = None,
        draws: Draws | None = None,
    ) -> None:
        """Record a new order with its first timeline entry and its reservations.

        An order with at most CHUNK_SIZE item updates is one transaction. A larger one is reserved
        in chunks under a stored plan, and the order item is written last (see _place_in_chunks).
        `draws` names the shards a reservation at a sharded location takes its units from.
        """
        now = _now()
        counted = dict(counted or {})
        draws = dict(draws or {})
        order.reservations = tuple(reservations)
        order.version = 1
        head, parts = order_items(order, now)
        records = [head, timeline_item(order.order_id, entry), *parts]
        updates = [u for r in reservations for u in self._reserve_all(r, counted, draws, now)]
        if len(updates) <= CHUNK_SIZE and 1 + len(records) + len(updates) <= _TRANSACTION_ITEMS:
            self._place_at_once(order.order_id, records, updates)
        else:
            self._place_in_chunks(order.order_id, list(reservations), counted, records, entry.event_id, draws)

    def _place_at_once(self, order_id: str, records: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        items: list[dict[str, Any]] = [
            # No placement in chunks of this order is under way (it would be stranded).
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": _placing_key(order_id),
                    "ConditionExpression": "attribute_not_exists(sk) OR #state = :released",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": typed({":released": _RELEASED}),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": records[0],
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            *({"Put": {"TableName": self._table, "Item": record}} for record in records[1:]),
            *updates,
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not cancelled(exc):
                raise StoreError(f"could not record order {order_id}: {exc}") from exc
            reasons = cancellation_reasons(exc)
            if len(reasons) > 1 and reasons[1] == _FAILED:
                raise OrderExistsError(order_id) from exc
            if reasons and reasons[0] == _FAILED:
                # Another delivery is placing this order in chunks: see it through, or learn it failed.
                self._follow_plan(order_id)
            if _FAILED in reasons[1 + len(records) :] or _CONFLICT in reasons:
                raise StockConflictError(order_id) from exc
            # moto and older SDKs may omit reasons; tell the two apart by reading the order.
            if not reasons and self._order_exists(order_id):
                raise OrderExistsError(order_id) from exc
            if not reasons:
                raise StockConflictError(order_id) from exc
            raise StoreError(f"could not record order {order_id}: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not record order {order_id}: {exc}") from exc

    # A placement in chunks. `ORDER#<id>` / `PLACING` holds the plan: its attempt, its state
    # (reserving -> placed, or reserving -> compensating -> released, then a new attempt), the
    # reservations and the items the order is recorded with. Each chunk is one transaction: a check
    # that the plan is still reserving, its marker `PLACED#<attempt>#<chunk>` (written once), and at
    # most CHUNK_SIZE reservations. The order item comes last, with the plan marked placed.
    def _place_in_chunks(
        self,
        order_id: str,
        reservations: list[Reservation],
        counted: Counted,
        records: list[dict[str, Any]],
        event_id: str,
        draws: Draws | None = None,
    ) -> None:
        plan = self._start_plan(order_id, _Plan(0, reservations, counted, records, event_id, dict(draws or {})))
        if plan is None:
            self._follow_plan(order_id)
            return
        self._reserve_chunks(order_id, plan)
        self._commit_plan(order_id, plan)

    def _start_plan(self, order_id: str, plan: _Plan) -> _Plan | None:
        """Store `plan` as the order's next attempt; None when another delivery's plan is under way."""
        for _attempt in range(4):
            current = self._get(_placing_key(order_id))
            if current is None:
                condition, values = "attribute_not_exists(sk)", {}
                attempt = 1
            elif current["state"] == _RELEASED:
                if self._order_exists(order_id):
                    raise OrderExistsError(order_id)
                attempt = int(current["attempt"]) + 1
                condition = "attempt = :previous AND #state = :released"
                values = {":previous": attempt - 1, ":released": _RELEASED}
            else:
                return None
            stored = _Plan(attempt, plan.reservations, plan.counted, plan.records, plan.event_id, plan.draws)
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=typed(
                        {
                            **_plain_key(_placing_key(order_id)),
                            "kind": "placement",
                            "attempt": attempt,
                            "state": _RESERVING,
                            "event_id": plan.event_id,
                            "chunks": len(stored.chunks()),
                            "plan": stored.packed(),
                            "updated_at": _now(),
                        }
                    ),
                    ConditionExpression=condition,
                    **(
                        {"ExpressionAttributeNames": {"#state": "state"}, "ExpressionAttributeValues": typed(values)}
                        if values
                        else {}
                    ),
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    continue  # another delivery stored a plan first: look again
                raise StoreError(f"could not plan order {order_id}: {exc}") from exc
            except BotoCoreError as exc:
                raise StoreError(f"could not plan order {order_id}: {exc}") from exc
            return stored
        raise StockConflictError(order_id)

    def _follow_plan(self, order_id: str) -> None:
        """See another delivery's placement through: OrderExistsError once the order is recorded by
        it; StockConflictError when it was given up (its units released), so the caller plans anew."""
        current = self._get(_placing_key(order_id))
        state = current["state"] if current else _RELEASED
        if state == _PLACED:
            raise OrderExistsError(order_id)
        if state == _RESERVING and current is not None:
            plan = _Plan.unpacked(int(current["attempt"]), current)
            self._reserve_chunks(order_id, plan)
            self._commit_plan(order_id, plan)
            raise OrderExistsError(order_id)
        if state == _COMPENSATING and current is not None:
            self._compensate(order_id, int(current["attempt"]))
        raise StockConflictError(order_id)

    def _plan_check(self, order_id: str, attempt: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": _placing_key(order_id),
            "ConditionExpression": "attempt = :attempt AND #state = :reserving",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": typed({":attempt": attempt, ":reserving": _RESERVING}),
        }

    def _plan_gone(self, order_id: str, exc: Exception) -> HubError:
        """The plan is no longer reserving: it was placed (by another delivery) or given up."""
        current = self._get(_placing_key(order_id))
        if current is not None and current["state"] == _PLACED:
            return OrderExistsError(order_id)
        return StockConflictError(order_id)

    def _reserve_chunks(self, order_id: str, plan: _Plan) -> None:
        now = _now()
        for number, chunk in enumerate(plan.chunks()):
            marker = {
                **_plain_key(_chunk_key(order_id, plan.attempt, number)),
                "kind": "placement_chunk",
                "state": _RESERVED,
                "units": sum(r.quantity for r in chunk),
            }
            items = [
                {"ConditionCheck": self._plan_check(order_id, plan.attempt)},
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": typed(marker),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
                *(u for r in chunk for u in self._reserve_all(r, plan.counted, plan.draws, now)),
            ]
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if not cancelled(exc):
                    raise StoreError(f"could not reserve stock for order {order_id}: {exc}") from exc
                reasons = cancellation_reasons(exc)
                if reasons and reasons[0] == _FAILED:
                    raise self._plan_gone(order_id, exc) from exc
                if len(reasons) > 1 and reasons[1] == _FAILED:
                    continue  # this chunk is written already (a redelivery, or another delivery)
                if _CONFLICT in reasons:
                    raise StockConflictError(order_id) from exc
                # A location no longer has the units: give back what this attempt holds, then re-plan.
                self._compensate(order_id, plan.attempt)
                raise StockConflictError(order_id) from exc
            except BotoCoreError as exc:
                raise StoreError(f"could not reserve stock for order {order_id}: {exc}") from exc

    def _commit_plan(self, order_id: str, plan: _Plan) -> None:
        items = [
            {
                "Update": {
                    **self._plan_check(order_id, plan.attempt),
                    "UpdateExpression": "SET #state = :placed, updated_at = :now REMOVE #plan",
                    "ExpressionAttributeNames": {"#state": "state", "#plan": "plan"},
                    "ExpressionAttributeValues": typed(
                        {":attempt": plan.attempt, ":reserving": _RESERVING, ":placed": _PLACED, ":now": _now()}
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": plan.records[0],
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            *({"Put": {"TableName": self._table, "Item": record}} for record in plan.records[1:]),
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not cancelled(exc):
                raise StoreError(f"could not record order {order_id}: {exc}") from exc
            reasons = cancellation_reasons(exc)
            if reasons and reasons[0] == _FAILED:
                raise self._plan_gone(order_id, exc) from exc
            if len(reasons) > 1 and reasons[1] == _FAILED:
                # Recorded meanwhile by another path: what this attempt holds goes back.
                self._compensate(order_id, plan.attempt)
                raise OrderExistsError(order_id) from exc
            if _CONFLICT in reasons:
                raise StockConflictError(order_id) from exc
            raise StoreError(f"could not record order {order_id}: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not record order {order_id}: {exc}") from exc

    def _compensate(self, order_id: str, attempt: int) -> None:
        """Give back every chunk attempt `attempt` reserved, each once, and mark the plan released.

        The plan is marked compensating first, so no chunk of that attempt can be written after."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_placing_key(order_id),
                UpdateExpression="SET #state = :compensating, updated_at = :now",
                ConditionExpression="attempt = :attempt AND #state IN (:reserving, :compensating)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=typed(
                    {":attempt": attempt, ":reserving": _RESERVING, ":compensating": _COMPENSATING, ":now": _now()}
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"could not give back the stock of order {order_id}: {exc}") from exc
            current = self._get(_placing_key(order_id))
            if current is not None and current["state"] == _PLACED:
                raise OrderExistsError(order_id) from exc
            return  # another delivery gave this attempt up already
        except BotoCoreError as exc:
            raise StoreError(f"could not give back the stock of order {order_id}: {exc}") from exc
        current = self._get(_placing_key(order_id))
        if current is None or "plan" not in current:
            return
        plan = _Plan.unpacked(attempt, current)
        now = _now()
        for number, chunk in enumerate(plan.chunks()):
            items = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _chunk_key(order_id, attempt, number),
                        "UpdateExpression": "SET #state = :released",
                        "ConditionExpression": "#state = :reserved",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": typed({":released": _RELEASED, ":reserved": _RESERVED}),
                    }
                },
                *(u for r in chunk for u in self._unreserve_all(r, plan.counted, plan.draws, now)),
            ]
            for _try in range(_CONFLICT_TRIES):
                try:
                    self._client.transact_write_items(TransactItems=items)
                    break
                except ClientError as exc:
                    reasons = cancellation_reasons(exc) if cancelled(exc) else []
                    if reasons and reasons[0] == _FAILED:
                        break  # never written, or given back already
                    if _CONFLICT in reasons:
                        time.sleep(random.uniform(0, 0.05 * 2**_try))
                        continue
                    raise StoreError(f"could not give back the stock of order {order_id}: {exc}") from exc
                except BotoCoreError as exc:
                    raise StoreError(f"could not give back the stock of order {order_id}: {exc}") from exc
            else:
                raise StoreError(f"could not give back the stock of order {order_id}: kept conflicting")
        # When the condition fails, another delivery released the plan already.
        self._items.update(
            *_row_id(_placing_key(order_id)),
            "SET #state = :released, updated_at = :now REMOVE #plan",
            {":attempt": attempt, ":compensating": _COMPENSATING, ":released": _RELEASED, ":now": _now()},
            what=f"give back the stock of order {order_id}",
            condition="attempt = :attempt AND #state = :compensating",
            names={"#state": "state", "#plan": "plan"},
        )

    # ------------------------------------------------------------------ changes to a recorded order
    def _stock_update(self, change: tuple[str, str, int, int], now: str) -> dict[str, Any]:
        sku, location, available, reserved = change
        # Conditions cannot do arithmetic: a decrease by n needs at least n there now.
        guards = {"reserved": -reserved, "available": -available}
        # On a sharded location the reserved units are in the shards, the row's own count may go
        # below zero: the sum is what the guard would protect, and the order's version guards it.
        condition = " AND ".join(
            f"({name} >= :{name}_need OR attribute_exists(shards))" if name == "reserved" else f"{name} >= :{name}_need"
            for name, need in guards.items()
            if need > 0
        )
        values = {":a": available, ":r": reserved, ":now": now, ":one": 1}
        values.update({f":{name}_need": need for name, need in guards.items() if need > 0})
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": _stock_key(sku, location),
            # `version` counts every change to the row (channel_sync pushes levels in version order).
            "UpdateExpression": (
                "SET available = available + :a, reserved = reserved + :r, updated_at = :now ADD version :one"
            ),
            "ExpressionAttributeValues": typed(values),
        }
        if condition:
            update["ConditionExpression"] = condition
        return {"Update": update}

    def save_order(self, order: Order, entry: TimelineEntry, stock: Sequence[tuple[str, str, int, int]] = ()) -> None:
        """Store the order as changed by one event, with that event's timeline entry, atomically.

        Conditional on the version the order was read at (OrderConflictError: read again and
        retry) and on the event not being applied yet (AlreadyAppliedError). `stock` holds
        (sku, location, available delta, reserved delta) changes made in the same transaction.

        When the changes do not fit in one transaction (the release of a large order), the order
        and its timeline entry are stored with `OWED#<event id>`, the changes still owed, and the
        changes follow in chunks, each counted on that item (see _settle): a crash in between
        leaves them owed, and `finish_stock` (the event's redelivery) applies the rest.
        """
        expected = order.version
        order.version = expected + 1
        now = _now()
        head, parts = order_items(order, now)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": head,
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": typed({":expected": expected}),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": timeline_item(order.order_id, entry),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            *({"Put": {"TableName": self._table, "Item": part}} for part in parts),
        ]
        owed = len(items) + len(stock) > _TRANSACTION_ITEMS
        if owed:
            items.append({"Put": {"TableName": self._table, "Item": _owed_item(order.order_id, entry.event_id, stock)}})
        else:
            items.extend(self._stock_update(change, now) for change in stock)
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            order.version = expected
            if not cancelled(exc):
                raise StoreError(f"could not save order {order.order_id}: {exc}") from exc
            reasons = cancellation_reasons(exc)
            if len(reasons) > 1 and reasons[1] == _FAILED:
                raise AlreadyAppliedError(entry.event_id) from exc
            if (reasons and reasons[0] == _FAILED) or _CONFLICT in reasons:
                raise OrderConflictError(order.order_id) from exc
            if not reasons:
                # Without reasons (some emulators), find out which guard stopped the write.
                if self._applied(order.order_id, entry.event_id):
                    raise AlreadyAppliedError(entry.event_id) from exc
                raise OrderConflictError(order.order_id) from exc
            raise StoreError(f"could not save order {order.order_id}: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            order.version = expected
            raise StoreError(f"could not save order {order.order_id}: {exc}") from exc
        if owed:
            self._settle(order.order_id, entry.event_id, list(stock))
        if parts:
            self._drop_stale_parts(order.order_id, order.version, plain(head)["parts"])

    def finish_stock(self, order_id: str) -> None:
        """Apply the stock changes the order's stored changes still owe (after a crash between the
        order's write and its chunks of stock changes); nothing when none are owed."""
        for item in self._query(ORDER(order_id), "OWED#"):
            self._settle(order_id, item["sk"].removeprefix("OWED#"), _unpack(item["changes"]))

    def _settle(self, order_id: str, event_id: str, stock: list[tuple[str, str, int, int]]) -> None:
        owed = key(ORDER(order_id), f"OWED#{event_id}")
        chunks = [stock[i : i + CHUNK_SIZE] for i in range(0, len(stock), CHUNK_SIZE)]
        tries = 0
        while True:
            current = self._get(owed)
            if current is None:
                return  # settled, by this delivery or another
            done = int(current["done"])
            if done >= len(chunks):
                break
            now = _now()
            items = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": owed,
                        "UpdateExpression": "SET done = :next",
                        "ConditionExpression": "done = :done",
                        "ExpressionAttributeValues": typed({":done": done, ":next": done + 1}),
                    }
                },
                *(self._stock_update((s, loc, int(a), int(r)), now) for s, loc, a, r in chunks[done]),
            ]
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = cancellation_reasons(exc) if cancelled(exc) else []
                retry = (reasons and reasons[0] == _FAILED) or _CONFLICT in reasons
                tries += 1
                if retry and tries < _CONFLICT_TRIES * len(chunks):
                    if _CONFLICT in reasons:
                        time.sleep(random.uniform(0, 0.05 * min(2**tries, 20)))
                    continue  # another delivery applied this chunk, or a transaction was in the way
                raise StoreError(f"could not apply the stock changes of order {order_id}: {exc}") from exc
            except BotoCoreError as exc:
                raise StoreError(f"could not apply the stock changes of order {order_id}: {exc}") from exc
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=owed,
                ConditionExpression="done = :all",
                ExpressionAttributeValues=typed({":all": len(chunks)}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"could not apply the stock changes of order {order_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not apply the stock changes of order {order_id}: {exc}") from exc

    def _drop_stale_parts(self, order_id: str, version: int, parts: Mapping[str, Any]) -> None:
        """Remove part items the order no longer names, unless the order changed again meanwhile.

        Best effort: a stale part is never read (the order item names its parts), only kept."""
        keep = part_keys(order_id, parts)
        stale = [i["sk"] for i in self._query(ORDER(order_id), "PART#") if i["sk"] not in keep]
        for start in range(0, len(stale), _TRANSACTION_ITEMS - 1):
            items = [
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": _order_key(order_id),
                        "ConditionExpression": "version = :version",
                        "ExpressionAttributeValues": typed({":version": version}),
                    }
                },
                *(
                    {"Delete": {"TableName": self._table, "Key": key(ORDER(order_id), sk)}}
                    for sk in stale[start : start + _TRANSACTION_ITEMS - 1]
                ),
            ]
            try:
                self._client.transact_write_items(TransactItems=items)
            except (ClientError, BotoCoreError):
                return

    def _applied(self, order_id: str, event_id: str) -> bool:
        return self._items.get(ORDER(order_id), f"EVENT#{event_id}", what=f"read order {order_id}") is not None

    def _order_exists(self, order_id: str) -> bool:
        return self._items.get(ORDER(order_id), "ORDER", what=f"read order {order_id}", projection="pk") is not None

    def _get(self, row: dict[str, Any]) -> dict[str, Any] | None:
        pk, sk = _row_id(row)
        return self._items.get(pk, sk, what=f"read {pk}")

    def get_order(self, order_id: str) -> Order | None:
        for _attempt in range(_CONFLICT_TRIES):
            items = [i for i in self._query(ORDER(order_id)) if not i["sk"].startswith("PENDING#")]
            try:
                return order_from_items(items)
            except PartsMissingError:
                continue  # the read saw a write half done: read again
        raise StoreError(f"could not read order {order_id}: its parts kept changing")

    # ------------------------------------------------------------------ payments waiting for their order
    def put_pending(self, order_id: str, event_id: str, event_json: str) -> None:
        self._items.put(
            {
                "pk": ORDER(order_id),
                "sk": f"PENDING#{event_id}",
                "kind": "pending",
                "event": event_json,
                "expires_at": expires_at(PENDING_DAYS),
            },
            what=f"keep a payment for {order_id}",
        )

    def pending_for(self, order_id: str) -> list[str]:
        return [i["event"] for i in self._query(ORDER(order_id), "PENDING#")]
