"""Webhook deliveries per source and hour on the hub's table: `WEBHOOKS#<source>` / `<UTC hour>...`.

Per source and hour ("2026-12-06T13"):
- `<hour>` counts `ignored`, `failed`, and `accepted` or `duplicate` deliveries that named no order;
  `<hour>#refused` counts `refused` and keeps `last_refusal_<status>` (time, status, reason), the
  hour's latest refusal of each status. One UpdateItem per delivery ADDs one to its outcome; an item
  stays a few hundred bytes however many deliveries it counts.
- `<hour>#d#<time>#<digest of the delivery id>`: one small item per delivery that named an order
  (`outcome` accepted or duplicate), written by the lineage adapter in the BatchWriteItem that keeps
  the delivery's lineage (`delivery_count_values`). Intake's busiest path (orders and payments) thus
  pays no request for counting; the price is that reading a day reads one item per such delivery.
Items expire two days after their hour (the table's TTL); the console reads the last day with one
Query per source (paged).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import WEBHOOKS
from hub.adapters.table import Table, plain, typed
from hub.domain.webhook_activity import OUTCOMES, DeliveryCount, HourCounts, Outcome, Refusal
from hub.errors import StoreError

__all__ = ["KEEP_DAYS", "DynamoWebhookActivityLog", "delivery_count_values"]

KEEP_DAYS = 2  # a bucket expires this long after its hour starts (the page shows one day)
_LAST = "last_refusal_"
_REFUSED = "#refused"
_DELIVERY = "#d#"


def _expires(hour: str) -> int:
    started = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    return int(started.timestamp()) + KEEP_DAYS * 86400


def delivery_count_values(count: DeliveryCount) -> dict[str, Any]:
    """The item that counts one delivery (plain values, for a batch of puts). Its key holds the time
    and a digest of the delivery id, so a write repeated by a retry replaces it; another delivery of
    the same change (the sender's retry, a duplicate) is another item, as it is another delivery."""
    at = count.at if count.at.tzinfo else count.at.replace(tzinfo=UTC)
    digest = hashlib.sha256(count.ref.encode()).hexdigest()[:16]
    return {
        "pk": WEBHOOKS(count.source),
        "sk": f"{count.hour}{_DELIVERY}{at.astimezone(UTC).isoformat()}#{digest}",
        "kind": "webhooks",
        "outcome": count.outcome,
        "expires_at": _expires(count.hour),
    }


class DynamoWebhookActivityLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def count(self, source: str, hour: str, outcome: Outcome, refusal: Refusal | None = None) -> None:
        expression = "ADD #outcome :one SET #kind = :kind, #expires = :expires"
        names = {"#outcome": outcome, "#kind": "kind", "#expires": "expires_at"}
        values: dict[str, Any] = {
            ":one": 1,
            ":kind": "webhooks",
            ":expires": _expires(hour),
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
    hour, delivery, _ = item["sk"].partition(_DELIVERY)
    if delivery:
        return HourCounts(hour, {str(item["outcome"]): 1})
    refusals = tuple(
        Refusal(datetime.fromisoformat(value["at"]), int(value["status"]), str(value["reason"]))
        for name, value in item.items()
        if name.startswith(_LAST) and isinstance(value, dict)
    )
    return HourCounts(item["sk"].removesuffix(_REFUSED), {o: int(item[o]) for o in OUTCOMES if o in item}, refusals)
