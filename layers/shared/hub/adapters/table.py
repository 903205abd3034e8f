"""The hub's single DynamoDB table, as every adapter on it reads and writes it.

One helper for what each adapter used to write again: keys (`key`), the item codec (`typed`,
`plain`), times as exact microseconds (`micros`, `from_micros`), expiry (`expires_at`), recognising a
failed condition or a cancelled transaction, and a `Table` whose calls turn a DynamoDB or botocore
error into `StoreError` ("could not <what>"): a consistent `get`, a `query` of one partition with
every page, conditional `put` / `update` / `delete` that answer False when their condition failed,
`transact` that answers the cancellation reasons, and `batch_get` / `batch_delete` / `batch_put` that
split into DynamoDB's request sizes and ask again for what it left unprocessed, with jittered
exponential waits.

The key prefixes are in `hub.adapters.keys`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from hub.errors import StoreError

__all__ = [
    "BATCH_GET",
    "BATCH_WRITE",
    "TRANSACT_ITEMS",
    "Table",
    "cancellation_reasons",
    "cancelled",
    "error_code",
    "expires_at",
    "failed_condition",
    "from_micros",
    "key",
    "micros",
    "plain",
    "typed",
]

BATCH_GET = 100  # BatchGetItem takes at most 100 keys
BATCH_WRITE = 25  # BatchWriteItem takes at most 25 requests
TRANSACT_ITEMS = 100  # TransactWriteItems takes at most 100 items
_TRIES = 8  # batch requests asked again while DynamoDB leaves some of them unprocessed
_DAY = 86400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# ------------------------------------------------------------------ the item codec
def typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values as DynamoDB attribute values; None leaves the attribute out."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def micros(at: datetime) -> int:
    """A time as whole microseconds since the epoch (naive: UTC): exact, compared as a number by
    conditions, and `micros(from_micros(n)) == n`."""
    return ((at if at.tzinfo else at.replace(tzinfo=UTC)) - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: Any) -> datetime:
    return _EPOCH + timedelta(microseconds=int(value))


def expires_at(days: int) -> int:
    """The table's TTL attribute for an item that may go `days` from now (epoch seconds)."""
    return int(time.time()) + days * _DAY


# ------------------------------------------------------------------ errors
def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def failed_condition(exc: ClientError) -> bool:
    """A single-item write refused by its ConditionExpression."""
    return error_code(exc) == "ConditionalCheckFailedException"


def cancelled(exc: ClientError) -> bool:
    """A transaction DynamoDB cancelled (a condition, a conflicting transaction, throttling...)."""
    return error_code(exc) == "TransactionCanceledException"


def cancellation_reasons(exc: ClientError) -> list[str]:
    """One code per item of a cancelled transaction ("None" for an item that was fine)."""
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]


def _wait(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.05 * 2**attempt))


class Table:
    """The calls on one table. `what` names the work for the error ("could not <what>: ...")."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    # ------------------------------------------------------------------ reads
    def get(
        self, pk: str, sk: str, *, what: str, projection: str | None = None, consistent: bool = True
    ) -> dict[str, Any] | None:
        """One item (read consistently unless told otherwise); None when there is none."""
        extra: dict[str, Any] = {"ProjectionExpression": projection} if projection else {}
        if consistent:
            extra["ConsistentRead"] = True
        try:
            item = self.client.get_item(TableName=self.name, Key=key(pk, sk), **extra).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
        return plain(item) if item else None

    def query(
        self,
        pk: str,
        prefix: str = "",
        *,
        what: str,
        newest_first: bool = False,
        consistent: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a partition (whose sort key starts with `prefix`), page by page, read
        consistently unless told otherwise; with `limit`, the first `limit` items only."""
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": pk, **({":prefix": prefix} if prefix else {})}
        extra: dict[str, Any] = {"ConsistentRead": True} if consistent else {}
        if newest_first:
            extra["ScanIndexForward"] = False
        if limit is not None:
            extra["PaginationConfig"] = {"MaxItems": limit, "PageSize": limit}
        try:
            pages = self.client.get_paginator("query").paginate(
                TableName=self.name,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=typed(values),
                **extra,
            )
            return [plain(item) for page in pages for item in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not {what}: {exc}") from exc

    def batch_get(
        self, keys: Iterable[tuple[str, str]], *, what: str, tries: int = _TRIES
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Items by (pk, sk), read consistently, 100 keys a request, unprocessed keys asked again."""
        wanted = [key(pk, sk) for pk, sk in keys]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_GET):
            pending: dict[str, Any] = {self.name: {"Keys": wanted[start : start + BATCH_GET], "ConsistentRead": True}}
            for attempt in range(tries):
                try:
                    response = self.client.batch_get_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise StoreError(f"could not {what}: {exc}") from exc
                for item in response.get("Responses", {}).get(self.name, []):
                    values = plain(item)
                    found[(values["pk"], values["sk"])] = values
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                _wait(attempt)
            else:
                raise StoreError(f"could not {what}: DynamoDB kept keys unprocessed")
        return found

    # ------------------------------------------------------------------ writes
    def put(
        self,
        item: Mapping[str, Any],
        *,
        what: str,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> bool:
        """PutItem of a plain item; False when `condition` failed."""
        return self._write("put_item", {"Item": typed(item)}, what, condition, values, names) is not None

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        values: Mapping[str, Any] | None = None,
        *,
        what: str,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        returns: str | None = None,
    ) -> dict[str, Any] | None:
        """UpdateItem; None when `condition` failed, else the attributes `returns` asked for (plain)."""
        request: dict[str, Any] = {"Key": key(pk, sk), "UpdateExpression": expression}
        if returns:
            request["ReturnValues"] = returns
        return self._write("update_item", request, what, condition, values, names)

    def delete(
        self,
        pk: str,
        sk: str,
        *,
        what: str,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> bool:
        """DeleteItem; False when `condition` failed."""
        return self._write("delete_item", {"Key": key(pk, sk)}, what, condition, values, names) is not None

    def _write(
        self,
        operation: str,
        request: dict[str, Any],
        what: str,
        condition: str | None,
        values: Mapping[str, Any] | None,
        names: Mapping[str, str] | None,
    ) -> dict[str, Any] | None:
        if condition:
            request["ConditionExpression"] = condition
        if values:
            request["ExpressionAttributeValues"] = typed(values)
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        try:
            response = getattr(self.client, operation)(TableName=self.name, **request)
        except ClientError as exc:
            if condition and failed_condition(exc):
                return None
            raise StoreError(f"could not {what}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
        return plain(response.get("Attributes") or {})

    def transact(self, items: Sequence[Mapping[str, Any]], *, what: str) -> list[str] | None:
        """TransactWriteItems; None when written, the cancellation reasons when DynamoDB cancelled it."""
        try:
            self.client.transact_write_items(TransactItems=list(items))
        except ClientError as exc:
            if cancelled(exc):
                return cancellation_reasons(exc)
            raise StoreError(f"could not {what}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
        return None

    def batch_delete(self, keys: Iterable[tuple[str, str]], *, what: str, tries: int = _TRIES) -> None:
        self._batch_write([{"DeleteRequest": {"Key": key(pk, sk)}} for pk, sk in keys], what, tries)

    def batch_put(self, items: Iterable[Mapping[str, Any]], *, what: str, tries: int = _TRIES) -> None:
        self._batch_write([{"PutRequest": {"Item": typed(item)}} for item in items], what, tries)

    def _batch_write(self, requests: list[dict[str, Any]], what: str, tries: int) -> None:
        """25 requests a BatchWriteItem, unprocessed ones sent again (`tries` requests in all)."""
        for start in range(0, len(requests), BATCH_WRITE):
            pending: dict[str, Any] = {self.name: requests[start : start + BATCH_WRITE]}
            for attempt in range(tries):
                try:
                    pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                except (ClientError, BotoCoreError) as exc:
                    raise StoreError(f"could not {what}: {exc}") from exc
                if not pending:
                    break
                if attempt + 1 < tries:
                    _wait(attempt)
            else:
                raise StoreError(f"could not {what}: DynamoDB kept requests unprocessed")
