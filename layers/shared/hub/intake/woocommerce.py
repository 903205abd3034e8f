"""WooCommerce: X-WC-Webhook-Signature over the raw body; what happened is read from the body.

WooCommerce builds a payload when it delivers it (an `order.created` body can already show the
order paid, cancelled or refunded), coalesces rapid changes and never retries. So the hub reads
`status`, `date_paid_gmt` and `refunds` rather than trusting the topic, and gives every fact an id
that depends only on the fact (the order and its payment date, a refund's id): the same fact seen
in two deliveries is the same event. Deliveries are deduplicated on site + topic + id +
`date_modified_gmt`. The unsigned `webhook_id=N` ping sent when a webhook is saved is answered and
ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from hub.config import ChannelConfig, HubConfig
from hub.domain.platforms import STANDARD_WEBHOOK_SECRETS
from hub.errors import (
    MalformedPayloadError,
    MoneyError,
    OutboundError,
    SecretsError,
    SignatureError,
    UnknownChannelError,
    read_again_later,
)
from hub.events import (
    CatalogItem,
    CatalogOptionData,
    CustomerData,
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
    RefundData,
    RefundIssued,
    ResourceFetchData,
    ResourceFetchRequested,
    ShipmentLine,
    ShippingAddress,
    StockLevelReported,
    StockReportData,
    event_id_for,
)
from hub.intake.envelopes import validation_problem
from hub.intake.lines import Amount, OptionalAmount, OptionalTime, Units, line_sku
from hub.intake.service import load_json_object
from hub.intake.signatures import require_base64_hmac
from hub.money import parse_minor
from hub.observability import logger
from hub.ports import Delivery, WebhookRequest, WooCommerceVariations
from hub.secrets import SecretsProvider

__all__ = ["WooCommerceSource", "woocommerce_secret_keys"]

_M = TypeVar("_M", bound=BaseModel)

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
_SECRET_KEY = STANDARD_WEBHOOK_SECRETS["woocommerce"]
TOPIC_HEADER = "X-WC-Webhook-Topic"
SOURCE_HEADER = "X-WC-Webhook-Source"
DELIVERY_HEADER = "X-WC-Webhook-Delivery-ID"

# The body of the ping WooCommerce posts, unsigned and form-encoded, when a webhook is saved.
_PING = re.compile(rb"webhook_id=(\d{1,20})")
PAID_STATUSES = frozenset({"processing", "completed"})
CANCELLED_STATUS = "cancelled"
COMPLETED_STATUS = "completed"

# wp_specialchars_decode($secret, ENT_QUOTES): WordPress stores the secret HTML-escaped.
_WP_ENTITIES = {
    "&#039;": "'", "&#x27;": "'", "&quot;": '"', "&#034;": '"', "&#x22;": '"',
    "&lt;": "<", "&#060;": "<", "&gt;": ">", "&#062;": ">",
}  # fmt: skip
_WP_AMP = ("&amp;", "&#038;", "&#x26;")


def _wp_decode(secret: str) -> str:
    for entity, char in _WP_ENTITIES.items():
        secret = secret.replace(entity, char)
    for entity in _WP_AMP:  # last, so "&amp;lt;" becomes "&lt;", as in WordPress
        secret = secret.replace(entity, "&")
    return secret


def woocommerce_secret_keys(candidates: Iterable[str]) -> Iterator[str]:
    """Each configured secret as typed, and as WooCommerce keys the HMAC (entity-decoded)."""
    for secret in candidates:
        yield secret
        decoded = _wp_decode(secret)
        if decoded != secret:
            yield decoded


def _gmt(value: datetime | None) -> datetime | None:
    # WooCommerce's *_gmt fields are UTC without an offset; the fields without _gmt are the store's
    # local time and are never read.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


GmtTime = Annotated[OptionalTime, AfterValidator(_gmt)]


def _blank_to_none(value: str | None) -> str | None:
    return value or None


OptionalText = Annotated[str | None, AfterValidator(_blank_to_none)]


class _Wire(BaseModel):
    # WooCommerce sends the whole REST resource; only what the hub reads is declared.
    model_config = ConfigDict(extra="ignore")


class WooAddress(_Wire):
    first_name: OptionalText = None
    last_name: OptionalText = None
    company: OptionalText = None
    address_1: OptionalText = None
    address_2: OptionalText = None
    city: OptionalText = None
    state: OptionalText = None
    postcode: OptionalText = None
    email: OptionalText = None
    phone: OptionalText = None
    country: OptionalText = None

    def canonical(self) -> ShippingAddress | None:
        if not (self.address_1 or self.city or self.postcode):
            return None
        return ShippingAddress(
            name=" ".join(p for p in (self.first_name, self.last_name) if p) or None,
            company=self.company,
            street1=self.address_1,
            street2=self.address_2,
            city=self.city,
            state=self.state,
            postal_code=self.postcode,
            country=self.country,
            phone=self.phone,
            email=self.email,
        )


class WooLineItem(_Wire):
    id: int
    name: str | None = None
    product_id: int | None = None
    variation_id: int | None = None
    sku: OptionalText = None  # "" for a product without a SKU
    quantity: Units
    price: OptionalAmount = None  # a JSON number (total / quantity), read exactly
    total: Amount


class WooRefund(_Wire):
    id: int
    reason: OptionalText = None
    total: Amount  # negative, e.g. "-5.00"


class WooOrder(_Wire):
    id: int
    number: str | None = None
    status: str
    currency: str
    total: Amount
    date_created_gmt: GmtTime | None = None
    date_modified_gmt: GmtTime | None = None
    date_paid_gmt: GmtTime | None = None
    billing: WooAddress | None = None
    shipping: WooAddress | None = None
    transaction_id: OptionalText = None
    line_items: list[WooLineItem] = []
    refunds: list[WooRefund] = []


class WooDeletedResource(_Wire):
    id: int
    date_modified_gmt: GmtTime | None = None


class WooCustomer(_Wire):
    id: int
    email: OptionalText = None
    first_name: OptionalText = None
    last_name: OptionalText = None
    billing: WooAddress | None = None
    date_modified_gmt: GmtTime | None = None


class WooImage(_Wire):
    src: str | None = None


class WooAttribute(_Wire):
    """A product's attribute (`options`: its values; `variation`: variations are made of it), or a
    variation's (`option`: its value)."""

    name: str
    variation: bool = False
    options: list[str] = []
    option: str | None = None


class WooVariation(_Wire):
    """One variation as `GET /products/{id}/variations` lists it (prices are decimal strings, "" when unset)."""

    id: int
    sku: OptionalText = None
    status: str | None = None
    regular_price: OptionalAmount = None
    sale_price: OptionalAmount = None
    attributes: list[WooAttribute] = []


class WooProduct(_Wire):
    id: int
    type: str | None = None
    parent_id: int | None = None
    sku: OptionalText = None
    manage_stock: bool | str | None = None  # a variation may say "parent"
    stock_quantity: int | None = None
    date_modified_gmt: GmtTime | None = None
    # The catalog fields (REST v3 product resource: prices are decimal strings, "" when unset).
    name: str | None = None
    description: str | None = None
    status: str | None = None  # publish, draft, pending, private
    permalink: str | None = None
    regular_price: OptionalAmount = None
    sale_price: OptionalAmount = None
    images: list[WooImage] = []
    attributes: list[WooAttribute] = []


def _price_and_compare(item: WooProduct | WooVariation) -> tuple[str | None, str | None]:
    """A sale price is the price, with the regular price as its compare-at price."""
    price, compare = item.regular_price, None
    if item.sale_price is not None:
        price, compare = item.sale_price, item.regular_price
    return (None if price is None else str(price)), (None if compare is None else str(compare))


def _load(body: bytes) -> dict[str, Any]:
    # Floats as Decimal: line item prices are JSON numbers, and money is never a float.
    return load_json_object(body, "WooCommerce", parse_float=Decimal)


def _ping_id(request: WebhookRequest) -> str | None:
    """The webhook id of WooCommerce's unsigned ping, or None when this is not one."""
    if request.header(TOPIC_HEADER) or request.header(SIGNATURE_HEADER):
        return None
    match = _PING.fullmatch(request.body.strip())
    return match.group(1).decode() if match else None


def _channel(config: HubConfig, site: str | None) -> tuple[str, ChannelConfig]:
    """The channel whose site_url the (unsigned) X-WC-Webhook-Source names. The header is
    home_url('/'), with its trailing slash; a configured site_url may lack it."""
    try:
        return config.webhook_channel("woocommerce", site)
    except UnknownChannelError as exc:
        raise SignatureError(str(exc)) from None


# WooCommerce sends only the id of a deleted resource ({"id": N}); a trashed order may come whole,
# with status "trash". Any other body under order.deleted is some other topic's body replayed.
_DELETION_KEYS = frozenset({"id", "date_modified", "date_modified_gmt"})


def _check_claims(topic: str, body: dict[str, Any]) -> None:
    """The topic must agree with the body (400).

    WooCommerce builds each body from the resource, so an `order.created` body replayed as
    `order.deleted` would otherwise cancel the order, and a customer replayed as an order (or the
    reverse) would be recorded as the other.
    """
    if topic == "order.deleted":
        if body.get("status") != "trash" and not set(body) <= _DELETION_KEYS:
            raise MalformedPayloadError(
                "not a WooCommerce 'order.deleted' body: WooCommerce sends only the deleted order's id "
                "(or the order in the trash); this body is another topic's"
            )
        return
    if topic in ORDER_TOPICS:
        stray = [key for key in ("role", "username") if key in body]  # what every customer body carries
        if stray:
            raise MalformedPayloadError(f"not a WooCommerce '{topic}' body: it carries a customer's '{stray[0]}'")
    elif "line_items" in body:
        raise MalformedPayloadError(f"not a WooCommerce '{topic}' body: it carries an order's 'line_items'")


def _minor(amount: str | Decimal, currency: str, what: str) -> int:
    try:
        return parse_minor(amount, currency)
    except (MoneyError, ArithmeticError) as exc:
        raise MalformedPayloadError(f"not a WooCommerce order: '{what}': {exc or 'not an amount'}") from exc


def _unit_price(item: WooLineItem, index: int, currency: str) -> int:
    total = _minor(item.total, currency, f"line_items.{index}.total")  # always exact, or a 400
    if item.price is not None:
        try:
            return parse_minor(item.price, currency)
        except MoneyError:
            # WooCommerce computes price as total / quantity (16.666666666666668 for 3 at 50.00),
            # so its decimals say nothing; the exact figure is the line's total.
            pass
    try:
        return int((Decimal(total) / Decimal(item.quantity)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except ArithmeticError as exc:
        raise MalformedPayloadError(f"not a WooCommerce order: line {item.id} cannot be priced") from exc


class _Translation:
    """One delivery's facts as canonical events; every id depends only on the fact it names."""

    def __init__(
        self, site: str, channel: str, provider: ProviderRef, received: datetime, settings: ChannelConfig | None
    ) -> None:
        self.site = site
        self.channel = channel
        self.settings = settings
        self.provider = provider
        self.received = received

    def _id(self, *parts: object) -> str:
        return event_id_for("woocommerce", self.site, *(str(p) for p in parts))

    def _order_id(self, order_id: int) -> str:
        return f"{self.channel}:{order_id}"

    def _envelope(self, event_id: str, occurred_at: datetime | None) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "source": "woocommerce",
            "channel": self.channel,
            "occurred_at": occurred_at or self.received,
            "provider": self.provider,
        }

    @staticmethod
    def paid(order: WooOrder) -> bool:
        return order.status in PAID_STATUSES or order.date_paid_gmt is not None

    def placed(self, order: WooOrder, topic: str | None = None) -> OrderPlaced:
        """The order as placed. `order.created` is its placement; every other order topic carries the
        whole order too and may arrive first (WooCommerce queues deliveries), so it is a placement as
        well, with an id of its own (topic, order, `date_modified_gmt`); the first one records it."""
        # Every line is kept: a product without a SKU is named by its ids (hub.intake.lines).
        # Fees and shipping are other arrays (fee_lines, shipping_lines) and are not lines.
        lines = [
            LineItem(
                sku=line_sku(
                    item.sku,
                    channel=self.channel,
                    settings=self.settings,
                    product_id=item.product_id,
                    variation_id=item.variation_id,
                    line_id=item.id,
                    where=f"line_items.{index}",
                ),
                quantity=item.quantity,
                unit_price=_unit_price(item, index, order.currency),
                title=item.name,
                platform_line_id=str(item.id),
            )
            for index, item in enumerate(order.line_items)
            if item.quantity > 0
        ]
        shipping = order.shipping.country if order.shipping and order.shipping.country else None
        if topic is None:
            event_id = self._id("order", order.id, "placed")
        else:
            modified = order.date_modified_gmt.isoformat() if order.date_modified_gmt else "undated"
            event_id = self._id("order", order.id, topic, "placed", modified)
        return OrderPlaced(
            **self._envelope(event_id, order.date_created_gmt or order.date_modified_gmt),
            data=OrderData(
                order_id=self._order_id(order.id),
                platform_order_id=str(order.id),
                order_number=order.number,
                currency=order.currency.upper(),
                total=_minor(order.total, order.currency, "total"),
                paid=self.paid(order),
                cancelled=order.status == CANCELLED_STATUS,
                customer_email=order.billing.email if order.billing else None,
                shipping_country=shipping or (order.billing.country if order.billing else None),
                shipping_address=order.shipping.canonical() if order.shipping else None,
                lines=lines,
                updated_at=order.date_modified_gmt,
                # Core WooCommerce has no shipments: "completed" is the merchant saying every unit
                # left. Stated here too, so an order first heard of completed is never labelled.
                storefront_shipped=[ShipmentLine(sku=ln.sku, quantity=ln.quantity) for ln in lines if ln.stocked]
                if order.status == COMPLETED_STATUS
                else [],
            ),
        )

    def updated(self, order: WooOrder, topic: str) -> OrderUpdated:
        modified = order.date_modified_gmt.isoformat() if order.date_modified_gmt else "undated"
        return OrderUpdated(
            **self._envelope(self._id("order", order.id, topic, modified), order.date_modified_gmt),
            data=OrderStatusData(
                order_id=self._order_id(order.id),
                platform_order_id=str(order.id),
                platform_status=order.status,
                currency=order.currency.upper(),
                total=_minor(order.total, order.currency, "total"),
                paid=self.paid(order),
                cancelled=order.status == CANCELLED_STATUS,
                refunded_total=sum(self._refund_amount(r, order.currency) for r in order.refunds),
                updated_at=order.date_modified_gmt,
            ),
        )

    def facts(self, order: WooOrder) -> list[HubEvent]:
        """Payment, cancellation and refunds, as far as the body shows them."""
        events: list[HubEvent] = []
        if self.paid(order):
            paid_at = order.date_paid_gmt.isoformat() if order.date_paid_gmt else "undated"
            events.append(
                OrderPaid(
                    **self._envelope(self._id("order", order.id, "paid", paid_at), order.date_paid_gmt),
                    data=OrderPaidData(
                        order_id=self._order_id(order.id),
                        amount=_minor(order.total, order.currency, "total"),
                        currency=order.currency.upper(),
                        payment_reference=order.transaction_id,
                    ),
                )
            )
        if order.status == CANCELLED_STATUS:
            events.append(self.cancelled(order.id, order.date_modified_gmt, "cancelled in WooCommerce"))
        if order.status == COMPLETED_STATUS:
            # Core WooCommerce has no shipments: "completed" is the merchant saying it has shipped.
            events.append(
                OrderFulfilled(
                    **self._envelope(self._id("order", order.id, "completed"), order.date_modified_gmt),
                    data=OrderFulfilledData(order_id=self._order_id(order.id)),
                )
            )
        for refund in order.refunds:
            events.append(
                RefundIssued(
                    # WooCommerce's refunds carry no date of their own; the order's change is the closest.
                    **self._envelope(self._id("refund", refund.id), order.date_modified_gmt),
                    data=RefundData(
                        order_id=self._order_id(order.id),
                        refund_id=str(refund.id),
                        amount=self._refund_amount(refund, order.currency),
                        currency=order.currency.upper(),
                        reason=refund.reason,
                    ),
                )
            )
        return events

    def cancelled(self, order_id: int, when: datetime | None, reason: str) -> OrderCancelled:
        return OrderCancelled(
            **self._envelope(self._id("order", order_id, "cancelled"), when),
            data=OrderCancelledData(order_id=self._order_id(order_id), reason=reason),
        )

    @staticmethod
    def _refund_amount(refund: WooRefund, currency: str) -> int:
        return abs(_minor(refund.total, currency, f"refunds (id {refund.id}).total"))

    def customer(self, customer: WooCustomer, topic: str) -> CustomerUpserted:
        modified = customer.date_modified_gmt.isoformat() if customer.date_modified_gmt else topic
        billing = customer.billing
        return CustomerUpserted(
            **self._envelope(self._id("customer", customer.id, modified), customer.date_modified_gmt),
            data=CustomerData(
                email=customer.email or (billing.email if billing else None),
                platform_customer_id=str(customer.id),
                first_name=customer.first_name or (billing.first_name if billing else None),
                last_name=customer.last_name or (billing.last_name if billing else None),
                phone=billing.phone if billing else None,
                updated_at=customer.date_modified_gmt,
            ),
        )

    def product(self, product: WooProduct, variations: list[WooVariation] | None = None) -> ProductUpdated | None:
        """A product's catalog content, for catalog sync's echo and drift checks: a simple product's
        from its webhook, a variable product's with its `variations` (read through the API, since its
        webhook lists their ids only); None when there is nothing to judge by SKU."""
        if product.name is None:
            return None
        options: list[CatalogOptionData] = []
        if product.type == "simple" and product.sku:
            price, compare = _price_and_compare(product)
            items = [CatalogItem(sku=product.sku, price=price, compare_at_price=compare)]
        elif product.type == "variable" and variations is not None:
            names = [a.name for a in product.attributes if a.variation]
            options = [CatalogOptionData(name=a.name, values=a.options) for a in product.attributes if a.variation]
            items = []
            for variation in variations:
                if not variation.sku:
                    continue  # nothing to sync it by
                chosen = {a.name: a.option or "" for a in variation.attributes}
                price, compare = _price_and_compare(variation)
                items.append(
                    CatalogItem(
                        sku=variation.sku,
                        platform_variation_id=str(variation.id),
                        price=price,
                        compare_at_price=compare,
                        # "Any <attribute>" is an empty option: the variation's value for it is ""
                        option_values=[chosen.get(name, "") for name in names],
                    )
                )
        else:
            return None
        if not items:
            return None
        modified = product.date_modified_gmt.isoformat() if product.date_modified_gmt else "undated"
        return ProductUpdated(
            **self._envelope(self._id("product", product.id, "catalog", modified), product.date_modified_gmt),
            data=ProductData(
                platform_product_id=str(product.id),
                items=items,
                options=options,
                updated_at=product.date_modified_gmt,
                catalog=True,
                title=product.name,
                description=product.description or "",
                status="active" if product.status == "publish" else "draft",
                url=product.permalink or None,
                images=[image.src for image in product.images if image.src],
            ),
        )

    def stock(self, product: WooProduct) -> StockLevelReported | None:
        if product.manage_stock is not True or product.stock_quantity is None:
            return None
        variation = product.type == "variation"
        modified = product.date_modified_gmt.isoformat() if product.date_modified_gmt else "undated"
        return StockLevelReported(
            **self._envelope(self._id("product", product.id, "stock", modified), product.date_modified_gmt),
            data=StockReportData(
                sku=product.sku,
                available=product.stock_quantity,
                platform_product_id=str(product.parent_id if variation and product.parent_id else product.id),
                platform_variation_id=str(product.id) if variation else None,
                updated_at=product.date_modified_gmt,
            ),
        )


ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
CUSTOMER_TOPICS = ("customer.created", "customer.updated")
PRODUCT_TOPICS = ("product.updated",)


class WooCommerceSource:
    """The source of POST /webhooks/woocommerce. `variations` (given by the composition root) reads a
    variable product's variations when catalog sync is on; without it they are not judged."""

    name = "woocommerce"

    def __init__(self, variations: Callable[[], WooCommerceVariations] | None = None) -> None:
        self._variations = variations

    def secret_key_for(self, request: WebhookRequest, config: HubConfig) -> str:
        """The secret of the channel whose site X-WC-Webhook-Source (unsigned) names: only it may
        verify the delivery. The unsigned ping names no site and needs no secret."""
        if request.header(SIGNATURE_HEADER) is None and _ping_id(request) is not None:
            return _SECRET_KEY
        return _channel(config, request.header(SOURCE_HEADER))[1].secret_key() or _SECRET_KEY

    def verify(self, request: WebhookRequest, secrets: SecretsProvider, secret_key: str | None = None) -> None:
        signature = request.header(SIGNATURE_HEADER)
        if signature is None and _ping_id(request) is not None:
            return  # the ping is unsigned by design, and publishes nothing
        key = secret_key or _SECRET_KEY
        require_base64_hmac(
            SIGNATURE_HEADER,
            signature,
            list(woocommerce_secret_keys(secrets.candidates(key))),
            request.body,
            "WooCommerce",
            secret_name=key,
        )

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        ping = _ping_id(request)
        if ping is not None:
            return Delivery(
                f"woocommerce:ping:{ping}", "ping", [], ignored_reason=f"WooCommerce ping for webhook {ping}"
            )
        topic = request.header(TOPIC_HEADER)
        source = request.header(SOURCE_HEADER)
        for name, value in ((TOPIC_HEADER, topic), (SOURCE_HEADER, source)):
            if not value:
                raise MalformedPayloadError(f"missing {name} header; WooCommerce sends it with every webhook")
        assert topic and source
        site = source.rstrip("/")
        if topic not in (*ORDER_TOPICS, *CUSTOMER_TOPICS, *PRODUCT_TOPICS):
            return Delivery(
                f"woocommerce:{site}:{topic}",
                topic,
                [],
                ignored_reason=f"the hub does not use WooCommerce topic '{topic}'",
            )
        body = _load(request.body)
        delivery_id = request.header(DELIVERY_HEADER)
        provider = ProviderRef(topic=topic, delivery_id=delivery_id, account=source)
        channel, settings = _channel(config, site)
        _check_claims(topic, body)
        translate = _Translation(site, channel, provider, datetime.now(UTC), settings)

        if topic == "order.deleted":
            deleted = self._model(WooDeletedResource, body, "order")
            # The body of a deletion is often just the id, with no modification time to dedupe on.
            stamp = deleted.date_modified_gmt.isoformat() if deleted.date_modified_gmt else delivery_id
            key = f"woocommerce:{site}:{topic}:{deleted.id}:{stamp}"
            return Delivery(key, topic, [translate.cancelled(deleted.id, deleted.date_modified_gmt, "deleted")])
        if topic in ORDER_TOPICS:
            order = self._model(WooOrder, body, "order")
            events: list[HubEvent]
            if topic == "order.created":
                events = [translate.placed(order), *translate.facts(order)]
            elif topic == "order.updated":
                events = [translate.updated(order, topic), translate.placed(order, topic), *translate.facts(order)]
            else:
                events = [translate.updated(order, topic), translate.placed(order, topic)]
            return Delivery(self._key(site, topic, order.id, order.date_modified_gmt), topic, events)
        if topic in CUSTOMER_TOPICS:
            customer = self._model(WooCustomer, body, "customer")
            key = self._key(site, topic, customer.id, customer.date_modified_gmt)
            return Delivery(key, topic, [translate.customer(customer, topic)])
        product = self._model(WooProduct, body, "product")
        key = self._key(site, topic, product.id, product.date_modified_gmt)
        stock = translate.stock(product)
        # Catalog content only when catalog sync is on: with it off, this topic stays a stock report.
        catalog: HubEvent | None = None
        unread = None
        if config.catalog is not None:
            variations = None
            if product.type == "variable" and product.name is not None and config.catalog.concerns(channel):
                try:
                    variations, unread = self._read_variations(channel, settings, product.id)
                except (OutboundError, SecretsError) as exc:
                    if not read_again_later(exc):
                        unread = self._unread(channel, product.id, exc)
                    else:
                        # Durable now, read later (resource_fetch): the stock report is published at once.
                        catalog = self._fetch_requested(translate, topic, key, product, body, exc)
            catalog = catalog or translate.product(product, variations)
        found: list[HubEvent] = [e for e in (stock, catalog) if e is not None]
        if not found:
            reason = unread or f"WooCommerce does not manage stock for product {product.id}"
            return Delivery(key, topic, [], ignored_reason=reason)
        return Delivery(key, topic, found)

    def _read_variations(
        self, channel: str, settings: ChannelConfig | None, product_id: int
    ) -> tuple[list[WooVariation] | None, str | None]:
        """The variations of a variable product, or None and why they are not judged: none can be
        read here, or WooCommerce answered them in a shape the hub cannot read (logged).

        Raises OutboundError or SecretsError while they cannot be read (intake then asks resource_fetch
        to read them later; resource_fetch retries, then dead-letters).
        """
        if self._variations is None or settings is None:
            return None, f"the variations of WooCommerce product {product_id} cannot be read here"
        listed = self._variations().variations(channel, settings, product_id)
        try:
            return [WooVariation.model_validate(v) for v in listed], None
        except (ValidationError, InvalidOperation, ValueError) as exc:
            return None, self._unread(channel, product_id, exc)

    @staticmethod
    def _unread(channel: str, product_id: int, exc: Exception) -> str:
        """Variations no later read would give (gone, too many, unreadable): the change is not judged."""
        logger.warning(
            "variable product not judged for catalog drift",
            extra={
                "channel": channel,
                "product_id": product_id,
                "error": type(exc).__name__,
                "status": getattr(exc, "status_code", None),
            },
        )
        return f"the variations of WooCommerce product {product_id} could not be read ({type(exc).__name__})"

    @staticmethod
    def _fetch_requested(
        translate: _Translation, topic: str, key: str, product: WooProduct, body: dict[str, Any], exc: Exception
    ) -> ResourceFetchRequested:
        status = getattr(exc, "status_code", None)
        logger.warning(
            "variations not read; read later by resource_fetch",
            extra={
                "channel": translate.channel,
                "product_id": product.id,
                "error": type(exc).__name__,
                "status": status,
            },
        )
        modified = product.date_modified_gmt.isoformat() if product.date_modified_gmt else "undated"
        return ResourceFetchRequested(
            **translate._envelope(translate._id("product", product.id, "fetch", modified), product.date_modified_gmt),
            data=ResourceFetchData(
                platform="woocommerce",
                resource="variations",
                resource_id=str(product.id),
                store_hash=translate.site,
                scope=topic,
                payload_hash=modified,
                dedupe_key=key,
                canonical_event_id=translate._id("product", product.id, "catalog", modified),
                reason=f"the variations of WooCommerce product {product.id} could not be read ({type(exc).__name__})",
                body=body,
            ),
        )

    def complete(self, request: ResourceFetchRequested, config: HubConfig) -> tuple[list[HubEvent], str | None]:
        """resource_fetch: read the variations a product delivery named and publish its catalog content
        (ProductUpdated, with the id intake would have given it); its stock report went out at intake.

        Raises OutboundError or SecretsError while the variations still cannot be read.
        """
        data = request.data
        if data.resource != "variations" or data.body is None:
            return [], f"WooCommerce has no {data.resource} to read later"
        if config.catalog is None:
            return [], "catalog sync is off"
        product = self._model(WooProduct, data.body, "product")
        channel, settings = request.channel, config.channel_settings(request.channel, self.name)
        translate = _Translation(data.store_hash, channel, request.provider, request.occurred_at, settings)
        try:
            variations, unread = self._read_variations(channel, settings, product.id)
        except (OutboundError, SecretsError) as exc:
            if read_again_later(exc):
                raise  # the record comes back later, then goes to the dead-letter queue
            return [], self._unread(channel, product.id, exc)
        catalog = translate.product(product, variations)
        if catalog is None:
            return [], unread or f"WooCommerce product {product.id} has no variation to judge by SKU"
        return [catalog], None

    @staticmethod
    def _key(site: str, topic: str, resource_id: int, modified: datetime | None) -> str:
        return f"woocommerce:{site}:{topic}:{resource_id}:{modified.isoformat() if modified else 'undated'}"

    @staticmethod
    def _model(model: type[_M], body: dict[str, Any], what: str) -> _M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise MalformedPayloadError(f"not a WooCommerce {what}: {validation_problem(exc)}") from exc
        except (InvalidOperation, ValueError) as exc:
            raise MalformedPayloadError(f"not a WooCommerce {what}: {exc}") from exc
