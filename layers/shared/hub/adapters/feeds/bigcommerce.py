"""BigCommerce's change feed: `GET /stores/{store_hash}/v2/orders?min_date_modified=…`.

- `X-Auth-Token` (BIGCOMMERCE_ACCESS_TOKEN), through the same client intake reads resources with
  (hub.adapters.bigcommerce), at the channel's `api_url` (default https://api.bigcommerce.com).
- Dates in RFC 2822, as V2 writes them; `sort=date_modified:asc`, `limit=250` (V2's maximum), paged
  by modification time (hub.adapters.feeds.TimeKeyset; `min_date_modified` is inclusive); V2 answers
  an empty page with 204 No Content.
- BigCommerce's webhooks carry ids only: the order each change names is read and made into events
  by hub.intake.bigcommerce.BigCommerceResources, the one place intake and resource_fetch build
  them, as a `store/order/updated` notice. Those event ids are named by the order's state
  (`date_modified`, status, amounts), so a change an `updated` or `statusUpdated` webhook delivered
  has the same ids; one only `store/order/created` delivered is known by the order's recorded state.
  The listed order stands in for the read of `/v2/orders/{id}`; its products and addresses are read.
- The rate limit: a 429 ends the run (FeedError) with the cursor where it was; the next run, a
  minute or more later, goes on from there.

Reference: developer.bigcommerce.com/docs/rest-management/orders#get-all-orders (V2; query
parameters min_date_modified, sort, page, limit; 204 when no orders match).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from hub.adapters.feeds import FeedContext, TimeKeyset
from hub.config import ChannelConfig
from hub.errors import BigCommerceFetchError, FeedError, FeedNotConfiguredError, MalformedPayloadError, MoneyError
from hub.intake.bigcommerce import DEFAULT_API_URL, BigCommerceResources, Notice, _rfc2822
from hub.ports import BigCommerceApi, ChangePage, FoundChange, ReconcileTarget

__all__ = ["LIMIT", "BigCommerceOrderFeed", "build", "orders_path"]

LIMIT = 250
UPDATED_SCOPE = "store/order/updated"


def orders_path(keyset: TimeKeyset) -> str:
    query = {
        "min_date_modified": format_datetime(keyset.after.astimezone(UTC)),
        "sort": "date_modified:asc",
        "limit": str(LIMIT),
        "page": str(keyset.page),
    }
    return f"/v2/orders?{urlencode(query)}"


class _Listed:
    """The API, with the orders a page listed standing in for their reads (one call fewer each)."""

    def __init__(self, api: BigCommerceApi, orders: dict[str, Any]) -> None:
        self._api = api
        self._orders = orders

    def get_json(self, api_url: str, store_hash: str, path: str, *, deadline: float | None = None) -> Any:
        listed = self._orders.get(path)
        return listed if listed is not None else self._api.get_json(api_url, store_hash, path, deadline=deadline)


class BigCommerceOrderFeed:
    def __init__(
        self, api: BigCommerceApi, channel: str, settings: ChannelConfig, store_hash: str, api_url: str
    ) -> None:
        self._api = api
        self._channel = channel
        self._settings = settings
        self._store_hash = store_hash
        self._api_url = api_url

    def page(self, since: datetime, token: str | None) -> ChangePage:
        keyset = TimeKeyset.first(since, token)
        try:
            orders = self._api.get_json(self._api_url, self._store_hash, orders_path(keyset)) or []
        except BigCommerceFetchError as exc:
            raise FeedError(f"BigCommerce orders could not be listed: {exc}") from exc
        if not isinstance(orders, list):
            raise FeedError("BigCommerce orders: the answer is not a list of orders")
        listed: list[tuple[str, datetime]] = []
        changes: list[FoundChange] = []
        for order in orders:
            if not isinstance(order, dict):
                continue
            rid = str(order.get("id"))
            modified = _rfc2822(order.get("date_modified")) or _rfc2822(order.get("date_created"))
            if modified is None or not rid.isdigit():
                changes.append(FoundChange(f"order {rid}", keyset.after, "", problem="it has no id or date_modified"))
                continue
            listed.append((rid, modified))
            if keyset.fresh(rid, modified):
                changes.append(self._change(order, rid, modified))
        return ChangePage(changes, keyset.next(listed, full=len(orders) >= LIMIT))

    def _change(self, order: dict[str, Any], rid: str, modified: datetime) -> FoundChange:
        notice = Notice(
            scope=UPDATED_SCOPE,
            store_hash=self._store_hash,
            payload_hash="",
            webhook_id=f"reconcile:{rid}:{order.get('date_modified')}",
            created_at=modified,
            resource="order",
            resource_id=rid,
            parent_id=None,
            channel=self._channel,
            api_url=self._api_url,
        )
        api = _Listed(self._api, {f"/v2/orders/{rid}": order})
        try:
            events, ignored = BigCommerceResources(api).events_for(notice, self._settings)
        except BigCommerceFetchError as exc:
            if isinstance(exc.__cause__, (ValidationError, MoneyError, ArithmeticError, MalformedPayloadError)):
                return FoundChange(f"order {rid}", modified, "", problem=str(exc)[:300])
            # Its products or addresses could not be read now: the page is read again next run.
            raise FeedError(f"BigCommerce order {rid} could not be read: {exc}") from exc
        return FoundChange(f"order {rid}", modified, notice.dedupe_key, events=events, ignored_reason=ignored)


def build(target: ReconcileTarget, context: FeedContext) -> BigCommerceOrderFeed:
    from hub.adapters.bigcommerce import HttpBigCommerceApi

    settings = target.settings
    if not settings.store_hash:
        raise FeedNotConfiguredError(f"channel {target.name} names no store_hash to list orders from")
    api = HttpBigCommerceApi(context.secrets, timeout=10.0, connect_timeout=3.0, transport=context.transport)
    return BigCommerceOrderFeed(api, target.name, settings, settings.store_hash, settings.api_url or DEFAULT_API_URL)
