"""WooCommerce's change feed: REST v3 `GET /wp-json/wc/v3/orders?modified_after=…&dates_are_gmt=true`.

- Authenticated as every WooCommerce call of the hub (hub.adapters.storefront_auth: HTTP Basic or
  query-string consumer key and secret, HTTPS only), at the channel's `api_url` or `site_url`.
- `orderby=modified&order=asc`, `per_page=100` (the WordPress REST maximum), paged by modification
  time (hub.adapters.feeds.TimeKeyset) rather than by `page` alone, so an order changed while the
  pages are read cannot push another past a page unseen; `X-WP-TotalPages` says whether more follow.
  `modified_after` is exclusive and to the second, so each page asks from a second before.
- A REST order IS the body of WooCommerce's order webhooks (the same resource): each is parsed by
  hub.intake.woocommerce as `order.created` while it was never modified after its creation, else as
  `order.updated`, with the store's site as `X-WC-Webhook-Source`. Its delivery key is the
  webhook's (site, topic, order, `date_modified_gmt`): a change the webhook delivered is a duplicate
  to publish-once as well as known by its events.

References: woocommerce.github.io/woocommerce-rest-api-docs (#list-all-orders, #pagination);
`modified_after`, `modified_before` and `dates_are_gmt` are collection parameters of WooCommerce's
REST controllers since 5.8 (developer.woocommerce.com, "WooCommerce 5.8 released").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from hub.adapters.feeds import FeedContext, TimeKeyset, as_change, feed_error
from hub.adapters.http import check
from hub.adapters.storefront_auth import woocommerce_client
from hub.errors import FeedError, FeedNotConfiguredError, OutboundError
from hub.ports import ChangePage, FoundChange, ReconcileTarget, WebhookSource

__all__ = ["ORDERS_PATH", "PER_PAGE", "WooCommerceOrderFeed", "build"]

ORDERS_PATH = "/wp-json/wc/v3/orders"
PER_PAGE = 100
_PURPOSE = "reconciling orders of"


def _gmt(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class WooCommerceOrderFeed:
    def __init__(
        self, client: httpx.Client, config: Callable[[], Any], parser: WebhookSource, site: str | None
    ) -> None:
        self._client = client
        self._config = config
        self._parser = parser
        self._configured_site = site

    @staticmethod
    def params(keyset: TimeKeyset) -> dict[str, str]:
        after = (keyset.after - timedelta(seconds=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return {
            "modified_after": after,
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": str(PER_PAGE),
            "page": str(keyset.page),
        }

    def page(self, since: datetime, token: str | None) -> ChangePage:
        keyset = TimeKeyset.first(since, token)
        try:
            response = check(self._client.get(ORDERS_PATH, params=self.params(keyset)), "WooCommerce orders")
            orders = json.loads(response.content, parse_float=Decimal)
        except (OutboundError, httpx.HTTPError) as exc:
            raise feed_error("WooCommerce orders could not be listed", exc) from exc
        except ValueError as exc:
            raise FeedError("WooCommerce orders: the answer is not JSON") from exc
        if not isinstance(orders, list):
            raise FeedError("WooCommerce orders: the answer is not a list of orders")
        listed: list[tuple[str, datetime]] = []
        changes: list[FoundChange] = []
        for order in orders:
            if not isinstance(order, dict):
                continue
            modified = _gmt(order.get("date_modified_gmt")) or _gmt(order.get("date_created_gmt"))
            rid = str(order.get("id"))
            if modified is None:
                changes.append(FoundChange(f"order {rid}", keyset.after, "", problem="it has no date_modified_gmt"))
                continue
            listed.append((rid, modified))
            if keyset.fresh(rid, modified):
                changes.append(self._change(order, modified))
        pages = int(response.headers.get("X-WP-TotalPages") or 1)
        return ChangePage(changes, keyset.next(listed, full=len(orders) >= PER_PAGE or keyset.page < pages))

    def _source(self, order: dict[str, Any]) -> str:
        """The store's address as its webhooks name it (X-WC-Webhook-Source): the configured
        `site_url`, else the address the API's own links give."""
        if self._configured_site:
            return self._configured_site
        links = ((order.get("_links") or {}).get("self") or [{}])[0].get("href") or ""
        if "/wp-json/" in links:
            return links.split("/wp-json/", 1)[0]
        return str(self._client.base_url).rstrip("/")

    def _change(self, order: dict[str, Any], modified: datetime) -> FoundChange:
        created = order.get("date_created_gmt")
        topic = "order.created" if created and created == order.get("date_modified_gmt") else "order.updated"
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Source": self._source(order).rstrip("/") + "/",
            "X-WC-Webhook-Delivery-ID": f"reconcile:{order.get('id')}:{order.get('date_modified_gmt')}",
        }
        return as_change(
            self._parser, headers, order, self._config(), ref=f"order {order.get('id')}", changed_at=modified
        )


def build(target: ReconcileTarget, context: FeedContext) -> WooCommerceOrderFeed:
    settings = target.settings
    base = settings.api_url or settings.site_url
    if base is None:
        raise FeedNotConfiguredError(f"channel {target.name} names no site_url (or api_url) to list orders from")
    client = woocommerce_client(
        target.name, settings, base, context.secrets, _PURPOSE, transport=context.transport, retry=context.retry
    )
    return WooCommerceOrderFeed(
        client,
        context.config,
        context.sources["woocommerce"],
        settings.site_url.rstrip("/") if settings.site_url else None,
    )
