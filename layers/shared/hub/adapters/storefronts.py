"""Writing a shipped fulfilment, with its tracking, back to the order's storefront.

Each writer first reads what the storefront already has, so that writing the same fulfilment
twice (a redelivery, or a retry after the write succeeded but was not recorded) writes once:

- Shopify (GraphQL Admin, the version pinned in hub.vendor_versions): read the order's fulfillment
  orders (with their assigned location) and fulfilments. What fulfilments under the same tracking
  number already hold is there; the rest is written with one `fulfillmentCreate` per Shopify
  location, since the mutation takes fulfillment orders "assigned to the same location" only:
  `trackingInfo` {company, number, url} and `notifyCustomer`, for the whole open fulfillment orders
  when the fulfilment is the whole order, else for its lines (matched by line item id, then SKU;
  fulfillment orders at the Shopify location of the hub's location first). A `SCHEDULED`
  fulfillment order the fulfilment needs is first opened with `fulfillmentOrderOpen` (the goods
  have left: Shopify documents opening as how an order management app makes a scheduled order
  fulfillable now); `ON_HOLD` and closed ones are never written to. A retry after some locations
  were written reads them back under the tracking number and writes only the others.
- WooCommerce (REST v3, the consumer key and secret as HTTP Basic or query parameters): a customer note carrying the
  tracking unless a note already names the tracking number; then, once the whole order has
  shipped, `PUT /orders/{id}` with status `completed` (an absolute value, safe to repeat).
- Magento (REST, OAuth 1.0a or bearer: hub.adapters.storefront_auth): look for a shipment of the
  order with the tracking number; else `POST /V1/order/{id}/ship` with the items (order item ids)
  and tracks, whose `carrier_code` is Commerce's own (`ups`, `usps`, `fedex`, `dhl`, else `custom`)
  and whose `title` names the carrier.

Base URLs come from the channel's configuration (`shop_domain`, `site_url`; `api_url` overrides
both, for tests and the local stack); credentials from the hub secret, never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from hub.adapters.http import check, outbound_client, vendor_error
from hub.adapters.storefront_auth import magento_client, required_secret, woocommerce_client
from hub.config import ChannelConfig, HubConfig
from hub.domain.orders import Fulfilment, Order, OrderStatus
from hub.domain.platforms import STOREFRONTS
from hub.errors import OutboundError
from hub.secrets import SecretsProvider
from hub.vendor_versions import SHOPIFY_ADMIN_API_VERSION

__all__ = [
    "FULFILLMENT_CREATE",
    "FULFILLMENT_ORDER_OPEN",
    "ORDER_FULFILMENTS_QUERY",
    "SHOPIFY_API_VERSION",
    "StorefrontWriters",
    "WriteResult",
    "magento_carrier_code",
]

SHOPIFY_API_VERSION = SHOPIFY_ADMIN_API_VERSION
_WRITE_BACK = "writing shipments back to"


@dataclass(frozen=True)
class WriteResult:
    platform: str
    reference: str | None = None
    skipped: str | None = None  # why nothing was written (already there, no API configured)
    known: bool = True  # the storefront has the fulfilment now (False: no API to tell it)


class _Writer(Protocol):
    """This module's own per-platform writers (private: the core calls StorefrontWriter in hub.ports)."""

    def write(self, order: Order, fulfilment: Fulfilment, platform_order_id: str) -> WriteResult: ...


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise OutboundError(f"{what} answered with a body that is not JSON", response.status_code) from exc


def _whole_order(order: Order, fulfilment: Fulfilment) -> bool:
    wanted: dict[str, int] = {}
    for line in order.lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    for line in fulfilment.lines:
        wanted[line.sku] = wanted.get(line.sku, 0) - line.quantity
    return all(v <= 0 for v in wanted.values())


def _note(fulfilment: Fulfilment) -> str:
    parts = [f"Shipped with {fulfilment.carrier or 'the carrier'}"]
    if fulfilment.service:
        parts[0] += f" ({fulfilment.service})"
    parts.append(f"tracking number {fulfilment.tracking_number}")
    if fulfilment.tracking_url:
        parts.append(fulfilment.tracking_url)
    return ", ".join(parts) + "."


# ---------------------------------------------------------------------------------------- Shopify
ORDER_FULFILMENTS_QUERY = """query OrderFulfilments($id: ID!) {
  order(id: $id) {
    fulfillments(first: 50) {
      id
      status
      trackingInfo(first: 10) { number }
      fulfillmentLineItems(first: 100) { nodes { quantity lineItem { id sku } } }
    }
    fulfillmentOrders(first: 50) {
      nodes {
        id
        status
        assignedLocation { location { id } }
        lineItems(first: 100) { nodes { id remainingQuantity lineItem { id sku } } }
      }
    }
  }
}"""

FULFILLMENT_CREATE = """mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}"""

FULFILLMENT_ORDER_OPEN = """mutation FulfillmentOrderOpen($id: ID!) {
  fulfillmentOrderOpen(id: $id) {
    fulfillmentOrder { id status }
    userErrors { field message }
  }
}"""

# Fulfillment orders a fulfilment can be created for (SCHEDULED once opened); ON_HOLD, CLOSED,
# CANCELLED and INCOMPLETE cannot be.
_FULFILLABLE = {"OPEN", "IN_PROGRESS", "SCHEDULED"}


def _line_id(gid: object) -> str:
    return str(gid or "").rsplit("/", 1)[-1]


class ShopifyWriter:
    def __init__(
        self, client: httpx.Client, notify_customer: bool = True, location_for: dict[str, str] | None = None
    ) -> None:
        self._client = client
        self._notify = notify_customer
        self._path = f"/admin/api/{SHOPIFY_API_VERSION}/graphql.json"
        self._location_for = dict(location_for or {})  # hub location -> Shopify location id

    def _graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        response = check(self._client.post(self._path, json={"query": query, "variables": variables}), what)
        body = _json(response, what)
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            # Codes and the request id only: GraphQL messages can quote the values sent.
            said = vendor_error(response)
            codes = set((said.code or "").split(", "))
            # THROTTLED comes back as 200 with an error: fail the record so it is retried later.
            raise OutboundError(
                f"{what} failed: {said.code or 'errors without a code'}"
                + (f" (request id {said.request_id})" if said.request_id else ""),
                429 if "THROTTLED" in codes else None,
                code=said.code,
                request_id=said.request_id,
            )
        return body.get("data") or {}

    @staticmethod
    def _refused(result: dict[str, Any], what: str) -> None:
        user_errors = result.get("userErrors") or []
        if user_errors:
            # The fields Shopify names, not its messages, which can quote the values sent.
            fields = sorted({".".join(str(p) for p in e.get("field") or []) or "-" for e in user_errors})
            raise OutboundError(f"Shopify {what} refused the fulfilment: fields {', '.join(fields)}", 422)

    def write(self, order: Order, fulfilment: Fulfilment, platform_order_id: str) -> WriteResult:
        gid = f"gid://shopify/Order/{platform_order_id}"
        data = self._graphql(ORDER_FULFILMENTS_QUERY, {"id": gid}, "Shopify order fulfilments query")
        found = data.get("order")
        if not found:
            raise OutboundError(f"Shopify has no order {platform_order_id}", 404)
        ours = [
            f
            for f in found.get("fulfillments") or []
            if f.get("status") != "CANCELLED"
            and fulfilment.tracking_number in {t.get("number") for t in f.get("trackingInfo") or []}
        ]
        fulfillable = [
            fo for fo in (found.get("fulfillmentOrders") or {}).get("nodes", []) if fo.get("status") in _FULFILLABLE
        ]
        preferred = self._location_for.get(fulfilment.location or "")
        fulfillable.sort(key=lambda fo: _location_of(fo) != preferred)
        if _whole_order(order, fulfilment):
            groups: dict[str, list[dict[str, Any]]] = {}
            for fo in fulfillable:
                groups.setdefault(_location_of(fo), []).append({"fulfillmentOrderId": fo["id"]})
        else:
            wanted = self._still_wanted(fulfilment, ours)
            if not wanted:
                return WriteResult("shopify", ours[0].get("id"), skipped="already on the storefront")
            groups = self._lines(fulfillable, wanted)
        if not groups:
            if ours:
                return WriteResult("shopify", ours[0].get("id"), skipped="already on the storefront")
            return WriteResult("shopify", skipped="Shopify has no open fulfillment order left for it")
        scheduled = {fo["id"] for fo in fulfillable if fo.get("status") == "SCHEDULED"}
        created = [f.get("id") for f in ours]
        for by_order in groups.values():
            for item in by_order:
                if item["fulfillmentOrderId"] in scheduled:
                    self._open(item["fulfillmentOrderId"])
            created.append(self._create(by_order, fulfilment))
        return WriteResult("shopify", ",".join(str(c) for c in created if c) or None)

    def _open(self, fulfillment_order_id: str) -> None:
        what = "Shopify fulfillmentOrderOpen"
        data = self._graphql(FULFILLMENT_ORDER_OPEN, {"id": fulfillment_order_id}, what)
        self._refused(data.get("fulfillmentOrderOpen") or {}, "fulfillmentOrderOpen")

    def _create(self, by_order: list[dict[str, Any]], fulfilment: Fulfilment) -> str | None:
        variables = {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": by_order,
                "trackingInfo": {
                    "company": fulfilment.carrier,
                    "number": fulfilment.tracking_number,
                    "url": fulfilment.tracking_url,
                },
                "notifyCustomer": self._notify,
            }
        }
        data = self._graphql(FULFILLMENT_CREATE, variables, "Shopify fulfillmentCreate")
        result = data.get("fulfillmentCreate") or {}
        self._refused(result, "fulfillmentCreate")
        return (result.get("fulfillment") or {}).get("id")

    @staticmethod
    def _still_wanted(fulfilment: Fulfilment, ours: list[dict[str, Any]]) -> list[_Wanted]:
        """The fulfilment's lines not yet under its tracking number on Shopify."""
        wanted = [_Wanted(line.platform_line_id, line.sku, line.quantity) for line in fulfilment.lines]
        for existing in ours:
            for node in (existing.get("fulfillmentLineItems") or {}).get("nodes", []):
                item = node.get("lineItem") or {}
                held = int(node.get("quantity") or 0)
                for want in wanted:
                    if held <= 0 or want.quantity <= 0:
                        continue
                    if (want.line_id and want.line_id == _line_id(item.get("id"))) or (
                        not want.line_id and want.sku == item.get("sku")
                    ):
                        take = min(held, want.quantity)
                        want.quantity -= take
                        held -= take
        return [w for w in wanted if w.quantity > 0]

    @staticmethod
    def _lines(fulfillable: list[dict[str, Any]], wanted: list[_Wanted]) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for fo in fulfillable:
            items = []
            for node in (fo.get("lineItems") or {}).get("nodes", []):
                remaining = int(node.get("remainingQuantity") or 0)
                item = node.get("lineItem") or {}
                line_id = _line_id(item.get("id"))
                for want in wanted:
                    if want.quantity <= 0 or remaining <= 0:
                        continue
                    if (want.line_id and want.line_id == line_id) or (not want.line_id and want.sku == item.get("sku")):
                        take = min(want.quantity, remaining)
                        items.append({"id": node["id"], "quantity": take})
                        want.quantity -= take
                        remaining -= take
            if items:
                groups.setdefault(_location_of(fo), []).append(
                    {"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items}
                )
        if any(want.quantity > 0 for want in wanted):
            missing = ", ".join(f"{w.sku} x{w.quantity}" for w in wanted if w.quantity > 0)
            raise OutboundError(f"Shopify's open fulfillment orders do not hold {missing}", 409)
        return groups


@dataclass
class _Wanted:
    """Units of one of a fulfilment's lines not yet placed on Shopify, taken down as they are."""

    line_id: str | None  # the Shopify line item id, when the order recorded it
    sku: str
    quantity: int


def _location_of(fulfillment_order: dict[str, Any]) -> str:
    """The Shopify location id a fulfillment order is assigned to ("" when Shopify did not say)."""
    assigned = fulfillment_order.get("assignedLocation") or {}
    return _line_id((assigned.get("location") or {}).get("id"))


# ------------------------------------------------------------------------------------ WooCommerce
class WooCommerceWriter:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def write(self, order: Order, fulfilment: Fulfilment, platform_order_id: str) -> WriteResult:
        base = f"/wp-json/wc/v3/orders/{platform_order_id}"
        notes = _json(check(self._client.get(f"{base}/notes"), "WooCommerce order notes read"), "WooCommerce notes")
        existing = next(
            (n for n in notes or [] if fulfilment.tracking_number and fulfilment.tracking_number in str(n.get("note"))),
            None,
        )
        reference = str(existing["id"]) if existing and existing.get("id") is not None else None
        if existing is None:
            response = self._client.post(f"{base}/notes", json={"note": _note(fulfilment), "customer_note": True})
            created = _json(check(response, "WooCommerce order note"), "WooCommerce order note")
            reference = str(created.get("id")) if isinstance(created, dict) and created.get("id") is not None else None
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            check(self._client.put(base, json={"status": "completed"}), "WooCommerce order status update")
        return WriteResult("woocommerce", reference)


# ---------------------------------------------------------------------------------------- Magento
# The carriers Commerce ships with (its UPS, USPS, FedEx and DHL modules), by the names EasyPost and
# Shippo give them; any other carrier is `custom`, and the track's title says which it is.
_MAGENTO_CARRIERS = {
    "ups": "ups",
    "usps": "usps",
    "fedex": "fedex",
    "dhl": "dhl",
    "dhlexpress": "dhl",
}


def magento_carrier_code(carrier: str | None) -> str:
    """Commerce's carrier code for a carrier name: `ups`, `usps`, `fedex`, `dhl`, else `custom`."""
    name = "".join(ch for ch in (carrier or "").lower() if ch.isalnum())
    return _MAGENTO_CARRIERS.get(name, "custom")


class MagentoWriter:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def write(self, order: Order, fulfilment: Fulfilment, platform_order_id: str) -> WriteResult:
        params = {
            "searchCriteria[filterGroups][0][filters][0][field]": "order_id",
            "searchCriteria[filterGroups][0][filters][0][value]": platform_order_id,
            "searchCriteria[filterGroups][0][filters][0][conditionType]": "eq",
        }
        found = _json(check(self._client.get("/rest/V1/shipments", params=params), "Magento shipments read"), "")
        for shipment in (found or {}).get("items") or []:
            if any(t.get("track_number") == fulfilment.tracking_number for t in shipment.get("tracks") or []):
                return WriteResult("magento", str(shipment.get("entity_id")), skipped="already on the storefront")
        body: dict[str, Any] = {
            "notify": True,
            "tracks": [
                {
                    "track_number": fulfilment.tracking_number,
                    "title": fulfilment.carrier or "Carrier",
                    "carrier_code": magento_carrier_code(fulfilment.carrier),
                }
            ],
        }
        if not _whole_order(order, fulfilment):
            numbered = [(ln.platform_line_id, ln.quantity) for ln in fulfilment.lines if ln.platform_line_id]
            if len(numbered) < len(fulfilment.lines):
                raise OutboundError(f"Magento needs order item ids to ship part of {order.order_id}", 409)
            body["items"] = [{"order_item_id": int(line_id), "qty": qty} for line_id, qty in numbered]
        response = check(self._client.post(f"/rest/V1/order/{platform_order_id}/ship", json=body), "Magento ship")
        shipment_id = _json(response, "Magento ship")
        return WriteResult("magento", str(shipment_id))


# ---------------------------------------------------------------------------------------- choice
class StorefrontWriters:
    """Picks the writer for an order's channel; writes nothing for channels without an API configured."""

    def __init__(
        self,
        config: HubConfig,
        secrets: SecretsProvider,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._config = config
        self._secrets = secrets
        self._transport = transport

    def _secret(self, name: str, channel: str) -> str:
        return required_secret(self._secrets, name, channel, _WRITE_BACK)

    def _channel(self, channel: str) -> ChannelConfig | None:
        configured = self._config.channels.get(channel)
        if configured is not None:
            return configured
        if channel in STOREFRONTS:
            return ChannelConfig(platform=channel)
        return None

    def writer(self, channel: str) -> tuple[str, _Writer | None, str | None]:
        """(platform, writer or None, why none)."""
        config = self._channel(channel)
        if config is None:
            return "unknown", None, f"channel {channel} is not a storefront the hub knows"
        platform = config.platform
        if platform == "shopify":
            base = config.api_url or (f"https://{config.shop_domain}" if config.shop_domain else None)
            if not base:
                return platform, None, f"channel {channel} has no shop_domain configured"
            token = self._secret("SHOPIFY_ACCESS_TOKEN", channel)
            client = outbound_client(base, headers={"X-Shopify-Access-Token": token}, transport=self._transport)
            # The Shopify location of each hub location, where the channel maps them.
            hub_locations = self._config.location_ids()
            location_for = {}
            for hub_location in hub_locations:
                sells, platform_location = config.sells_from(hub_location, hub_locations)
                if sells and platform_location:
                    location_for[hub_location] = platform_location
            return platform, ShopifyWriter(client, location_for=location_for), None
        if platform == "woocommerce":
            base = config.api_url or config.site_url
            if not base:
                return platform, None, f"channel {channel} has no site_url configured"
            client = woocommerce_client(channel, config, base, self._secrets, _WRITE_BACK, transport=self._transport)
            return platform, WooCommerceWriter(client), None
        if platform == "magento":
            base = config.api_url or config.site_url
            if not base:
                return platform, None, f"channel {channel} has no site_url configured"
            client = magento_client(channel, config, base, self._secrets, _WRITE_BACK, transport=self._transport)
            return platform, MagentoWriter(client), None
        return platform, None, f"write-back to {platform} is not supported yet"

    def write(self, order: Order, fulfilment: Fulfilment) -> WriteResult:
        platform, writer, why = self.writer(order.channel)
        if writer is None:
            return WriteResult(platform, skipped=why, known=False)
        platform_order_id = order.order_id.split(":", 1)[1] if ":" in order.order_id else order.order_id
        return writer.write(order, fulfilment, platform_order_id)
