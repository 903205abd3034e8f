"""Website traffic beside the daily report, on the hub's single table.

One item per day and channel: `REPORT#TRAFFIC#<YYYY-MM-DD>` / `<channel>` (`sessions`, `users`,
`property_id`, `sources` as JSON, `read_at`). A day read again is put again whole, so a re-read
replaces and never adds. The items have their own partitions, beside the day counters'
(`REPORT#DAY#...`), so the function that writes them may write nothing else (template.yaml) and the
order path never reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from hub.adapters.keys import REPORT
from hub.adapters.table import Table
from hub.domain.traffic import SourceMedium, TrafficDay

__all__ = ["DynamoTrafficStore"]


def _item(day: TrafficDay) -> dict[str, Any]:
    return {
        "pk": REPORT("TRAFFIC", day.day),
        "sk": day.channel,
        "day": day.day,
        "channel": day.channel,
        "property_id": day.property_id,
        "sessions": day.sessions,
        "users": day.users,
        "sources": json.dumps([[s.source, s.medium, s.sessions, s.users] for s in day.sources], separators=(",", ":")),
        "read_at": day.read_at,
    }


def _day(item: dict[str, Any]) -> TrafficDay:
    return TrafficDay(
        day=str(item["day"]),
        channel=str(item["channel"]),
        property_id=str(item["property_id"]),
        sessions=int(item["sessions"]),
        users=int(item["users"]),
        sources=tuple(SourceMedium(str(a), str(b), int(c), int(d)) for a, b, c, d in json.loads(item["sources"])),
        read_at=str(item.get("read_at", "")),
    )


class DynamoTrafficStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._items = Table(client, table_name)

    def replace(self, days: Iterable[TrafficDay]) -> None:
        """Put each day's traffic whole (BatchWriteItem, 25 a request), over what was read before."""
        self._items.batch_put([_item(day) for day in days], what="save the traffic read from GA4")

    def read(self, days: Sequence[str]) -> dict[str, dict[str, TrafficDay]]:
        """Day -> channel -> traffic, for the days that have any; one Query per day."""
        out: dict[str, dict[str, TrafficDay]] = {}
        for day in days:
            items = self._items.query(REPORT("TRAFFIC", day), what=f"read the traffic of {day}")
            if items:
                out[day] = {str(item["channel"]): _day(item) for item in items}
        return out
