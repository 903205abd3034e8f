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

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.table import plain, typed
from hub.domain.sync import PlatformIds, SyncState
from hub.errors import StoreError, SyncBusyError, SyncStaleError

__all__ = ["DynamoCatalog", "DynamoSyncLog"]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class _Table:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _get(self, key: dict[str, Any], what: str) -> dict[str, Any] | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read {what}: {exc}") from exc
        return plain(item) if item else None

    def _update(self, key: dict[str, Any], what: str, **request: Any) -> None:
        try:
            self._client.update_item(TableName=self._table, Key=key, **request)
        except ClientError as exc:
            if _failed_condition(exc):
                raise
            raise StoreError(f"could not write {what}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not write {what}: {exc}") from exc


class DynamoCatalog(_Table):
    def ids(self, channel: str, sku: str) -> PlatformIds | None:
        item = self._get(_key(f"CHANNEL#{channel}", f"SKU#{sku}"), f"the ids of {sku} on {channel}")
        if not item:
            return None
        return PlatformIds(item.get("item_id"), item.get("product_id"), item.get("variation_id"))

    def sku_for(self, channel: str, item_key: str) -> str | None:
        item = self._get(_key(f"CHANNEL#{channel}", f"ITEM#{item_key}"), f"the SKU of a {channel} item")
        return item.get("sku") if item else None

    def learn(self, channel: str, sku: str, ids: PlatformIds, at: datetime) -> None:
        values = {
            "item_id": ids.item_id,
            "product_id": ids.product_id,
            "variation_id": ids.variation_id,
            "learned_at": at.astimezone(UTC).isoformat(),
        }
        names = {f"#{k}": k for k, v in values.items() if v is not None}
        self._update(
            _key(f"CHANNEL#{channel}", f"SKU#{sku}"),
            f"the ids of {sku} on {channel}",
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k, v in values.items() if v is not None),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=typed({f":{k}": v for k, v in values.items()}),
        )
        key = ids.key()
        if key:
            self._update(
                _key(f"CHANNEL#{channel}", f"ITEM#{key}"),
                f"the SKU of a {channel} item",
                UpdateExpression="SET sku = :sku, learned_at = :at",
                ExpressionAttributeValues=typed({":sku": sku, ":at": values["learned_at"]}),
            )

    def platform_location(self, channel: str, location: str) -> str | None:
        item = self._get(_key(f"CHANNEL#{channel}", f"LOCATION#{location}"), f"the {channel} location of {location}")
        return item.get("platform_location_id") if item else None

    def learn_location(self, channel: str, location: str, platform_location: str) -> None:
        self._update(
            _key(f"CHANNEL#{channel}", f"LOCATION#{location}"),
            f"the {channel} location of {location}",
            UpdateExpression="SET platform_location_id = :id",
            ExpressionAttributeValues=typed({":id": platform_location}),
        )


class DynamoSyncLog(_Table):
    @staticmethod
    def _sync_key(channel: str, sku: str, location: str) -> dict[str, Any]:
        return _key(f"SYNC#{channel}", f"SKU#{sku}#LOC#{location}")

    def state(self, channel: str, sku: str, location: str) -> SyncState | None:
        item = self._get(self._sync_key(channel, sku, location), f"the sync state of {sku} on {channel}")
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
        try:
            self._update(
                self._sync_key(channel, sku, location),
                f"the sync state of {sku} on {channel}",
                UpdateExpression="SET version = :v, #state = :pending, lease_until = :lease",
                # Newer than anything claimed, unless an older push is still in flight; or this very
                # version again, once its failed attempt let go of the lease.
                ConditionExpression=(
                    "attribute_not_exists(version) "
                    "OR (version < :v AND (#state = :done OR lease_until < :now)) "
                    "OR (version = :v AND #state = :pending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=typed(
                    {":v": version, ":pending": "pending", ":done": "done", ":now": now_ms, ":lease": now_ms + lease_ms}
                ),
            )
        except ClientError as exc:
            current = self.state(channel, sku, location)
            if current is None or current.version < version:
                raise SyncBusyError(f"a push of {sku} to {channel} is in flight") from exc
            if current.version == version and current.pending:
                raise SyncBusyError(f"version {version} of {sku} is being pushed to {channel}") from exc
            raise SyncStaleError(f"{channel} has version {current.version} of {sku} at {location}") from exc

    def complete(self, channel: str, sku: str, location: str, version: int, quantity: int) -> None:
        try:
            self._update(
                self._sync_key(channel, sku, location),
                f"the sync state of {sku} on {channel}",
                UpdateExpression="SET #state = :done, quantity = :q, pushed_at = :at, lease_until = :zero",
                ConditionExpression="version = :v",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=typed(
                    {":done": "done", ":q": quantity, ":at": datetime.now(UTC).isoformat(), ":v": version, ":zero": 0}
                ),
            )
        except ClientError as exc:
            # A newer version was claimed after this one's lease ran out; its push follows this one.
            raise SyncStaleError(f"version {version} of {sku} on {channel} was overtaken") from exc

    def abandon(self, channel: str, sku: str, location: str, version: int) -> None:
        try:
            self._update(
                self._sync_key(channel, sku, location),
                f"the sync state of {sku} on {channel}",
                UpdateExpression="SET lease_until = :zero",
                ConditionExpression="version = :v AND #state = :pending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=typed({":zero": 0, ":v": version, ":pending": "pending"}),
            )
        except ClientError:
            return  # overtaken: nothing of this version's is left to release

    def note_known(self, channel: str, sku: str, location: str, quantity: int) -> None:
        try:
            self._update(
                self._sync_key(channel, sku, location),
                f"the sync state of {sku} on {channel}",
                UpdateExpression="SET quantity = :q, known_at = :at",
                ExpressionAttributeValues=typed({":q": quantity, ":at": datetime.now(UTC).isoformat()}),
            )
        except ClientError as exc:
            raise StoreError(f"could not write the sync state of {sku} on {channel}: {exc}") from exc
