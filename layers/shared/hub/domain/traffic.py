"""Website traffic beside the daily report: sessions and users per channel and day, read from GA4, and
the session conversion rate (orders / sessions). No I/O.

Rules (docs/reporting.md, "Traffic and session conversion"):
- A channel's traffic is what the GA4 property configured for it measured; a day is the property's
  reporting day (GA4's `date`, in the property's time zone), matched to the report's UTC day of the
  same date.
- A day read again replaces what was read before (GA4 revises the last ~48 hours).
- Session conversion rate = orders (placed that day in that channel, not cancelled, every currency)
  / sessions, a decimal string with four places, rounded half to even. It is `null`, with the
  reason in `sessions_unavailable`, when traffic is not configured, the channel has no property,
  its traffic for the day has not been read yet, or it had no sessions: never zero, never invented.
- Over a range, sessions and orders are summed over the days whose traffic was read (the days
  without it are counted in `traffic_days_missing`); users are summed per day, so a visitor who came
  on two days counts twice (GA4's totalUsers is not additive across days).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

__all__ = [
    "NOT_CONFIGURED",
    "NOT_MEASURED",
    "NOT_READ_YET",
    "NO_SESSIONS",
    "SourceMedium",
    "Traffic",
    "TrafficDay",
    "session_figures",
    "top_sources",
]

NOT_CONFIGURED = "GA4 traffic is not configured"
NOT_MEASURED = "no GA4 property is configured for this channel"
NOT_READ_YET = "GA4 traffic for this day has not been read yet"
NO_SESSIONS = "GA4 counted no sessions"


@dataclass(frozen=True)
class SourceMedium:
    source: str  # GA4's sessionSource, "(direct)" or "(not set)" as GA4 says them
    medium: str
    sessions: int
    users: int


@dataclass(frozen=True)
class TrafficDay:
    """One channel's traffic on one day, as GA4 reported it when last read."""

    day: str  # YYYY-MM-DD, the property's day
    channel: str
    property_id: str
    sessions: int
    users: int
    sources: tuple[SourceMedium, ...] = ()  # the top source/medium pairs, most sessions first
    read_at: str = ""  # when it was read (UTC ISO)


@dataclass(frozen=True)
class Traffic:
    """What the report knows of traffic: `channels` is None when traffic is not configured, else the
    channels a property measures; `days` is day -> channel -> what was read."""

    channels: frozenset[str] | None = None
    days: Mapping[str, Mapping[str, TrafficDay]] = field(default_factory=dict)

    def of(self, day: str, channel: str) -> TrafficDay | None:
        return self.days.get(day, {}).get(channel)

    def channels_with_sessions(self, days: Iterable[str]) -> set[str]:
        return {ch for d in days for ch, t in self.days.get(d, {}).items() if t.sessions > 0}


def top_sources(sources: Iterable[SourceMedium], limit: int) -> tuple[SourceMedium, ...]:
    """The `limit` pairs with the most sessions (then users, then names), each pair once (summed)."""
    merged: dict[tuple[str, str], tuple[int, int]] = {}
    for s in sources:
        sessions, users = merged.get((s.source, s.medium), (0, 0))
        merged[(s.source, s.medium)] = (sessions + s.sessions, users + s.users)
    ranked = sorted(merged.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    return tuple(SourceMedium(src, med, sessions, users) for (src, med), (sessions, users) in ranked[:limit])


def _rate(orders: int, sessions: int) -> str:
    return str((Decimal(orders) / Decimal(sessions)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def session_figures(
    traffic: Traffic, channel: str | None, days: Sequence[str], orders: Mapping[tuple[str, str], int], *, top: int = 5
) -> dict[str, Any]:
    """The traffic figures of one channel (None: every measured channel, the totals) over `days`.

    `orders` is the orders per (day, channel): the rate divides the orders of exactly the days and
    channels whose sessions are known by those sessions."""
    unavailable: dict[str, Any] = {
        "sessions": None,
        "users": None,
        "session_conversion_rate": None,
        "sessions_unavailable": None,
        "top_sources": [],
    }
    if traffic.channels is None:
        return {**unavailable, "sessions_unavailable": NOT_CONFIGURED}
    measured = sorted(traffic.channels) if channel is None else [channel]
    if channel is not None and channel not in traffic.channels:
        return {**unavailable, "sessions_unavailable": NOT_MEASURED}
    sessions = users = ordered = 0
    read: list[TrafficDay] = []
    missing = 0
    for day in days:
        known = [t for ch in measured if (t := traffic.of(day, ch)) is not None]
        if not known:
            missing += 1
            continue
        read.extend(known)
        sessions += sum(t.sessions for t in known)
        users += sum(t.users for t in known)
        ordered += sum(orders.get((day, t.channel), 0) for t in known)
    if not read:
        return {**unavailable, "sessions_unavailable": NOT_READ_YET}
    figures = {
        "sessions": sessions,
        "users": users,
        "session_conversion_rate": _rate(ordered, sessions) if sessions > 0 else None,
        "sessions_unavailable": None if sessions > 0 else NO_SESSIONS,
        "top_sources": [
            {"source": s.source, "medium": s.medium, "sessions": s.sessions, "users": s.users}
            for s in top_sources((s for t in read for s in t.sources), top)
        ],
    }
    if len(days) > 1:
        figures["traffic_days_missing"] = missing
    return figures
