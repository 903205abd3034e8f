"""Multi-channel stock state on the hub table, beside the ledger (hub.adapters.dynamodb):

- `CHANNEL#<channel>` / `SKU#<sku>`: a SKU's learned ids on that channel (`item_id`, `product_id`,
  `variation_id`, `learned_at`);
- `CHANNEL#<channel>` / `ITEM#<platform id>`: the reverse, `sku` of the item a level report names
  (a Shopify inventory item, a Square catalog object, a WooCommerce variation or product);
- `CHANNEL#<channel>` / `LOCATION#<hub location>`: the platform location id of the hub location the
  channel maps by default (learned from the levels it reports there);
- `SYNC#<channel>` / `SKU#<sku>#LOC#<hub location>`: what was pushed there: `version` (the highest
  ledger version claimed), `state` (`pending` while a push is in flight, until `lease_until`, epoch
  ms; then `done`), and `quantity`, the count the channel is known to hold (pushed or reported).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.adapters.keys import CHANNEL, SYNC
from hub.adapters.table import Table
from hub.domain.sync import PlatformIds, SyncState
from hub.errors import SyncBusyError, SyncStaleError

__all__ = ["DynamoCatalog", "DynamoSyncLog"]

_STATE = {"#state": "state"}


class DynamoCatalog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def ids(self, channel: str, sku: str) -> PlatformIds | None:
        item = self._table.get(CHANNEL(channel), f"SKU#{sku}", what=f"read the ids of {sku} on {channel}")
        if not item:
            return None
        return PlatformIds(item.get("item_id"), item.get("product_id"), item.get("variation_id"))

    def sku_for(self, channel: str, item_key: str) -> str | None:
        item = self._table.get(CHANNEL(channel), f"ITEM#{item_key}", what=f"read the SKU of a {channel} item")
        return item.get("sku") if item else None

    def learn(self, channel: str, sku: str, ids: PlatformIds, at: datetime) -> None:
        values = {
            "item_id": ids.item_id,
            "product_id": ids.product_id,
            "variation_id": ids.variation_id,
            "learned_at": at.astimezone(UTC).isoformat(),
        }
        names = {f"#{k}": k for k, v in values.items() if v is not None}
        self._table.update(
            CHANNEL(channel),
            f"SKU#{sku}",
            "SET " + ", ".join(f"#{k} = :{k}" for k, v in values.items() if v is not None),
            {f":{k}": v for k, v in values.items()},
            what=f"write the ids of {sku} on {channel}",
            names=names,
        )
        key = ids.key()
        if key:
            self._table.update(
                CHANNEL(channel),
                f"ITEM#{key}",
                "SET sku = :sku, learned_at = :at",
                {":sku": sku, ":at": values["learned_at"]},
                what=f"write the SKU of a {channel} item",
            )

    def platform_location(self, channel: str, location: str) -> str | None:
        item = self._table.get(
            CHANNEL(channel), f"LOCATION#{location}", what=f"read the {channel} location of {location}"
        )
        return item.get("platform_location_id") if item else None

    def learn_location(self, channel: str, location: str, platform_location: str) -> None:
        self._table.update(
            CHANNEL(channel),
            f"LOCATION#{location}",
            "SET platform_location_id = :id",
            {":id": platform_location},
            what=f"write the {channel} location of {location}",
        )


class DynamoSyncLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def _update(
        self, channel: str, sku: str, location: str, expression: str, values: dict[str, Any], **kwargs: Any
    ) -> bool:
        """An update of the sync state; False when its condition failed."""
        written = self._table.update(
            SYNC(channel),
            f"SKU#{sku}#LOC#{location}",
            expression,
            values,
            what=f"write the sync state of {sku} on {channel}",
            **kwargs,
        )
        return written is not None

    def state(self, channel: str, sku: str, location: str) -> SyncState | None:
        item = self._table.get(
            SYNC(channel), f"SKU#{sku}#LOC#{location}", what=f"read the sync state of {sku} on {channel}"
        )
        if not item:
            return None
        quantity = item.get("quantity")
        return SyncState(
            int(item.get("version", 0)),
            item.get("state") == "pending",
            int(item.get("lease_until", 0)),
            int(quantity) if quantity is not None else None,
        )

    def claim(self, channel: str, sku: str, location: str, version: int, *, now_ms: int, lease_ms: int) -> None:
        claimed = self._update(
            channel,
            sku,
            location,
            "SET version = :v, #state = :pending, lease_until = :lease",
            {":v": version, ":pending": "pending", ":done": "done", ":now": now_ms, ":lease": now_ms + lease_ms},
            # Newer than anything claimed, unless an older push is still in flight; or this very
            # version again, once its failed attempt let go of the lease.
            condition=(
                "attribute_not_exists(version) "
                "OR (version < :v AND (#state = :done OR lease_until < :now)) "
                "OR (version = :v AND #state = :pending AND lease_until < :now)"
            ),
            names=_STATE,
        )
        if claimed:
            return
        current = self.state(channel, sku, location)
        if current is None or current.version < version:
            raise SyncBusyError(f"a push of {sku} to {channel} is in flight")
        if current.version == version and current.pending:
            raise SyncBusyError(f"version {version} of {sku} is being pushed to {channel}")
        raise SyncStaleError(f"{channel} has version {current.version} of {sku} at {location}")

    def complete(self, channel: str, sku: str, location: str, version: int, quantity: int) -> None:
        completed = self._update(
            channel,
            sku,
            location,
            "SET #state = :done, quantity = :q, pushed_at = :at, lease_until = :zero",
            {":done": "done", ":q": quantity, ":at": datetime.now(UTC).isoformat(), ":v": version, ":zero": 0},
            condition="version = :v",
            names=_STATE,
        )
        if not completed:
            # A newer version was claimed after this one's lease ran out; its push follows this one.
            raise SyncStaleError(f"version {version} of {sku} on {channel} was overtaken")

    def abandon(self, channel: str, sku: str, location: str, version: int) -> None:
        # When the condition fails, it was overtaken: nothing of this version's is left to release.
        self._update(
            channel,
            sku,
            location,
            "SET lease_until = :zero",
            {":zero": 0, ":v": version, ":pending": "pending"},
            condition="version = :v AND #state = :pending",
            names=_STATE,
        )

    def note_known(self, channel: str, sku: str, location: str, quantity: int) -> None:
        self._update(
            channel,
            sku,
            location,
            "SET quantity = :q, known_at = :at",
            {":q": quantity, ":at": datetime.now(UTC).isoformat()},
        )
