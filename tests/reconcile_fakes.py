"""In-memory fakes of the reconciliation ports (hub.ports): cursors, applied events, feeds, and the
intake's publish-once log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hub.errors import FeedError, FeedNotConfiguredError, NotDurableError
from hub.events import HubEvent
from hub.ports import ChangePage, ReconcileCursor, ReconcileTarget


class FakeDeliveryLog:
    """Publish-once as IdempotentDeliveryLog does it: a key published once; a failure leaves no trace."""

    def __init__(self) -> None:
        self.published: dict[str, list[HubEvent]] = {}
        self.fail_next = 0

    def publish_once(self, dedupe_key: str, events: Sequence[HubEvent]) -> bool:
        if self.fail_next:
            self.fail_next -= 1
            raise NotDurableError("the event could not be stored; please retry the delivery")
        if dedupe_key in self.published:
            return False
        self.published[dedupe_key] = list(events)
        return True

    def events(self) -> list[HubEvent]:
        return [event for events in self.published.values() for event in events]


class FakeCursors:
    def __init__(self) -> None:
        self.since: dict[str, datetime] = {}
        self.last_run: dict[str, datetime] = {}

    def get(self, name: str) -> ReconcileCursor:
        return ReconcileCursor(self.since.get(name), self.last_run.get(name))

    def claim(self, name: str, now: datetime, due_before: datetime) -> bool:
        last = self.last_run.get(name)
        if last is not None and last >= due_before:
            return False
        self.last_run[name] = now
        return True

    def advance(self, name: str, since: datetime) -> None:
        if name not in self.since or self.since[name] < since:
            self.since[name] = since


class FakeApplied:
    """The event ids the hub applied (as an order's timeline holds them), and the time of the newest
    storefront state each order holds (the order item's `as_of`)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.as_of: dict[str, datetime] = {}

    def applied(self, event: HubEvent) -> bool:
        if event.event_id in self.ids:
            return True
        order_id = getattr(event.data, "order_id", None)
        stated = getattr(event.data, "updated_at", None)
        return order_id in self.as_of and stated is not None and self.as_of[order_id] >= stated


class FakeFeed:
    """Pages of changes per `since`, as a vendor would list them; records what it was asked."""

    def __init__(self, pages: list[ChangePage]) -> None:
        self.pages = pages
        self.asked: list[tuple[datetime, str | None]] = []
        self.fail_at: set[int] = set()  # page indexes (0-based) that answer FeedError once

    def page(self, since: datetime, token: str | None) -> ChangePage:
        self.asked.append((since, token))
        index = int(token) if token else 0
        if index in self.fail_at:
            self.fail_at.discard(index)
            raise FeedError("Shopify orders could not be listed: 503")
        return self.pages[index]


class FakeFeeds:
    def __init__(self, **feeds: FakeFeed | str) -> None:
        self.feeds = feeds

    def feed(self, target: ReconcileTarget) -> FakeFeed:
        feed = self.feeds.get(target.name)
        if feed is None or isinstance(feed, str):
            raise FeedNotConfiguredError(feed or f"no feed for {target.name}")
        return feed
