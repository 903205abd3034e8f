"""Webhook deliveries per source and hour on the hub's table: `WEBHOOKS#<source>` / `<UTC hour>`.

Two items per source and hour ("2026-12-06T13"): `<hour>` counts `accepted`, `duplicate`, `ignored`
and `failed`, `<hour>#refused` counts `refused` and keeps `last_refusal_<status>` (time, status,
reason), the hour's latest refusal of each status. One UpdateItem per delivery ADDs one to its
outcome; an item stays a few hundred bytes however many deliveries it counts. Items expire two days
after their hour (the table's TTL); the console reads the last day with one Query per source.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import WEBHOOKS
from hub.adapters.table import Table, plain, typed
from hub.domain.webhook_activity import OUTCOMES, HourCounts, Outcome, Refusal
from hub.errors import StoreError

__all__ = ["KEEP_DAYS", "DynamoWebhookActivityLog"]

KEEP_DAYS = 2  # a bucket expires this long after its hour starts (the page shows one day)
_LAST = "last_refusal_"
_REFUSED = "#refused"


class DynamoWebhookActivityLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def count(self, source: str, hour: str, outcome: Outcome, refusal: Refusal | None = None) -> None:
        started = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        expression = "ADD #outcome :one SET #kind = :kind, #expires = :expires"
        names = {"#outcome": outcome, "#kind": "kind", "#expires": "expires_at"}
        values: dict[str, Any] = {
            ":one": 1,
            ":kind": "webhooks",
            ":expires": int(started.timestamp()) + KEEP_DAYS * 86400,
        }
        if refusal is not None:
            expression += ", #last = :refusal"
            names["#last"] = f"{_LAST}{refusal.status}"
            values[":refusal"] = {"at": refusal.at.isoformat(), "status": refusal.status, "reason": refusal.reason}
        # Refusals count in an item of their own: a flood of forged requests, however hot it makes
        # that item, never throttles the counting of genuine deliveries.
        sk = f"{hour}{_REFUSED}" if outcome == "refused" else hour
        self._table.update(WEBHOOKS(source), sk, expression, values, names=names, what=f"count a {source} webhook")

    def hours(self, source: str, since: str) -> list[HourCounts]:
        try:
            pages = self._table.client.get_paginator("query").paginate(
                TableName=self._table.name,
                KeyConditionExpression="pk = :pk AND sk >= :since",
                ExpressionAttributeValues=typed({":pk": WEBHOOKS(source), ":since": since}),
            )
            items = [plain(item) for page in pages for item in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the {source} webhooks' activity: {exc}") from exc
        return [_hour(item) for item in items]


def _hour(item: dict[str, Any]) -> HourCounts:
    refusals = tuple(
        Refusal(datetime.fromisoformat(value["at"]), int(value["status"]), str(value["reason"]))
        for name, value in item.items()
        if name.startswith(_LAST) and isinstance(value, dict)
    )
    return HourCounts(item["sk"].removesuffix(_REFUSED), {o: int(item[o]) for o in OUTCOMES if o in item}, refusals)
