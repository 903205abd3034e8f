"""Shopify: X-Shopify-Hmac-Sha256 over the raw body; deliveries deduplicated on shop + webhook id.

Each topic the hub uses has a transport model (Shopify's field names) and one translation into
canonical events below. Topics not listed are acknowledged as ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.config import ChannelConfig, HubConfig
from hub.domain.platforms import STANDARD_WEBHOOK_SECRETS
from hub.errors import MalformedPayloadError, MoneyError, SignatureError, UnknownChannelError
from hub.events import (
    AppUninstalled,
    AppUninstalledData,
    CatalogItem,
    CatalogOptionData,
    CheckoutData,
    CheckoutStarted,
    Consent,
    CustomerData,
    CustomerDataRequested,
    CustomerRedactionRequested,
    CustomerUpserted,
    HubEvent,
    LineItem,
    OrderCancelled,
    OrderCancelledData,
    OrderData,
    OrderFulfilled,
    OrderFulfilledData,
    OrderPaid,
    OrderPaidData,
    OrderPlaced,
    OrderStatusData,
    OrderUpdated,
    ProductData,
    ProductUpdated,
    ProviderRef,
    RedactionData,
    RefundData,
    RefundIssued,
    RefundLine,
    ShipmentLine,
    ShippingAddress,
    ShopRedactionRequested,
    StockLevelReported,
    StockReportData,
    StorefrontFulfilmentRef,
    event_id_for,
)
from hub.intake.lines import Amount, OptionalAmount, OptionalTime, Units, line_sku
from hub.intake.service import load_json_object
from hub.intake.signatures import require_base64_hmac
from hub.money import parse_minor
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

__all__ = ["TOPICS", "ShopifySource"]

# financial_status values that mean the order was paid in full (a refund came after the payment).
_PAID_STATUSES = ("paid", "partially_refunded", "refunded")
SHOP_HEADER = "X-Shopify-Shop-Domain"
_SECRET_KEY = STANDARD_WEBHOOK_SECRETS["shopify"]


class _Wire(BaseModel):
    # Shopify adds fields often; only what the hub reads is declared, the rest is ignored.
    model_config = ConfigDict(extra="ignore")


class ShopifyAddress(_Wire):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None

    def canonical(self) -> ShippingAddress:
        name = self.name or " ".join(p for p in (self.first_name, self.last_name) if p) or None
        return ShippingAddress(
            name=name,
            company=self.company,
            street1=self.address1,
            street2=self.address2,
            city=self.city,
            state=self.province_code,
            postal_code=self.zip,
            country=self.country_code,
            phone=self.phone,
        )


class ShopifyConsent(_Wire):
    state: str | None = None


class ShopifyCustomer(_Wire):
    id: int | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    updated_at: datetime | None = None
    email_marketing_consent: ShopifyConsent | None = None
    sms_marketing_consent: ShopifyConsent | None = None
    accepts_marketing: bool | None = None  # before API 2022-04


class ShopifyLineItem(_Wire):
    id: int | None = None
    sku: str | None = None  # null or "" for custom items and products without a SKU
    product_id: int | None = None
    variant_id: int | None = None
    title: str | None = None
    quantity: Units
    price: Amount
    requires_shipping: bool | None = None
    gift_card: bool | None = None


class ShopifyFulfillment(_Wire):
    id: int
    status: str | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    line_items: list[ShopifyLineItem] = []


class ShopifyRefundTransaction(_Wire):
    amount: Amount
    currency: str | None = None
    kind: str | None = None
    status: str | None = None


class ShopifyRefundLineItem(_Wire):
    quantity: Units
    restock_type: str | None = None
    line_item: ShopifyLineItem | None = None


class ShopifyRefund(_Wire):
    id: int
    order_id: int
    created_at: datetime
    note: str | None = None
    refund_line_items: list[ShopifyRefundLineItem] = []
    transactions: list[ShopifyRefundTransaction] = []


class ShopifyOrder(_Wire):
    id: int
    name: str | None = None
    order_number: int | None = None
    email: str | None = None
    currency: str
    total_price: Amount
    financial_status: str | None = None
    fulfillment_status: str | None = None
    cancelled_at: OptionalTime = None
    cancel_reason: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    customer: ShopifyCustomer | None = None
    shipping_address: ShopifyAddress | None = None
    line_items: list[ShopifyLineItem]
    fulfillments: list[ShopifyFulfillment] = []
    refunds: list[ShopifyRefund] = []
    checkout_token: str | None = None  # the token of the checkout the order completed


class ShopifyCheckout(_Wire):
    id: int | None = None
    token: str | None = None
    email: str | None = None
    currency: str | None = None
    total_price: OptionalAmount = None
    line_items: list[ShopifyLineItem] = []
    abandoned_checkout_url: str | None = None
    completed_at: OptionalTime = None
    created_at: OptionalTime = None
    updated_at: OptionalTime = None


class ShopifyInventoryLevel(_Wire):
    inventory_item_id: int
    location_id: int
    available: int | None = None
    updated_at: datetime | None = None


class ShopifyVariant(_Wire):
    id: int | None = None
    sku: str | None = None
    inventory_item_id: int | None = None
    price: OptionalAmount = None
    compare_at_price: OptionalAmount = None
    option1: str | None = None
    option2: str | None = None
    option3: str | None = None


class ShopifyProductOption(_Wire):
    name: str
    values: list[str] = []


class ShopifyProductImage(_Wire):
    src: str | None = None


class ShopifyProduct(_Wire):
    """products/create and products/update (the REST product resource; prices are decimal strings)."""

    id: int
    updated_at: datetime | None = None
    variants: list[ShopifyVariant] = []
    title: str | None = None
    body_html: str | None = None
    status: str | None = None
    handle: str | None = None
    options: list[ShopifyProductOption] = []
    images: list[ShopifyProductImage] = []


class ShopifyShop(_Wire):
    id: int | None = None
    domain: str | None = None
    myshopify_domain: str | None = None


class ShopifyPrivacyCustomer(_Wire):
    id: int | None = None
    email: str | None = None
    phone: str | None = None


class ShopifyDataRequestRef(_Wire):
    id: int | None = None


class ShopifyPrivacyRequest(_Wire):
    shop_id: int | None = None
    shop_domain: str
    customer: ShopifyPrivacyCustomer | None = None
    orders_requested: list[int] = []
    orders_to_redact: list[int] = []
    data_request: ShopifyDataRequestRef | None = None


M = TypeVar("M", bound=BaseModel)


def _model(model: type[M], body: dict[str, Any], what: str) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedPayloadError(f"not a Shopify {what}: '{where}': {first['msg']}") from exc


def _minor(amount: str | Decimal | None, currency: str | None, what: str, field: str | None = None) -> int | None:
    if amount is None or currency is None:
        return None
    try:
        return parse_minor(amount, currency, field=field)
    except MoneyError as exc:
        raise MalformedPayloadError(f"not a Shopify {what}: {exc}") from exc


def _line_sku(ctx: _Context, item: ShopifyLineItem, where: str) -> str:
    return line_sku(
        item.sku,
        channel=ctx.channel,
        settings=ctx.settings,
        product_id=item.product_id,
        variation_id=item.variant_id,
        line_id=item.id,
        where=where,
    )


def _lines(ctx: _Context, items: list[ShopifyLineItem], currency: str | None) -> list[LineItem]:
    # Every line is kept: a custom item or a product without a SKU is named by its ids. A gift card
    # or a line that needs no shipping holds no stock: recorded, never reserved.
    return [
        LineItem(
            sku=_line_sku(ctx, item, f"line_items.{index}"),
            quantity=item.quantity,
            unit_price=_minor(item.price, currency, "line item", f"line_items.{index}.price") or 0,
            title=item.title,
            platform_line_id=str(item.id) if item.id is not None else None,
            stocked=not (item.gift_card or item.requires_shipping is False),
        )
        for index, item in enumerate(items)
        if item.quantity > 0
    ]


def _consent(state: ShopifyConsent | None) -> bool | None:
    if state is None or state.state is None:
        return None
    return state.state.lower() == "subscribed"


class _Context:
    """What every event of one delivery shares."""

    def __init__(
        self, request: WebhookRequest, topic: str, shop: str, webhook_id: str, channel: tuple[str, ChannelConfig]
    ) -> None:
        self.topic = topic
        self.shop = shop
        self.channel, self.settings = channel
        self.provider = ProviderRef(
            topic=topic,
            event_id=request.header("X-Shopify-Event-Id"),
            delivery_id=webhook_id,
            account=shop,
            triggered_at=_parse_time(request.header("X-Shopify-Triggered-At")),
        )

    def order_id(self, platform_id: int | str) -> str:
        return f"{self.channel}:{platform_id}"

    def event_id(self, *fact: object) -> str:
        # The same fact, however (and however often) delivered, gets the same canonical id.
        return event_id_for("shopify", self.shop, self.topic, *(str(f) for f in fact))

    def common(self, *fact: object, occurred_at: datetime | None) -> dict[str, Any]:
        return {
            "event_id": self.event_id(*fact),
            "source": "shopify",
            "channel": self.channel,
            "occurred_at": occurred_at or self.provider.triggered_at or datetime.now(UTC),
            "provider": self.provider,
        }


def _shipments(ctx: _Context, order: ShopifyOrder) -> list[OrderFulfilled]:
    """The storefront's successful fulfilments, as every order topic shows them: each delivery that
    carries them publishes them, so the snapshot that records the order can name what it waits for."""
    when = order.updated_at or order.created_at
    return [
        OrderFulfilled(
            **ctx.common(order.id, f.id, occurred_at=when),
            data=OrderFulfilledData(
                order_id=ctx.order_id(order.id),
                fulfilment_id=str(f.id),
                carrier=f.tracking_company,
                tracking_number=f.tracking_number,
                tracking_url=f.tracking_url,
                lines=[
                    ShipmentLine(sku=_line_sku(ctx, li, f"fulfillments.{n}.line_items.{i}"), quantity=li.quantity)
                    for i, li in enumerate(f.line_items)
                    if li.quantity > 0
                ],
            ),
        )
        for n, f in enumerate(order.fulfillments)
        if f.status in (None, "success")
    ]


def _order_data(ctx: _Context, order: ShopifyOrder, shipped: list[OrderFulfilled] | None = None) -> OrderData:
    shipped = shipped or []
    lines = _lines(ctx, order.line_items, order.currency)
    # `fulfilled` with no fulfilment listed: the storefront shipped every unit, and no event says so.
    whole = not shipped and order.fulfillment_status == "fulfilled"
    return OrderData(
        order_id=ctx.order_id(order.id),
        platform_order_id=str(order.id),
        order_number=order.name or (str(order.order_number) if order.order_number else None),
        currency=order.currency.upper(),
        total=_minor(order.total_price, order.currency, "order", "total_price") or 0,
        paid=order.financial_status in _PAID_STATUSES,
        cancelled=order.cancelled_at is not None,
        customer_email=order.email or (order.customer.email if order.customer else None),
        shipping_country=order.shipping_address.country_code if order.shipping_address else None,
        shipping_address=order.shipping_address.canonical() if order.shipping_address else None,
        lines=lines,
        updated_at=order.updated_at,
        checkout_id=f"{ctx.channel}:{order.checkout_token}" if order.checkout_token else None,
        storefront_fulfilments=[
            StorefrontFulfilmentRef(fulfilment_id=e.data.fulfilment_id, event_id=e.event_id) for e in shipped
        ],
        storefront_shipped=[ShipmentLine(sku=ln.sku, quantity=ln.quantity) for ln in lines if ln.stocked]
        if whole
        else [],
    )


def _orders_create(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    order = _model(ShopifyOrder, body, "order")
    shipped = _shipments(ctx, order)  # an order created fulfilled (point of sale, imported)
    # An order is placed once: every delivery of its creation, from any subscription, is one fact.
    placed = OrderPlaced(**ctx.common(order.id, occurred_at=order.created_at), data=_order_data(ctx, order, shipped))
    return [placed, *shipped]


def _placed_from(ctx: _Context, order: ShopifyOrder) -> list[HubEvent]:
    """Every order topic carries the whole order, and Shopify documents no delivery order: an
    `orders/paid` may come before `orders/create`. So each is also a placement, in the state it
    states, and whichever arrives first records the order. Its id is the snapshot's (topic, order,
    `updated_at`), so a retry maps to it; it happened when the order was created. The storefront's
    fulfilments the snapshot shows are published with it, and the snapshot names them."""
    stamp = (order.updated_at or order.created_at).isoformat()
    shipped = _shipments(ctx, order)
    placed = OrderPlaced(
        **ctx.common("placed", order.id, stamp, occurred_at=order.created_at), data=_order_data(ctx, order, shipped)
    )
    return [*shipped, placed]


def _refunded_total(order: ShopifyOrder) -> int:
    total = Decimal(0)
    for refund in order.refunds:
        for tx in refund.transactions:
            if tx.kind == "refund" and tx.status in (None, "success"):
                total += tx.amount
    return _minor(str(total), order.currency, "order") or 0


def _orders_updated(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    order = _model(ShopifyOrder, body, "order")
    stamp = order.updated_at or order.created_at
    data = OrderStatusData(
        order_id=ctx.order_id(order.id),
        platform_order_id=str(order.id),
        platform_status=order.financial_status,
        currency=order.currency.upper(),
        total=_minor(order.total_price, order.currency, "order", "total_price"),
        paid=order.financial_status in _PAID_STATUSES,
        cancelled=order.cancelled_at is not None,
        refunded_total=_refunded_total(order),
        updated_at=stamp,
    )
    return [
        OrderUpdated(**ctx.common(order.id, stamp.isoformat(), occurred_at=stamp), data=data),
        *_placed_from(ctx, order),
    ]


def _orders_paid(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    order = _model(ShopifyOrder, body, "order")
    data = OrderPaidData(
        order_id=ctx.order_id(order.id),
        amount=_minor(order.total_price, order.currency, "order", "total_price") or 0,
        currency=order.currency.upper(),
        payment_reference=order.name,
    )
    return [
        OrderPaid(**ctx.common(order.id, occurred_at=order.updated_at or order.created_at), data=data),
        *_placed_from(ctx, order),
    ]


def _orders_cancelled(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    order = _model(ShopifyOrder, body, "order")
    when = order.cancelled_at or order.updated_at or order.created_at
    data = OrderCancelledData(order_id=ctx.order_id(order.id), reason=order.cancel_reason)
    return [OrderCancelled(**ctx.common(order.id, occurred_at=when), data=data), *_placed_from(ctx, order)]


def _orders_fulfilled(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    order = _model(ShopifyOrder, body, "order")
    return _placed_from(ctx, order)


def _refunds_create(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    refund = _model(ShopifyRefund, body, "refund")
    moved = [
        (t, tx) for t, tx in enumerate(refund.transactions) if tx.kind == "refund" and tx.status in (None, "success")
    ]
    currencies = {tx.currency.upper() for _, tx in moved if tx.currency}
    if len(currencies) > 1:
        raise MalformedPayloadError("not a Shopify refund: its transactions are in several currencies")
    currency = currencies.pop() if currencies else None
    # Without a currency only a refund that moved nothing can be read ("XXX": ISO 4217's "no currency").
    amount = sum(_minor(tx.amount, currency or "XXX", "refund", f"transactions.{t}.amount") or 0 for t, tx in moved)
    if amount and currency is None:
        raise MalformedPayloadError("not a Shopify refund: 'transactions.currency' is missing")
    data = RefundData(
        order_id=ctx.order_id(refund.order_id),
        refund_id=str(refund.id),
        amount=amount,
        currency=currency,
        lines=[
            RefundLine(
                sku=_line_sku(ctx, rli.line_item, f"refund_line_items.{i}.line_item") if rli.line_item else None,
                quantity=rli.quantity,
                restock=rli.restock_type not in (None, "no_restock"),
            )
            for i, rli in enumerate(refund.refund_line_items)
        ],
        reason=refund.note,
    )
    return [RefundIssued(**ctx.common(refund.id, occurred_at=refund.created_at), data=data)]


def _checkouts(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    checkout = _model(ShopifyCheckout, body, "checkout")
    checkout_id = checkout.token or (str(checkout.id) if checkout.id is not None else None)
    if not checkout_id:
        raise MalformedPayloadError("not a Shopify checkout: it has neither 'token' nor 'id'")
    stamp = checkout.updated_at or checkout.created_at
    data = CheckoutData(
        checkout_id=f"{ctx.channel}:{checkout_id}",
        customer_email=checkout.email,
        currency=checkout.currency.upper() if checkout.currency else None,
        total=_minor(checkout.total_price, checkout.currency, "checkout", "total_price"),
        lines=_lines(ctx, checkout.line_items, checkout.currency),
        recovery_url=checkout.abandoned_checkout_url,
        completed=checkout.completed_at is not None,
        updated_at=stamp,
    )
    fact = stamp.isoformat() if stamp else ctx.provider.delivery_id
    return [CheckoutStarted(**ctx.common(checkout_id, fact, occurred_at=stamp), data=data)]


def _customers(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    customer = _model(ShopifyCustomer, body, "customer")
    email_consent = _consent(customer.email_marketing_consent)
    data = CustomerData(
        email=customer.email,
        platform_customer_id=f"{ctx.channel}:{customer.id}" if customer.id is not None else None,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
        consent=Consent(
            email_marketing=email_consent if email_consent is not None else customer.accepts_marketing,
            sms_marketing=_consent(customer.sms_marketing_consent),
        ),
        updated_at=customer.updated_at,
    )
    stamp = customer.updated_at.isoformat() if customer.updated_at else ctx.provider.delivery_id
    return [CustomerUpserted(**ctx.common(customer.id, stamp, occurred_at=customer.updated_at), data=data)]


def _inventory_levels_update(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    level = _model(ShopifyInventoryLevel, body, "inventory level")
    if level.available is None:
        return []  # the item stopped being tracked at this location: nothing to count
    data = StockReportData(
        sku=None,
        available=level.available,
        platform_location_id=str(level.location_id),
        platform_item_id=str(level.inventory_item_id),
        updated_at=level.updated_at,
    )
    stamp = level.updated_at.isoformat() if level.updated_at else ctx.provider.delivery_id
    fact = (level.inventory_item_id, level.location_id, stamp)
    return [StockLevelReported(**ctx.common(*fact, occurred_at=level.updated_at), data=data)]


def _default_only(product: ShopifyProduct) -> bool:
    """A product without options: Shopify gives it one option "Title" valued "Default Title"."""
    return [(o.name, o.values) for o in product.options] == [("Title", ["Default Title"])]


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _products(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    """A product's variants with their SKUs and inventory items: what the hub maps Shopify levels with."""
    product = _model(ShopifyProduct, body, "product")
    items = [
        CatalogItem(
            sku=variant.sku,
            platform_item_id=str(variant.inventory_item_id) if variant.inventory_item_id is not None else None,
            platform_variation_id=str(variant.id) if variant.id is not None else None,
            price=_text(variant.price),
            compare_at_price=_text(variant.compare_at_price),
            option_values=[]
            if _default_only(product)
            else [v for v in (variant.option1, variant.option2, variant.option3) if v is not None],
        )
        for variant in product.variants
        if variant.sku
    ]
    if not items:
        return []  # no variant has a SKU: nothing the hub can map
    shop = ctx.provider.account
    data = ProductData(
        platform_product_id=str(product.id),
        items=items,
        updated_at=product.updated_at,
        catalog=product.title is not None,
        title=product.title,
        description=product.body_html or "",
        status=product.status if product.status in ("active", "draft", "archived") else None,
        url=f"https://{shop}/products/{product.handle}" if shop and product.handle else None,
        images=[image.src for image in product.images if image.src],
        # Shopify names the one option of a product without options "Title" ("Default Title").
        options=[]
        if _default_only(product)
        else [CatalogOptionData(name=o.name, values=o.values) for o in product.options],
    )
    stamp = product.updated_at.isoformat() if product.updated_at else ctx.provider.delivery_id
    return [ProductUpdated(**ctx.common("product", product.id, stamp, occurred_at=product.updated_at), data=data)]


def _app_uninstalled(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
    shop = _model(ShopifyShop, body, "shop")
    data = AppUninstalledData(shop=shop.myshopify_domain or ctx.shop)
    return [AppUninstalled(**ctx.common(ctx.provider.delivery_id, occurred_at=None), data=data)]


_PRIVACY_EVENTS: dict[str, type[CustomerDataRequested | CustomerRedactionRequested | ShopRedactionRequested]] = {
    "data": CustomerDataRequested,
    "customer": CustomerRedactionRequested,
    "shop": ShopRedactionRequested,
}


def _privacy(kind: str) -> Callable[[_Context, dict[str, Any]], list[HubEvent]]:
    def translate(ctx: _Context, body: dict[str, Any]) -> list[HubEvent]:
        request = _model(ShopifyPrivacyRequest, body, "privacy request")
        customer = request.customer
        data = RedactionData(
            scope="shop" if kind == "shop" else "customer",
            shop=request.shop_domain,
            platform_customer_id=f"{ctx.channel}:{customer.id}" if customer and customer.id is not None else None,
            email=customer.email if customer else None,
            order_ids=[ctx.order_id(o) for o in (request.orders_to_redact or request.orders_requested)],
            request_id=str(request.data_request.id) if request.data_request and request.data_request.id else None,
        )
        common = ctx.common(ctx.provider.event_id or ctx.provider.delivery_id, occurred_at=None)
        return [_PRIVACY_EVENTS[kind](**common, data=data)]

    return translate


TOPICS: dict[str, Callable[[_Context, dict[str, Any]], list[HubEvent]]] = {
    "orders/create": _orders_create,
    "orders/updated": _orders_updated,
    "orders/paid": _orders_paid,
    "orders/cancelled": _orders_cancelled,
    "orders/fulfilled": _orders_fulfilled,
    "refunds/create": _refunds_create,
    "checkouts/create": _checkouts,
    "checkouts/update": _checkouts,
    "customers/create": _customers,
    "customers/update": _customers,
    "inventory_levels/update": _inventory_levels_update,
    "products/create": _products,
    "products/update": _products,
    "app/uninstalled": _app_uninstalled,
    "customers/data_request": _privacy("data"),
    "customers/redact": _privacy("customer"),
    "shop/redact": _privacy("shop"),
}


class ShopifySource:
    name = "shopify"
    signature_header = "X-Shopify-Hmac-Sha256"

    def secret_key_for(self, request: WebhookRequest, config: HubConfig) -> str:
        """The secret of the channel whose shop X-Shopify-Shop-Domain (unsigned) names: only it may
        verify the delivery, so the header cannot make one shop's secret speak for another shop."""
        return _channel(config, request.header(SHOP_HEADER))[1].secret_key() or _SECRET_KEY

    def verify(self, request: WebhookRequest, secrets: SecretsProvider, secret_key: str | None = None) -> None:
        key = secret_key or _SECRET_KEY
        require_base64_hmac(
            self.signature_header,
            request.header(self.signature_header),
            secrets.candidates(key),
            request.body,
            "Shopify",
            secret_name=key,
        )

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        topic = request.header("X-Shopify-Topic")
        shop = request.header("X-Shopify-Shop-Domain")
        webhook_id = request.header("X-Shopify-Webhook-Id")
        for name, value in (("X-Shopify-Topic", topic), ("X-Shopify-Shop-Domain", shop),
                            ("X-Shopify-Webhook-Id", webhook_id)):  # fmt: skip
            if not value:
                raise MalformedPayloadError(f"missing {name} header; Shopify sends it with every webhook")
        assert topic and shop and webhook_id
        body = load_json_object(request.body, "Shopify", parse_float=Decimal)
        dedupe_key = f"shopify:{shop}:{webhook_id}"
        translate = TOPICS.get(topic)
        if translate is None:
            return Delivery(dedupe_key, topic, [], ignored_reason=f"the hub does not use Shopify topic '{topic}'")
        channel = _channel(config, shop)
        _check_claims(topic, shop.strip().lower(), channel[1], body)
        events = translate(_Context(request, topic, shop, webhook_id, channel), body)
        if not events:
            return Delivery(
                dedupe_key, topic, [], ignored_reason=f"nothing in this '{topic}' delivery concerns the hub"
            )
        return Delivery(dedupe_key, topic, events)


def _channel(config: HubConfig, shop: str | None) -> tuple[str, ChannelConfig]:
    try:
        return config.webhook_channel("shopify", shop)
    except UnknownChannelError as exc:
        raise SignatureError(str(exc)) from None


_PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
# What only a body of that topic carries (Shopify's webhook reference payloads), so that a body signed
# for one topic and replayed under another is refused instead of recorded as the other.
_ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled")
_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # topic: (keys the body must have, keys it must not have)
    **{topic: (("financial_status", "line_items"), ("order_id", "shop_domain")) for topic in _ORDER_TOPICS},
    "checkouts/create": (("line_items",), ("financial_status", "order_number", "shop_domain")),
    "checkouts/update": (("line_items",), ("financial_status", "order_number", "shop_domain")),
    "customers/create": ((), ("line_items", "financial_status", "shop_domain", "order_id")),
    "customers/update": ((), ("line_items", "financial_status", "shop_domain", "order_id")),
    "refunds/create": (("order_id",), ("financial_status", "shop_domain")),
    "products/create": (("variants",), ("line_items", "shop_domain")),
    "products/update": (("variants",), ("line_items", "shop_domain")),
    "app/uninstalled": (("myshopify_domain",), ("line_items", "shop_domain")),
    "customers/data_request": (("shop_domain", "customer", "data_request"), ("orders_to_redact", "line_items")),
    "customers/redact": (("shop_domain", "customer", "orders_to_redact"), ("data_request", "line_items")),
    "shop/redact": (("shop_domain",), ("customer", "orders_to_redact", "data_request", "line_items")),
}


def _check_claims(topic: str, shop: str, channel: ChannelConfig, body: dict[str, Any]) -> None:
    """What the signed body proves must agree with what the unsigned headers claim.

    - The topic: a body must be one Shopify sends under that topic (400 otherwise): `orders/paid` a
      paid order, `orders/cancelled` a cancelled one, a privacy request the body of its own kind.
    - The shop (401 otherwise): a privacy request's `shop_domain` (and `shop_id`, when the channel
      names it), `app/uninstalled`'s `myshopify_domain`, and the host of an order's
      `order_status_url` when it is a *.myshopify.com host, must be the shop the delivery claims.
      This is what binds a delivery to its shop when one secret serves several (a public app).
    """
    required, forbidden = _SHAPES.get(topic, ((), ()))
    missing = [key for key in required if key not in body]
    stray = [key for key in forbidden if key in body]
    if missing or stray:
        what = f"it lacks '{missing[0]}'" if missing else f"it carries '{stray[0]}'"
        raise MalformedPayloadError(f"this body is not a Shopify '{topic}' body: {what}; the topic must match the body")
    if topic == "orders/paid" and body.get("financial_status") not in _PAID_STATUSES:
        raise MalformedPayloadError(
            f"an 'orders/paid' body must show a paid order; its financial_status is {str(body.get('financial_status'))[:40]!r}"
        )
    if topic == "orders/cancelled" and not body.get("cancelled_at"):
        raise MalformedPayloadError("an 'orders/cancelled' body must show the order cancelled; 'cancelled_at' is empty")
    # The channel's configured shop when it names one (a single channel takes deliveries whatever
    # the header says), else the shop the header claims.
    expected = channel.shop_domain.strip().lower() if channel.shop_domain else shop
    if topic in _PRIVACY_TOPICS:
        said = str(body.get("shop_domain") or "").strip().lower()
        if said != expected:
            raise SignatureError(
                f"this '{topic}' request is for shop {said[:100]!r}, not the shop it was delivered as ({expected[:100]!r})"
            )
        if channel.shop_id is not None and str(body.get("shop_id")) != channel.shop_id:
            raise SignatureError(
                f"this '{topic}' request's shop_id is not the shop id configured for {expected[:100]!r}"
            )
    if topic == "app/uninstalled":
        said = str(body.get("myshopify_domain") or "").strip().lower()
        if said != expected:
            raise SignatureError(f"this 'app/uninstalled' body is for shop {said[:100]!r}, not {expected[:100]!r}")
    if topic in _ORDER_TOPICS and isinstance(body.get("order_status_url"), str):
        host = (urlsplit(body["order_status_url"]).hostname or "").lower()
        if host.endswith(".myshopify.com") and host != expected:
            raise SignatureError(f"this order's order_status_url is on shop {host[:100]!r}, not {expected[:100]!r}")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
