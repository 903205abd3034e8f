"""Shopify's change feed: GraphQL Admin `orders(query: "updated_at:>…", sortKey: UPDATED_AT)`.

- The API version pinned in hub.vendor_versions; `X-Shopify-Access-Token` (SHOPIFY_ACCESS_TOKEN),
  at `https://{shop_domain}` or the channel's `api_url`.
- Paginated by cursor (`pageInfo { hasNextPage endCursor }`), oldest change first; an order with
  more lines than one page holds has the rest read with `order(id:) { lineItems(after:) }`.
- The cost-based rate limit: a `THROTTLED` answer waits for the bucket to refill (from
  `extensions.cost.throttleStatus`) and asks again, a few times; before the next page the feed also
  waits when the bucket holds less than the last page cost, so a long backlog never runs dry.
- Each order becomes the body of the webhook of the same change (the REST resource's field names,
  its times in the shop's time zone as the webhooks write them) and is parsed by
  hub.intake.shopify: `orders/create` while the order was never updated since it was created,
  else `orders/updated` with its `updated_at`: exactly the events, and event ids, of that webhook.

Reference: shopify.dev/docs/api/admin-graphql/2026-10/queries/orders (query syntax, sortKey,
pagination), .../objects/Order, and shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from hub.adapters.feeds import FeedContext, as_change, feed_error
from hub.adapters.http import check, outbound_client
from hub.adapters.storefront_auth import required_secret
from hub.adapters.storefront_stock import _throttle_wait
from hub.errors import FeedError, FeedNotConfiguredError, OutboundError
from hub.ports import ChangePage, FoundChange, ReconcileTarget, WebhookSource
from hub.vendor_versions import SHOPIFY_ADMIN_API_VERSION

__all__ = ["ORDERS_QUERY", "ShopifyOrderFeed", "build", "search_query", "webhook_order"]

PAGE_SIZE = 25
LINES_PER_PAGE = 50
_PURPOSE = "reconciling orders of"

_LINE = """id sku title quantity requiresShipping isGiftCard
        product { legacyResourceId } variant { legacyResourceId }
        originalUnitPriceSet { shopMoney { amount currencyCode } }"""

ORDERS_QUERY = f"""query OrdersChanged($query: String!, $after: String) {{
  shop {{ myshopifyDomain ianaTimezone }}
  orders(first: {PAGE_SIZE}, after: $after, sortKey: UPDATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id legacyResourceId name email currencyCode
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      displayFinancialStatus displayFulfillmentStatus
      cancelledAt cancelReason createdAt updatedAt
      customer {{ legacyResourceId firstName lastName }}
      shippingAddress {{ name firstName lastName company address1 address2 city provinceCode zip countryCodeV2 phone }}
      lineItems(first: {LINES_PER_PAGE}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {_LINE} }}
      }}
      fulfillments(first: 20) {{
        legacyResourceId status
        trackingInfo(first: 1) {{ company number url }}
        fulfillmentLineItems(first: {LINES_PER_PAGE}) {{ nodes {{ quantity lineItem {{ {_LINE} }} }} }}
      }}
      refunds(first: 20) {{
        legacyResourceId createdAt note
        transactions(first: 10) {{ nodes {{ kind status amountSet {{ shopMoney {{ amount currencyCode }} }} }} }}
      }}
    }}
  }}
}}"""

MORE_LINES_QUERY = f"""query MoreLines($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {LINES_PER_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_LINE} }}
    }}
  }}
}}"""

# displayFinancialStatus / displayFulfillmentStatus -> the REST (webhook) values.
_FULFILMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}


def search_query(since: datetime) -> str:
    """Shopify search syntax for what changed after `since` (UTC, to the second)."""
    return f"updated_at:>'{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def _gid_tail(gid: str | None) -> int | None:
    if not gid:
        return None
    tail = str(gid).rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _legacy(node: dict[str, Any] | None) -> int | None:
    value = (node or {}).get("legacyResourceId")
    return int(value) if value is not None and str(value).isdigit() else None


def _money(node: dict[str, Any] | None) -> str | None:
    return (((node or {}).get("shopMoney")) or {}).get("amount")


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else None


class _Times:
    """Times as the webhooks write them: in the shop's time zone, to the second."""

    def __init__(self, zone: str | None) -> None:
        try:
            self._zone = ZoneInfo(zone) if zone else UTC
        except (ZoneInfoNotFoundError, ValueError):
            self._zone = UTC

    def __call__(self, value: str | None) -> str | None:
        if not value:
            return None
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(self._zone).replace(microsecond=0).isoformat()


def _line(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _gid_tail(node.get("id")),
        "sku": node.get("sku"),
        "title": node.get("title"),
        "quantity": node.get("quantity"),
        "price": _money(node.get("originalUnitPriceSet")),
        "requires_shipping": node.get("requiresShipping"),
        "gift_card": node.get("isGiftCard"),
        "product_id": _legacy(node.get("product")),
        "variant_id": _legacy(node.get("variant")),
    }


def webhook_order(node: dict[str, Any], lines: list[dict[str, Any]], zone: str | None) -> dict[str, Any]:
    """The Order object as Shopify's order webhooks (REST field names) carry it."""
    at = _Times(zone)
    customer = node.get("customer")
    address = node.get("shippingAddress")
    return {
        "id": _legacy(node) or _gid_tail(node.get("id")),
        "name": node.get("name"),
        "email": node.get("email"),
        "currency": node.get("currencyCode"),
        "total_price": _money(node.get("totalPriceSet")),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILMENT.get(node.get("displayFulfillmentStatus") or ""),
        "cancelled_at": at(node.get("cancelledAt")),
        "cancel_reason": _lower(node.get("cancelReason")),
        "created_at": at(node.get("createdAt")),
        "updated_at": at(node.get("updatedAt")),
        # The customer's own email and phone are deprecated on Customer; the order's email is the one used.
        "customer": {
            "id": _legacy(customer),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
        }
        if customer
        else None,
        "shipping_address": {
            "name": address.get("name"),
            "first_name": address.get("firstName"),
            "last_name": address.get("lastName"),
            "company": address.get("company"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "city": address.get("city"),
            "province_code": address.get("provinceCode"),
            "zip": address.get("zip"),
            "country_code": address.get("countryCodeV2"),
            "phone": address.get("phone"),
        }
        if address
        else None,
        "line_items": [_line(line) for line in lines],
        "fulfillments": [
            {
                "id": _legacy(f),
                "status": _lower(f.get("status")),
                "tracking_company": ((f.get("trackingInfo") or [{}])[0] or {}).get("company"),
                "tracking_number": ((f.get("trackingInfo") or [{}])[0] or {}).get("number"),
                "tracking_url": ((f.get("trackingInfo") or [{}])[0] or {}).get("url"),
                "line_items": [
                    {**_line(item.get("lineItem") or {}), "quantity": item.get("quantity")}
                    for item in ((f.get("fulfillmentLineItems") or {}).get("nodes") or [])
                ],
            }
            for f in node.get("fulfillments") or []
        ],
        "refunds": [
            {
                "id": _legacy(r),
                "order_id": _legacy(node),
                "created_at": at(r.get("createdAt")),
                "note": r.get("note"),
                "transactions": [
                    {
                        "amount": _money(t.get("amountSet")),
                        "currency": ((t.get("amountSet") or {}).get("shopMoney") or {}).get("currencyCode"),
                        "kind": _lower(t.get("kind")),
                        "status": _lower(t.get("status")),
                    }
                    for t in ((r.get("transactions") or {}).get("nodes") or [])
                ],
            }
            for r in node.get("refunds") or []
        ],
    }


class ShopifyOrderFeed:
    def __init__(
        self,
        client: httpx.Client,
        config: Callable[[], Any],
        parser: WebhookSource,
        *,
        api_version: str = SHOPIFY_ADMIN_API_VERSION,
        sleep: Callable[[float], None],
        throttle_attempts: int = 5,
    ) -> None:
        self._client = client
        self._config = config
        self._parser = parser
        self._path = f"/admin/api/{api_version}/graphql.json"
        self._sleep = sleep
        self._attempts = throttle_attempts
        self._low_bucket_wait = 0.0

    def _ask(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(1, self._attempts + 1):
            try:
                response = check(
                    self._client.post(self._path, json={"query": query, "variables": variables}), "Shopify orders"
                )
                document = response.json()
            except (OutboundError, httpx.HTTPError) as exc:
                raise feed_error("Shopify orders could not be listed", exc) from exc
            except ValueError as exc:
                raise FeedError("Shopify orders: the answer is not JSON") from exc
            errors = document.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                self._sleep(_throttle_wait(document, attempt))
                continue
            if errors:
                codes = sorted({str((e.get("extensions") or {}).get("code") or "no code") for e in errors})
                raise FeedError(f"Shopify orders could not be listed: {', '.join(codes)}")
            self._low_bucket_wait = _next_page_wait(document)
            return document.get("data") or {}
        raise FeedError("Shopify throttled the orders query after every retry; the next run lists them")

    def page(self, since: datetime, token: str | None) -> ChangePage:
        if self._low_bucket_wait:
            self._sleep(self._low_bucket_wait)
        data = self._ask(ORDERS_QUERY, {"query": search_query(since), "after": token})
        shop = data.get("shop") or {}
        domain = shop.get("myshopifyDomain")
        if not domain:
            raise FeedError("Shopify's answer does not name the shop (shop.myshopifyDomain)")
        connection = data.get("orders") or {}
        changes = [self._change(node, domain, shop.get("ianaTimezone")) for node in connection.get("nodes") or []]
        info = connection.get("pageInfo") or {}
        return ChangePage(changes, info.get("endCursor") if info.get("hasNextPage") else None)

    def _lines(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        connection = node.get("lineItems") or {}
        lines = list(connection.get("nodes") or [])
        info = connection.get("pageInfo") or {}
        while info.get("hasNextPage"):
            data = self._ask(MORE_LINES_QUERY, {"id": node.get("id"), "after": info.get("endCursor")})
            connection = ((data.get("order") or {}).get("lineItems")) or {}
            lines += connection.get("nodes") or []
            info = connection.get("pageInfo") or {}
        return lines

    def _change(self, node: dict[str, Any], domain: str, zone: str | None) -> FoundChange:
        body = webhook_order(node, self._lines(node), zone)
        updated = node.get("updatedAt") or node.get("createdAt") or ""
        changed_at = datetime.fromisoformat(updated.replace("Z", "+00:00"))
        # Never updated since it was created: the order's creation, as orders/create states it.
        topic = "orders/create" if node.get("createdAt") == node.get("updatedAt") else "orders/updated"
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": domain,
            "X-Shopify-Webhook-Id": f"reconcile:{body['id']}:{body['updated_at']}",
            "X-Shopify-Triggered-At": updated,
        }
        return as_change(self._parser, headers, body, self._config(), ref=f"order {body['id']}", changed_at=changed_at)


def _next_page_wait(document: dict[str, Any]) -> float:
    """Seconds to wait before asking again for as much as this answer cost (0: the bucket holds it)."""
    cost = (document.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("actualQueryCost") or cost.get("requestedQueryCost") or 0)
        missing = needed - float(status["currentlyAvailable"])
        return min(missing / float(status["restoreRate"]), 10.0) if missing > 0 else 0.0
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return 0.0


def build(target: ReconcileTarget, context: FeedContext) -> ShopifyOrderFeed:
    settings = target.settings
    base = settings.api_url or (f"https://{settings.shop_domain}" if settings.shop_domain else None)
    if base is None:
        raise FeedNotConfiguredError(f"channel {target.name} names no shop_domain (or api_url) to list orders from")
    token = required_secret(context.secrets, "SHOPIFY_ACCESS_TOKEN", target.name, _PURPOSE)
    client = outbound_client(
        base, headers={"X-Shopify-Access-Token": token}, transport=context.transport, retry=context.retry
    )
    return ShopifyOrderFeed(client, context.config, context.sources["shopify"], sleep=context.sleep)
