"""Adobe Commerce (Magento 2) through Adobe I/O Events: RSA-signed CloudEvents, one event a delivery.

Adobe signs the raw body with RSA-SHA256 (PKCS#1 v1.5) twice, with its current and next key, as
`x-adobe-digital-signature-1` and `-2`, and names each key's file in `x-adobe-public-key1-path` and
`-2-path`, relative to Adobe's fixed key host https://static.adobeioevents.com (Adobe I/O Events,
"Signature Verification for Events"). Signature 1 is checked with key 1 and signature 2 with key 2;
either verifying is enough, as Adobe's own verifier does. The keys are fetched from that one host
only (hub.intake.keyfetch: a path under /prod/keys/, https, no redirects, size-capped, cached per
path, failures remembered briefly). When the secret holds ADOBE_IO_PUBLIC_KEY (PEM; locally the file
ADOBE_IO_PUBLIC_KEY_FILE names, or the checkout's own key), those keys are trusted instead and
nothing is fetched.

Adobe signs every consumer's events with the same key pair, so a signature proves only that Adobe
sent the body to someone. The body's `recipient_client_id` says to whom: it must be one of this
hub's own Adobe I/O client ids (ADOBE_IO_CLIENT_ID), else the event is refused (401).

The envelope carries `event_id`, stable across Adobe's retries, on which deliveries are
deduplicated; `data.value` is the Commerce entity with the fields the subscription selected.
Registering the webhook sends `GET ?challenge=...`, answered with the value.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import ChannelConfig, HubConfig
from hub.errors import (
    IntakeError,
    MalformedPayloadError,
    MoneyError,
    NotDurableError,
    OutboundError,
    QuantityError,
    SecretsError,
    SignatureError,
    read_again_later,
)
from hub.events import (
    CatalogItem,
    CustomerData,
    CustomerUpserted,
    HubEvent,
    LineItem,
    OrderCancelled,
    OrderCancelledData,
    OrderData,
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
    RefundLine,
    ResourceFetchData,
    ResourceFetchRequested,
    ShipmentLine,
    ShippingAddress,
    StockLevelReported,
    StockReportData,
    event_id_for,
)
from hub.intake.envelopes import validation_problem
from hub.intake.keyfetch import FetchPolicy, KeyFetcher
from hub.intake.lines import line_sku
from hub.intake.service import load_json
from hub.intake.signatures import any_match
from hub.money import parse_minor, parse_units
from hub.observability import logger
from hub.ports import Delivery, MagentoProducts, WebhookRequest
from hub.secrets import SecretsProvider

if TYPE_CHECKING:
    import httpx
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = ["ADOBE_KEY_HOSTS", "EVENT_NAMES", "MagentoSource"]

SIGNATURE_HEADERS = ("x-adobe-digital-signature-1", "x-adobe-digital-signature-2")
KEY_PATH_HEADERS = ("x-adobe-public-key1-path", "x-adobe-public-key2-path")
# Adobe serves its public keys from this one host; the header names only the path.
ADOBE_KEY_HOSTS: frozenset[str] = frozenset({"static.adobeioevents.com"})
ADOBE_KEY_BASE = "https://static.adobeioevents.com"
KEY_POLICY = FetchPolicy(
    vendor="Adobe",
    header="x-adobe-public-key-path",
    hosts=ADOBE_KEY_HOSTS,
    path_prefix="/prod/keys/",
    noun="public key",
    hosts_are="key hosts",
)
EVENT_PREFIX = "com.adobe.commerce."
ORDER_PLACED = "observer.sales_order_place_after"
ORDER_SAVED = "observer.sales_order_save_commit_after"
INVOICE_PAID = "observer.sales_order_invoice_pay"
CREDIT_MEMO_SAVED = "observer.sales_order_creditmemo_save_after"
CUSTOMER_SAVED = "observer.customer_save_after"
STOCK_ITEM_SAVED = "observer.cataloginventory_stock_item_save_after"
# Read only with catalog sync on (docs/catalog.md): a product's catalog content.
PRODUCT_SAVED = "observer.catalog_product_save_after"
EVENT_NAMES = (ORDER_PLACED, ORDER_SAVED, INVOICE_PAID, CREDIT_MEMO_SAVED, CUSTOMER_SAVED, STOCK_ITEM_SAVED)
# Product types sold as one SKU: a configurable product's children are products of their own.
_ONE_SKU_TYPES = frozenset({"simple", "virtual", "downloadable"})

PAID_STATES = frozenset({"processing", "complete", "closed"})
CANCELED_STATE = "canceled"  # Magento's spelling
COMPLETE_STATE = "complete"  # invoiced and shipped in full
MAX_CHALLENGE_LENGTH = 512
_PEM = re.compile(r"-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----.+?-----END \1-----", re.DOTALL)


# -------------------------------------------------------------------------------------- verify
@lru_cache(maxsize=8)
def _public_keys(pem_text: str) -> tuple[PublicKeyTypes, ...]:
    """Every RSA public key (or certificate's key) in the configured PEM text."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys: list[PublicKeyTypes] = []
    for match in _PEM.finditer(pem_text):
        block = match.group(0).encode()
        try:
            if match.group(1) == "CERTIFICATE":
                keys.append(x509.load_pem_x509_certificate(block).public_key())
            else:
                keys.append(load_pem_public_key(block))
        except ValueError:
            continue
    return tuple(keys)


def _load_public_key(pem: bytes) -> Any:
    """Adobe's public key from the document at a key path: one RSA public key, PEM."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise SignatureError("the document at the x-adobe-public-key-path is not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the key at the x-adobe-public-key-path is not an RSA key, so it cannot check rsa-sha256")
    return key


def _key_url(path: str) -> str:
    # Adobe sends a path; anything else (a URL, a host) is not Adobe's header.
    if not path.startswith("/") or path.startswith("//"):
        raise SignatureError(f"the x-adobe-public-key-path '{path[:120]}' is not a path on Adobe's key host")
    return ADOBE_KEY_BASE + path


def _decoded(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error, or text that is not ASCII
        return None


def _verifies(keys: Sequence[object], signature: bytes, body: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    for key in keys:
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return True
    return False


# ---------------------------------------------------------------------------------------- wire
def _utc(value: str | None) -> datetime | None:
    """Adobe's `time` (ISO 8601) or Magento's "2025-03-14 14:21:07" (UTC without an offset)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Wire(BaseModel):
    # Fields are chosen per subscription; only what the hub reads is declared.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class AdobeEventData(_Wire):
    key: str | None = None
    source: str | None = None
    value: dict[str, Any]


class AdobeEvent(_Wire):
    type: str = Field(min_length=1)
    id: str | None = None
    source: str | None = None
    time: str | None = None
    event_id: str | None = None
    recipient_client_id: str | None = None
    data: AdobeEventData


class MagentoAddress(_Wire):
    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street: list[str] | str | None = None
    city: str | None = None
    region_code: str | None = None
    postcode: str | None = None
    country_id: str | None = None
    telephone: str | None = None
    email: str | None = None

    def canonical(self) -> ShippingAddress:
        street = [self.street] if isinstance(self.street, str) else list(self.street or [])
        return ShippingAddress(
            name=" ".join(p for p in (self.firstname, self.lastname) if p) or None,
            company=self.company,
            street1=street[0] if street else None,
            street2=", ".join(street[1:]) or None,
            city=self.city,
            state=self.region_code,
            postal_code=self.postcode,
            country=self.country_id,
            phone=self.telephone,
            email=self.email,
        )


class MagentoOrderItem(_Wire):
    item_id: str | None = None
    parent_item_id: str | None = None  # a configurable's simple product, or a bundle's component
    product_id: str | None = None
    product_type: str | None = None  # simple, configurable, bundle, downloadable, virtual, giftcard, ...
    is_virtual: bool | None = None  # 1 for downloadable and virtual items: nothing ships
    sku: str | None = None
    name: str | None = None
    qty_ordered: str
    qty_shipped: str | None = None
    price: str


class MagentoOrder(_Wire):
    entity_id: str
    increment_id: str | None = None
    state: str | None = None
    status: str | None = None
    order_currency_code: str
    grand_total: str
    total_paid: str | None = None
    total_refunded: str | None = None
    customer_email: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    items: list[MagentoOrderItem] = []
    shipping_address: MagentoAddress | None = None


class MagentoInvoice(_Wire):
    entity_id: str
    order_id: str
    increment_id: str | None = None
    grand_total: str
    order_currency_code: str
    transaction_id: str | None = None
    created_at: str | None = None


class MagentoCreditMemoItem(_Wire):
    order_item_id: str | None = None
    sku: str | None = None
    qty: str
    back_to_stock: bool | None = None


class MagentoCreditMemo(_Wire):
    entity_id: str
    order_id: str
    increment_id: str | None = None
    grand_total: str
    order_currency_code: str
    created_at: str | None = None
    items: list[MagentoCreditMemoItem] = []


class MagentoCustomer(_Wire):
    entity_id: str | None = None
    id: str | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    updated_at: str | None = None


class MagentoStockItem(_Wire):
    item_id: str | None = None
    product_id: str | None = None
    stock_id: str | None = None
    sku: str | None = None
    qty: str
    updated_at: str | None = None


class MagentoCustomAttribute(_Wire):
    attribute_code: str
    value: Any = None


class MagentoProduct(_Wire):
    """A product as observer.catalog_product_save_after sends it (the model's data: every value a
    string, `price` "123.000000", `status` "1" enabled / "2" disabled; developer.adobe.com/commerce/
    extensibility/events, its sample event) or as `GET /V1/products/{sku}` answers (prices JSON
    numbers, `status` 1/2, `description` and `special_price` among `custom_attributes`)."""

    entity_id: str | None = None
    id: str | None = None
    sku: str | None = None
    type_id: str | None = None
    name: str | None = None
    status: str | None = None
    price: str | None = None
    special_price: str | None = None
    description: str | None = None
    url_key: str | None = None
    updated_at: str | None = None
    custom_attributes: list[MagentoCustomAttribute] = []

    def attribute(self, code: str) -> str | None:
        direct = getattr(self, code, None)
        if direct not in (None, ""):
            return str(direct)
        found = next((a.value for a in self.custom_attributes if a.attribute_code == code), None)
        return None if found in (None, "") else str(found)

    @property
    def thin(self) -> bool:
        """The subscription selected too few fields to judge the product by (the REST read has them)."""
        return self.name is None or self.price is None or self.status is None


_M = TypeVar("_M", bound=BaseModel)


def _load(body: bytes) -> dict[str, Any]:
    # Decimals, not floats: an amount sent as a JSON number is read exactly.
    document = load_json(body, "Adobe I/O Events", parse_float=Decimal)
    if not isinstance(document, dict):
        raise MalformedPayloadError(
            "the body must be one JSON event; register the webhook for single events, not batches"
        )
    return document


def _model(model: type[_M], document: Any, what: str) -> _M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise MalformedPayloadError(f"not an Adobe Commerce {what}: {validation_problem(exc)}") from exc


def _units(value: str, what: str, *, signed: bool = False) -> int:
    """Magento quantities are decimals ("2.0000", 3.0000); the hub counts whole units."""
    try:
        return parse_units(value, signed=signed)
    except QuantityError as exc:
        raise MalformedPayloadError(f"not an Adobe Commerce {what}: {exc}") from exc


def _minor(amount: str, currency: str, what: str, field: str) -> int:
    try:
        return parse_minor(amount, currency, field=f"data.value.{field}")
    except (MoneyError, ArithmeticError) as exc:
        raise MalformedPayloadError(f"not an Adobe Commerce {what}: {exc or 'not an amount'}") from exc


# Items that hold no stock: nothing ships, so nothing is reserved (the line is still recorded).
_UNSTOCKED_TYPES = frozenset({"downloadable", "virtual", "giftcard"})


def _stocked(*items: MagentoOrderItem) -> bool:
    return not any(item.is_virtual or (item.product_type or "").lower() in _UNSTOCKED_TYPES for item in items)


def _physical_items(items: list[MagentoOrderItem]) -> list[tuple[int, MagentoOrderItem, MagentoOrderItem]]:
    """Each unit Adobe Commerce sells, once, as (index, the item that prices it, the item stock is kept
    under).

    Configurable and bundle products come as a parent item and child items (`parent_item_id`):
    - a configurable product is one unit of its simple child: the child's SKU is the stock SKU,
      the parent carries the price (the child's is 0) and the quantity, counted once;
    - a bundle is its components, each with its own SKU, quantity (already multiplied by the
      bundle's) and price (0 in a fixed-price bundle, whose price is in the order total); the
      bundle's own SKU (its SKU joined to its components') is no stock item and is not a line;
    - anything else is its own line.
    """
    by_id = {item.item_id: item for item in items if item.item_id}
    children: dict[str, list[MagentoOrderItem]] = {}
    for item in items:
        if item.parent_item_id and item.parent_item_id in by_id:
            children.setdefault(item.parent_item_id, []).append(item)
    units: list[tuple[int, MagentoOrderItem, MagentoOrderItem]] = []
    for index, item in enumerate(items):
        parent = by_id.get(item.parent_item_id) if item.parent_item_id else None
        kind = (item.product_type or "").lower()
        if parent is not None:
            if (parent.product_type or "").lower() == "configurable":
                continue  # counted with its parent
            units.append((index, item, item))  # a bundle's component
        elif kind == "configurable" and children.get(item.item_id or ""):
            units.append((index, item, children[item.item_id or ""][0]))
        elif kind == "bundle" and children.get(item.item_id or ""):
            continue  # its components are the lines
        else:
            units.append((index, item, item))
    return units


# ---------------------------------------------------------------------------------- translation
class _Translation:
    def __init__(
        self,
        envelope: AdobeEvent,
        event_name: str,
        adobe_event_id: str,
        channel: str,
        settings: ChannelConfig | None = None,
    ) -> None:
        self.event = envelope
        self.settings = settings
        self.adobe_event_id = adobe_event_id
        self.account = envelope.source or "adobe-commerce"
        self.channel = channel
        self.provider = ProviderRef(
            topic=event_name, event_id=adobe_event_id, delivery_id=envelope.id, account=envelope.source
        )
        self.value = envelope.data.value

    def _envelope(self, event_id: str, fallback_time: str | None) -> dict[str, Any]:
        occurred = _utc(self.event.time) or _utc(fallback_time)
        if occurred is None:
            raise MalformedPayloadError("not an Adobe I/O event: neither 'time' nor the entity's time is a date")
        return {
            "event_id": event_id,
            "source": "magento",
            "channel": self.channel,
            "occurred_at": occurred,
            "provider": self.provider,
        }

    def _fact_id(self, *parts: str) -> str:
        # A fact about one entity (an order placed, an invoice paid) keeps its id across events.
        return event_id_for("magento", self.account, *parts)

    def _order_id(self, entity_id: str) -> str:
        return f"{self.channel}:{entity_id}"

    @staticmethod
    def _paid(order: MagentoOrder) -> bool:
        if order.state in PAID_STATES:
            return True
        if order.total_paid is None:
            return False
        try:
            return Decimal(order.total_paid) >= Decimal(order.grand_total) > 0
        except InvalidOperation:
            return False

    def placed(self, *, saved: bool = False) -> list[HubEvent]:
        """The order as placed. A saved order carries the whole order too, and Adobe I/O does not
        promise `sales_order_place_after` arrives first: with `saved`, the placement has an id of its
        own (the order and its `updated_at`) and the order's creation time; the first one records it."""
        order = _model(MagentoOrder, self.value, "order")
        currency = order.order_currency_code.upper()
        lines = []
        shipped: list[ShipmentLine] = []
        for index, priced, stock_item in _physical_items(order.items):
            at = index if priced is stock_item else order.items.index(stock_item)
            quantity = _units(priced.qty_ordered, f"order: 'items.{index}.qty_ordered'")
            if quantity > 0:
                lines.append(
                    LineItem(
                        sku=line_sku(
                            stock_item.sku,
                            channel=self.channel,
                            settings=self.settings,
                            product_id=stock_item.product_id,
                            line_id=stock_item.item_id,
                            where=f"items.{at}",
                        ),
                        quantity=quantity,
                        unit_price=_minor(priced.price, currency, "order", f"items.{index}.price"),
                        title=priced.name,
                        # Magento ships a configurable product by its parent item.
                        platform_line_id=priced.item_id,
                        stocked=_stocked(priced, stock_item),
                    )
                )
                # Shipments made in the Adobe Commerce admin: the storefront's, never labelled by the hub.
                # A configurable product ships by its parent item, a bundle's component by itself.
                shipped_qty = priced.qty_shipped if priced.qty_shipped not in (None, "") else stock_item.qty_shipped
                units = min(_units(shipped_qty or "0", f"order: 'items.{index}.qty_shipped'"), quantity)
                if units > 0 and lines[-1].stocked:
                    shipped.append(ShipmentLine(sku=lines[-1].sku, quantity=units))
        if not shipped and order.state == COMPLETE_STATE and not any(i.qty_shipped for i in order.items):
            shipped = [ShipmentLine(sku=ln.sku, quantity=ln.quantity) for ln in lines if ln.stocked]
        envelope = self._envelope(self._fact_id("order", order.entity_id, "placed"), order.created_at)
        if saved:
            stamp = order.updated_at or self.adobe_event_id
            envelope["event_id"] = self._fact_id("order", order.entity_id, "saved", "placed", stamp)
            envelope["occurred_at"] = _utc(order.created_at) or envelope["occurred_at"]
        event = OrderPlaced(
            **envelope,
            data=OrderData(
                order_id=self._order_id(order.entity_id),
                platform_order_id=order.entity_id,
                order_number=order.increment_id,
                currency=currency,
                total=_minor(order.grand_total, currency, "order", "grand_total"),
                paid=self._paid(order),
                cancelled=order.state == CANCELED_STATE,
                customer_email=order.customer_email,
                shipping_country=order.shipping_address.country_id if order.shipping_address else None,
                shipping_address=order.shipping_address.canonical() if order.shipping_address else None,
                lines=lines,
                updated_at=_utc(order.updated_at) or _utc(order.created_at),
                storefront_shipped=shipped,
            ),
        )
        return [event]

    def saved(self) -> list[HubEvent]:
        order = _model(MagentoOrder, self.value, "order")
        currency = order.order_currency_code.upper()
        events: list[HubEvent] = [
            OrderUpdated(
                **self._envelope(event_id_for("magento", self.adobe_event_id), order.updated_at),
                data=OrderStatusData(
                    order_id=self._order_id(order.entity_id),
                    platform_order_id=order.entity_id,
                    platform_status=order.status or order.state,
                    currency=currency,
                    total=_minor(order.grand_total, currency, "order", "grand_total"),
                    paid=self._paid(order),
                    cancelled=order.state == CANCELED_STATE,
                    refunded_total=_minor(order.total_refunded or "0", currency, "order", "total_refunded"),
                    updated_at=_utc(order.updated_at),
                ),
            )
        ]
        events += self.placed(saved=True)
        if order.state == CANCELED_STATE:
            events.append(
                OrderCancelled(
                    **self._envelope(self._fact_id("order", order.entity_id, "cancelled"), order.updated_at),
                    data=OrderCancelledData(order_id=self._order_id(order.entity_id), reason="canceled in Magento"),
                )
            )
        return events

    def invoice_paid(self) -> list[HubEvent]:
        invoice = _model(MagentoInvoice, self.value, "invoice")
        currency = invoice.order_currency_code.upper()
        return [
            OrderPaid(
                **self._envelope(self._fact_id("invoice", invoice.entity_id, "paid"), invoice.created_at),
                data=OrderPaidData(
                    order_id=self._order_id(invoice.order_id),
                    amount=_minor(invoice.grand_total, currency, "invoice", "grand_total"),
                    currency=currency,
                    payment_reference=invoice.transaction_id or invoice.increment_id,
                ),
            )
        ]

    def refunded(self) -> list[HubEvent]:
        memo = _model(MagentoCreditMemo, self.value, "credit memo")
        currency = memo.order_currency_code.upper()
        lines = [
            RefundLine(
                sku=item.sku, quantity=_units(item.qty, "credit memo line 'qty'"), restock=bool(item.back_to_stock)
            )
            for item in memo.items
            if item.sku
        ]
        return [
            RefundIssued(
                **self._envelope(self._fact_id("creditmemo", memo.entity_id), memo.created_at),
                data=RefundData(
                    order_id=self._order_id(memo.order_id),
                    refund_id=memo.increment_id or memo.entity_id,
                    amount=_minor(memo.grand_total, currency, "credit memo", "grand_total"),
                    currency=currency,
                    lines=[line for line in lines if line.quantity > 0],
                ),
            )
        ]

    def customer(self) -> list[HubEvent]:
        customer = _model(MagentoCustomer, self.value, "customer")
        return [
            CustomerUpserted(
                **self._envelope(event_id_for("magento", self.adobe_event_id), customer.updated_at),
                data=CustomerData(
                    email=customer.email,
                    platform_customer_id=customer.entity_id or customer.id,
                    first_name=customer.firstname,
                    last_name=customer.lastname,
                    updated_at=_utc(customer.updated_at),
                ),
            )
        ]

    def stock(self) -> list[HubEvent]:
        item = _model(MagentoStockItem, self.value, "stock item")
        return [
            StockLevelReported(
                **self._envelope(event_id_for("magento", self.adobe_event_id), item.updated_at),
                data=StockReportData(
                    sku=item.sku,
                    available=_units(item.qty, "stock item", signed=True),
                    platform_location_id=item.stock_id,
                    platform_item_id=item.item_id,
                    platform_product_id=item.product_id,
                    updated_at=_utc(item.updated_at),
                ),
            )
        ]


def _plain_amount(value: str | None, what: str) -> str | None:
    """Magento's "123.000000" as the decimal it is ("123"), never in exponent form; None when unset."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MalformedPayloadError(f"not an Adobe Commerce product: '{what}' is not a decimal amount") from None
    if not amount.is_finite():
        raise MalformedPayloadError(f"not an Adobe Commerce product: '{what}' is not a finite amount")
    text = format(amount.normalize(), "f")
    return text


def _product_catalog(translation: _Translation, product: MagentoProduct) -> list[HubEvent]:
    """The catalog content of a product sold as one SKU: its name, description, enabled (active) or
    disabled (draft), and its price; a `special_price` is the price sold at, with the regular price
    as its compare-at price, which is how the hub writes them (docs/catalog.md)."""
    if not product.sku or product.type_id not in _ONE_SKU_TYPES:
        return []
    regular = _plain_amount(product.attribute("price"), "price")
    special = _plain_amount(product.attribute("special_price"), "special_price")
    price, compare = (special, regular) if special is not None and Decimal(special) > 0 else (regular, None)
    status = str(product.status or "").strip()
    updated = product.updated_at
    stamp = updated or translation.adobe_event_id
    return [
        ProductUpdated(
            **translation._envelope(translation._fact_id("product", product.sku, "catalog", stamp), updated),
            data=ProductData(
                platform_product_id=str(product.entity_id or product.id or product.sku),
                items=[CatalogItem(sku=product.sku, price=price, compare_at_price=compare)],
                updated_at=_utc(updated),
                catalog=True,
                title=product.name,
                description=product.attribute("description") or "",
                status="active" if status == "1" else "draft",
            ),
        )
    ]


_HANDLERS = {
    ORDER_PLACED: _Translation.placed,
    ORDER_SAVED: _Translation.saved,
    INVOICE_PAID: _Translation.invoice_paid,
    CREDIT_MEMO_SAVED: _Translation.refunded,
    CUSTOMER_SAVED: _Translation.customer,
    STOCK_ITEM_SAVED: _Translation.stock,
}


# -------------------------------------------------------------------------------------- source
class MagentoSource:
    """`http` (an httpx.Client) and `monotonic` are arguments with lazy defaults, so tests hand in their own."""

    name = "magento"

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        products: Callable[[], MagentoProducts] | None = None,
    ) -> None:
        self._keys: KeyFetcher[Any] = KeyFetcher(KEY_POLICY, _load_public_key, http=http, monotonic=monotonic)
        self._products = products  # reads a product by SKU when its event is thin (catalog sync)

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        pairs = [
            (request.header(sig), request.header(path))
            for sig, path in zip(SIGNATURE_HEADERS, KEY_PATH_HEADERS, strict=True)
        ]
        if not any(signature for signature, _ in pairs):
            raise SignatureError(
                "missing x-adobe-digital-signature-1 and -2 headers; Adobe I/O Events signs every event"
            )
        # Whoever sent the request chose the paths: they must name Adobe's key host, configured key or not.
        urls = [_key_url(path) if path else None for _, path in pairs]
        for url in urls:
            if url:
                self._keys.check(url)
        configured = "\n".join(secrets.candidates("ADOBE_IO_PUBLIC_KEY"))
        if configured:
            self._verify_with_configured(configured, pairs, request.body)
        else:
            self._verify_with_fetched(pairs, urls, request.body)
        self._require_recipient(request.body, secrets)

    def _verify_with_configured(self, pem_text: str, pairs: list, body: bytes) -> None:
        keys = _public_keys(pem_text)
        if not keys:
            raise SignatureError("the configured Adobe I/O public key is not a PEM public key or certificate")
        for value, _ in pairs:
            signature = _decoded(value) if value else None
            if signature is not None and _verifies(keys, signature, body):
                return
        raise SignatureError(
            "neither x-adobe-digital-signature-1 nor -2 verifies the body with the configured Adobe I/O public key"
        )

    def _verify_with_fetched(self, pairs: list, urls: list[str | None], body: bytes) -> None:
        """Signature n with the key at path n, as Adobe pairs them; either verifying is enough."""
        failures: list[IntakeError | NotDurableError] = []
        for (value, _), url in zip(pairs, urls, strict=True):
            if not value:
                continue
            if not url:
                failures.append(SignatureError("a signature came without its x-adobe-public-key-path"))
                continue
            signature = _decoded(value)
            if signature is None:
                continue
            try:
                key = self._keys.get(url)
            except (IntakeError, NotDurableError) as exc:
                failures.append(exc)
                continue
            if _verifies((key,), signature, body):
                return
        retry = next((f for f in failures if isinstance(f, NotDurableError)), None)
        if retry is not None:
            raise retry  # Adobe's key host could not be reached: Adobe retries, and verifies then
        if failures:
            raise failures[0]
        raise SignatureError(
            "neither x-adobe-digital-signature-1 nor -2 verifies the body with Adobe's public key at its path"
        )

    @staticmethod
    def _require_recipient(body: bytes, secrets: SecretsProvider) -> None:
        """The event must be addressed to this hub: Adobe signs every consumer's events with one key pair."""
        ours = secrets.candidates("ADOBE_IO_CLIENT_ID")
        if not ours:
            raise SignatureError(
                "no Adobe I/O client id (ADOBE_IO_CLIENT_ID) is configured, so the event's recipient cannot be checked"
            )
        recipient = _load(body).get("recipient_client_id")
        if not isinstance(recipient, str) or not recipient:
            raise SignatureError(
                "the event has no recipient_client_id; Adobe I/O Events names the integration each event is for"
            )
        if not any_match(ours, [recipient]):
            raise SignatureError(
                "the event's recipient_client_id is not this hub's Adobe I/O client id: it was signed by Adobe for "
                "another integration; check ADOBE_IO_CLIENT_ID"
            )

    def answer_challenge(self, request: WebhookRequest) -> dict[str, str]:
        challenge = request.query.get("challenge")
        if not challenge:
            raise MalformedPayloadError(
                "missing the challenge query parameter; Adobe I/O Events sends GET ?challenge=... on registration"
            )
        if len(challenge) > MAX_CHALLENGE_LENGTH:
            raise MalformedPayloadError(f"the challenge is longer than {MAX_CHALLENGE_LENGTH} characters")
        return {"challenge": challenge}

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        document = _load(request.body)
        envelope = _model(AdobeEvent, document, "I/O event")
        event_name = envelope.type.removeprefix(EVENT_PREFIX)
        adobe_event_id = envelope.event_id or envelope.id
        if not adobe_event_id:
            raise MalformedPayloadError("not an Adobe I/O event: 'event_id' is missing")
        dedupe_key = f"magento:{adobe_event_id}"
        if event_name == PRODUCT_SAVED:
            return self._product(envelope, event_name, adobe_event_id, dedupe_key, config)
        handler = _HANDLERS.get(event_name)
        if handler is None:
            return Delivery(
                dedupe_key, event_name, [], ignored_reason=f"the hub does not use Adobe event '{event_name}'"
            )
        channel = config.channel_for("magento", envelope.source)
        translation = _Translation(
            envelope, event_name, adobe_event_id, channel, config.channel_settings(channel, "magento")
        )
        try:
            events = handler(translation)
        except ValidationError as exc:
            raise MalformedPayloadError(f"not an Adobe Commerce {event_name} event: {validation_problem(exc)}") from exc
        return Delivery(dedupe_key, event_name, events)

    def _product(
        self, envelope: AdobeEvent, event_name: str, adobe_event_id: str, dedupe_key: str, config: HubConfig
    ) -> Delivery:
        """A product saved: its catalog content with catalog sync on, read through the REST API when
        the subscription sent too few fields. A read that fails is made durable: a
        `ResourceFetchRequested` that resource_fetch reads later (retried, then dead-lettered)."""
        if config.catalog is None:
            return Delivery(
                dedupe_key,
                event_name,
                [],
                ignored_reason=f"the hub uses Adobe event '{event_name}' only with catalog sync on",
            )
        channel = config.channel_for("magento", envelope.source)
        product = _model(MagentoProduct, envelope.data.value, "product")
        if product.thin and product.sku and not config.catalog.concerns(channel):
            return Delivery(dedupe_key, event_name, [], ignored_reason=f"catalog sync does not use channel {channel}")
        if (
            product.thin
            and product.sku
            and (self._products is None or config.channel_settings(channel, "magento") is None)
        ):
            return Delivery(dedupe_key, event_name, [], ignored_reason="the product cannot be read here")
        try:
            events = self._product_events(envelope, event_name, adobe_event_id, channel, config)
        except (OutboundError, SecretsError) as exc:
            if not read_again_later(exc):
                return Delivery(dedupe_key, event_name, [], ignored_reason=self._unread(channel, exc))
            logger.warning(
                "product not read; read later by resource_fetch",
                extra={"channel": channel, "error": type(exc).__name__, "status": getattr(exc, "status_code", None)},
            )
            return Delivery(dedupe_key, event_name, [self._fetch_requested(envelope, event_name, adobe_event_id,
                                                                           dedupe_key, channel, product, exc)])  # fmt: skip
        if not events:
            return Delivery(dedupe_key, event_name, [], ignored_reason="not a product sold as one SKU")
        return Delivery(dedupe_key, event_name, events)

    def _product_events(
        self, envelope: AdobeEvent, event_name: str, adobe_event_id: str, channel: str, config: HubConfig
    ) -> list[HubEvent]:
        """The product's catalog content, read by SKU first when the event is thin.

        Raises OutboundError or SecretsError while the product cannot be read.
        """
        settings = config.channel_settings(channel, "magento")
        translation = _Translation(envelope, event_name, adobe_event_id, channel, settings)
        product = _model(MagentoProduct, envelope.data.value, "product")
        if product.thin and product.sku and self._products is not None and settings is not None:
            read = self._products().product(channel, settings, product.sku)
            product = _model(
                MagentoProduct, {**read, "updated_at": read.get("updated_at") or product.updated_at}, "product"
            )
        return _product_catalog(translation, product)

    @staticmethod
    def _unread(channel: str, exc: Exception) -> str:
        """A product no later read would give (the store no longer has it): the save is not judged."""
        logger.warning(
            "product not judged for catalog drift",
            extra={"channel": channel, "error": type(exc).__name__, "status": getattr(exc, "status_code", None)},
        )
        return f"the product could not be read ({type(exc).__name__})"

    @staticmethod
    def _fetch_requested(
        envelope: AdobeEvent,
        event_name: str,
        adobe_event_id: str,
        dedupe_key: str,
        channel: str,
        product: MagentoProduct,
        exc: Exception,
    ) -> ResourceFetchRequested:
        account = envelope.source or "adobe-commerce"
        provider = ProviderRef(
            topic=event_name, event_id=adobe_event_id, delivery_id=envelope.id, account=envelope.source
        )
        occurred = _utc(envelope.time) or _utc(product.updated_at) or datetime.now(UTC)
        return ResourceFetchRequested(
            event_id=event_id_for("magento", account, "fetch", adobe_event_id),
            source="magento",
            channel=channel,
            occurred_at=occurred,
            provider=provider,
            data=ResourceFetchData(
                platform="magento",
                resource="product",
                resource_id=product.sku or "",
                store_hash=account,
                scope=event_name,
                payload_hash=adobe_event_id,
                dedupe_key=dedupe_key,
                reason=f"Adobe Commerce product {product.sku} could not be read ({type(exc).__name__})",
                body=envelope.model_dump(mode="json", exclude_none=True),
            ),
        )

    def complete(self, request: ResourceFetchRequested, config: HubConfig) -> tuple[list[HubEvent], str | None]:
        """resource_fetch: read the product a thin product save named and publish its catalog content
        (ProductUpdated, with the id intake would have given it).

        Raises OutboundError or SecretsError while the product still cannot be read.
        """
        data = request.data
        if data.resource != "product" or data.body is None:
            return [], f"Adobe Commerce has no {data.resource} to read later"
        if config.catalog is None:
            return [], "catalog sync is off"
        envelope = _model(AdobeEvent, data.body, "I/O event")
        try:
            events = self._product_events(envelope, data.scope, data.payload_hash, request.channel, config)
        except (OutboundError, SecretsError) as exc:
            if read_again_later(exc):
                raise  # the record comes back later, then goes to the dead-letter queue
            return [], self._unread(request.channel, exc)
        if not events:
            return [], "not a product sold as one SKU"
        return events, None
