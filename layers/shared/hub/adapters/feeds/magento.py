"""Adobe Commerce / Magento 2's change feed: REST `GET /rest/V1/orders` with a `searchCriteria` on
`updated_at`. For open-source Magento 2, which has no Adobe I/O Events, this is the store's intake.

- Authenticated as every Commerce call of the hub (hub.adapters.storefront_auth: OAuth 1.0a with
  the integration's four values, or `auth: bearer`), at the channel's `api_url` or `site_url`.
- `searchCriteria[filter_groups][0][filters][0]` = `updated_at` `gteq` the cursor (Commerce keeps
  UTC times as "YYYY-MM-DD HH:MM:SS"), `sortOrders` `updated_at` ASC, `pageSize` 100, paged by
  modification time (hub.adapters.feeds.TimeKeyset); `total_count` says whether more follow
  (Commerce answers a `currentPage` past the last with the last page again, so it is never asked).
- Each order is the `data.value` of the Adobe I/O event of the same change and is parsed by
  hub.intake.magento: `observer.sales_order_place_after` while it was never updated after its
  creation, else `observer.sales_order_save_commit_after`, under the event id
  `reconcile:<entity id>:<updated_at>` and, as its `source`, the channel's `adobe_io_source`: the
  placement then has the id its Adobe I/O event gives it. The saved order's status event is named
  by Adobe's own event id on the webhook path, which the API cannot know; the reconciler's is named
  by the order's state, and a state the hub already holds is known by the order's `as_of`.

Reference: developer.adobe.com/commerce/webapi/rest/use-rest/performing-searches (searchCriteria,
condition types `gt`/`gteq`, sortOrders, pageSize, currentPage) and the `GET /V1/orders` response
(`items`, `search_criteria`, `total_count`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from hub.adapters.feeds import FeedContext, TimeKeyset, as_change, feed_error
from hub.adapters.http import check
from hub.adapters.storefront_auth import magento_client
from hub.errors import FeedError, FeedNotConfiguredError, OutboundError
from hub.ports import ChangePage, FoundChange, ReconcileTarget, WebhookSource

__all__ = ["ORDERS_PATH", "PAGE_SIZE", "MagentoOrderFeed", "build", "search_params"]

ORDERS_PATH = "/rest/V1/orders"
PAGE_SIZE = 100
_PURPOSE = "reconciling orders of"
_PLACED = "com.adobe.commerce.observer.sales_order_place_after"
_SAVED = "com.adobe.commerce.observer.sales_order_save_commit_after"


def search_params(keyset: TimeKeyset) -> dict[str, str]:
    criteria = "searchCriteria"
    where = f"{criteria}[filter_groups][0][filters][0]"
    return {
        f"{where}[field]": "updated_at",
        f"{where}[value]": keyset.after.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        f"{where}[condition_type]": "gteq",
        f"{criteria}[sortOrders][0][field]": "updated_at",
        f"{criteria}[sortOrders][0][direction]": "ASC",
        f"{criteria}[pageSize]": str(PAGE_SIZE),
        f"{criteria}[currentPage]": str(keyset.page),
    }


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class MagentoOrderFeed:
    def __init__(
        self, client: httpx.Client, config: Callable[[], Any], parser: WebhookSource, source: str | None
    ) -> None:
        self._client = client
        self._config = config
        self._parser = parser
        self._source = source

    def page(self, since: datetime, token: str | None) -> ChangePage:
        keyset = TimeKeyset.first(since, token)
        try:
            response = check(self._client.get(ORDERS_PATH, params=search_params(keyset)), "Adobe Commerce orders")
            document = json.loads(response.content, parse_float=Decimal)
        except (OutboundError, httpx.HTTPError) as exc:
            raise feed_error("Adobe Commerce orders could not be listed", exc) from exc
        except ValueError as exc:
            raise FeedError("Adobe Commerce orders: the answer is not JSON") from exc
        items = document.get("items") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise FeedError("Adobe Commerce orders: the answer has no 'items' list")
        listed: list[tuple[str, datetime]] = []
        changes: list[FoundChange] = []
        for order in items:
            if not isinstance(order, dict):
                continue
            rid = str(order.get("entity_id"))
            modified = _utc(order.get("updated_at")) or _utc(order.get("created_at"))
            if modified is None:
                changes.append(FoundChange(f"order {rid}", keyset.after, "", problem="it has no updated_at"))
                continue
            listed.append((rid, modified))
            if keyset.fresh(rid, modified):
                changes.append(self._change(order, rid, modified))
        total = int(document.get("total_count") or 0)
        more = len(items) >= PAGE_SIZE and total > keyset.page * PAGE_SIZE
        return ChangePage(changes, keyset.next(listed, full=more))

    def _change(self, order: dict[str, Any], rid: str, modified: datetime) -> FoundChange:
        created, updated = order.get("created_at"), order.get("updated_at")
        envelope: dict[str, Any] = {
            "type": _PLACED if created and created == updated else _SAVED,
            "event_id": f"reconcile:{rid}:{updated}",
            "time": modified.isoformat(),
            "data": {"value": order},
        }
        if self._source:
            envelope["source"] = self._source
        return as_change(self._parser, {}, envelope, self._config(), ref=f"order {rid}", changed_at=modified)


def build(target: ReconcileTarget, context: FeedContext) -> MagentoOrderFeed:
    settings = target.settings
    base = settings.api_url or settings.site_url
    if base is None:
        raise FeedNotConfiguredError(f"channel {target.name} names no site_url (or api_url) to list orders from")
    client = magento_client(
        target.name, settings, base, context.secrets, _PURPOSE, transport=context.transport, retry=context.retry
    )
    # Unset for open-source Magento: its events are named under the store's site (or the channel).
    return MagentoOrderFeed(
        client, context.config, context.sources["magento"], settings.adobe_io_source or settings.site_url or target.name
    )
