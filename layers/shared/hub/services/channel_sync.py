"""Multi-channel stock sync: a location's level, pushed to every other channel that sells the SKU there.

For a StockLevelChanged, each configured channel that is not the change's origin, that the hub can
push to (Shopify, WooCommerce, Magento with an API address) and that sells from the location gets
the level the ledger holds now, with the ledger version it was read at:

- the push of a (channel, SKU, location) is claimed in the sync log under a condition: only a version
  newer than any claimed before, so an older value never overwrites a newer one, and only one push
  at a time (an in-flight push holds a lease; a newer one waits for it, then pushes the newest level);
- nothing is sent when the channel is known to hold that quantity already;
- Shopify compares: `changeFromQuantity` is the quantity the hub knows the location holds (null when
  it never knew), and the push carries an idempotency key derived from it (StockPush.idempotency_key);
- a push that fails (after the outbound client's retries) lets go of its claim and fails the record,
  which SQS retries and finally dead-letters; other channels' pushes in the same record go ahead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hub.config import ChannelConfig, HubConfig
from hub.domain.lineage import Call, CallResult
from hub.domain.platforms import PUSH_PLATFORMS
from hub.domain.sync import PlatformIds, PushTarget, StockPush
from hub.errors import OutboundError, SyncBusyError, SyncFailedError, SyncStaleError
from hub.events import StockLevelChanged
from hub.ports import Catalog, StockLedger, StockPushers, SyncLog
from hub.services.lineage import LineageRecorder

__all__ = ["ChannelSync", "PushOutcome", "PushResult", "sync_targets"]

# Longer than a push can take (the outbound client's retry budget plus its timeouts).
LEASE_MS = 60_000
# How long a push waits, in all, for an older push of the same level to finish before failing its record.
WAIT_SECONDS = 15.0


class PushOutcome(StrEnum):
    PUSHED = "pushed"
    UNCHANGED = "unchanged"  # the channel holds that quantity already
    UP_TO_DATE = "up_to_date"  # this version or a newer one was pushed (or is being pushed)
    UNMAPPED = "unmapped"  # the channel's ids for the SKU are not known: it does not sell it, or not yet
    NO_LOCATION = "no_location"  # the channel's location for the hub location is not known yet
    FAILED = "failed"


@dataclass(frozen=True)
class PushResult:
    channel: str
    outcome: PushOutcome
    quantity: int | None = None
    reason: str | None = None


def sync_targets(
    config: HubConfig, location: str, origin: str, has_api: Callable[[ChannelConfig], bool]
) -> list[PushTarget]:
    """Every configured channel but the origin that the hub pushes to and that sells from `location`."""
    targets = []
    hub_locations = config.location_ids()
    for name, channel in config.channels.items():
        if name == origin or channel.platform not in PUSH_PLATFORMS or not has_api(channel):
            continue
        sells, platform_location = channel.sells_from(location, hub_locations)
        if sells:
            targets.append(PushTarget(name, channel.platform, location, platform_location))
    return targets


def _now_ms() -> int:
    return int(time.time() * 1000)


class ChannelSync:
    def __init__(
        self,
        ledger: StockLedger,
        catalog: Catalog,
        sync_log: SyncLog,
        pushers: StockPushers,
        config: Callable[[], HubConfig],
        *,
        now_ms: Callable[[], int] = _now_ms,
        sleep: Callable[[float], None] = time.sleep,
        wait_seconds: float = WAIT_SECONDS,
        lineage: LineageRecorder | None = None,
    ) -> None:
        self._lineage = lineage or LineageRecorder(None)
        self._ledger = ledger
        self._catalog = catalog
        self._sync = sync_log
        self._pushers = pushers
        self._config = config
        self._now_ms = now_ms
        self._sleep = sleep
        self._wait = wait_seconds

    def targets(self, event: StockLevelChanged) -> list[PushTarget]:
        def has_api(channel: ChannelConfig) -> bool:
            return self._pushers.base_url(channel) is not None

        return sync_targets(self._config(), event.data.location, event.data.origin, has_api)

    def sync(self, event: StockLevelChanged) -> list[PushResult]:
        """Push the location's level to every target; SyncFailedError when any push failed."""
        results = [self._sync_one(target, event.data.sku) for target in self.targets(event)]
        if event.data.order_id:
            self._record(event, results)
        if any(r.outcome is PushOutcome.FAILED for r in results):
            raise SyncFailedError(results)
        return results

    def _record(self, event: StockLevelChanged, results: list[PushResult]) -> None:
        """The pushes an order's stock movement caused, in its lineage (one write): the channel told
        the new level, already holding it, not selling the SKU, or failing (the record is retried)."""
        where = f"{event.data.sku} at {event.data.location}"
        entries = []
        for r in results:
            if r.outcome is PushOutcome.PUSHED:
                result, detail = CallResult.OK, f"{where}: set to {r.quantity}"
            elif r.outcome is PushOutcome.FAILED:
                result, detail = CallResult.FAILED, f"{where}: retried later ({r.reason})"
            else:
                result, detail = CallResult.SKIPPED, f"{where}: {r.outcome.value.replace('_', ' ')}"
            entries.append(
                self._lineage.call_entry(
                    event.data.order_id or "",
                    Call.STOCK_PUSH,
                    result,
                    system=r.channel,
                    detail=detail,
                    event_id=event.event_id,
                )
            )
        self._lineage.record(entries)

    def _ids(self, target: PushTarget, channel: ChannelConfig, sku: str) -> PlatformIds | None:
        configured = channel.sku_map.get(sku)
        if configured is not None:
            return PlatformIds(configured.item_id, configured.product_id, configured.variation_id)
        return self._catalog.ids(target.channel, sku)

    def _sync_one(self, target: PushTarget, sku: str) -> PushResult:
        config = self._config()
        channel = config.channels[target.channel]
        ids = self._ids(target, channel, sku)
        needs_ids = {"shopify": ids and ids.item_id, "woocommerce": ids and ids.product_id, "magento": ids is not None}
        if not needs_ids[target.platform]:
            return PushResult(target.channel, PushOutcome.UNMAPPED, reason=f"no {target.platform} ids known for {sku}")
        platform_location = target.platform_location
        if platform_location is None and target.platform == "shopify":
            platform_location = self._catalog.platform_location(target.channel, target.location)
            if platform_location is None:
                return PushResult(
                    target.channel, PushOutcome.NO_LOCATION, reason=f"no Shopify location known for {target.location}"
                )
        waited = 0.0
        pause = 0.1
        while True:
            level = self._ledger.levels_for(sku).get(target.location)
            if level is None:
                return PushResult(target.channel, PushOutcome.UP_TO_DATE, reason="no level recorded")
            try:
                self._sync.claim(
                    target.channel, sku, target.location, level.version, now_ms=self._now_ms(), lease_ms=LEASE_MS
                )
            except SyncStaleError:
                return PushResult(target.channel, PushOutcome.UP_TO_DATE)
            except SyncBusyError as busy:
                if waited >= self._wait:
                    return PushResult(target.channel, PushOutcome.FAILED, reason=str(busy))
                self._sleep(pause)
                waited += pause
                pause = min(pause * 2, 2.0)
                continue
            break
        known = self._sync.state(target.channel, sku, target.location)
        compare = known.quantity if known else None
        if compare == level.available:
            self._complete(target, sku, level.version, level.available)
            return PushResult(target.channel, PushOutcome.UNCHANGED, level.available)
        push = StockPush(
            channel=target.channel,
            sku=sku,
            quantity=level.available,
            ids=ids or PlatformIds(),
            platform_location=platform_location,
            compare=compare,
            reference=f"gid://commerce-hub/StockLevel/{target.location}-{level.version}",
        )
        try:
            self._pushers.pusher(target.channel, channel).push(push)
        except OutboundError as exc:
            # Let go of the claim, so the retry of this record (or a newer level) pushes again.
            self._sync.abandon(target.channel, sku, target.location, level.version)
            return PushResult(target.channel, PushOutcome.FAILED, level.available, reason=str(exc))
        self._complete(target, sku, level.version, level.available)
        return PushResult(target.channel, PushOutcome.PUSHED, level.available)

    def _complete(self, target: PushTarget, sku: str, version: int, quantity: int) -> None:
        # Overtaken after the lease ran out (SyncStaleError): the newer push follows this one.
        with contextlib.suppress(SyncStaleError):
            self._sync.complete(target.channel, sku, target.location, version, quantity)
