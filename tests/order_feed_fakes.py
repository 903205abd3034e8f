"""A fake of the storefronts' order listings, for the reconcilers: FakeStorefronts (tests/stock_fakes.py)
hands it the order queries, so one fake storefront serves stock, fulfilment and reconciliation, in
process (httpx.MockTransport) or over HTTP on 127.0.0.1.

Shopify (GraphQL Admin 2026-10, shopify.dev/docs/api/admin-graphql/2026-10/queries/orders): orders
filtered by the search syntax `updated_at:>'<ISO time>'`, sorted by `sortKey: UPDATED_AT`, paginated
with `first`/`after` and `pageInfo { hasNextPage endCursor }`. It refuses what Shopify refuses: `first`
over 250 ("The connection can't return more than 250 items"), a sort key it does not know, an
`after` cursor it never gave; every answer carries `extensions.cost` with a throttle status.

WooCommerce (REST v3, woocommerce.github.io/woocommerce-rest-api-docs #list-all-orders and
#pagination; `modified_after`/`dates_are_gmt` since WooCommerce 5.8): `GET /wp-json/wc/v3/orders`
checks the consumer key and secret as the store does (tests/woocommerce_auth.py), filters on
`modified_after` (exclusive; read in the store's local time unless `dates_are_gmt=true`, as WordPress
does), sorts by `orderby`/`order`, pages with `page`/`per_page` and answers `X-WP-Total` and
`X-WP-TotalPages`. It refuses, as WordPress's REST argument validation does (400
`rest_invalid_param`), a `per_page` over 100 and an `orderby` outside date, id, include, title,
slug, modified.

Adobe Commerce (REST, developer.adobe.com/commerce/webapi/rest/use-rest/performing-searches):
`GET /rest/V1/orders` checks OAuth 1.0a as a 2.4.4+ store does (tests/magento_oauth.py), applies
`searchCriteria` filters on `updated_at` (`gt`, `gteq`, `lt`, `lteq`, `eq`; times in UTC as
"YYYY-MM-DD HH:MM:SS"), `sortOrders`, `pageSize` (at most 300, the 2.4.7 default of
webapi/validation/maximum_page_size) and `currentPage`, and answers `items`, `search_criteria` and
`total_count`; like Commerce, a `currentPage` past the last answers the last page again.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.woocommerce_auth import refusal as woocommerce_refusal

_SEARCH = re.compile(r"^updated_at:>'(?P<at>[0-9T:\-]+Z)'$")
_FIRST = re.compile(r"orders\(first: (?P<n>\d+)")
_SORT = re.compile(r"sortKey: (?P<key>[A-Z_]+)")
_KNOWN_SORT_KEYS = {"CREATED_AT", "ID", "UPDATED_AT", "PROCESSED_AT", "TOTAL_PRICE", "ORDER_NUMBER", "RELEVANCE"}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _cursor(index: int) -> str:
    return base64.b64encode(f'{{"last_id":{index}}}'.encode()).decode()


@dataclass
class FakeOrderFeed:
    shop: str = "ada-goods.myshopify.com"
    timezone: str = "America/New_York"
    shopify_orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # gid -> Order node
    woocommerce_orders: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> REST order
    magento_orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity_id -> REST order
    asked: list[dict[str, Any]] = field(default_factory=list)  # the variables of each orders query
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put_shopify(self, node: dict[str, Any]) -> None:
        """Add or replace an order (a GraphQL Order node, as Shopify answers it)."""
        with self.lock:
            self.shopify_orders[node["id"]] = node

    def put_woocommerce(self, order: dict[str, Any]) -> None:
        with self.lock:
            self.woocommerce_orders[int(order["id"])] = order

    def put_magento(self, order: dict[str, Any]) -> None:
        with self.lock:
            self.magento_orders[str(order["entity_id"])] = order

    # ---------------------------------------------------------------------------------- REST
    @staticmethod
    def handles(path: str) -> bool:
        return urlsplit(path).path in ("/wp-json/wc/v3/orders", "/rest/V1/orders")

    def rest(self, method: str, url: str, headers: dict[str, str], storefronts: Any) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.asked.append(query)
        if parts.path == "/wp-json/wc/v3/orders":
            from tests.stock_fakes import WOO_KEY, WOO_SECRET

            refused = woocommerce_refusal(
                url, headers, WOO_KEY, WOO_SECRET, strips_authorization=storefronts.strips_authorization
            )
            if refused:
                return refused[0], refused[1], {}
            return self._woocommerce(query)
        if parts.path == "/rest/V1/orders":
            refused = storefronts.magento.check(method, url, headers)
            if refused:
                return refused[0], refused[1], {}
            return self._magento(query)
        return 404, {"error": "no route"}, {}

    def _magento(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        criteria = "searchCriteria"
        size = int(query.get(f"{criteria}[pageSize]", 0) or 0)
        if size > 300:
            return 400, {"message": "Maximum SearchCriteria pageSize is %1", "parameters": ["300"]}, {}
        with self.lock:
            orders = list(self.magento_orders.values())
        tests = {"gt": lambda a, b: a > b, "gteq": lambda a, b: a >= b, "lt": lambda a, b: a < b,
                 "lteq": lambda a, b: a <= b, "eq": lambda a, b: a == b}  # fmt: skip
        n = 0
        while f"{criteria}[filter_groups][{n}][filters][0][field]" in query:
            where = f"{criteria}[filter_groups][{n}][filters][0]"
            field_name, value = query[f"{where}[field]"], query.get(f"{where}[value]", "")
            condition = query.get(f"{where}[condition_type]", "eq")
            if condition not in tests:
                return 400, {"message": f'Invalid condition type "{condition}"'}, {}
            orders = [o for o in orders if tests[condition](str(o.get(field_name) or ""), value)]
            n += 1
        sort_field = query.get(f"{criteria}[sortOrders][0][field]")
        if sort_field:
            descending = query.get(f"{criteria}[sortOrders][0][direction]", "ASC").upper() == "DESC"
            orders.sort(key=lambda o: (str(o.get(sort_field) or ""), int(o["entity_id"])), reverse=descending)
        total = len(orders)
        if size:
            last = max(1, -(-total // size))
            page = min(int(query.get(f"{criteria}[currentPage]", 1)), last)  # past the last: the last again
            orders = orders[(page - 1) * size : page * size]
        return 200, {"items": orders, "search_criteria": {}, "total_count": total}, {}

    def _woocommerce(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        if not 1 <= per_page <= 100:
            return _wp_invalid("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
        orderby = query.get("orderby", "date")
        if orderby not in ("date", "id", "include", "title", "slug", "modified"):
            return _wp_invalid("orderby", "orderby is not one of date, id, include, title, slug, and modified.")
        gmt = query.get("dates_are_gmt") == "true"
        field_name = "date_modified_gmt" if gmt else "date_modified"
        with self.lock:
            orders = list(self.woocommerce_orders.values())
        if "modified_after" in query:
            after = _naive(query["modified_after"])
            orders = [o for o in orders if _naive(o[field_name]) > after]
        key = {"modified": "date_modified_gmt", "date": "date_created_gmt", "id": "id"}.get(orderby, "id")
        orders.sort(key=lambda o: (o[key], o["id"]), reverse=query.get("order", "desc") == "desc")
        total = len(orders)
        pages = max(1, -(-total // per_page))
        chunk = orders[(page - 1) * per_page : page * per_page]
        return 200, chunk, {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}

    # ---------------------------------------------------------------------------------- Shopify
    def shopify(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.asked.append(dict(variables))
            first = int(_FIRST.search(query)["n"]) if _FIRST.search(query) else 0
            if first > 250:
                return _error("The connection can't return more than 250 items.", "MAX_COST_EXCEEDED")
            sort = _SORT.search(query)
            if sort and sort["key"] not in _KNOWN_SORT_KEYS:
                return _error(f"Argument 'sortKey' on Field 'orders' has an invalid value ({sort['key']}).", None)
            search = _SEARCH.match(variables.get("query") or "")
            if search is None:
                return _error("this fake answers only updated_at:>'<ISO time>' searches", "BAD_REQUEST")
            since = _time(search["at"])
            ordered = sorted(
                (n for n in self.shopify_orders.values() if _time(n["updatedAt"]) > since),
                key=lambda n: (_time(n["updatedAt"]), n["id"]),
            )
            start = 0
            if variables.get("after"):
                known = {_cursor(i): i for i in range(len(ordered) + 1)}
                if variables["after"] not in known:
                    return _error("Invalid cursor for current pagination sort.", "BAD_REQUEST")
                start = known[variables["after"]]
            chunk = ordered[start : start + first]
            end = start + len(chunk)
            return {
                "data": {
                    "shop": {"myshopifyDomain": self.shop, "ianaTimezone": self.timezone},
                    "orders": {
                        "pageInfo": {"hasNextPage": end < len(ordered), "endCursor": _cursor(end) if chunk else None},
                        "nodes": chunk,
                    },
                },
                "extensions": {
                    "cost": {
                        "requestedQueryCost": 100,
                        "actualQueryCost": 12,
                        "throttleStatus": {
                            "maximumAvailable": 2000.0,
                            "currentlyAvailable": 1988,
                            "restoreRate": 100.0,
                        },
                    }
                },
            }


def _naive(value: str) -> datetime:
    """A WordPress date as the store compares it: to the second, no zone."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _wp_invalid(param: str, message: str) -> tuple[int, Any, dict[str, str]]:
    body = {
        "code": "rest_invalid_param",
        "message": f"Invalid parameter(s): {param}",
        "data": {"status": 400, "params": {param: message}},
    }
    return 400, body, {}


def _error(message: str, code: str | None) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code} if code else {}}]}


def shopify_order_node(
    order_id: int,
    *,
    created: str,
    updated: str,
    lines: list[tuple[int, str, int, str]],
    total: str,
    financial: str = "PAID",
    email: str = "ada.lovelace@example.com",
) -> dict[str, Any]:
    """An Order node shaped as shopify.dev's Order object (2026-10) names its fields; `lines` are
    (line item id, sku, quantity, unit price)."""
    return {
        "id": f"gid://shopify/Order/{order_id}",
        "legacyResourceId": str(order_id),
        "name": f"#{order_id % 10000}",
        "email": email,
        "currencyCode": "USD",
        "totalPriceSet": {"shopMoney": {"amount": total, "currencyCode": "USD"}},
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": "UNFULFILLED",
        "cancelledAt": None,
        "cancelReason": None,
        "createdAt": created,
        "updatedAt": updated,
        "customer": {
            "legacyResourceId": "6940095564049",
            "email": email,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phone": None,
        },
        "shippingAddress": {
            "name": "Ada Lovelace",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": None,
            "address1": "12 Analytical Row",
            "address2": None,
            "city": "Boston",
            "provinceCode": "MA",
            "zip": "02110",
            "countryCodeV2": "US",
            "phone": None,
        },
        "lineItems": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{line_id}",
                    "sku": sku,
                    "title": sku.title(),
                    "quantity": quantity,
                    "requiresShipping": True,
                    "isGiftCard": False,
                    "product": {"legacyResourceId": str(7712334455000 + n)},
                    "variant": {"legacyResourceId": str(42500112233000 + n)},
                    "originalUnitPriceSet": {"shopMoney": {"amount": price, "currencyCode": "USD"}},
                }
                for n, (line_id, sku, quantity, price) in enumerate(lines, start=1)
            ],
        },
        "fulfillments": [],
        "refunds": [],
    }
