"""BigCommerce: Standard Webhooks signatures, thin payloads, and the resource fetched from the API.

A delivery is signed as Standard Webhooks specifies: `webhook-signature: v1,<base64>` (several,
space-separated, during a rotation) over `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with
the app's client secret, and refused when the signed timestamp is more than five minutes off.

The body names a resource and little else (`{"scope": "store/order/created", "data": {"type":
"order", "id": 250}, "hash": ...}`), so the hub reads the order, customer, product or variant
through the BigCommerce API before it publishes. When that read fails (network, 5xx, 429, no token)
the delivery is still made durable: a `ResourceFetchRequested` goes on the bus, and the
resource_fetch function reads the resource later and publishes the event intake would have
published (same provider ids, same time, and an id derived the same way).

Deliveries are deduplicated on the Standard Webhooks `webhook-id`: the same on every retry of one
message, new for each message. The payload's `hash` cannot serve: it is the SHA-1 of `data`, which
for `store/order/updated`, `store/customer/updated` and the like is only `{type, id}`, so every
update of one order carries the same hash. Event ids are facts, not deliveries: an order's placement
is named by the order (the hash of `{type: order, id}`), an order's or customer's change by the
state the API returned (its `date_modified`, status and amounts), so two messages that report one
change are one event to the consumers; a variant's level, which carries no modification time, by
the message that reported it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import ChannelConfig, HubConfig
from hub.domain.platforms import STANDARD_WEBHOOK_SECRETS
from hub.errors import BigCommerceFetchError, MalformedPayloadError, MoneyError, SignatureError, UnknownChannelError
from hub.events import (
    CatalogItem,
    CatalogOptionData,
    CustomerData,
    CustomerUpserted,
    HubEvent,
    LineItem,
    OrderData,
    OrderPlaced,
    OrderStatusData,
    OrderUpdated,
    ProductData,
    ProductUpdated,
    ProviderRef,
    ResourceFetchData,
    ResourceFetchRequested,
    ShipmentLine,
    StockLevelReported,
    StockReportData,
    event_id_for,
)
from hub.intake.envelopes import validation_problem
from hub.intake.lines import Amount, OptionalAmount, Units, line_sku
from hub.intake.service import load_json_object
from hub.intake.signatures import any_match
from hub.money import parse_minor
from hub.ports import BigCommerceApi, Delivery, WebhookRequest
from hub.secrets import SecretsProvider

__all__ = [
    "DEFAULT_API_URL",
    "TOLERANCE_SECONDS",
    "BigCommerceResources",
    "BigCommerceSource",
    "Notice",
    "standard_webhooks_key",
]

DEFAULT_API_URL = "https://api.bigcommerce.com"
TOLERANCE_SECONDS = 300  # Standard Webhooks: five minutes either way
# Intake answers within the sender's budget; what cannot be read in this time is read later.
INTAKE_FETCH_BUDGET_SECONDS = 3.0
_PAGE_SIZE = 250
_MAX_PAGES = 20
_STORE_HASH = re.compile(r"[A-Za-z0-9]{1,64}")

Resource = Literal["order", "customer", "product", "variant"]
# The scopes the hub uses, and the resource each one names.
SCOPES: dict[str, Resource] = {
    "store/order/created": "order",
    "store/order/updated": "order",
    "store/order/statusUpdated": "order",
    "store/customer/created": "customer",
    "store/customer/updated": "customer",
    "store/product/updated": "product",
    "store/product/inventory/updated": "product",
    "store/sku/inventory/updated": "variant",
}
ORDER_PLACED_SCOPE = "store/order/created"

# BigCommerce order status ids (GET /v2/order_statuses).
_PAID_STATUS_IDS = frozenset({2, 3, 4, 8, 9, 10, 11, 14})  # shipped, awaiting fulfilment, refunded, ...
_CANCELLED_STATUS_ID = 5
_SHIPPED_STATUS_ID = 2  # 3 is "Partially Shipped": the products' quantity_shipped say which units


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a secret: a `whsec_`-prefixed Standard Webhooks secret is base64; a BigCommerce
    client secret is used as it is (BigCommerce's docs hand the libraries base64(client_secret))."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_") + "==")
        except ValueError:
            return secret.encode()
    return secret.encode()


# ---------------------------------------------------------------------------------------- wire
class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class BcInventory(_Wire):
    product_id: int | None = None
    variant_id: int | None = None


class BcData(_Wire):
    type: str
    id: int | str
    inventory: BcInventory | None = None


class BcWebhookPayload(_Wire):
    scope: str
    store_id: str | int | None = None
    data: BcData
    hash: str = Field(min_length=1, max_length=128)
    created_at: int = Field(ge=0, lt=10**11, description="Unix seconds")
    producer: str | None = None


class BcAddress(_Wire):
    email: str | None = None
    country_iso2: str | None = None


class BcOrder(_Wire):
    id: int
    date_created: str
    date_modified: str | None = None
    status_id: int
    status: str | None = None
    total_inc_tax: Amount  # V2 writes four decimals: "101.6000"
    currency_code: str
    refunded_amount: OptionalAmount = None
    billing_address: BcAddress | None = None


class BcOrderProduct(_Wire):
    id: int
    product_id: int | None = None  # 0 for a custom product
    variant_id: int | None = None
    name: str | None = None
    sku: str | None = None
    type: str | None = None  # "physical" or "digital"
    quantity: Units
    quantity_shipped: Units = 0
    price_ex_tax: Amount


class BcCustomer(_Wire):
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    date_modified: datetime | None = None


class BcOptionValue(_Wire):
    option_display_name: str
    label: str


class BcCatalogVariant(_Wire):
    """A variant as `include=variants` lists it: `price` and `sale_price` are JSON numbers, null when
    the variant inherits the product's; the base variant of a product without options may have an
    empty `sku` (the product's SKU is the one sold)."""

    id: int
    sku: str | None = None
    price: OptionalAmount = None
    sale_price: OptionalAmount = None
    option_values: list[BcOptionValue] = []


class BcImage(_Wire):
    url_zoom: str | None = None
    url_standard: str | None = None
    is_thumbnail: bool = False
    sort_order: int = 0


class BcCustomUrl(_Wire):
    url: str | None = None


class BcProduct(_Wire):
    id: int
    sku: str | None = None
    inventory_level: int | None = None
    inventory_tracking: str | None = None
    date_modified: datetime | None = None
    # The catalog fields (GET /v3/catalog/products/{id}?include=variants,images).
    name: str | None = None
    description: str | None = None
    price: OptionalAmount = None
    sale_price: OptionalAmount = None
    is_visible: bool | None = None
    availability: str | None = None  # available, disabled, preorder
    custom_url: BcCustomUrl | None = None
    images: list[BcImage] = []
    variants: list[BcCatalogVariant] | None = None


class BcVariant(_Wire):
    id: int
    product_id: int
    sku: str | None = None
    inventory_level: int | None = None


_M = TypeVar("_M", bound=BaseModel)


def _minor(amount: Decimal, currency: str, where: str) -> int:
    try:
        return parse_minor(amount, currency)
    except MoneyError as exc:
        raise BigCommerceFetchError(f"BigCommerce returned {where} that cannot be read exactly: {exc}") from exc


def _rfc2822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -------------------------------------------------------------------------------------- notice
@dataclass(frozen=True)
class Notice:
    """What one verified delivery names: everything the fetched event is built from, besides the resource."""

    scope: str
    store_hash: str
    payload_hash: str
    webhook_id: str | None
    created_at: datetime
    resource: Resource
    resource_id: str
    parent_id: str | None
    channel: str
    api_url: str

    @property
    def message_id(self) -> str:
        """The Standard Webhooks message id (verification requires it; the hash stands in if a stored
        fetch request lacks it)."""
        return self.webhook_id or f"{self.scope}:{self.payload_hash}"

    @property
    def dedupe_key(self) -> str:
        return f"bigcommerce:{self.store_hash}:{self.message_id}"

    @property
    def event_id(self) -> str | None:
        """The id known before the resource is read: an order's placement, named by the order alone.

        Any other event's id depends on what the read returns (`fact_id`).
        """
        if self.scope == ORDER_PLACED_SCOPE:
            return event_id_for("bigcommerce", self.store_hash, self.scope, self.payload_hash)
        return None

    def fact_id(self, *state: str) -> str:
        """The id of the event reporting `state` of the named resource, whichever message reported it."""
        return event_id_for("bigcommerce", self.store_hash, self.resource, self.resource_id, *state)

    def message_event_id(self) -> str:
        """The id of an event whose resource carries no modification time: one per message."""
        return event_id_for("bigcommerce", self.store_hash, self.scope, "message", self.message_id)

    def provider(self) -> ProviderRef:
        return ProviderRef(
            topic=self.scope, event_id=self.payload_hash, delivery_id=self.webhook_id, account=self.store_hash
        )

    def envelope(self, event_id: str | None = None) -> dict[str, Any]:
        return {
            "event_id": event_id or self.event_id or self.message_event_id(),
            "source": "bigcommerce",
            "channel": self.channel,
            "occurred_at": self.created_at,
            "provider": self.provider(),
        }

    def fetch_requested(self, reason: str) -> ResourceFetchRequested:
        envelope = self.envelope()
        envelope["event_id"] = event_id_for("bigcommerce", self.store_hash, "fetch", self.message_id)
        return ResourceFetchRequested(
            **envelope,
            data=ResourceFetchData(
                platform="bigcommerce",
                resource=self.resource,
                resource_id=self.resource_id,
                parent_id=self.parent_id,
                store_hash=self.store_hash,
                scope=self.scope,
                payload_hash=self.payload_hash,
                dedupe_key=self.dedupe_key,
                canonical_event_id=self.event_id,
                reason=reason,
            ),
        )

    @classmethod
    def from_fetch_request(cls, event: ResourceFetchRequested, config: HubConfig) -> Notice:
        data = event.data
        resource = data.resource
        if resource == "variations":  # WooCommerce's, never BigCommerce's
            raise MalformedPayloadError("a BigCommerce fetch request names no 'variations' resource")
        channel = config.channels.get(event.channel)
        return cls(
            scope=data.scope,
            store_hash=data.store_hash,
            payload_hash=data.payload_hash,
            webhook_id=event.provider.delivery_id,
            created_at=event.occurred_at,
            resource=resource,
            resource_id=data.resource_id,
            parent_id=data.parent_id,
            channel=event.channel,
            api_url=(channel.api_url if channel and channel.api_url else DEFAULT_API_URL),
        )


# ----------------------------------------------------------------------------------- resources
class BigCommerceResources:
    """Reads the resource a notice names and turns it into the canonical event: the one place
    BigCommerce's shapes become the hub's, used by intake and by resource_fetch alike."""

    def __init__(self, api: BigCommerceApi, *, budget_seconds: float | None = None) -> None:
        self._api = api
        self._budget = budget_seconds

    def events_for(
        self, notice: Notice, settings: ChannelConfig | None = None, *, catalog: bool = False
    ) -> tuple[list[HubEvent], str | None]:
        """The canonical events, or none and the reason the hub has no use for the resource.
        `settings` is the channel's configuration (its sku_map names products without a SKU);
        `catalog` (catalog sync is on) reads a product with its variants and images, in the same
        one request, and adds its ProductUpdated with the catalog content.

        Raises BigCommerceFetchError when the resource cannot be read or is not what BigCommerce sends.
        """
        deadline = time.monotonic() + self._budget if self._budget else None
        try:
            if notice.resource == "order":
                return self._order(notice, deadline, settings), None
            if notice.resource == "customer":
                return [self._customer(notice, deadline)], None
            return self._stock(notice, deadline, catalog)
        except (MoneyError, ArithmeticError, ValidationError, MalformedPayloadError) as exc:
            raise BigCommerceFetchError(
                f"BigCommerce {notice.resource} {notice.resource_id} cannot be recorded: {exc}"
            ) from exc

    def _get(self, notice: Notice, path: str, deadline: float | None) -> Any:
        return self._api.get_json(notice.api_url, notice.store_hash, path, deadline=deadline)

    @staticmethod
    def _model(model: type[_M], document: Any, what: str) -> _M:
        try:
            return model.model_validate(document)
        except ValidationError as exc:
            raise BigCommerceFetchError(
                f"BigCommerce returned {what} in an unexpected shape: {validation_problem(exc)}"
            ) from exc

    def _order(self, notice: Notice, deadline: float | None, settings: ChannelConfig | None) -> list[HubEvent]:
        """The order, as the scope names it. Every order scope reads the whole order, and BigCommerce
        does not promise `created` arrives before `statusUpdated`: an update is also a placement
        (its id from the scope, the order and its `date_modified`), and the first one records it."""
        oid = notice.resource_id
        order = self._model(BcOrder, self._get(notice, f"/v2/orders/{oid}", deadline), f"order {oid}")
        currency = order.currency_code.upper()
        order_id = f"{notice.channel}:{order.id}"
        paid = order.status_id in _PAID_STATUS_IDS
        if notice.scope == ORDER_PLACED_SCOPE:
            return [self._placed(notice, order, notice.envelope(), deadline, settings)]
        # One change of the order is one fact, whether store/order/updated, statusUpdated or a retried
        # fetch reported it; a later change has a new date_modified, status or amount.
        state = (
            order.date_modified or "",
            str(order.status_id),
            str(order.total_inc_tax),
            str(order.refunded_amount or ""),
        )
        placement = notice.envelope(notice.fact_id("placed", *state)) | {
            "occurred_at": _rfc2822(order.date_created) or notice.created_at,
        }
        return [
            OrderUpdated(
                **notice.envelope(notice.fact_id(*state)),
                data=OrderStatusData(
                    order_id=order_id,
                    platform_order_id=str(order.id),
                    platform_status=order.status,
                    currency=currency,
                    total=parse_minor(order.total_inc_tax, currency, field="total_inc_tax"),
                    paid=paid,
                    cancelled=order.status_id == _CANCELLED_STATUS_ID,
                    refunded_total=parse_minor(order.refunded_amount or "0", currency, field="refunded_amount"),
                    updated_at=_rfc2822(order.date_modified),
                ),
            ),
            self._placed(notice, order, placement, deadline, settings),
        ]

    def _placed(
        self,
        notice: Notice,
        order: BcOrder,
        envelope: dict[str, Any],
        deadline: float | None,
        settings: ChannelConfig | None,
    ) -> OrderPlaced:
        oid = notice.resource_id
        currency = order.currency_code.upper()
        products = [
            self._model(BcOrderProduct, item, f"order {oid}'s products.{index}")
            for index, item in enumerate(self._pages(notice, f"/v2/orders/{oid}/products", deadline))
        ]
        addresses = self._get(notice, f"/v2/orders/{oid}/shipping_addresses", deadline) or []
        if not isinstance(addresses, list):
            raise BigCommerceFetchError(f"BigCommerce returned order {oid}'s addresses in an unexpected shape")
        shipping = self._model(BcAddress, addresses[0], f"order {oid}'s address") if addresses else None
        country = (shipping.country_iso2 if shipping else None) or (
            order.billing_address.country_iso2 if order.billing_address else None
        )
        # Every product is a line: one without a SKU (a custom product's product_id is 0) is named by
        # its ids; a digital product is recorded, never reserved.
        named = [
            (
                item,
                LineItem(
                    sku=line_sku(
                        item.sku,
                        channel=notice.channel,
                        settings=settings,
                        product_id=item.product_id,
                        variation_id=item.variant_id,
                        line_id=item.id,
                        where=f"products.{index}",
                    ),
                    quantity=item.quantity,
                    unit_price=_minor(item.price_ex_tax, currency, f"order {oid}'s products.{index}.price_ex_tax"),
                    title=item.name,
                    platform_line_id=str(item.id),
                    stocked=(item.type or "physical").lower() != "digital",
                ),
            )
            for index, item in enumerate(products)
            if item.quantity > 0
        ]
        lines = [line for _item, line in named]
        # BigCommerce ships in its own admin (no webhook the hub hears says so): what the order's
        # products say has shipped is the storefront's, and the hub never labels it.
        shipped = [
            ShipmentLine(sku=line.sku, quantity=min(item.quantity_shipped, item.quantity))
            for item, line in named
            if line.stocked and item.quantity_shipped > 0
        ]
        if not shipped and order.status_id == _SHIPPED_STATUS_ID:
            shipped = [ShipmentLine(sku=ln.sku, quantity=ln.quantity) for ln in lines if ln.stocked]
        return OrderPlaced(
            **envelope,
            data=OrderData(
                order_id=f"{notice.channel}:{order.id}",
                platform_order_id=str(order.id),
                order_number=str(order.id),
                currency=currency,
                total=parse_minor(order.total_inc_tax, currency, field="total_inc_tax"),
                paid=order.status_id in _PAID_STATUS_IDS,
                cancelled=order.status_id == _CANCELLED_STATUS_ID,
                customer_email=order.billing_address.email if order.billing_address else None,
                shipping_country=country or None,
                lines=lines,
                updated_at=_rfc2822(order.date_modified) or _rfc2822(order.date_created),
                storefront_shipped=shipped,
            ),
        )

    def _pages(self, notice: Notice, path: str, deadline: float | None) -> Iterable[Any]:
        for page in range(1, _MAX_PAGES + 1):
            batch = self._get(notice, f"{path}?limit={_PAGE_SIZE}&page={page}", deadline) or []
            if not isinstance(batch, list):
                raise BigCommerceFetchError(f"BigCommerce returned {path} in an unexpected shape: not a list")
            yield from batch
            if len(batch) < _PAGE_SIZE:
                return

    def _customer(self, notice: Notice, deadline: float | None) -> HubEvent:
        cid = notice.resource_id
        document = self._get(notice, f"/v3/customers?id:in={cid}", deadline) or {}
        found = document.get("data") if isinstance(document, dict) else None
        if not found or not isinstance(found, list):
            raise BigCommerceFetchError(f"BigCommerce has no customer {cid}")
        customer = self._model(BcCustomer, found[0], f"customer {cid}")
        changed = customer.date_modified.isoformat() if customer.date_modified else None
        return CustomerUpserted(
            **notice.envelope(notice.fact_id(changed) if changed else None),
            data=CustomerData(
                email=customer.email,
                platform_customer_id=str(customer.id),
                first_name=customer.first_name or None,
                last_name=customer.last_name or None,
                phone=customer.phone or None,
                updated_at=customer.date_modified,
            ),
        )

    def _stock(
        self, notice: Notice, deadline: float | None, catalog: bool = False
    ) -> tuple[list[HubEvent], str | None]:
        if notice.resource == "variant":
            path = f"/v3/catalog/products/{notice.parent_id}/variants/{notice.resource_id}"
            variant = self._model(BcVariant, self._data(self._get(notice, path, deadline)), "a variant")
            if variant.inventory_level is None:
                return [], f"BigCommerce tracks no stock for variant {variant.id}"
            report = StockReportData(
                sku=variant.sku or None,
                available=variant.inventory_level,
                platform_product_id=str(variant.product_id),
                platform_variation_id=str(variant.id),
            )
            return [StockLevelReported(**notice.envelope(), data=report)], None
        path = f"/v3/catalog/products/{notice.resource_id}"
        with_content = catalog and notice.scope == "store/product/updated"
        if with_content:
            path += "?include=variants,images"  # the same one read, with what catalog sync compares
        product = self._model(BcProduct, self._data(self._get(notice, path, deadline)), "a product")
        content = _catalog_event(notice, product) if with_content else None
        if product.inventory_tracking != "product" or product.inventory_level is None:
            # "variant" tracking reports each variant's level through store/sku/inventory/updated.
            if content is not None:
                return [content], None
            return [], f"BigCommerce tracks no product-level stock for product {product.id}"
        report = StockReportData(
            sku=product.sku or None,
            available=product.inventory_level,
            platform_product_id=str(product.id),
            updated_at=product.date_modified,
        )
        changed = product.date_modified.isoformat() if product.date_modified else None
        event_id = notice.fact_id(changed, str(product.inventory_level)) if changed else None
        stock = StockLevelReported(**notice.envelope(event_id), data=report)
        return [stock, content] if content is not None else [stock], None

    @staticmethod
    def _data(document: Any) -> Any:
        if not isinstance(document, dict) or "data" not in document:
            raise BigCommerceFetchError("BigCommerce returned a catalog document without 'data'")
        return document["data"]


# ------------------------------------------------------------------------------------- catalog
def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount, "f")


def _price_and_compare(price: Decimal | None, sale: Decimal | None) -> tuple[str | None, str | None]:
    """(price, compare-at) as the hub keeps them from BigCommerce's `price` and `sale_price`: a sale
    price above 0 is the price sold at, with the regular `price` as its compare-at price (0 or null
    is no sale). This is the pair the hub writes (docs/catalog.md), so its own push reads back the
    same. `retail_price` (the MSRP shown struck through) is not what the hub writes, and
    `calculated_price` is derived (sale price, price lists, tax display): neither is read."""
    if sale is not None and sale > 0:
        return _text(sale), _text(price)
    return _text(price), None


def _catalog_event(notice: Notice, product: BcProduct) -> ProductUpdated | None:
    """The catalog content of a product read with `include=variants,images`: None when it names no
    SKU (nothing to sync by). Options are the variants' option values, in their order."""
    if product.name is None or product.variants is None:
        return None
    options: dict[str, list[str]] = {}
    items: list[CatalogItem] = []
    for variant in product.variants:
        values = []
        for value in variant.option_values:
            known = options.setdefault(value.option_display_name, [])
            if value.label not in known:
                known.append(value.label)
            values.append(value.label)
        # The base variant of a product without options sells under the product's SKU.
        sku = variant.sku or (product.sku if not variant.option_values and len(product.variants) == 1 else None)
        if not sku:
            continue
        price, compare = _price_and_compare(
            variant.price if variant.price is not None else product.price,
            variant.sale_price if variant.sale_price is not None else product.sale_price,
        )
        items.append(
            CatalogItem(
                sku=sku,
                platform_variation_id=str(variant.id),
                price=price,
                compare_at_price=compare,
                option_values=values,
            )
        )
    if not items:
        return None
    images = sorted(product.images, key=lambda i: (not i.is_thumbnail, i.sort_order))
    visible = bool(product.is_visible) and product.availability != "disabled"
    changed = product.date_modified.isoformat() if product.date_modified else None
    return ProductUpdated(
        # Its own id: never the stock report's, even when the product carries no modification time.
        **notice.envelope(notice.fact_id("catalog", changed or notice.message_id)),
        data=ProductData(
            platform_product_id=str(product.id),
            items=items,
            updated_at=product.date_modified,
            catalog=True,
            title=product.name,
            description=product.description or "",
            status="active" if visible else "draft",
            url=product.custom_url.url if product.custom_url and product.custom_url.url else None,
            images=[u for u in (i.url_zoom or i.url_standard for i in images) if u],
            options=[CatalogOptionData(name=name, values=values) for name, values in options.items()],
        ),
    )


# -------------------------------------------------------------------------------------- source
_SECRET_KEY = STANDARD_WEBHOOK_SECRETS["bigcommerce"]


def _channel(config: HubConfig, store_hash: str | None) -> tuple[str, ChannelConfig]:
    """The channel of the store the signed `producer` names; with several BigCommerce channels, a
    store none of them names is refused rather than filed under the first."""
    try:
        return config.webhook_channel("bigcommerce", store_hash)
    except UnknownChannelError as exc:
        raise SignatureError(str(exc)) from None


class BigCommerceSource:
    """The source of POST /webhooks/bigcommerce. `api` is what it reads a delivery's resource through,
    given by the composition root (hub.bootstrap): intake's on the sender's clock, resource_fetch's
    with longer timeouts."""

    name = "bigcommerce"

    def __init__(
        self,
        api: BigCommerceApi,
        *,
        clock: Callable[[], float] = time.time,
        fetch_budget_seconds: float | None = INTAKE_FETCH_BUDGET_SECONDS,
    ) -> None:
        self._api = api
        self._clock = clock
        self._budget = fetch_budget_seconds

    def resources(self) -> BigCommerceResources:
        return BigCommerceResources(self._api, budget_seconds=self._budget)

    # ------------------------------------------------------------------ verify
    def secret_key_for(self, request: WebhookRequest, config: HubConfig) -> str:
        """The secret of the channel whose store the body's `producer` names. It is read before the
        signature is checked only to choose the secret; the signature then proves it. A body that
        cannot be read here is verified with the standard key, and refused later for what it is."""
        try:
            document = load_json_object(request.body, "BigCommerce")
        except MalformedPayloadError:
            return _SECRET_KEY
        producer = document.get("producer")
        store_hash = producer.removeprefix("stores/") if isinstance(producer, str) else None
        return _channel(config, store_hash or None)[1].secret_key() or _SECRET_KEY

    def verify(self, request: WebhookRequest, secrets: SecretsProvider, secret_key: str | None = None) -> None:
        message_id = request.header("webhook-id")
        timestamp = request.header("webhook-timestamp")
        signatures = request.header("webhook-signature")
        for name, value in (("webhook-id", message_id), ("webhook-timestamp", timestamp),
                            ("webhook-signature", signatures)):  # fmt: skip
            if not value:
                raise SignatureError(f"missing {name} header; BigCommerce signs every webhook (Standard Webhooks)")
        assert message_id and timestamp and signatures
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise SignatureError("the webhook-timestamp header is not a Unix time in seconds") from None
        now = self._clock()
        if sent_at < now - TOLERANCE_SECONDS:
            raise SignatureError("the webhook-timestamp is more than 5 minutes old; a replayed delivery is refused")
        if sent_at > now + TOLERANCE_SECONDS:
            raise SignatureError("the webhook-timestamp is more than 5 minutes in the future; check the clocks")
        key_name = secret_key or _SECRET_KEY
        keys = [standard_webhooks_key(s) for s in secrets.candidates(key_name)]
        if not keys:
            raise SignatureError(
                f"no BigCommerce client secret is configured under {key_name}, so the signature cannot be checked"
            )
        signed = f"{message_id}.{timestamp}.".encode() + request.body
        expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
        given = []
        for part in signatures.split():
            version, _, value = part.partition(",")
            if version != "v1":
                continue
            try:
                given.append(base64.b64decode(value, validate=True))
            except ValueError:  # binascii.Error, or text that is not ASCII
                continue
        if not any_match(expected, given):
            raise SignatureError("the webhook-signature does not match the body; check the BigCommerce client secret")

    # ------------------------------------------------------------------- parse
    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        try:
            payload = BcWebhookPayload.model_validate(load_json_object(request.body, "BigCommerce"))
        except ValidationError as exc:
            raise MalformedPayloadError(f"not a BigCommerce webhook: {validation_problem(exc)}") from exc
        notice = self.notice(payload, request.header("webhook-id"), config)
        if notice is None:
            key = f"bigcommerce:{request.header('webhook-id')}"
            return Delivery(
                key, payload.scope, [], ignored_reason=f"the hub does not use BigCommerce scope '{payload.scope}'"
            )
        try:
            events, ignored = self.resources().events_for(
                notice, config.channel_settings(notice.channel, self.name), catalog=config.catalog is not None
            )
        except BigCommerceFetchError as exc:
            # Durable now, read later: the sender gets its 200 and nothing is lost.
            return Delivery(notice.dedupe_key, notice.scope, [notice.fetch_requested(str(exc))])
        if ignored:
            return Delivery(notice.dedupe_key, notice.scope, [], ignored_reason=ignored)
        return Delivery(notice.dedupe_key, notice.scope, events)

    @staticmethod
    def notice(payload: BcWebhookPayload, webhook_id: str | None, config: HubConfig) -> Notice | None:
        resource = SCOPES.get(payload.scope)
        if resource is None:
            return None
        producer = (payload.producer or "").removeprefix("stores/")
        channel, _ = _channel(config, producer or None)
        channel_config = config.channels.get(channel)
        store_hash = producer or (channel_config.store_hash if channel_config else None)
        if not store_hash or not _STORE_HASH.fullmatch(store_hash):
            raise MalformedPayloadError(
                "not a BigCommerce webhook: 'producer' must be stores/<store hash> "
                "(or configure the channel's store_hash)"
            )
        resource_id, parent_id = str(payload.data.id), None
        if resource == "variant":
            inventory = payload.data.inventory
            if inventory is None or inventory.product_id is None:
                raise MalformedPayloadError("not a BigCommerce SKU webhook: 'data.inventory.product_id' is missing")
            resource_id = str(inventory.variant_id or payload.data.id)
            parent_id = str(inventory.product_id)
        if not resource_id.isdigit() or (parent_id is not None and not parent_id.isdigit()):
            raise MalformedPayloadError("not a BigCommerce webhook: 'data.id' must be a numeric id")
        return Notice(
            scope=payload.scope,
            store_hash=store_hash,
            payload_hash=payload.hash,
            webhook_id=webhook_id,
            created_at=datetime.fromtimestamp(payload.created_at, UTC),
            resource=resource,
            resource_id=resource_id,
            parent_id=parent_id,
            channel=channel,
            api_url=(channel_config.api_url if channel_config and channel_config.api_url else DEFAULT_API_URL),
        )

    def complete(self, request: ResourceFetchRequested, config: HubConfig) -> tuple[list[HubEvent], str | None]:
        """resource_fetch: read the resource a durable delivery named and build the event intake would have.

        Raises BigCommerceFetchError while the resource still cannot be read.
        """
        notice = Notice.from_fetch_request(request, config)
        return self.resources().events_for(
            notice, config.channel_settings(notice.channel, self.name), catalog=config.catalog is not None
        )
