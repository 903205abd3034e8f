"""The hub's product catalog on the hub table (docs/catalog.md):

- `PRODUCT#<key>` / `PRODUCT`: the product (`doc`, its content as JSON), `version` (1 for the first
  record, +1 per change, written under a condition on the version read) and `published` (set once,
  when ProductPublished was announced);
- `PRODSKU#<sku>` / `PRODUCT`: the key of the product the SKU belongs to;
- `CATSYNC#<channel>` / `PRODUCT#<key>`: the product version claimed for a push to the channel
  (`state` pending until `lease_until`, epoch ms, then done) and `digest`, the content hash of what
  the channel holds since the hub's last push (its echo carries the same hash);
- `CATDRIFT#log` / `<time>#<event id>`: a change seen on a channel that is not the master.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hub.adapters.keys import CATDRIFT, CATSYNC, PRODSKU, PRODUCT
from hub.adapters.table import Table, expires_at, key, typed
from hub.domain.catalog import CatalogOption, CatalogProduct, CatalogVariant, Drift, PushState, StoredProduct
from hub.errors import CatalogConflictError, SyncBusyError, SyncStaleError

__all__ = ["DynamoCatalogPushLog", "DynamoProductRecords", "product_from_json", "product_to_json"]

_STATE = {"#state": "state"}
_DRIFT_DAYS = 90


def product_to_json(product: CatalogProduct) -> str:
    document = {"key": product.key, "url": product.url, **product.content()}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def product_from_json(text: str) -> CatalogProduct:
    document = json.loads(text)
    return CatalogProduct(
        key=document["key"],
        title=document["title"],
        description=document.get("description", ""),
        status=document["status"],
        url=document.get("url"),
        images=tuple(document.get("images", [])),
        options=tuple(CatalogOption(o["name"], tuple(o["values"])) for o in document.get("options", [])),
        variants=tuple(
            CatalogVariant(
                sku=v["sku"],
                price=int(v["price"]),
                currency=v["currency"],
                compare_at_price=None if v.get("compare_at_price") is None else int(v["compare_at_price"]),
                option_values=tuple(v.get("option_values", [])),
            )
            for v in document["variants"]
        ),
    )


class DynamoProductRecords:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def product(self, key: str) -> StoredProduct | None:
        item = self._table.get(PRODUCT(key), "PRODUCT", what=f"read product {key}")
        if not item or "doc" not in item:
            return None
        return StoredProduct(
            product_from_json(item["doc"]), int(item["version"]), item.get("as_of"), bool(item.get("published"))
        )

    def product_for_sku(self, sku: str) -> CatalogProduct | None:
        index = self._table.get(PRODSKU(sku), "PRODUCT", what=f"read the product of {sku}")
        if not index:
            return None
        stored = self.product(index["product_key"])
        return stored.product if stored else None

    def save(
        self,
        product: CatalogProduct,
        expected_version: int,
        previous: CatalogProduct | None = None,
        *,
        as_of: str | None = None,
    ) -> int:
        """The product and its SKU index in one transaction, under a condition on the version read
        (a product of more than 98 variants needs more than one transaction: refused)."""
        version = expected_version + 1
        condition = "attribute_not_exists(version)" if expected_version == 0 else "version = :e"
        values: dict[str, Any] = {
            ":doc": product_to_json(product),
            ":v": version,
            ":at": datetime.now(UTC).isoformat(),
        }
        # typed() leaves None out, so a product set without a master time (the admin API) must not
        # name :as_of: it removes the master's time instead (a later master change is not stale).
        update = "SET doc = :doc, version = :v, saved_at = :at"
        if as_of is None:
            update += " REMOVE as_of"
        else:
            update += ", as_of = :as_of"
            values[":as_of"] = as_of
        if expected_version:
            values[":e"] = expected_version
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": key(PRODUCT(product.key), "PRODUCT"),
                    "UpdateExpression": update,
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": typed(values),
                }
            }
        ]
        gone = set(previous.skus if previous else ()) - set(product.skus)
        for sku in product.skus:
            if previous is None or sku not in previous.skus:
                item = {"pk": PRODSKU(sku), "sk": "PRODUCT", "product_key": product.key}
                items.append({"Put": {"TableName": self._table.name, "Item": typed(item)}})
        for sku in sorted(gone):
            items.append({"Delete": {"TableName": self._table.name, "Key": key(PRODSKU(sku), "PRODUCT")}})
        if len(items) > 100:
            raise CatalogConflictError(f"product {product.key} changes too many SKUs at once to record")
        reasons = self._table.transact(items, what=f"write product {product.key}")
        if reasons is not None:
            raise CatalogConflictError(f"product {product.key} changed since version {expected_version} was read")
        return version

    def mark_published(self, key: str) -> bool:
        written = self._table.update(
            PRODUCT(key),
            "PRODUCT",
            "SET published = :yes",
            {":yes": True},
            what=f"mark product {key} published",
            condition="attribute_not_exists(published)",
        )
        return written is not None


class DynamoCatalogPushLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def _state(self, channel: str, product_key: str) -> dict[str, Any] | None:
        return self._table.get(
            CATSYNC(channel), f"PRODUCT#{product_key}", what=f"read the push state of {product_key} on {channel}"
        )

    def pushed(self, channel: str, key: str) -> PushState | None:
        item = self._state(channel, key)
        if not item:
            return None
        return PushState(
            int(item.get("version", 0)),
            item.get("state") == "pending",
            int(item.get("lease_until", 0)),
            item.get("digest"),
        )

    def claim(self, channel: str, key: str, version: int, *, now_ms: int, lease_ms: int) -> None:
        claimed = self._table.update(
            CATSYNC(channel),
            f"PRODUCT#{key}",
            "SET version = :v, #state = :pending, lease_until = :lease",
            {":v": version, ":pending": "pending", ":done": "done", ":now": now_ms, ":lease": now_ms + lease_ms},
            what=f"claim the push of {key} to {channel}",
            # As stock pushes (DynamoSyncLog.claim): newer than anything claimed, unless an older
            # push is in flight; or this very version again once its failed attempt let go.
            condition=(
                "attribute_not_exists(version) "
                "OR (version < :v AND (#state = :done OR lease_until < :now)) "
                "OR (version = :v AND #state = :pending AND lease_until < :now)"
            ),
            names=_STATE,
        )
        if claimed is not None:
            return
        item = self._state(channel, key) or {}
        current = int(item.get("version", 0))
        if current < version:
            raise SyncBusyError(f"a push of product {key} to {channel} is in flight")
        if current == version and item.get("state") == "pending":
            raise SyncBusyError(f"version {version} of product {key} is being pushed to {channel}")
        raise SyncStaleError(f"{channel} has version {current} of product {key}")

    def complete(self, channel: str, key: str, version: int, digest: str) -> None:
        done = self._table.update(
            CATSYNC(channel),
            f"PRODUCT#{key}",
            "SET #state = :done, digest = :d, pushed_at = :at, lease_until = :zero",
            {":done": "done", ":d": digest, ":at": datetime.now(UTC).isoformat(), ":v": version, ":zero": 0},
            what=f"record the push of {key} to {channel}",
            condition="version = :v",
            names=_STATE,
        )
        if done is None:
            raise SyncStaleError(f"version {version} of product {key} on {channel} was overtaken")

    def abandon(self, channel: str, key: str, version: int) -> None:
        self._table.update(
            CATSYNC(channel),
            f"PRODUCT#{key}",
            "SET lease_until = :zero",
            {":zero": 0, ":v": version, ":pending": "pending"},
            what=f"release the push of {key} to {channel}",
            condition="version = :v AND #state = :pending",
            names=_STATE,
        )

    def record_drift(self, drift: Drift) -> None:
        item = {
            "pk": CATDRIFT("log"),
            "sk": f"{drift.detected_at}#{drift.event_id}",
            "channel": drift.channel,
            "product_key": drift.product_key,
            "skus": list(drift.skus),
            "fields": list(drift.fields),
            "detected_at": drift.detected_at,
            "event_id": drift.event_id,
            "expires_at": expires_at(_DRIFT_DAYS),
        }
        self._table.put(item, what=f"record drift of {drift.product_key} on {drift.channel}")

    def drift(self, limit: int) -> list[Drift]:
        items = self._table.query(CATDRIFT("log"), what="read catalog drift", newest_first=True, limit=limit)
        return [
            Drift(
                channel=i["channel"],
                product_key=i["product_key"],
                skus=tuple(i.get("skus", [])),
                fields=tuple(i.get("fields", [])),
                detected_at=i["detected_at"],
                event_id=i["event_id"],
            )
            for i in items
        ]
