"""Catalog sync: one catalog, sold on every channel (docs/catalog.md).

For each ProductUpdated that carries catalog content:

- from the master channel (`catalog.master`): the product is recorded in the hub's records (a new
  version when its content changed; a delivery older than the record is stale and changes nothing),
  ProductPublished is announced the first time it is active, and the recorded version is pushed to
  every other channel of `catalog.channels` with that channel's price override. Each push is claimed
  in the push log under a condition (only a newer version; one push at a time), so a redelivery or
  an older version pushes nothing, and concurrent pushes never interleave. What was pushed is kept
  as a content hash per channel;
- from another channel of `catalog.channels`: when its content hashes to what the hub last pushed
  there, it is the echo of the hub's own write and is ignored; when it differs from the master's
  product (as that channel sells it), it is drift: recorded (channel, product, SKUs, fields, when)
  and never pushed anywhere. The next master change is pushed over it (docs/catalog.md, Drift).

A push that fails after the outbound client's retries lets go of its claim and fails the record:
SQS retries it and finally dead-letters it, like a stock push. Pushes to the other channels of the
same record go ahead and are not repeated on the retry (their claims say they are done).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hub.config import HubConfig
from hub.config.catalog import CatalogConfig
from hub.domain.catalog import (
    CatalogOption,
    CatalogProduct,
    CatalogVariant,
    Drift,
    apply_override,
    as_reported,
    channel_view,
    content_hash,
    differing_fields,
    first_activation,
)
from hub.domain.sync import PlatformIds
from hub.errors import MoneyError, OutboundError, SyncBusyError, SyncFailedError, SyncStaleError
from hub.events import ProductPublished, ProductPublishedData, ProductUpdated, hub_event
from hub.money import parse_minor
from hub.ports import Catalog, CatalogPushLog, EventPublisher, ProductPushers, ProductRecords

__all__ = ["CatalogOutcome", "CatalogResult", "CatalogSync", "product_from_event"]

# Longer than a push can take (the outbound client's retry budget plus its timeouts).
LEASE_MS = 120_000


class CatalogOutcome(StrEnum):
    RECORDED = "recorded"  # a master change recorded as a new version
    UNCHANGED = "unchanged"  # the master's delivery changed nothing the catalog holds
    STALE = "stale"  # older than the recorded product
    PUSHED = "pushed"
    UP_TO_DATE = "up_to_date"  # this version or a newer one was pushed, or is being pushed
    SAME_CONTENT = "same_content"  # the channel holds that content already
    UNMAPPED = "unmapped"  # the channel's ids for the product's SKUs are not known
    FAILED = "failed"
    ECHO = "echo"  # the channel reports what the hub pushed there
    IN_STEP = "in_step"  # the channel reports what the master holds
    DRIFT = "drift"
    NOT_IN_CATALOG = "not_in_catalog"  # a channel's product no master product has a SKU of
    NOT_SYNCED = "not_synced"  # a channel catalog sync does not push to
    NOT_JUDGED = "not_judged"  # the delivery carries no catalog content (ids only, no prices)


@dataclass(frozen=True)
class CatalogResult:
    channel: str
    outcome: CatalogOutcome
    product_key: str | None = None
    reason: str | None = None


def product_from_event(event: ProductUpdated, key: str, currency: str) -> CatalogProduct:
    """The product a delivery states, its prices read exactly in `currency` (MoneyError, ValueError
    when it cannot be: no price, more decimals than the currency has, a status the hub has not)."""
    data = event.data
    if data.status is None:
        raise ValueError("the product's status is not one the hub keeps")
    variants = []
    for item in data.items:
        if item.price is None:
            raise MoneyError(f"variant {item.sku} has no price")
        variants.append(
            CatalogVariant(
                sku=item.sku,
                price=parse_minor(item.price, currency, field=f"{item.sku} price"),
                currency=currency,
                compare_at_price=(
                    None
                    if item.compare_at_price is None
                    else parse_minor(item.compare_at_price, currency, field=f"{item.sku} compare-at price")
                ),
                option_values=tuple(item.option_values),
            )
        )
    return CatalogProduct(
        key=key,
        title=data.title or "",
        description=data.description or "",
        status=data.status,
        url=data.url,
        images=tuple(data.images),
        options=tuple(CatalogOption(o.name, tuple(o.values)) for o in data.options),
        variants=tuple(variants),
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


class CatalogSync:
    def __init__(
        self,
        records: ProductRecords,
        push_log: CatalogPushLog,
        catalog: Catalog,
        pushers: ProductPushers,
        publisher: EventPublisher,
        config: Callable[[], HubConfig],
        *,
        now_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self._records = records
        self._log = push_log
        self._catalog = catalog
        self._pushers = pushers
        self._publisher = publisher
        self._config = config
        self._now_ms = now_ms

    # ------------------------------------------------------------------------------ a delivery
    def handle(self, event: ProductUpdated) -> list[CatalogResult]:
        """What one ProductUpdated comes to; SyncFailedError (with the results) when a push failed."""
        settings = self._config().catalog
        if settings is None or not event.data.catalog or event.data.deleted:
            return [CatalogResult(event.channel, CatalogOutcome.NOT_JUDGED, reason="no catalog content")]
        if event.channel == settings.master:
            return self._from_master(event, settings)
        return [self._judge(event, settings)]

    def _key_for(self, event: ProductUpdated) -> str:
        for item in event.data.items:
            known = self._records.product_for_sku(item.sku)
            if known is not None:
                return known.key
        return f"{event.channel}:{event.data.platform_product_id}"

    def _from_master(self, event: ProductUpdated, settings: CatalogConfig) -> list[CatalogResult]:
        key = self._key_for(event)
        try:
            product = product_from_event(event, key, settings.currency)
        except (MoneyError, ValueError) as exc:
            return [CatalogResult(event.channel, CatalogOutcome.NOT_JUDGED, key, reason=str(exc))]
        as_of = event.data.updated_at or event.occurred_at
        return self.record(product, origin=event.channel, as_of=as_of, cause=event.event_id)

    def record(
        self, product: CatalogProduct, *, origin: str, as_of: datetime | None, cause: str | None
    ) -> list[CatalogResult]:
        """Record a master change (a new version when the content changed), announce a first
        activation, and push the recorded version to every other channel."""
        settings = self._config().catalog
        if settings is None:
            return []
        stored = self._records.product(product.key)
        stamp = as_of.isoformat() if as_of else None
        results: list[CatalogResult] = []
        if (
            stored is not None
            and stamp
            and stored.as_of
            and datetime.fromisoformat(stamp) < datetime.fromisoformat(stored.as_of)
        ):
            return [CatalogResult(origin, CatalogOutcome.STALE, product.key, reason=f"recorded as of {stored.as_of}")]
        if stored is not None and stored.product == product:
            version, current = stored.version, stored.product
            results.append(CatalogResult(origin, CatalogOutcome.UNCHANGED, product.key))
        else:
            version = self._records.save(
                product, stored.version if stored else 0, stored.product if stored else None, as_of=stamp
            )
            current = product
            results.append(CatalogResult(origin, CatalogOutcome.RECORDED, product.key, reason=f"version {version}"))
        published = stored.published if stored else False
        if first_activation(current, published):
            self._announce(current, origin, cause)
        pushes = [self._push(channel, current, version, settings) for channel in settings.push_targets(origin)]
        results.extend(pushes)
        if any(r.outcome is CatalogOutcome.FAILED for r in pushes):
            raise SyncFailedError(results, what="product")
        return results

    def _announce(self, product: CatalogProduct, origin: str, cause: str | None) -> None:
        """ProductPublished, once: published before it is marked, under an id derived from the
        product alone, so a retry after a failed mark publishes the same event again (deduped)."""
        first = product.variants[0]
        event = hub_event(
            ProductPublished,
            key=("product", product.key, "published"),
            channel=origin,
            occurred_at=datetime.now(UTC),
            topic="product/published",
            cause=cause,
            data=ProductPublishedData(
                product_key=product.key,
                title=product.title,
                url=product.url,
                image=product.image,
                currency=first.currency,
                price=first.price,
                skus=list(product.skus),
                channel=origin,
            ),
        )
        self._publisher.publish([event])
        self._records.mark_published(product.key)

    # ------------------------------------------------------------------------------ pushes
    def _ids(self, channel: str, product: CatalogProduct) -> dict[str, PlatformIds]:
        config = self._config().channel_settings(channel)
        found: dict[str, PlatformIds] = {}
        for sku in product.skus:
            configured = config.sku_map.get(sku) if config else None
            if configured is not None:
                found[sku] = PlatformIds(configured.item_id, configured.product_id, configured.variation_id)
                continue
            ids = self._catalog.ids(channel, sku)
            if ids:
                found[sku] = ids
        return found

    def _push(self, channel: str, product: CatalogProduct, version: int, settings: CatalogConfig) -> CatalogResult:
        config = self._config().channel_settings(channel)
        if config is None:
            return CatalogResult(channel, CatalogOutcome.NOT_SYNCED, product.key, reason="not a configured channel")
        ids = self._ids(channel, product)
        if config.platform != "magento" and not any(i.product_id for i in ids.values()):
            reason = f"no {config.platform} product is known for {', '.join(product.skus)}"
            return CatalogResult(channel, CatalogOutcome.UNMAPPED, product.key, reason=reason)
        view = channel_view(apply_override(product, settings.override(channel)), config.platform)
        digest = content_hash(view)
        try:
            self._log.claim(channel, product.key, version, now_ms=self._now_ms(), lease_ms=LEASE_MS)
        except SyncStaleError:
            return CatalogResult(channel, CatalogOutcome.UP_TO_DATE, product.key)
        # SyncBusyError (an older version's push in flight) fails the record: SQS retries it after.
        state = self._log.pushed(channel, product.key)
        if state is not None and state.digest == digest:
            self._complete(channel, product.key, version, digest)
            return CatalogResult(channel, CatalogOutcome.SAME_CONTENT, product.key)
        try:
            self._pushers.pusher(channel, config).push(view, ids)
        except OutboundError as exc:
            self._log.abandon(channel, product.key, version)
            return CatalogResult(channel, CatalogOutcome.FAILED, product.key, reason=str(exc))
        self._complete(channel, product.key, version, digest)
        return CatalogResult(channel, CatalogOutcome.PUSHED, product.key, reason=f"version {version}")

    def _complete(self, channel: str, key: str, version: int, digest: str) -> None:
        # Overtaken after the lease ran out: the newer push follows this one.
        with contextlib.suppress(SyncStaleError):
            self._log.complete(channel, key, version, digest)

    # ------------------------------------------------------------------------------ echo and drift
    def _judge(self, event: ProductUpdated, settings: CatalogConfig) -> CatalogResult:
        channel = event.channel
        if channel not in settings.channels:
            return CatalogResult(channel, CatalogOutcome.NOT_SYNCED)
        master = next(
            (p for p in (self._records.product_for_sku(item.sku) for item in event.data.items) if p is not None),
            None,
        )
        if master is None:
            return CatalogResult(channel, CatalogOutcome.NOT_IN_CATALOG)
        override = settings.override(channel)
        currency = (override.currency if override else None) or settings.currency
        try:
            seen = product_from_event(event, master.key, currency)
        except (MoneyError, ValueError) as exc:
            return CatalogResult(channel, CatalogOutcome.NOT_JUDGED, master.key, reason=str(exc))
        config = self._config().channel_settings(channel)
        platform = config.platform if config else event.source
        state = self._log.pushed(channel, master.key)
        if state is not None and state.pending and state.lease_until > self._now_ms():
            # The hub is writing there right now: judge the delivery once the push is recorded.
            raise SyncBusyError(f"a push of {master.key} to {channel} is in flight")
        if state is not None and state.digest == content_hash(seen):
            return CatalogResult(channel, CatalogOutcome.ECHO, master.key)
        expected = as_reported(channel_view(apply_override(master, override), platform), platform, seen.skus)
        fields = differing_fields(expected, seen)
        if not fields:
            return CatalogResult(channel, CatalogOutcome.IN_STEP, master.key)
        self._log.record_drift(
            Drift(
                channel=channel,
                product_key=master.key,
                skus=tuple(sorted(seen.skus)),
                fields=fields,
                detected_at=event.occurred_at.isoformat(),
                event_id=event.event_id,
            )
        )
        return CatalogResult(channel, CatalogOutcome.DRIFT, master.key, reason=", ".join(fields))

    def drift(self, limit: int = 100) -> Sequence[Drift]:
        return self._log.drift(limit)
