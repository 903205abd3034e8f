"""Reconciliation: what the vendors' APIs say changed, published as the webhooks would have.

Each configured channel and gateway has a reconciler (`reconcile: {every_minutes: N}`, default 5,
0 off). A run lists the changes made since the reconciler's cursor less an overlap window, page by
page, oldest first. Each change arrives from its feed as the canonical events the webhook of the
same change makes (the same event ids), so a change seen both ways is applied once:

- a change whose first event the hub already applied (delivered by webhook, or by an earlier run)
  is counted `known` and not published again;
- any other is published through the intake's publish-once log under the reconciler's own
  delivery key, and counted `published`: the changes the webhooks had not delivered.

The cursor moves forward only past a page whose every change is durable, and after a run that
listed every page, to at least ten minutes before the run began. A page the vendor could not
answer, or whose publishing failed, stops the run for that reconciler with its cursor where it
was: the next run lists the same changes again and nothing is skipped. The overlap window covers
a vendor's search index that shows a change a little after its modification time.

No I/O of its own: the feeds, cursors, applied-events check and delivery log are ports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import HubConfig
from hub.errors import FeedNotConfiguredError, HubError
from hub.ports import AppliedEvents, ChangeFeeds, DeliveryLog, ReconcileCursors, ReconcileTarget
from hub.services.lineage import VIA_RECONCILER, LineageRecorder

__all__ = [
    "FIRST_LOOKBACK",
    "OVERLAP",
    "ReconcileResult",
    "Reconciler",
    "reconcile_targets",
]

# Re-read on every run: a change a vendor's search shows late is still listed.
OVERLAP = timedelta(minutes=2)
# A reconciler's first run (no cursor yet) lists the changes of the last day.
FIRST_LOOKBACK = timedelta(hours=24)
# After a run that listed every page, the cursor is at least this long before the run began: more
# than any vendor's clock is off from the hub's.
CLOCK_MARGIN = timedelta(minutes=10)
# A run stops after this many pages (the next run goes on from the cursor), so one run of a large
# backlog cannot outlast the function's timeout.
MAX_PAGES = 50
# No page is started with less time than this left (one page's calls, their retries and publishing),
# and no reconciler with less than twice as much: the function stops between pages, never in one.
PAGE_SECONDS = 30.0


@dataclass
class ReconcileResult:
    """What one run of one reconciler found. `published` is what the webhooks had not delivered."""

    name: str
    kind: str
    found: int = 0
    published: int = 0
    known: int = 0
    ignored: int = 0
    refused: int = 0
    pages: int = 0
    error: str | None = None  # the run stopped here; its cursor stayed where it was
    skipped: str | None = None  # nothing to list from (no API address)
    unfinished: bool = False  # out of pages or time: the next run goes on from the cursor
    refusals: list[str] = field(default_factory=list)  # "order 42: why", at most a few

    @property
    def failed(self) -> bool:
        return self.error is not None

    def body(self) -> dict[str, Any]:
        document: dict[str, Any] = {"found": self.found, "published": self.published, "known": self.known}
        if self.ignored:
            document["ignored"] = self.ignored
        if self.refused:
            document["refused"] = self.refused
            document["refusals"] = self.refusals
        if self.error:
            document["error"] = self.error
        if self.skipped:
            document["skipped"] = self.skipped
        if self.unfinished:
            document["unfinished"] = True
        return document


def reconcile_targets(config: HubConfig) -> list[ReconcileTarget]:
    """Every configured channel and gateway whose reconciler is on, channels first."""
    targets = [
        ReconcileTarget(name, "channel", channel.platform, channel.reconcile.every_minutes, channel)
        for name, channel in config.channels.items()
        if channel.reconcile.enabled
    ]
    targets += [
        ReconcileTarget(name, "gateway", name, gateway.reconcile.every_minutes, gateway)
        for name, gateway in config.gateways.items()
        if gateway.reconcile.enabled
    ]
    return targets


class Reconciler:
    def __init__(
        self,
        feeds: ChangeFeeds,
        cursors: ReconcileCursors,
        applied: AppliedEvents,
        deliveries: DeliveryLog,
        config: Callable[[], HubConfig],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        overlap: timedelta = OVERLAP,
        first_lookback: timedelta = FIRST_LOOKBACK,
        max_pages: int = MAX_PAGES,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._feeds = feeds
        self._lineage = lineage
        self._cursors = cursors
        self._applied = applied
        self._deliveries = deliveries
        self._config = config
        self._clock = clock
        self._overlap = overlap
        self._first_lookback = first_lookback
        self._max_pages = max_pages

    def run_due(
        self, *, force: bool = False, only: str | None = None, time_left: Callable[[], float] | None = None
    ) -> Mapping[str, ReconcileResult]:
        """Run every reconciler whose interval has passed since its last run (all of them when
        `force`; only the one named `only` when given). Reconcilers not due are left out, and so
        are those there is no time left for (`time_left`: seconds, from the Lambda's remaining
        time): they are still due on the next invocation."""
        results: dict[str, ReconcileResult] = {}
        for target in reconcile_targets(self._config()):
            if only is not None and target.name != only:
                continue
            if time_left is not None and time_left() < 2 * PAGE_SECONDS:
                break
            try:
                result = self.run(target, force=force, time_left=time_left)
            except HubError as exc:  # the cursor could not be read or claimed: this one fails alone
                result = ReconcileResult(target.name, target.kind, error=str(exc))
            if result is not None:
                results[target.name] = result
        return results

    def run(
        self, target: ReconcileTarget, *, force: bool = False, time_left: Callable[[], float] | None = None
    ) -> ReconcileResult | None:
        """One run of one reconciler; None when it is not due (or runs elsewhere right now)."""
        now = self._clock()
        due_before = now if force else now - timedelta(minutes=target.every_minutes)
        # A little slack, so a run scheduled every N minutes is not put off by a few seconds' jitter.
        if not force:
            due_before += timedelta(seconds=20)
        if not self._cursors.claim(target.name, now, due_before):
            return None
        result = ReconcileResult(target.name, target.kind)
        try:
            feed = self._feeds.feed(target)
        except FeedNotConfiguredError as exc:
            result.skipped = str(exc)
            return result
        except HubError as exc:  # credentials missing: the run fails, visibly, every time
            result.error = str(exc)
            return result
        cursor = self._cursors.get(target.name)
        since = cursor.since - self._overlap if cursor.since else now - self._first_lookback
        token: str | None = None
        high = cursor.since
        while True:
            if result.pages >= self._max_pages or (time_left is not None and time_left() < PAGE_SECONDS):
                result.unfinished = True
                break
            try:
                page = feed.page(since, token)
                for change in page.changes:
                    self._take(target, change, result)
            except HubError as exc:
                # A FeedError (the vendor), a StoreError (the table), or NotDurableError (the bus or
                # the delivery log did not take the change): the cursor stays before this page.
                result.error = str(exc)
                return result
            result.pages += 1
            times = [change.changed_at for change in page.changes]
            if times and (high is None or max(times) > high):
                high = max(times)
                self._cursors.advance(target.name, high)
            token = page.next_page
            if not token:
                # Every page listed: the vendor has shown every change up to about now. The cursor
                # moves at least to a little before now (by the hub's clock, less a margin for the
                # vendor's), so a quiet store's window stays short and a first run's never slides.
                self._cursors.advance(target.name, now - CLOCK_MARGIN)
                break
        return result

    def _take(self, target: ReconcileTarget, change: Any, result: ReconcileResult) -> None:
        result.found += 1
        if change.problem:
            # A resource the webhook path would also refuse (400): counted and named, never retried.
            result.refused += 1
            if len(result.refusals) < 5:
                result.refusals.append(f"{change.ref}: {change.problem}"[:300])
            return
        if not change.events:
            result.ignored += 1
            return
        if self._applied.applied(change.events[0]):
            result.known += 1
            return
        if self._deliveries.publish_once(change.dedupe_key, change.events):
            result.published += 1
            # The find goes into each order's lineage as a delivery the webhooks missed.
            if self._lineage is not None:
                self._lineage.delivery(
                    change.events,
                    self._config(),
                    source=target.platform,
                    delivery_id=change.dedupe_key,
                    accepted=True,
                    via=VIA_RECONCILER,
                )
        else:
            result.known += 1  # published by an earlier run, not yet applied
