"""The canonical event vocabulary: one versioned envelope, typed data, deterministic ids.

Every source's webhook becomes one or more of these; every consumer reads only these. On the bus
an event travels as EventBridge `detail`, with `detail-type` = the event's `type` and
`source` = "commerce-hub.<source>".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.config import JsonDict

__all__ = [
    "BUS_SOURCE_PREFIX",
    "EVENT_TYPES",
    "MAX_LINE_QUANTITY",
    "MAX_STOCK_LEVEL",
    "PERSONAL",
    "RESERVED_TOPIC",
    "SCHEMA_VERSION",
    "CatalogItem",
    "CatalogOptionData",
    "CheckoutData",
    "Consent",
    "CustomerData",
    "CustomerErasedData",
    "DisputeData",
    "FulfilmentLine",
    "FulfilmentPlan",
    "FulfilmentShippedData",
    "FulfilmentWrittenBackData",
    "HubEvent",
    "LineItem",
    "LowStockData",
    "MarketingMessageData",
    "OrderCancelledData",
    "OrderData",
    "OrderFulfilledData",
    "OrderPaidData",
    "OrderReference",
    "OrderRoutedData",
    "OrderStatusData",
    "PaymentData",
    "PaymentRefundData",
    "ProductData",
    "ProductPublishedData",
    "ProfileChangedData",
    "ProviderRef",
    "RedactionData",
    "RefundData",
    "RefundLine",
    "ResourceFetchData",
    "ShipmentLine",
    "ShipmentTrackedData",
    "ShippingAddress",
    "StatusChangeData",
    "StockLevelData",
    "StockReportData",
    "StockShortageData",
    "StorefrontFulfilmentRef",
    "TrackingStatus",
    "event_id_for",
    "hub_event",
    "parse_event",
    "personal_paths",
]

SCHEMA_VERSION: Final = 1
BUS_SOURCE_PREFIX = "commerce-hub."
# The most units one order line (or refund or shipment line) may carry. No real order comes near
# it; a line above it is a body the hub refuses (400), not a quantity it reserves.
MAX_LINE_QUANTITY = 1_000_000
# The most units a reported stock level may hold, either way (levels may be negative when oversold).
MAX_STOCK_LEVEL = 1_000_000_000
# The provider topic of StockLevelChanged for units an order's reservation took: the level only
# ever falls by it (marketing's rule leaves these events out: a fall brings nothing back in stock).
RESERVED_TOPIC = "inventory/reserved"
# Marks a field as personal data: the publisher seals it under its subject's data key, and an
# erasure that deletes the key makes every copy of it unreadable (hub.shredding).
PERSONAL: JsonDict = {"personal": True}

Source = Literal[
    "shopify", "woocommerce", "bigcommerce", "magento", "stripe", "paypal", "square", "easypost", "shippo", "hub"
]


def event_id_for(source: str, *provider_ids: str) -> str:
    """A redelivery of the same provider event always maps to the same canonical id."""
    digest = hashlib.sha256("\x1f".join((source, *provider_ids)).encode()).hexdigest()
    return f"evt_{digest[:32]}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderRef(_Model):
    """The provider's own ids for the delivery this event came from."""

    topic: str
    event_id: str | None = None
    delivery_id: str | None = None
    account: str | None = Field(default=None, description="shop domain, site URL or store hash")
    triggered_at: datetime | None = None


class LineItem(_Model):
    """One line of an order or checkout: every line the storefront sent, none dropped.

    `sku` is the SKU stock is kept under; a line without a SKU is named by its platform ids
    (hub.intake.lines, docs/stock.md). `stocked` is False for what holds no stock (downloadable
    and virtual products, gift cards, lines that need no shipping): recorded, never reserved.
    """

    sku: str = Field(min_length=1, description="the SKU, else the line's platform key (docs/stock.md)")
    quantity: int = Field(gt=0, le=MAX_LINE_QUANTITY)
    unit_price: int = Field(description="minor units of the order currency")
    title: str | None = None
    platform_line_id: str | None = None
    stocked: bool = Field(default=True, description="False: recorded but never reserved (digital, gift card)")


class ShippingAddress(_Model):
    """Where the order ships to: personal data, carried for the carrier label and never logged."""

    name: str | None = None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = Field(default=None, description="state, province or region code")
    postal_code: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    phone: str | None = None
    email: str | None = None


class ShipmentLine(_Model):
    sku: str | None = None
    quantity: int = Field(gt=0, le=MAX_LINE_QUANTITY)


class StorefrontFulfilmentRef(_Model):
    """A storefront fulfilment an order snapshot states, and the OrderFulfilled that reports it."""

    fulfilment_id: str | None = Field(default=None, description="the storefront's own fulfilment id")
    event_id: str = Field(description="the event_id of the OrderFulfilled the same delivery publishes for it")


class OrderData(_Model):
    order_id: str = Field(description="{channel}:{platform order id}")
    platform_order_id: str
    order_number: str | None = None
    currency: str = Field(min_length=3, max_length=3)
    total: int = Field(description="minor units")
    paid: bool = Field(description="the storefront reports the order as paid")
    cancelled: bool = Field(default=False, description="the storefront reports the order as cancelled")
    customer_email: str | None = Field(default=None, json_schema_extra=PERSONAL)
    shipping_country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    shipping_address: ShippingAddress | None = Field(default=None, json_schema_extra=PERSONAL)
    lines: list[LineItem]
    updated_at: datetime | None = Field(default=None, description="the time of the state this snapshot states")
    checkout_id: str | None = Field(
        default=None, description="the CheckoutStarted checkout this order completed, when the storefront links them"
    )
    storefront_fulfilments: list[StorefrontFulfilmentRef] = Field(
        default_factory=list,
        description="the storefront's own fulfilments this snapshot states, each published by the same delivery "
        "as an OrderFulfilled; the hub routes none of the order until each is applied",
    )
    storefront_shipped: list[ShipmentLine] = Field(
        default_factory=list,
        description="units this snapshot says the storefront shipped that no OrderFulfilled of the same delivery "
        "reports (WooCommerce completed, BigCommerce shipped, Adobe Commerce qty_shipped): recorded as shipped "
        "by the storefront when the order is recorded, never labelled by the hub",
    )


class StockShortageData(_Model):
    order_id: str
    shortages: dict[str, int] = Field(description="sku -> units that could not be reserved")


class StockLevelData(_Model):
    sku: str
    location: str
    available: int = Field(description="units available at the location after the change")
    previous: int | None = None
    origin: str = Field(description="where the change came from: 'admin', the channel of the order or level, or 'hub'")
    total_available: int | None = Field(default=None, description="the SKU's units available at every location")
    version: int | None = Field(default=None, description="the location's change counter after the change")
    order_id: str | None = Field(
        default=None, description="the order whose reservation, release or shipment moved the units (its lineage)"
    )


class LowStockData(_Model):
    sku: str
    available: int = Field(description="the SKU's units available at every location")
    threshold: int
    locations: dict[str, int] = Field(default_factory=dict, description="location -> units available")


class CatalogItem(_Model):
    """One sellable item of a product and its platform ids."""

    sku: str = Field(min_length=1)
    platform_item_id: str | None = Field(default=None, description="Shopify inventory item")
    platform_variation_id: str | None = Field(default=None, description="Shopify variant, WooCommerce variation")
    price: str | None = Field(
        default=None,
        description="the variant's price as the storefront wrote it (a decimal string in the store's currency, "
        "which product webhooks do not name: catalog.channels.<name>.currency does); None when not sent",
    )
    compare_at_price: str | None = Field(default=None, description="the same, of the compare-at (regular) price")
    option_values: list[str] = Field(default_factory=list, description="its value of each product option, in order")


class CatalogOptionData(_Model):
    """A product option (Size) and its values, in the storefront's order."""

    name: str
    values: list[str] = Field(default_factory=list)


class ProductData(_Model):
    """A storefront product's items, with the ids that stock levels and stock pushes use, and the
    catalog content when the storefront sent it (every catalog field optional: older events and
    deliveries that carry ids only still parse; `catalog` False marks those)."""

    platform_product_id: str
    items: list[CatalogItem]
    updated_at: datetime | None = None
    catalog: bool = Field(default=False, description="the catalog fields below were read from the product")
    title: str | None = None
    description: str | None = Field(default=None, description="HTML, as the storefront keeps it")
    status: Literal["active", "draft", "archived"] | None = None
    url: str | None = Field(default=None, description="the product page on the storefront, when known")
    images: list[str] = Field(default_factory=list, description="image URLs, the main image first")
    options: list[CatalogOptionData] = Field(default_factory=list)
    currency: str | None = Field(default=None, description="the store currency, when the payload names it")
    deleted: bool = Field(default=False, description="the storefront deleted the product")


class ProductPublishedData(_Model):
    """A product that became active in the hub's catalog for the first time."""

    product_key: str = Field(description="the hub's product key (docs/catalog.md)")
    title: str
    url: str | None = None
    image: str | None = Field(default=None, description="the main image's URL")
    currency: str = Field(min_length=3, max_length=3)
    price: int = Field(description="minor units: the first variant's price")
    skus: list[str]
    channel: str = Field(description="the channel whose records made it active (the master, or 'hub')")


class OrderStatusData(_Model):
    """A storefront's own view of an order that changed (WooCommerce derives it from `status`)."""

    order_id: str
    platform_order_id: str
    platform_status: str | None = Field(default=None, description="the status as the platform names it")
    currency: str | None = None
    total: int | None = Field(default=None, description="minor units")
    paid: bool | None = None
    cancelled: bool | None = None
    refunded_total: int | None = Field(default=None, description="minor units refunded so far")
    updated_at: datetime | None = None


class OrderPaidData(_Model):
    order_id: str
    amount: int = Field(description="minor units")
    currency: str
    payment_reference: str | None = Field(default=None, description="the platform's transaction or invoice id")


class OrderCancelledData(_Model):
    order_id: str
    reason: str | None = None


class OrderFulfilledData(_Model):
    order_id: str
    fulfilment_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)


class RefundLine(_Model):
    sku: str | None = None
    quantity: int = Field(ge=0, le=MAX_LINE_QUANTITY)
    restock: bool = True


class RefundData(_Model):
    """A refund the storefront itself recorded."""

    order_id: str
    refund_id: str
    amount: int = Field(description="minor units; 0 for a restock-only refund")
    currency: str | None = Field(default=None, description="None only when no money moved")
    lines: list[RefundLine] = Field(default_factory=list)
    reason: str | None = None


Gateway = Literal["stripe", "paypal", "square"]


class OrderReference(_Model):
    """How a gateway payment points at a storefront order (filled by the storefront's plugin)."""

    order_id: str | None = Field(default=None, description="the storefront's order id or number, as sent")
    order_key: str | None = Field(default=None, description="WooCommerce order_key")
    site_url: str | None = None
    invoice_id: str | None = Field(default=None, description="PayPal invoice_id (prefix + order number)")
    channel: str | None = Field(default=None, description="the channel, when the payment says")


class PaymentData(_Model):
    gateway: Gateway
    payment_id: str = Field(description="PaymentIntent, capture or payment id")
    amount: int = Field(description="minor units")
    currency: str
    reference: OrderReference = Field(default_factory=OrderReference)
    customer_email: str | None = Field(default=None, json_schema_extra=PERSONAL)
    failure_reason: str | None = None


class PaymentRefundData(_Model):
    gateway: Gateway
    payment_id: str
    refund_id: str
    amount: int = Field(description="minor units refunded by this refund")
    currency: str
    payment_amount: int | None = Field(default=None, description="minor units of the original payment")
    reference: OrderReference = Field(default_factory=OrderReference)
    status: str | None = Field(default=None, description="pending, completed, failed (as the gateway says)")


class DisputeData(_Model):
    gateway: Gateway
    dispute_id: str
    payment_id: str | None = None
    amount: int | None = Field(default=None, description="minor units")
    currency: str | None = None
    status: Literal["opened", "won", "lost", "closed"]
    reason: str | None = None
    reference: OrderReference = Field(default_factory=OrderReference)


class CheckoutData(_Model):
    checkout_id: str
    customer_email: str | None = Field(default=None, json_schema_extra=PERSONAL)
    currency: str | None = None
    total: int | None = Field(default=None, description="minor units")
    lines: list[LineItem] = Field(default_factory=list)
    recovery_url: str | None = Field(default=None, json_schema_extra=PERSONAL)
    completed: bool = False
    updated_at: datetime | None = None


class Consent(_Model):
    email_marketing: bool | None = None
    sms_marketing: bool | None = None


class CustomerData(_Model):
    email: str | None = Field(default=None, json_schema_extra=PERSONAL)
    platform_customer_id: str | None = None
    first_name: str | None = Field(default=None, json_schema_extra=PERSONAL)
    last_name: str | None = Field(default=None, json_schema_extra=PERSONAL)
    phone: str | None = Field(default=None, json_schema_extra=PERSONAL)
    consent: Consent = Field(default_factory=Consent)
    updated_at: datetime | None = None


class StockReportData(_Model):
    """A level a storefront or POS set: the new available units at one platform location."""

    sku: str | None = Field(default=None, description="None when only platform ids are known")
    available: int = Field(ge=-MAX_STOCK_LEVEL, le=MAX_STOCK_LEVEL)
    platform_location_id: str | None = None
    platform_item_id: str | None = Field(default=None, description="Shopify inventory item, Square catalog object")
    platform_product_id: str | None = None
    platform_variation_id: str | None = None
    updated_at: datetime | None = None


class RedactionData(_Model):
    """A privacy request. Carries the ids needed to act on it; the email only while it must."""

    scope: Literal["customer", "shop"]
    shop: str | None = None
    platform_customer_id: str | None = None
    email: str | None = Field(default=None, json_schema_extra=PERSONAL)
    order_ids: list[str] = Field(default_factory=list)
    request_id: str | None = None


class CustomerErasedData(_Model):
    """A privacy request carried out. The customer is named only by a salted, non-reversible key."""

    erasure_key: str | None = Field(
        default=None,
        description="the customer's erasure key (the profile's erasure_key); None for orders of no known customer",
    )
    scope: Literal["customer", "shop"]
    request_id: str | None = Field(default=None, description="the platform's request id, else the request's event id")
    erased_before: datetime = Field(description="facts up to this time are gone, and refused if they come again")
    profile_erased: bool = Field(description="no profile is left (else one lives on from other channels)")
    order_ids: list[str] = Field(default_factory=list, description="orders whose personal data was erased")


class ProfileChangedData(_Model):
    """A customer's profile was derived again (published only when ad audiences are configured)."""

    email: str = Field(json_schema_extra=PERSONAL)
    erasure_key: str = Field(description="the customer's erasure key (the profile's erasure_key)")


class AppUninstalledData(_Model):
    shop: str


class ResourceFetchData(_Model):
    """A verified delivery that names a resource the hub could not fetch yet (BigCommerce sends ids
    only; a WooCommerce variable product's variations and a thin Adobe Commerce product save are read
    further for catalog sync).

    Carries what the later fetch needs to publish the canonical event with the provider ids and time
    it would have had if the fetch had succeeded at intake, and an id derived the same way.
    """

    platform: Literal["bigcommerce", "woocommerce", "magento"]
    resource: Literal["order", "customer", "product", "variant", "variations"]
    resource_id: str
    parent_id: str | None = Field(default=None, description="the product of a variant")
    store_hash: str = Field(
        description="the store: a BigCommerce store hash, a WooCommerce site URL, an Adobe I/O event source"
    )
    scope: str = Field(description="the platform's event name, e.g. store/order/created, product.updated")
    payload_hash: str = Field(
        description="the platform's own hash of the payload's data (BigCommerce); the delivery's modification "
        "time or Adobe event id otherwise"
    )
    body: dict[str, Any] | None = Field(
        default=None,
        description="the delivery's product document as it came (WooCommerce, Adobe Commerce): the event is "
        "built from it and the read together; catalog content, no personal data",
    )
    dedupe_key: str = Field(description="how intake recognised this delivery (its webhook-id)")
    canonical_event_id: str | None = Field(
        default=None,
        description="the id the fetched event carries, when it is known before the read (an order's placement); "
        "an update's id depends on the state the read returns",
    )
    reason: str | None = Field(default=None, description="why the fetch at intake failed")


class FulfilmentLine(_Model):
    sku: str
    quantity: int = Field(gt=0)


class FulfilmentPlan(_Model):
    fulfilment_id: str
    location: str | None = None
    lines: list[FulfilmentLine]


class OrderRoutedData(_Model):
    order_id: str
    fulfilments: list[FulfilmentPlan]
    split: bool = Field(description="the order ships from more than one location")


class FulfilmentShippedData(_Model):
    order_id: str
    fulfilment_id: str
    location: str | None = None
    origin: str = Field(description="carrier, admin, or the storefront channel that shipped it")
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    lines: list[FulfilmentLine] = Field(default_factory=list)


class FulfilmentWrittenBackData(_Model):
    order_id: str
    fulfilment_id: str
    channel: str
    platform: str
    reference: str | None = Field(default=None, description="the storefront's fulfilment, shipment or note id")
    skipped: str | None = Field(default=None, description="why nothing was written (already there, no API)")


TrackingStatus = Literal[
    "pre_transit", "in_transit", "out_for_delivery", "delivered", "returned", "failure", "cancelled", "unknown"
]


class ShipmentTrackedData(_Model):
    """A carrier's tracking update, in the hub's words."""

    carrier: str | None = None
    tracking_number: str
    status: TrackingStatus
    status_detail: str | None = None
    tracker_id: str | None = Field(default=None, description="the carrier API's tracker or track id")
    shipment_id: str | None = Field(default=None, description="the carrier API's shipment or transaction id")
    reference: str | None = Field(default=None, description="what the hub set on the shipment (fulfilment id)")


class MarketingMessageData(_Model):
    """One marketing message sent to one customer. No personal data: the customer is a key.

    `channel` is the messaging channel (email, sms, klaviyo, mailchimp); the envelope's `channel` is
    the storefront channel the message was about.
    """

    customer: str = Field(
        description=(
            "the customer key: the erasure key, an HMAC-SHA256 of the normalised email with the"
            " deployment's salt (hub.domain.pii.customer_key); never an email or a bare hash of one"
        )
    )
    channel: str = Field(description="the messaging channel: email, sms, klaviyo, mailchimp")
    trigger: str = Field(description="the rule that sent it, e.g. post_purchase, abandoned_checkout, win_back")
    sent_at: datetime


class StatusChangeData(_Model):
    order_id: str
    previous: str | None = Field(default=None, description="None when the order was just recorded")
    status: str
    hold_reason: str | None = None
    reserved: bool = Field(description="every unit of the order is held at a location")
    cause_event_id: str = Field(description="the event that made the change")


class _Event(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str
    source: Source
    channel: str
    occurred_at: datetime = Field(description="when it happened at the source")
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    provider: ProviderRef


class OrderPlaced(_Event):
    """A storefront reported an order, whole: its creation, or any later delivery carrying the whole order.

    `occurred_at` is the order's creation time. Whichever placement arrives first records the order
    in the state it states; a later one changes nothing.
    """

    type: Literal["OrderPlaced"] = "OrderPlaced"
    data: OrderData


class OrderUpdated(_Event):
    """A storefront reported a change to an order (status, payment, refunds)."""

    type: Literal["OrderUpdated"] = "OrderUpdated"
    data: OrderStatusData


class OrderPaid(_Event):
    """A storefront reported an order as paid (its own payment, or an invoice paid)."""

    type: Literal["OrderPaid"] = "OrderPaid"
    data: OrderPaidData


class OrderCancelled(_Event):
    """A storefront cancelled (or deleted) an order."""

    type: Literal["OrderCancelled"] = "OrderCancelled"
    data: OrderCancelledData


class OrderFulfilled(_Event):
    """A storefront recorded a shipment for an order, with its tracking."""

    type: Literal["OrderFulfilled"] = "OrderFulfilled"
    data: OrderFulfilledData


class RefundIssued(_Event):
    """A storefront recorded a refund, with the lines going back to stock."""

    type: Literal["RefundIssued"] = "RefundIssued"
    data: RefundData


class PaymentSucceeded(_Event):
    """A gateway captured a payment; its reference points at a storefront order."""

    type: Literal["PaymentSucceeded"] = "PaymentSucceeded"
    data: PaymentData


class PaymentFailed(_Event):
    """A gateway payment failed, was denied or was cancelled."""

    type: Literal["PaymentFailed"] = "PaymentFailed"
    data: PaymentData


class PaymentRefunded(_Event):
    """A gateway refunded all or part of a payment."""

    type: Literal["PaymentRefunded"] = "PaymentRefunded"
    data: PaymentRefundData


class PaymentDisputed(_Event):
    """A gateway dispute (chargeback) was opened or resolved."""

    type: Literal["PaymentDisputed"] = "PaymentDisputed"
    data: DisputeData


class CheckoutStarted(_Event):
    """A shopper started or changed a checkout (the start of an abandoned cart)."""

    type: Literal["CheckoutStarted"] = "CheckoutStarted"
    data: CheckoutData


class CheckoutExpired(_Event):
    """A checkout expired without a payment."""

    type: Literal["CheckoutExpired"] = "CheckoutExpired"
    data: CheckoutData


class CustomerUpserted(_Event):
    """A storefront created or changed a customer, with marketing consent."""

    type: Literal["CustomerUpserted"] = "CustomerUpserted"
    data: CustomerData


class StockLevelReported(_Event):
    """A storefront or POS set the available units of an item at one of its locations."""

    type: Literal["StockLevelReported"] = "StockLevelReported"
    data: StockReportData


class CustomerRedactionRequested(_Event):
    """A platform asked for a customer's personal data to be erased."""

    type: Literal["CustomerRedactionRequested"] = "CustomerRedactionRequested"
    data: RedactionData


class CustomerDataRequested(_Event):
    """A platform asked for the data the hub holds on a customer."""

    type: Literal["CustomerDataRequested"] = "CustomerDataRequested"
    data: RedactionData


class ShopRedactionRequested(_Event):
    """A platform asked for a whole shop's data to be erased."""

    type: Literal["ShopRedactionRequested"] = "ShopRedactionRequested"
    data: RedactionData


class CustomerErased(_Event):
    """The hub erased a customer's personal data; anything kept or scheduled for them must go too."""

    type: Literal["CustomerErased"] = "CustomerErased"
    data: CustomerErasedData


class AppUninstalled(_Event):
    """The hub's app was uninstalled from a shop."""

    type: Literal["AppUninstalled"] = "AppUninstalled"
    data: AppUninstalledData


class StockShortage(_Event):
    """An order could not be reserved whole; it waits on hold, holding nothing."""

    type: Literal["StockShortage"] = "StockShortage"
    data: StockShortageData


class OrderStatusChanged(_Event):
    """The hub moved an order to a new status (or recorded it: `previous` is None)."""

    type: Literal["OrderStatusChanged"] = "OrderStatusChanged"
    data: StatusChangeData


class StockLevelChanged(_Event):
    """The units available at a location changed: reserved, released, or set by a storefront or an admin."""

    type: Literal["StockLevelChanged"] = "StockLevelChanged"
    data: StockLevelData


class OrderRouted(_Event):
    """The hub chose where an order ships from: one fulfilment per location."""

    type: Literal["OrderRouted"] = "OrderRouted"
    data: OrderRoutedData


class FulfilmentShipped(_Event):
    """A fulfilment was handed to the carrier (label bought, tracking given, or the storefront shipped it)."""

    type: Literal["FulfilmentShipped"] = "FulfilmentShipped"
    data: FulfilmentShippedData


class FulfilmentWrittenBack(_Event):
    """A shipped fulfilment, with its tracking, is now known to the order's storefront."""

    type: Literal["FulfilmentWrittenBack"] = "FulfilmentWrittenBack"
    data: FulfilmentWrittenBackData


class ShipmentTracked(_Event):
    """A carrier reported a tracking update (EasyPost tracker.updated, Shippo track_updated)."""

    type: Literal["ShipmentTracked"] = "ShipmentTracked"
    data: ShipmentTrackedData


class LowStock(_Event):
    """A SKU's units available fell to the low-stock threshold or below (once per crossing)."""

    type: Literal["LowStock"] = "LowStock"
    data: LowStockData


class ProductUpdated(_Event):
    """A storefront created or changed a product: its SKUs and their platform ids."""

    type: Literal["ProductUpdated"] = "ProductUpdated"
    data: ProductData


class ProductPublished(_Event):
    """A product became active in the hub's catalog for the first time (announced once, ever)."""

    type: Literal["ProductPublished"] = "ProductPublished"
    data: ProductPublishedData


class MarketingMessageSent(_Event):
    """A marketing message went out; reporting attributes orders placed within its window to it."""

    type: Literal["MarketingMessageSent"] = "MarketingMessageSent"
    data: MarketingMessageData


class CustomerProfileChanged(_Event):
    """crm_upsert derived a customer's profile again from new facts; ad_audiences reads it."""

    type: Literal["CustomerProfileChanged"] = "CustomerProfileChanged"
    data: ProfileChangedData


class ResourceFetchRequested(_Event):
    type: Literal["ResourceFetchRequested"] = "ResourceFetchRequested"
    data: ResourceFetchData


# The union consumers parse is the one list of every event; EVENT_TYPES (schemas, docs/events/) and
# __all__ follow from it, in this order.
HubEvent = Annotated[
    OrderPlaced
    | OrderUpdated
    | OrderPaid
    | OrderCancelled
    | OrderFulfilled
    | RefundIssued
    | PaymentSucceeded
    | PaymentFailed
    | PaymentRefunded
    | PaymentDisputed
    | CheckoutStarted
    | CheckoutExpired
    | CustomerUpserted
    | StockLevelReported
    | CustomerRedactionRequested
    | CustomerDataRequested
    | ShopRedactionRequested
    | CustomerErased
    | AppUninstalled
    | StockShortage
    | StockLevelChanged
    | ResourceFetchRequested
    | OrderStatusChanged
    | LowStock
    | ProductUpdated
    | ProductPublished
    | OrderRouted
    | FulfilmentShipped
    | FulfilmentWrittenBack
    | ShipmentTracked
    | MarketingMessageSent
    | CustomerProfileChanged,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[type[_Event], ...] = get_args(get_args(HubEvent)[0])
__all__ += [model.__name__ for model in EVENT_TYPES]
_ADAPTER: TypeAdapter[HubEvent] = TypeAdapter(HubEvent)

_E = TypeVar("_E", bound=_Event)


def hub_event(
    model: type[_E],
    *,
    key: Sequence[str],
    channel: str,
    occurred_at: datetime,
    topic: str,
    data: BaseModel,
    cause: str | None = None,
) -> _E:
    """An event the hub publishes itself (source "hub"), its id derived from `key`.

    `key` names what the event is about and what caused it (the order, "routed", the cause's
    event id), so a redelivered cause derives the same id and the bus delivers the event once.
    `topic` is the hub's own topic (`order/routed`); `cause` is the id of the event that made it,
    when there is one, recorded as the provider event id.
    """
    # Validated from a mapping: `data` has the type of the event's own data model, which only
    # `model` names (the _Event base declares none).
    return model.model_validate(
        {
            "event_id": event_id_for("hub", *key),
            "source": "hub",
            "channel": channel,
            "occurred_at": occurred_at,
            "provider": ProviderRef(topic=topic, event_id=cause),
            "data": data,
        }
    )


def parse_event(payload: dict | str | bytes) -> HubEvent:
    """Validate a canonical event from its dict or JSON form, its sealed personal fields opened."""
    from hub.shredding import open_sealed

    document = payload if isinstance(payload, dict) else json.loads(payload)
    return _ADAPTER.validate_python(open_sealed(document))


@cache
def personal_paths(event_type: str) -> tuple[str, ...]:
    """The paths (`data.customer_email`) of an event type's fields marked PERSONAL."""
    model = next((m for m in EVENT_TYPES if m.model_fields["type"].default == event_type), None)
    if model is None:
        return ()
    data = model.model_fields["data"].annotation
    if not (isinstance(data, type) and issubclass(data, BaseModel)):
        return ()
    return tuple(
        f"data.{name}"
        for name, info in data.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("personal")
    )
