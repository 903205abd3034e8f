"""The daily report on the hub's single table: facts, day counters and sent markers.

Keys:
- the facts of an order, checkout or customer: `REPORT#<kind>#<id>` / `FACTS` (`facts` and
  `contribution` as JSON, `version`); a customer's id is its key (a hash), never an email;
- one day's counters for one channel and currency: `REPORT#DAY#<YYYY-MM-DD>` / `<channel>#<currency>`
  (`-` for the counters without money), one number attribute per counter;
- what was forwarded to an analytics destination: `REPORT#SENT#<order id>` / `<destination>#<what>`.

Saving facts is one transaction: the facts put, conditional on the version read, and an atomic ADD
to each day counter the change moves. A condition that fails writes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from hub.domain.reporting import BucketRow, Contribution, facts_from_json
from hub.ports import StoreError
from hub.services.analytics import SentMarker
from hub.services.reporting import Facts, ReportConflictError, StoredFacts

__all__ = ["DynamoReportStore"]

_MAX_TRANSACTION = 100
_METADATA = {"pk", "sk", "day", "channel", "currency", "updated_at"}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


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


def _is(exc: ClientError, code: str) -> bool:
    return exc.response.get("Error", {}).get("Code") == code


class DynamoReportStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ------------------------------------------------------------------ facts
    def load(self, kind: str, key: str) -> StoredFacts | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key=_typed({"pk": f"REPORT#{kind}#{key}", "sk": "FACTS"}),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the {kind} facts: {exc}") from exc
        if "Item" not in response:
            return None
        item = _plain(response["Item"])
        return StoredFacts(
            facts_from_json(json.loads(item["facts"])),
            _contribution_from(item["contribution"]),
            int(item["version"]),
        )

    def save(self, facts: Facts, contribution: Contribution, expected_version: int | None, delta: Contribution) -> None:
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": _typed(
                {
                    "pk": f"REPORT#{facts.kind}#{facts.key}",
                    "sk": "FACTS",
                    "kind": facts.kind,
                    "facts": json.dumps(facts.to_json(), separators=(",", ":")),
                    "contribution": _contribution_json(contribution),
                    "version": (expected_version or 0) + 1,
                    "updated_at": _now(),
                }
            ),
        }
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = _typed({":expected": expected_version})
        if len(delta) + 1 > _MAX_TRANSACTION:
            raise StoreError(f"the {facts.kind} change moves {len(delta)} day counters, more than one write can hold")
        try:
            if not delta:
                self._client.put_item(**put)
                return
            updates = [
                {"Update": self._counter_update(bucket, counters)}
                for bucket, counters in sorted(
                    delta.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")
                )
            ]
            self._client.transact_write_items(TransactItems=[{"Put": put}, *updates])
        except ClientError as exc:
            if _is(exc, "ConditionalCheckFailedException"):
                raise ReportConflictError(f"{facts.kind} changed meanwhile") from exc
            if _is(exc, "TransactionCanceledException"):
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if not reasons or reasons[0] == "ConditionalCheckFailed":
                    raise ReportConflictError(f"{facts.kind} changed meanwhile") from exc
                raise StoreError(f"could not save the {facts.kind} facts: {', '.join(reasons)}") from exc
            raise StoreError(f"could not save the {facts.kind} facts: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not save the {facts.kind} facts: {exc}") from exc

    def _counter_update(self, bucket: tuple[str, str, str | None], counters: dict[str, int]) -> dict[str, Any]:
        day, channel, currency = bucket
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
            "Key": _typed({"pk": f"REPORT#DAY#{day}", "sk": f"{channel}#{currency or '-'}"}),
            "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _typed(values),
        }

    # ------------------------------------------------------------------ the report
    def day(self, day: str) -> list[BucketRow]:
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=_typed({":pk": f"REPORT#DAY#{day}"}),
                ConsistentRead=True,
            )
            items = [_plain(item) for page in pages for item in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the report of {day}: {exc}") from exc
        return [
            BucketRow(
                str(item["channel"]),
                str(item["currency"]) if item.get("currency") else None,
                {k: int(v) for k, v in item.items() if k not in _METADATA},
            )
            for item in items
        ]

    # ------------------------------------------------------------------ sent markers
    def _marker_key(self, destination: str, order_id: str, what: str) -> dict[str, Any]:
        return _typed({"pk": f"REPORT#SENT#{order_id}", "sk": f"{destination}#{what}"})

    def sent(self, destination: str, order_id: str, what: str) -> SentMarker | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=self._marker_key(destination, order_id, what), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read what was sent to {destination}: {exc}") from exc
        if "Item" not in response:
            return None
        item = _plain(response["Item"])
        return SentMarker(int(item["total"]), item.get("note"))

    def mark_sent(
        self, destination: str, order_id: str, what: str, *, previous: SentMarker | None, total: int, note: str | None
    ) -> bool:
        item = {**_plain(self._marker_key(destination, order_id, what)), "total": total, "updated_at": _now()}
        if note:
            item["note"] = note
        request: dict[str, Any] = {"TableName": self._table, "Item": _typed(item)}
        if previous is None:
            request["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            request["ConditionExpression"] = "#total = :previous"
            request["ExpressionAttributeNames"] = {"#total": "total"}
            request["ExpressionAttributeValues"] = _typed({":previous": previous.total})
        try:
            self._client.put_item(**request)
        except ClientError as exc:
            if _is(exc, "ConditionalCheckFailedException"):
                return False
            raise StoreError(f"could not record what was sent to {destination}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not record what was sent to {destination}: {exc}") from exc
        return True
